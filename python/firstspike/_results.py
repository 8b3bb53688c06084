"""The results of the library, as small classes with documented fields.

Each class is one of the library's ``Serialize`` structs, with the same name and the same
fields as the keys the command line's ``--json`` prints (``EvalSummary`` is ``firstspike eval
--json`` without its file-only keys ``recorded`` and ``saved_to``; ``SimSummary`` is
``firstspike simulate --json`` without ``recorded``). ``_from`` builds one from the library's
serialised struct and raises on a key the class lacks, so the two cannot drift apart. Times
are in units of tau_syn.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional, Type, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")


def _build(cls: Type[T], d: Dict[str, Any], nested: Dict[str, Any]) -> T:
    kw = dict(d)
    for name, conv in nested.items():
        if kw.get(name) is not None:
            kw[name] = conv(kw[name])
    return cls(**kw)


@dataclass(frozen=True)
class Summary:
    """A count over samples: mean, median (the lower middle for an even count), 90th
    percentile (nearest rank) and maximum."""

    mean: float
    median: float
    p90: float
    max: float

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "Summary":
        return cls(**d)


@dataclass(frozen=True)
class CountReport:
    """Per-layer summaries of the event engine's counts over samples (layer 0 = inputs)."""

    samples: int
    """Samples summarised."""
    fired: List[Summary]
    """Neurons that fired, per layer."""
    fired_before_decision: List[Summary]
    """Neurons that fired no later than the decision, per layer."""
    synaptic_events: List[Summary]
    """Synaptic events (spikes x fan-out) caused by each layer's spikes."""
    synaptic_events_before_decision: List[Summary]
    """The same up to the decision."""
    spikes_total: Summary
    """All spikes per sample, inputs included."""
    spikes_before_decision_total: Summary
    """All spikes up to the decision per sample, inputs included."""
    synaptic_events_total: Summary
    """All synaptic events per sample."""
    decision_time_mean: Optional[float]
    """Mean decision time over the samples with a decision; None if none decided."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "CountReport":
        many = lambda xs: [Summary._from(x) for x in xs]  # noqa: E731
        return _build(
            cls,
            d,
            {
                "fired": many,
                "fired_before_decision": many,
                "synaptic_events": many,
                "synaptic_events_before_decision": many,
                "spikes_total": Summary._from,
                "spikes_before_decision_total": Summary._from,
                "synaptic_events_total": Summary._from,
            },
        )


@dataclass(frozen=True)
class Sparsity:
    """Mean counts per inference in the literature's units."""

    spikes_per_neuron_per_layer: List[float]
    """s_l / n_l per layer, inputs first."""
    spikes_per_neuron: float
    """sum_l s_l / sum_l n_l, the input layer included."""
    spikes_per_neuron_without_inputs: float
    """The same over hidden and output neurons."""
    spikes_per_hidden_neuron: Optional[float]
    """The same over the hidden layers alone; None for a network without one."""
    synaptic_events: float
    """Mean synaptic events per inference, E."""
    relu_macs: int
    """Multiply-accumulates per image of the ReLU network of the same shape, M."""
    synaptic_events_per_relu_mac: float
    """E / M."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "Sparsity":
        return cls(**d)


@dataclass(frozen=True)
class SparsityPair:
    """Sparsity of event-engine runs up to the decision and in full."""

    to_decision: Sparsity
    """Of the mean counts up to and including the decision."""
    full_run: Optional[Sparsity]
    """Of the full runs; None when the runs stopped at the decision."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "SparsityPair":
        return _build(cls, d, {"to_decision": Sparsity._from, "full_run": Sparsity._from})


@dataclass(frozen=True)
class SimSummary:
    """Event-engine runs over samples, summarised (``firstspike simulate --json``)."""

    model: Optional[str]
    """The model file; None for a model not loaded from one."""
    accuracy: Optional[float]
    """correct / samples; None without labels."""
    correct: Optional[int]
    """Samples whose decision is their label; None without labels."""
    samples: int
    """Samples run."""
    no_output_spike: int
    """Samples on which no output neuron fired."""
    until_decision: bool
    """Whether each run stopped at its decision."""
    spikes_per_sample_mean: float
    """Mean spikes per sample, inputs included."""
    spikes_before_decision_mean: float
    """Mean spikes per sample up to and including the decision."""
    synaptic_events_per_sample_mean: float
    """Mean synaptic events (spikes x fan-out) per sample."""
    decision_time_mean: Optional[float]
    """Mean decision time over the samples with a decision; None if none decided."""
    wall_seconds: float
    """Wall time of the runs, seconds."""
    threads: int
    """Worker threads."""
    seconds_per_sample: float
    """wall_seconds / samples."""
    synaptic_events_per_second: float
    """Synaptic events delivered per second of wall time."""
    synaptic_events_per_second_per_thread: float
    """synaptic_events_per_second / threads."""
    counts: CountReport
    """Per-layer summaries of the counts."""
    sparsity: SparsityPair
    """The counts in the literature's units."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "SimSummary":
        return _build(cls, d, {"counts": CountReport._from, "sparsity": SparsityPair._from})


@dataclass(frozen=True, eq=False)
class SimReport:
    """What ``Model.simulate`` returns: the summary and every spike. The spike arrays have one
    row per spike, in emission order within each sample (the rows of the CSV that
    ``firstspike raster`` writes); the decision arrays one entry per sample."""

    summary: SimSummary
    """The runs summarised."""
    sample: npt.NDArray[np.int64]
    """Each spike's sample (its index in the samples given)."""
    layer: npt.NDArray[np.int64]
    """Each spike's layer: 0 = inputs, then each layer."""
    neuron: npt.NDArray[np.int64]
    """Each spike's neuron, its index in its layer."""
    time: npt.NDArray[np.float64]
    """Each spike's time."""
    decision: npt.NDArray[np.int64]
    """Each sample's decision (the first output neuron to fire); -1 for none."""
    decision_time: npt.NDArray[np.float64]
    """Each sample's decision time; nan for none."""


@dataclass(frozen=True)
class EvalSummary:
    """The analytic solver's accuracy over samples (``firstspike eval --json``)."""

    model: Optional[str]
    """The model file; None for a model not loaded from one."""
    accuracy: float
    """correct / total."""
    correct: int
    """Samples whose decision is their label."""
    total: int
    """Samples evaluated."""
    no_output_spike: int
    """Samples on which no output neuron fired (counted as errors)."""
    fired_mean_per_layer: List[float]
    """Mean number of neurons that fired per sample, per layer, inputs first."""
    seconds: float
    """Wall time, seconds."""
    samples_per_second: float
    """total / seconds."""
    threads: int
    """Worker threads."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "EvalSummary":
        return cls(**d)


@dataclass(frozen=True)
class VerifyReport:
    """The event engine against the analytic solver, spike by spike (``firstspike verify
    --json``, whose ``agree`` is the property here)."""

    samples: int
    """Samples compared."""
    spikes_compared: int
    """Spikes compared (neurons that fired in both engines, inputs excluded)."""
    prediction_mismatches: int
    """Samples whose decisions differ."""
    fired_status_mismatches: int
    """Neurons that fired in one engine and not the other."""
    causal_set_mismatches: int
    """Neurons whose causal-set sizes differ."""
    max_abs_time_diff: float
    """Largest |t_analytic - t_event|."""
    max_rel_time_diff: float
    """Largest |t_analytic - t_event| / max(|t|, tau_syn)."""
    tolerance: float
    """The tolerance applied to max_rel_time_diff."""

    @property
    def agree(self) -> bool:
        """Whether the engines agree: no mismatch, times within tolerance."""
        return (
            self.prediction_mismatches == 0
            and self.fired_status_mismatches == 0
            and self.causal_set_mismatches == 0
            and self.max_rel_time_diff <= self.tolerance
        )

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "VerifyReport":
        return cls(**d)


@dataclass(frozen=True)
class LayerGain:
    """One layer's S - theta at the crossing over an epoch's training passes."""

    layer: int
    """The layer: 1 = the first hidden layer, the last = the outputs."""
    fired: int
    """Spikes counted."""
    floored: int
    """Of them, those below the gradient floor (denom_floor)."""
    below: int
    """Of them, those below 2^-20, counted as 0 in the quantiles."""
    above: int
    """Of them, those of 2^14 or more, counted as +inf in the quantiles."""
    quantiles: List[float]
    """The 1, 10, 50, 90 and 99 % quantiles of S - theta, units of theta."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "LayerGain":
        return cls(**d)


@dataclass(frozen=True)
class EpochLog:
    """One epoch of ``firstspike.train`` (a line of the CLI's training log, without its
    test_accuracy: train from Python sees no test set)."""

    epoch: int
    """Epoch number, from 1."""
    train_loss: float
    """Mean output loss over the training samples that had a target spike."""
    train_accuracy: float
    """Fraction of training samples classified correctly during the epoch."""
    validation_accuracy: Optional[float]
    """Accuracy on the validation hold-out after the epoch; None without validation=."""
    no_output_spike: int
    """Training samples on which no output fired."""
    lr: float
    """Adam step size used."""
    seconds: float
    """Wall time of the epoch's training steps, seconds."""
    floored: int
    """Neurons whose gradient denominator S - theta was floored."""
    too_late: int
    """Neurons too late to pass gradient."""
    gain: List[LayerGain]
    """Per layer of neurons: the distribution of S - theta at the crossing."""

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "EpochLog":
        return _build(cls, d, {"gain": lambda xs: [LayerGain._from(x) for x in xs]})


@dataclass(frozen=True)
class Encoding:
    """How pixels become input spike times."""

    kind: str
    """"linear" (t = t_max (1 - p/255)) or "zlinear" (linear in z = exp(t))."""
    t_max: float
    """Time of a black pixel."""
    silent_below: int
    """Pixels below it send no spike."""


def field_names(cls: type) -> List[str]:
    """The fields of a result class, in order."""
    return [f.name for f in fields(cls)]
