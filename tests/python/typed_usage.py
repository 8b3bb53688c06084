"""Typed use of the package, checked by `mypy --strict` in CI (it is not run): the stub of
the native module and the result classes must describe what a user writes."""

from typing import List

import numpy as np
import numpy.typing as npt

import firstspike


def shown(done: int, total: int) -> None:
    print(f"{done}/{total}")


def epoch_done(log: firstspike.EpochLog) -> None:
    print(log.epoch, log.train_loss, log.validation_accuracy)


def use(path: str) -> float:
    model: firstspike.Model = firstspike.load(path)
    images, labels = firstspike.mnist_test_slice()
    enc: firstspike.Encoding = model.encoding
    times: npt.NDArray[np.float64] = model.encode(images[:4])
    layers: List[npt.NDArray[np.float64]] = model.forward(times=times, threads=1)
    classes: npt.NDArray[np.int64] = model.predict(images[:4], progress=shown)
    ev: firstspike.EvalSummary = model.evaluate(images, labels, progress=True)
    run: firstspike.SimReport = model.simulate(images[:2], labels=labels[:2], until_decision=True)
    summary: firstspike.SimSummary = run.summary
    sparsity: firstspike.Sparsity = summary.sparsity.to_decision
    check: firstspike.VerifyReport = model.verify(images[:2])
    small = firstspike.train(
        images[:100], labels[:100], arch=[784, 10, 10], epochs=1, lr=1e-3, progress=False,
        on_epoch=epoch_done, gain_band=(0.1, 10.0), loss_origin="input",
    )
    bin_path, card_path = small.save("small")
    history: List[firstspike.EpochLog] = small.history
    print(enc.t_max, len(layers), classes, summary.accuracy, sparsity.spikes_per_neuron,
          check.agree, bin_path, card_path, len(history), run.time.shape)
    return ev.accuracy
