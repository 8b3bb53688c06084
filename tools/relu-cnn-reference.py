#!/usr/bin/env python3
"""A rate-free reference point for the conv models: a ReLU network of the same shape.

    python3 tools/relu-cnn-reference.py --data data/fashion-mnist --augment flip
    python3 tools/relu-cnn-reference.py --data data/mnist --augment shift

Trains, with PyTorch on the CPU, the ordinary ReLU network whose layers have the shapes of
firstspike's `28x28-32c5s2p2-64c5s2p2-10`: Conv2d(1, 32, 5, stride 2, padding 2), ReLU,
Conv2d(32, 64, 5, stride 2, padding 2), ReLU, Flatten, Linear(3136, 10), with biases (83,466
parameters against the first-spike net's 83,360 weights); `--channels 48,96` gives the
shape of `28x28-48c5s2p2-96c5s2p2-10`. The split and the schedule are the
ones the shipped conv models were chosen with: the last 5,000 training images held out for
validation, Adam with step size 1e-3 and batch 32, the step size times 0.95 after every epoch;
`--augment flip` mirrors half the images left to right (as `firstspike train --flip`),
`--augment shift` moves each image by up to 2 pixels each way (as `--shift 2`). The epoch with
the best validation accuracy is kept and the test set is read once, for it, at the end.

For a diagnostic split, `--train-limit N --validation V` keeps the first N training images
and holds out the last V of them (as `firstspike train --train-limit N --validation V`), and
`--no-test` does not read the test set at all. `--save-logits FILE.npy` writes the kept
epoch's logits (float32, images x 10) for every training image loaded, validation ones
included, in the training file's order: the teacher of `firstspike train --teacher FILE.npy`
on the same `--train-limit`:

    python3 tools/relu-cnn-reference.py --data data/fashion-mnist --train-limit 7000 \
        --validation 2000 --epochs 12 --no-test --save-logits teacher.npy

`--save-weights FILE.npz` writes the kept epoch's weights for `firstspike train
--init-from-relu FILE.npz`, in PyTorch's layouts, float32: `layer0.weight` (C1, 1, 5, 5) and
`layer0.bias` (C1,) of the first convolution, `layer1.weight` (C2, C1, 5, 5) and `layer1.bias`
(C2,) of the second, `layer2.weight` (10, 7 * 7 * C2) and `layer2.bias` (10,) of the dense
layer, whose inputs are in `Flatten` order (c * 49 + y * 7 + x), and `check.logits`
(16, 10), the logits of the first 16 training images loaded, which firstspike recomputes to
check the layouts. `--no-bias` trains the twin without biases (the first-spike layers have
none, so the mapping then drops nothing; the file has no `.bias` arrays):

    python3 tools/relu-cnn-reference.py --data data/fashion-mnist --train-limit 7000 \
        --validation 2000 --epochs 12 --no-test --no-bias --save-weights twin.npz

It shows how much of the gap to the published accuracies is the architecture and how much is
training first-spike neurons; it is not part of firstspike and no test runs it. It needs
PyTorch and NumPy (`pip install torch numpy`, about 1 GB); the data is the four IDX files
(plain or gzipped) that firstspike reads and `tools/fetch-mnist.sh` fetches.
"""

import argparse
import copy
import gzip
import os
import sys
import time

VALIDATION = 5_000


def read_idx(folder, stem):
    """The IDX file `stem` (or `stem.gz`, as firstspike reads them) of `folder` as a NumPy
    array (uint8), checked against its header."""
    import numpy as np

    plain = os.path.join(folder, stem)
    path = plain if os.path.exists(plain) else plain + ".gz"
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as e:
        sys.exit(f"error: cannot read {path}: {e}\n  fetch the data with tools/fetch-mnist.sh")
    if len(raw) < 4 or raw[2] != 0x08:
        sys.exit(f"error: {path} is not an IDX file of unsigned bytes")
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd)]
    size = 1
    for d in dims:
        size *= d
    if len(raw) != 4 + 4 * nd + size:
        sys.exit(f"error: {path} holds {len(raw)} bytes, its header says {4 + 4 * nd + size}")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="folder with the four IDX files")
    ap.add_argument("--augment", choices=["none", "flip", "shift"], default="none")
    ap.add_argument("--channels", default="32,64", help="the two convolutions' channels, C1,C2")
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr-decay", type=float, default=0.95, help="step size factor per epoch")
    ap.add_argument("--train-limit", type=int, help="keep only the first N training images")
    ap.add_argument("--validation", type=int, default=VALIDATION,
                    help="hold out the last V training images (after --train-limit)")
    ap.add_argument("--no-test", action="store_true", help="do not read the test set")
    ap.add_argument("--save-logits", metavar="FILE.npy",
                    help="write the kept epoch's logits for every training image loaded")
    ap.add_argument("--save-weights", metavar="FILE.npz",
                    help="write the kept epoch's weights (for firstspike train --init-from-relu)")
    ap.add_argument("--no-bias", action="store_true", help="layers without biases")
    args = ap.parse_args()
    try:
        import numpy as np
        import torch
        import torch.nn as nn
    except ImportError as e:
        sys.exit(f"error: {e}; this reference needs PyTorch and NumPy: pip install torch numpy")
    try:
        c1, c2 = (int(c) for c in args.channels.split(","))
        assert c1 > 0 and c2 > 0
    except (ValueError, AssertionError):
        sys.exit(f"error: --channels {args.channels!r}: expected two positive counts, e.g. 32,64")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    def load(kind):
        x = read_idx(args.data, f"{kind}-images-idx3-ubyte")
        y = read_idx(args.data, f"{kind}-labels-idx1-ubyte")
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            sys.exit(f"error: {args.data}: {kind} images {x.shape} and labels {y.shape} differ from (N, 28, 28) and (N,)")
        return x.astype(np.float32) / 255, y.astype(np.int64)

    x, y = load("train")
    x_test, y_test = (None, None) if args.no_test else load("t10k")
    if args.train_limit is not None:
        if not 0 < args.train_limit <= len(x):
            sys.exit(f"error: --train-limit {args.train_limit}: {args.data} has {len(x)} training images")
        x, y = x[: args.train_limit], y[: args.train_limit]
    if not 0 < args.validation < len(x):
        sys.exit(f"error: --validation {args.validation} of {len(x)} training images leaves none to train on")
    n_train = len(x) - args.validation
    x_train, y_train, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    if args.save_logits and not args.save_logits.endswith(".npy"):
        sys.exit(f"error: --save-logits {args.save_logits!r}: give a FILE.npy")
    if args.save_weights and not args.save_weights.endswith(".npz"):
        sys.exit(f"error: --save-weights {args.save_weights!r}: give a FILE.npz")

    bias = not args.no_bias
    net = nn.Sequential(
        nn.Conv2d(1, c1, 5, 2, 2, bias=bias),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 5, 2, 2, bias=bias),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(7 * 7 * c2, 10, bias=bias),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    decay = torch.optim.lr_scheduler.ExponentialLR(opt, args.lr_decay)

    def accuracy(xs, ys):
        net.eval()
        right = 0
        with torch.no_grad():
            for i in range(0, len(xs), 1000):
                out = net(torch.from_numpy(xs[i : i + 1000, None]))
                right += int((out.argmax(1).numpy() == ys[i : i + 1000]).sum())
        return right / len(xs)

    def augment(xb):
        if args.augment == "flip":
            m = rng.random(len(xb)) < 0.5
            xb[m] = xb[m][:, :, ::-1]
        elif args.augment == "shift":
            pad = np.pad(xb, ((0, 0), (2, 2), (2, 2)))
            for k in range(len(xb)):
                dy, dx = rng.integers(0, 5, 2)
                xb[k] = pad[k, dy : dy + 28, dx : dx + 28]
        return xb

    best, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        t0, right = time.time(), 0
        perm = rng.permutation(n_train)
        for i in range(0, n_train, 32):
            b = perm[i : i + 32]
            xb = augment(x_train[b].copy())
            out = net(torch.from_numpy(np.ascontiguousarray(xb[:, None])))
            loss = nn.functional.cross_entropy(out, torch.from_numpy(y_train[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            right += int((out.argmax(1).numpy() == y_train[b]).sum())
        decay.step()
        v = accuracy(x_val, y_val)
        print(
            f"epoch {epoch}: train acc {100 * right / n_train:.2f} %, "
            f"validation acc {100 * v:.2f} %, {time.time() - t0:.1f} s",
            flush=True,
        )
        if v > best:
            best, best_state, best_epoch = v, copy.deepcopy(net.state_dict()), epoch
    net.load_state_dict(best_state)
    n_params = sum(p.numel() for p in net.parameters())
    test = "not read (--no-test)" if args.no_test else (
        f"{100 * accuracy(x_test, y_test):.2f} % (read once, that epoch)")
    print(
        f"best validation acc {100 * best:.2f} % at epoch {best_epoch}; "
        f"test acc {test}; {n_params} parameters"
    )
    if args.save_logits:
        net.eval()
        with torch.no_grad():
            logits = np.concatenate([
                net(torch.from_numpy(x[i : i + 1000, None])).numpy()
                for i in range(0, len(x), 1000)
            ]).astype(np.float32)
        if not np.isfinite(logits).all():
            sys.exit("error: the logits are not all finite; nothing written")
        np.save(args.save_logits, logits)
        right = (logits.argmax(1) == y).mean()
        print(f"wrote {args.save_logits}: logits {logits.shape} of the epoch-{best_epoch} weights "
              f"for every training image loaded (argmax accuracy {100 * right:.2f} %)")
    if args.save_weights:
        net.eval()
        arrays = {}
        for l, m in enumerate(m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))):
            arrays[f"layer{l}.weight"] = m.weight.detach().numpy().astype(np.float32)
            if m.bias is not None:
                arrays[f"layer{l}.bias"] = m.bias.detach().numpy().astype(np.float32)
        with torch.no_grad():
            arrays["check.logits"] = net(torch.from_numpy(x[:16, None])).numpy().astype(np.float32)
        if not all(np.isfinite(a).all() for a in arrays.values()):
            sys.exit("error: the weights are not all finite; nothing written")
        np.savez(args.save_weights, **arrays)
        print(f"wrote {args.save_weights}: the epoch-{best_epoch} weights "
              + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


if __name__ == "__main__":
    main()
