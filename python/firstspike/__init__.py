"""firstspike: exact simulation and training of first-spike spiking neural networks.

Non-leaky integrate-and-fire neurons with exponentially decaying synaptic currents, each
firing at most once (H. Mostafa, IEEE TNNLS 2018). The Rust library computes every first
spike in closed form, with two engines that give the same spikes: the batched analytic
solver (``Model.forward``, ``Model.predict``, ``Model.evaluate``) and the discrete-event
engine (``Model.simulate``).

Quick start::

    import firstspike
    model = firstspike.load("models/mnist-784-800-10.bin")
    images, labels = firstspike.mnist_test_slice()      # 1,000 embedded MNIST test digits
    print(model.evaluate(images, labels).accuracy)      # analytic solver, f64
    run = model.simulate(images[:3], labels=labels[:3]) # spike by spike: run.summary, run.time
    t = model.encode(images[:3])                        # spike times; given back as times=
    print(model.predict(times=t))
    small = firstspike.train(images[:800], labels[:800], arch=[784, 30, 10], epochs=2,
                             validation=100, progress=lambda done, total: None)

Samples are uint8 images given as ``x`` or float spike times given as ``times=`` (never a
float array as ``x``: images in [0, 1] are refused with the conversion to use). Results are
the classes of ``firstspike._results`` (``EvalSummary``, ``SimReport``, ``SimSummary``,
``VerifyReport``, ``EpochLog``, ...), with the fields of the CLI's ``--json`` keys. Long calls
take ``progress=``: True for a tqdm bar (if installed) or printed lines, or a callable
``progress(done, total)``.

Times are in units of the model's tau_syn; ``inf`` means "no spike". Errors raise
``ValueError`` (bad arrays, settings, malformed files), ``FileNotFoundError``/``OSError``
(files), ``KeyboardInterrupt`` (Ctrl-C during training), ``RuntimeError`` (a diverged run),
with the library's messages.
"""

from ._firstspike import (
    Model,
    __version__,
    from_nir,
    load,
    load_idx,
    mnist_test_slice,
    train,
)
from ._results import (
    CountReport,
    Encoding,
    EpochLog,
    EvalSummary,
    LayerGain,
    SimReport,
    SimSummary,
    Sparsity,
    SparsityPair,
    Summary,
    VerifyReport,
)

__all__ = [
    "CountReport",
    "Encoding",
    "EpochLog",
    "EvalSummary",
    "LayerGain",
    "Model",
    "SimReport",
    "SimSummary",
    "Sparsity",
    "SparsityPair",
    "Summary",
    "VerifyReport",
    "__version__",
    "from_nir",
    "load",
    "load_idx",
    "mnist_test_slice",
    "train",
]
