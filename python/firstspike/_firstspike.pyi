"""Type stubs of the native module (src/python/); the package re-exports everything.
Checked by ``mypy --strict`` on tests/python/typed_usage.py and by ``stubtest`` in CI."""

from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

from ._results import Encoding, EpochLog, EvalSummary, SimReport, VerifyReport

_Path = Union[str, "PathLike[str]"]
# progress=: None or False (nothing), True (a tqdm bar or printed lines), or a callable
# progress(done, total).
_Progress = Union[bool, None, Callable[[int, int], object]]

__all__ = [
    "Model",
    "__version__",
    "from_nir",
    "load",
    "load_idx",
    "mnist_test_slice",
    "train",
    "train_defaults",
]

__version__: str

@final
class Model:
    """A trained first-spike network (weights, tau_syn, theta, encoding, provenance)."""

    @property
    def arch(self) -> List[int]:
        """Layer sizes, input first."""
    @property
    def tau_syn(self) -> float:
        """Synaptic time constant; the unit of every time."""
    @property
    def theta(self) -> float:
        """Firing threshold; the unit of every weight."""
    @property
    def encoding(self) -> Encoding:
        """The pixel-to-time encoding."""
    @property
    def weights(self) -> List[npt.NDArray[np.float64]]:
        """One float64 array per layer (a copy): (n_out, n_in) for a dense layer,
        (c_out, c_in, k, k) for a convolution's kernel."""
    @property
    def meta(self) -> Dict[str, Any]:
        """The model card's provenance: dataset, train (settings), epochs_trained,
        test_accuracy, test_samples, validation_accuracy, validation_samples, import."""
    @property
    def history(self) -> List[EpochLog]:
        """Per-epoch log of the train() call that made the model; [] if loaded."""
    @property
    def n_inputs(self) -> int:
        """Number of inputs (pixels)."""
    @property
    def n_outputs(self) -> int:
        """Number of outputs (classes)."""
    def save(self, prefix: _Path) -> Tuple[str, str]:
        """Writes PREFIX.bin and PREFIX.json; returns both paths."""
    def encode(self, images: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """uint8 images -> input spike times (N, n_inputs), inf = no spike."""
    def forward(
        self,
        x: Optional[npt.ArrayLike] = None,
        *,
        times: Optional[npt.ArrayLike] = None,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> List[npt.NDArray[np.float64]]:
        """Analytic solver: spike times (N, n_layer) per layer, inputs first; inf = none."""
    def predict(
        self,
        x: Optional[npt.ArrayLike] = None,
        *,
        times: Optional[npt.ArrayLike] = None,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> npt.NDArray[np.int64]:
        """First output neuron to fire per sample; -1 where none fired."""
    def evaluate(
        self,
        x: Optional[npt.ArrayLike] = None,
        labels: Optional[npt.ArrayLike] = None,
        *,
        times: Optional[npt.ArrayLike] = None,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> EvalSummary:
        """Accuracy with the analytic solver, as `firstspike eval --json`."""
    def simulate(
        self,
        x: Optional[npt.ArrayLike] = None,
        *,
        times: Optional[npt.ArrayLike] = None,
        labels: Optional[npt.ArrayLike] = None,
        until_decision: bool = False,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> SimReport:
        """Event engine: the summary of `firstspike simulate --json` and every spike."""
    def verify(
        self,
        x: Optional[npt.ArrayLike] = None,
        *,
        times: Optional[npt.ArrayLike] = None,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> VerifyReport:
        """Both engines compared spike by spike, as `firstspike verify --json`."""
    def to_nir(self, path: _Path) -> None:
        """Writes the network as a NIR graph (HDF5)."""

def load(path: _Path) -> Model:
    """Loads NAME.bin (FileNotFoundError if missing, ValueError if malformed)."""

def from_nir(path: _Path) -> Model:
    """Imports a feedforward NIR graph (HDF5) as a model, as `firstspike import --nir` does."""

def load_idx(
    folder: _Path, split: str
) -> Tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """IDX folder, split "train" or "test" -> images (N, rows, cols), labels (N,)."""

def mnist_test_slice() -> Tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The 1,000 MNIST test digits embedded in the library."""

def train_defaults() -> Dict[str, Any]:
    """The library's defaults of train's keyword settings."""

def train(
    x: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    arch: Optional[Union[Sequence[int], str]] = None,
    epochs: int = 24,
    seed: int = 1,
    validation: int = 0,
    threads: Optional[int] = None,
    progress: _Progress = None,
    on_epoch: Optional[Callable[[EpochLog], object]] = None,
    batch_size: int = 32,
    lr: float = 0.001,
    lr_decay: float = 0.8,
    weight_sum_k: float = 1.0,
    l2: float = 0.0001,
    decision_cost: float = 0.0,
    jitter_sd: float = 0.25,
    shift: int = 0,
    flip: bool = False,
    init_mean: float = 4.0,
    init_sd: float = 1.0,
    denom_floor: float = 0.01,
    clip_norm: float = 0.0,
    average: float = 0.0,
    loss_origin: Optional[Union[str, float]] = None,
    engine: str = "analytic",
    quantise_bits: int = 0,
    tau_syn: float = 1.0,
    theta: float = 1.0,
    encoding: str = "linear",
    t_max: float = 3.0,
    silent_below: int = 0,
    teacher: Optional[_Path] = None,
    distill_weight: Optional[float] = None,
    distill_temperature: Optional[float] = None,
    gain_band: Optional[Union[Tuple[float, float], str]] = None,
    gain_weight: Optional[float] = None,
    init_from_relu: Optional[_Path] = None,
    relu_scale: Optional[str] = None,
    relu_images: Optional[int] = None,
) -> Model:
    """Trains a new model with the CLI's trainer; see help(firstspike.train)."""
