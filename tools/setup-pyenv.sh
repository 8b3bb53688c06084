#!/usr/bin/env bash
# Creates (or reuses) the Python environment of the interoperability checks: NIR and NEST.
#
#   tools/setup-pyenv.sh [VENV_DIR]        default: .venv-interop beside Cargo.toml
#
# Installs, from PyPI, pinned versions of: nir (reads/writes NIR graphs, HDF5), h5py and numpy
# (what nir needs), and nest-simulator (the NEST simulator as a manylinux wheel; its 3.10.0
# wheels are built for CPython 3.11, hence Python 3.11 here). Re-running is cheap: a stamp
# file records what was installed, and a matching venv is left alone.
# Python: $PYTHON if set, else python3.11, else python3 if it is 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-interop}
reqs=(nir==1.0.8 h5py==3.15.1 numpy==2.3.5 nest-simulator==3.10.0)
stamp="$venv/.firstspike-stamp"
want="${reqs[*]}"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    echo "setup-pyenv: $venv is up to date ($want)"
    exit 0
fi

py=${PYTHON:-}
if [[ -z "$py" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then
        py=python3.11
    elif python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        py=python3
    else
        echo "setup-pyenv: needs Python 3.11 (the nest-simulator 3.10.0 wheels are cp311); set PYTHON=/path/to/python3.11" >&2
        exit 1
    fi
fi
echo "setup-pyenv: creating $venv with $($py --version 2>&1)"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "${reqs[@]}"
"$venv/bin/python" - <<'PY'
import nir, h5py, numpy
print(f"setup-pyenv: nir {nir.__version__}, h5py {h5py.__version__}, numpy {numpy.__version__}")
PY
# NEST prints a banner on import; keep only its version.
"$venv/bin/python" -c 'import nest; print("setup-pyenv: nest", nest.__version__)' 2>/dev/null | grep '^setup-pyenv' || true
echo "$want" > "$stamp"
