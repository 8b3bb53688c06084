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
    print(model.evaluate(images, labels)["accuracy"])   # analytic solver, f64
    run = model.simulate(images[:3], labels=labels[:3]) # spike by spike
    small = firstspike.train(images[:800], labels[:800], arch=[784, 30, 10], epochs=2,
                             validation=100)

Times are in units of the model's tau_syn; ``inf`` means "no spike". Errors raise
``ValueError`` (bad arrays, settings, malformed files), ``FileNotFoundError``/``OSError``
(files), ``KeyboardInterrupt`` (Ctrl-C during training), with the library's messages.
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

__all__ = [
    "Model",
    "__version__",
    "from_nir",
    "load",
    "load_idx",
    "mnist_test_slice",
    "train",
]
