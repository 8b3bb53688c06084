#!/usr/bin/env python3
"""Spike raster of a few MNIST test digits with the Python package (an example).

Loads the shipped model models/mnist-784-800-10.bin, runs the first few of the 1,000 test
digits embedded in the library through the discrete-event engine (full runs: every spike)
and draws one panel per digit: input pixels, hidden neurons and output neurons against
time, with the decision (the first output spike) marked.

    pip install .  &&  pip install matplotlib
    python3 tools/python-raster-example.py [--digits 3] [--out raster.png]

matplotlib is needed by this example only, not by the package.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import firstspike  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=ROOT / "models" / "mnist-784-800-10.bin")
    ap.add_argument("--digits", type=int, default=3, help="first N embedded test digits")
    ap.add_argument("--out", default="python-raster.png")
    a = ap.parse_args()

    model = firstspike.load(a.model)
    images, labels = firstspike.mnist_test_slice()
    x, y = images[: a.digits], labels[: a.digits]
    run = model.simulate(x, labels=y)  # event engine, every spike of every digit
    print(f"{model}: {run.summary.correct}/{run.summary.samples} correct, "
          f"{run.summary.spikes_per_sample_mean:.0f} spikes per digit")

    arch = model.arch
    names = ["input pixels", "hidden neurons", "output neurons"] if len(arch) == 3 else \
        [f"layer {l}" for l in range(len(arch))]
    # Each layer gets a band of the y axis whose height grows with sqrt(its size), so the
    # 10 outputs stay visible next to 784 inputs.
    heights = [max(1.0, np.sqrt(n)) for n in arch]
    base = np.concatenate([[0.0], np.cumsum(heights)[:-1]])
    colors = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]

    fig, axes = plt.subplots(1, a.digits + 1, figsize=(4 * a.digits + 2.5, 5),
                             gridspec_kw={"width_ratios": [1] + [3] * a.digits})
    axes[0].imshow(np.hstack(list(x)), cmap="gray_r")
    axes[0].set_title("digits")
    axes[0].axis("off")
    for k, ax in enumerate(axes[1:]):
        sel = run.sample == k
        layer, neuron, time = run.layer[sel], run.neuron[sel], run.time[sel]
        for l, n in enumerate(arch):
            m = layer == l
            ypos = base[l] + (neuron[m] + 0.5) / n * heights[l]
            ax.scatter(time[m], ypos, s=2 if n > 50 else 14, color=colors[l % 4])
        d, t = run.decision[k], run.decision_time[k]
        if d >= 0:
            ax.axvline(t, color="k", lw=0.8, ls="--")
            ax.annotate(f"decision: {d} at t = {t:.2f}", (t, base[-1] + heights[-1] + 2.5),
                        fontsize=8, xytext=(4, 0), textcoords="offset points", va="center")
        ax.set_ylim(0, base[-1] + heights[-1] + 4.5)
        if k == 0:
            ax.set_yticks(base + np.array(heights) / 2,
                          [f"{names[l]}\n({n})" for l, n in enumerate(arch)])
        else:
            ax.set_yticks([])
        ax.set_xlabel("time (tau_syn)")
        ax.set_title(f"test digit {k}: label {y[k]}, predicted {d}\n"
                     f"spikes per layer: {', '.join(str(int((layer == l).sum())) for l in range(len(arch)))}",
                     fontsize=10)
        for l, n in enumerate(arch[:-1]):
            ax.axhline(base[l] + heights[l], color="0.85", lw=0.6)
    axes[1].set_ylabel("neuron (band height ~ sqrt(layer size))")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
