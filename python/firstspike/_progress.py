"""Progress of long calls, shown through Python (so that a notebook shows it).

The native module calls ``resolve(progress, total, desc, lines)`` once per call and then
feeds the sink it returns: ``update(done, total)`` from the library's worker threads (at most
every 0.1 s, and once at the end), ``write(line)`` for a line of text (an epoch of training),
``close()`` when the call returns.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional, Union

ProgressArg = Union[bool, None, Callable[[int, int], Any]]


class _Callback:
    """Hands the counts to the caller's ``progress(done, total)``; lines are dropped."""

    def __init__(self, fn: Callable[[int, int], Any]) -> None:
        self.fn = fn

    def update(self, done: int, total: int) -> None:
        self.fn(done, total)

    def write(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Tqdm:
    """A ``tqdm.auto`` bar (a widget in Jupyter, text on a terminal); lines above it."""

    def __init__(self, tqdm: Any, total: int, desc: str) -> None:
        self.bar = tqdm(total=total, desc=desc, unit="sample")
        self.tqdm = tqdm

    def update(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def write(self, line: str) -> None:
        self.tqdm.write(line)

    def close(self) -> None:
        self.bar.close()


class _Lines:
    """Without tqdm: ``print``-ed lines on sys.stdout, one per tenth of the work if
    ``counts``, and the call's own lines."""

    def __init__(self, desc: str, counts: bool) -> None:
        self.desc, self.counts, self.tenth = desc, counts, -1

    def update(self, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if self.counts and tenth > self.tenth:
            self.tenth = tenth
            print(f"{self.desc}: {done}/{total}", file=sys.stdout, flush=True)

    def write(self, line: str) -> None:
        print(line, file=sys.stdout, flush=True)

    def close(self) -> None:
        pass


def resolve(progress: ProgressArg, total: int, desc: str, lines: bool) -> Optional[Any]:
    """The sink for ``progress=``: None or False, none; a callable, it is called as
    ``progress(done, total)``; True, a ``tqdm.auto`` bar if tqdm is installed, else printed
    lines (a line per tenth of the work if ``lines``)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped, import-not-found, unused-ignore]
        except ImportError:
            return _Lines(desc, lines)
        return _Tqdm(tqdm, total, desc)
    if callable(progress):
        return _Callback(progress)
    raise TypeError(
        f"progress must be True, False, None or a callable progress(done, total), got {progress!r}"
    )
