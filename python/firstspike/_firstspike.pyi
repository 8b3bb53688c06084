"""Type stubs of the native module (src/python.rs); the package re-exports everything."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, "PathLike[str]"]
# uint8 images (N, ...) or float spike times (N, n_inputs).
_Batch = npt.ArrayLike

__version__: str

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
    def encoding(self) -> Dict[str, Any]:
        """{"kind": "linear" | "zlinear", "t_max": float, "silent_below": int}."""
    @property
    def weights(self) -> List[npt.NDArray[np.float64]]:
        """One float64 array per layer (a copy): (n_out, n_in) for a dense layer,
        (c_out, c_in, k, k) for a convolution's kernel."""
    @property
    def meta(self) -> Dict[str, Any]:
        """dataset, train (settings), epochs_trained, test_accuracy, test_samples;
        validation_accuracy, validation_samples after a run with validation=; and import
        (how a graph of from_nir was mapped) for an imported model."""
    @property
    def history(self) -> List[Dict[str, Any]]:
        """Per-epoch log of the train() call that made the model; [] if loaded."""
    @property
    def n_inputs(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    def save(self, prefix: _Path) -> Tuple[str, str]:
        """Writes PREFIX.bin and PREFIX.json; returns both paths."""
    def encode(self, images: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """uint8 images (N, ...) -> input spike times (N, n_inputs), inf = no spike."""
    def forward(
        self, x: _Batch, threads: Optional[int] = None
    ) -> List[npt.NDArray[np.float64]]:
        """Analytic solver: spike times (N, n_layer) per layer, inputs first; inf = none."""
    def predict(self, x: _Batch, threads: Optional[int] = None) -> npt.NDArray[np.int64]:
        """First output neuron to fire per sample; -1 where none fired."""
    def evaluate(
        self, x: _Batch, labels: npt.ArrayLike, threads: Optional[int] = None
    ) -> Dict[str, Any]:
        """Accuracy dict with the keys of `firstspike eval --json`."""
    def simulate(
        self,
        x: _Batch,
        until_decision: bool = False,
        labels: Optional[npt.ArrayLike] = None,
        threads: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Event engine: per-spike arrays sample, layer, neuron, time; per-sample decision,
        decision_time; and the keys of `firstspike simulate --json`."""
    def to_nir(self, path: _Path) -> None:
        """Writes the network as a NIR graph (HDF5)."""

def load(path: _Path) -> Model:
    """Loads NAME.bin (FileNotFoundError if missing, ValueError if malformed)."""

def from_nir(path: _Path) -> Model:
    """Imports a feedforward NIR graph (HDF5) as a model, as `firstspike import --nir` does:
    Affine/Linear/Conv2d weights (a Flatten between a map and an Affine), each followed by
    LI -> IF or a CubaLIF with tau_mem = inf; one time constant for every neuron, v_leak and
    biases 0. Weights are rescaled by r_LI * r_IF (CubaLIF: w_in * r) and the thresholds;
    meta["import"] says how. Model.to_nir then from_nir gives the same weights bit for bit.
    FileNotFoundError if missing; ValueError naming the node and the reason if refused."""

def load_idx(
    folder: _Path, split: str
) -> Tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """IDX folder, split "train" or "test" -> images (N, rows, cols), labels (N,)."""

def mnist_test_slice() -> Tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The 1,000 MNIST test digits embedded in the library."""

def train(
    x: npt.ArrayLike,
    labels: npt.ArrayLike,
    arch: Optional[Union[Sequence[int], str]] = None,
    epochs: Optional[int] = None,
    seed: Optional[int] = None,
    validation: int = 0,
    threads: Optional[int] = None,
    progress: bool = True,
    **settings: Any,
) -> Model:
    """Trains a new model with the CLI's trainer and defaults; see help(firstspike.train)."""
