#!/usr/bin/env python3
"""Imports NIR graphs that firstspike did not write and checks every spike against NIR's own
equations, computed here in numpy (run it in the venv of tools/setup-pyenv.sh).

    tools/nir-import-check.py [--firstspike BIN] [--samples N] [--seed S] [--workdir DIR]
                              [--nest] [--fixtures DIR]

1. Builds graphs with the official `nir` package (`nir.NIRGraph`, type-checked) and writes them
   with `nir.write`, weights float32 as PyTorch exports them, random from --seed:
   - conv: Input (2, 9, 9) -> Conv2d (4, 2, 3, 3), stride 2, padding 1 -> LI (tau = 2.5, r per
     channel) -> IF (r and v_threshold per channel) -> Flatten -> Affine (6 x 100) -> CubaLIF
     (tau_syn = 2.5, tau_mem = inf, r, w_in and v_threshold per neuron) -> Output (6);
   - dense: Input (12) -> Linear (10 x 12) -> LI (tau = 0.4, r per neuron) -> IF (r per neuron,
     v_threshold 0.8 for all) -> Affine (3 x 10) -> LI -> IF -> Output (3);
   and graphs firstspike must refuse: a leaky membrane (LIF), a bias, a recurrent edge, a
   CubaLIF with a finite tau_mem, a Delay.
2. `firstspike import` makes models of the first two (and must exit 1, naming the node, on the
   others); `firstspike raster --inputs X.npy` runs them on --samples random input spike times
   (10 % of the inputs silent), saved in firstspike's input order: (N, H, W, C) for the map.
3. The reference, in NIR's neuron order ((C, H, W) channel-major; a Flatten keeps that order):
   neuron j of a layer receives, for each input spike at t_i, weight W_ji (an Affine's, or a
   Conv2d's kernel tap as PyTorch applies it); its LI current jumps by r_LI W / tau and decays
   with tau, its IF potential integrates r_IF times it (CubaLIF: w_in and r, with tau_mem = inf
   read as dv/dt = r I, as firstspike reads it), so for t > t_i
       V_j(t) = g_j sum_i W_ji (1 - exp(-(t - t_i)/tau)),   g_j = r_LI r_IF (or w_in r),
   and the neuron fires once, when V_j reaches v_threshold_j: found interval by interval
   between the sorted input times (V is monotone between them) and bisected to 1e-12 relative.
   Each layer is computed from firstspike's spikes of the layer below, so a difference is the
   layer's own. Every neuron must fire in both or neither, within 1e-9 x max(1, t).
4. With --nest, also tools/nest-check on each imported model and the same inputs (NEST runs
   the imported model's own NIR export, Conv2d included).

--fixtures DIR writes the conv graph and the leaky one (its LIF node is lif_1) to DIR as
foreign-conv.nir and leaky.nir: the test suites read them (tests/data/nir).
Exits 0 if every check passes, 1 otherwise.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nir
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-9


def conv_graph(rng):
    """The conv graph and its layers in the reference's terms."""
    tau = 2.5
    k = rng.uniform(-0.3, 0.9, size=(4, 2, 3, 3)).astype(np.float32)
    conv = nir.Conv2d(input_shape=(9, 9), weight=k, stride=2, padding=1, dilation=1, groups=1,
                      bias=np.zeros(4, dtype=np.float32))
    shape = tuple(int(x) for x in conv.output_type["output"])  # (4, 5, 5)
    per_channel = lambda lo, hi: np.repeat(rng.uniform(lo, hi, size=4), 25).reshape(shape)  # noqa: E731
    r_li, r_if, vth1 = per_channel(0.5, 2.0), per_channel(0.5, 2.0), per_channel(0.6, 1.6)
    w = rng.uniform(-0.1, 0.25, size=(6, 100)).astype(np.float32)
    w_in, r, vth2 = (rng.uniform(lo, hi, size=6) for lo, hi in [(0.5, 2.0), (0.5, 2.0), (0.6, 1.4)])
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 9, 9])}),
        "conv": conv,
        "syn": nir.LI(tau=np.full(shape, tau), r=r_li, v_leak=np.zeros(shape)),
        "mem": nir.IF(r=r_if, v_threshold=vth1, v_reset=np.full(shape, -0.5)),
        "flat": nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=w, bias=np.zeros(6, dtype=np.float32)),
        "cuba": nir.CubaLIF(tau_syn=np.full(6, tau), tau_mem=np.full(6, np.inf), r=r, v_leak=np.zeros(6),
                            v_threshold=vth2, v_reset=np.zeros(6), w_in=w_in),
        "output": nir.Output(output_type={"output": np.array([6])}),
    }
    names = list(nodes)
    g = nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])))
    layers = [
        dict(kind="conv", k=k.astype(np.float64), stride=2, pad=1, in_shape=(2, 9, 9), out_shape=shape,
             tau=tau, gain=(r_li * r_if).ravel(), vth=vth1.ravel()),
        dict(kind="dense", w=w.astype(np.float64), out_shape=(6,), tau=tau, gain=w_in * r, vth=vth2),
    ]
    return g, layers


def dense_graph(rng):
    tau, vth = 0.4, 0.8
    nodes, layers, n_in = {"input": nir.Input(input_type={"input": np.array([12])})}, [], 12
    for l, n in [(1, 10), (2, 3)]:
        w = rng.uniform(-0.15, 0.4, size=(n, n_in))
        r_li, r_if = rng.uniform(0.5, 2.0, size=n), rng.uniform(0.5, 2.0, size=n)
        nodes[f"w{l}"] = nir.Linear(weight=w) if l == 1 else nir.Affine(weight=w, bias=np.zeros(n))
        nodes[f"syn{l}"] = nir.LI(tau=np.full(n, tau), r=r_li, v_leak=np.zeros(n))
        nodes[f"mem{l}"] = nir.IF(r=r_if, v_threshold=np.full(n, vth), v_reset=np.zeros(n))
        layers.append(dict(kind="dense", w=w, out_shape=(n,), tau=tau, gain=r_li * r_if, vth=np.full(n, vth)))
        n_in = n
    nodes["output"] = nir.Output(output_type={"output": np.array([3])})
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:]))), layers


def refused_graphs():
    """(name, graph, the node firstspike must name, a word of its reason)."""
    w = np.full((3, 4), 0.3)
    inp = lambda: nir.Input(input_type={"input": np.array([4])})  # noqa: E731
    out = lambda: nir.Output(output_type={"output": np.array([3])})  # noqa: E731
    li = lambda: nir.LI(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3))  # noqa: E731
    fi = lambda: nir.IF(r=np.ones(3), v_threshold=np.ones(3))  # noqa: E731
    chain = lambda nodes: nir.NIRGraph(nodes=nodes, edges=list(zip(list(nodes), list(nodes)[1:])))  # noqa: E731
    leaky = chain({"input": inp(), "affine_1": nir.Affine(weight=w, bias=np.zeros(3)),
                   "lif_1": nir.LIF(tau=np.full(3, 5.0), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3)),
                   "output": out()})
    bias = chain({"input": inp(), "fc": nir.Affine(weight=w, bias=np.array([0.0, 0.1, 0.0])), "syn": li(),
                  "mem": fi(), "output": out()})
    finite = chain({"input": inp(), "fc": nir.Linear(weight=w),
                    "cuba": nir.CubaLIF(tau_syn=np.ones(3), tau_mem=np.full(3, 1e6), r=np.ones(3),
                                        v_leak=np.zeros(3), v_threshold=np.ones(3)),
                    "output": out()})
    delay = chain({"input": inp(), "wait": nir.Delay(delay=np.ones(4)), "fc": nir.Linear(weight=w),
                   "syn": li(), "mem": fi(), "output": out()})
    rec_nodes = {"input": inp(), "fc": nir.Affine(weight=np.full((3, 3), 0.3), bias=np.zeros(3)), "syn": li(),
                 "mem": fi(), "output": out()}
    rec_nodes["input"] = nir.Input(input_type={"input": np.array([3])})
    recurrent = nir.NIRGraph(nodes=rec_nodes, edges=[("input", "fc"), ("fc", "syn"), ("syn", "mem"),
                                                     ("mem", "fc"), ("mem", "output")], type_check=False)
    return [("leaky", leaky, "lif_1", "leaky membrane"), ("bias", bias, "fc", "bias"),
            ("finite-tau-mem", finite, "cuba", "tau_mem"), ("delay", delay, "wait", "Delay"),
            ("recurrent", recurrent, "fc", "cycle")]


def conv_inputs(layer, n):
    """Neuron n's inputs (index, weight) of a Conv2d layer, NIR order, as PyTorch convolves."""
    k, s, p = layer["k"], layer["stride"], layer["pad"]
    co, ci, kh, kw = k.shape
    c_in, h, w = layer["in_shape"]
    _, ho, wo = layer["out_shape"]
    o, oy, ox = n // (ho * wo), (n // wo) % ho, n % wo
    out = []
    for c in range(ci):
        for ky in range(kh):
            for kx in range(kw):
                iy, ix = oy * s + ky - p, ox * s + kx - p
                if 0 <= iy < h and 0 <= ix < w:
                    out.append(((c * h + iy) * w + ix, k[o, c, ky, kx]))
    return out


def first_spike(t_in, w, tau, g, vth):
    """First t with g sum_i w_i (1 - exp(-(t - t_i)/tau)) >= vth (sum over t_i <= t), or inf."""
    order = np.argsort(t_in, kind="stable")
    t_in, w = t_in[order], w[order]

    def v(t):
        m = t_in <= t
        return g * np.sum(w[m] * (1.0 - np.exp(-(t - t_in[m]) / tau)))

    for k in range(len(t_in)):
        lo = t_in[k]
        if k + 1 < len(t_in):
            if t_in[k + 1] == lo or v(t_in[k + 1]) < vth:
                continue  # no crossing before the next input (V is monotone in between)
            hi = t_in[k + 1]
        else:
            if g * np.sum(w) <= vth:
                return np.inf
            hi = lo + tau
            while v(hi) < vth:
                hi = lo + 2.0 * (hi - lo)
        a, b = lo, hi
        while b - a > 1e-12 * max(1.0, b):
            m = 0.5 * (a + b)
            if v(m) >= vth:
                b = m
            else:
                a = m
        return b
    return np.inf


def reference_layer(layer, prev):
    """Spike times of a layer's neurons (NIR order) given its inputs' times `prev` (NIR order)."""
    n = int(np.prod(layer["out_shape"]))
    out = np.full(n, np.inf)
    for j in range(n):
        ins = conv_inputs(layer, j) if layer["kind"] == "conv" else list(enumerate(layer["w"][j]))
        ins = [(prev[i], wt) for i, wt in ins if np.isfinite(prev[i])]
        if ins:
            t, w = (np.array(x, dtype=np.float64) for x in zip(*ins))
            out[j] = first_spike(t, w, layer["tau"], layer["gain"][j], layer["vth"][j])
    return out


def to_nir_order(v, shape):
    """A layer's values in firstspike's numbering ((y W + x) C + c for a map) -> NIR's order."""
    if len(shape) != 3:
        return v
    c, h, w = shape
    cc, yy, xx = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return v[((yy * w + xx) * c + cc).ravel()]


def run(cmd, ok=True):
    r = subprocess.run([str(x) for x in cmd], capture_output=True, text=True)
    if ok and r.returncode != 0:
        sys.exit(f"nir-import-check: {' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stderr}")
    return r


def check_model(fs, name, graph, layers, in_shape, samples, rng, work, nest):
    """Imports `graph`, runs it on random inputs, compares with the reference; returns failures."""
    path = work / f"{name}.nir"
    nir.write(path, graph)
    rep = json.loads(run([fs, "import", "--nir", path, "--out", work / name, "--json"]).stdout)
    x = rng.uniform(0.0, 5.0, size=(samples, *in_shape))
    x[rng.random(x.shape) < 0.1] = np.inf
    # firstspike numbers a map's inputs (y, x, c): give it (N, H, W, C).
    x_fs = np.moveaxis(x, 1, -1) if len(in_shape) == 3 else x
    np.save(work / f"{name}-inputs.npy", np.ascontiguousarray(x_fs))
    idx = ",".join(map(str, range(samples)))
    run([fs, "raster", "--model", work / f"{name}.bin", "--inputs", work / f"{name}-inputs.npy", "--index", idx,
         "--out", work / f"{name}-raster"])
    sizes = [int(np.prod(in_shape))] + [int(np.prod(ly["out_shape"])) for ly in layers]
    shapes = [in_shape] + [ly["out_shape"] for ly in layers]
    fs_t = np.full((samples, len(sizes), max(sizes)), np.inf)
    with open(work / f"{name}-raster.csv", newline="") as f:
        for row in csv.DictReader(f):
            fs_t[int(row["sample"]), int(row["layer"]), int(row["neuron"])] = float(row["time"])
    failures, compared, worst = [], [0] * len(layers), 0.0
    for s in range(samples):
        got = [to_nir_order(fs_t[s, l, : sizes[l]], shapes[l]) for l in range(len(sizes))]
        if not np.array_equal(got[0], x[s].ravel()):
            failures.append(f"{name} sample {s}: firstspike's input spikes are not the inputs given")
        for l, ly in enumerate(layers, start=1):
            want = reference_layer(ly, got[l - 1])
            both = np.isfinite(want) & np.isfinite(got[l])
            one = np.isfinite(want) != np.isfinite(got[l])
            if one.any():
                j = int(np.flatnonzero(one)[0])
                failures.append(f"{name} sample {s} layer {l} neuron {j} (NIR order): reference {want[j]}, firstspike {got[l][j]}")
            d = np.abs(want[both] - got[l][both])
            if d.size:
                worst = max(worst, float(d.max()))
                bad = d > TOL * np.maximum(1.0, np.abs(want[both]))
                if bad.any():
                    failures.append(f"{name} sample {s} layer {l}: {int(bad.sum())} spike times beyond {TOL:g} x max(1, t)")
            compared[l - 1] += int(both.sum())
    silent = sum(int(np.prod(ly["out_shape"])) for ly in layers) * samples - sum(compared)
    print(f"nir-import-check: {name}: imported as {rep['arch_string']} (tau_syn {rep['tau_syn']}, theta {rep['theta']}); "
          f"{samples} samples, spikes compared per layer {compared}, {silent} neurons silent in both; "
          f"max |t_firstspike - t_reference| = {worst:.2e}")
    if min(compared) == 0 or silent == 0:
        failures.append(f"{name}: a layer never fired or no neuron stayed silent: the comparison proves too little")
    if nest:
        r = run([sys.executable, ROOT / "tools" / "nest-check", "--model", work / f"{name}.bin", "--inputs",
                 work / f"{name}-inputs.npy", "--firstspike", fs], ok=False)
        keep = ("spikes compared", "max |t_nest", "nest-check: PASS", "nest-check: FAIL")
        print("\n".join("  " + line.strip() for line in r.stdout.splitlines() if line.strip().startswith(keep)))
        if r.returncode != 0:
            failures.append(f"{name}: nest-check failed:\n{r.stdout}{r.stderr}")
    return rep, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firstspike", help="firstspike binary [$FIRSTSPIKE_BIN or target/release/firstspike]")
    ap.add_argument("--samples", type=int, default=12, help="random input samples per graph [12]")
    ap.add_argument("--seed", type=int, default=0, help="seed of the weights and inputs [0]")
    ap.add_argument("--workdir", help="keep the files here [a temporary folder]")
    ap.add_argument("--nest", action="store_true", help="also run tools/nest-check on the imported models")
    ap.add_argument("--fixtures", help="write foreign-conv.nir and leaky.nir to this folder and stop")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    conv, conv_layers = conv_graph(rng)
    dense, dense_layers = dense_graph(rng)
    refused = refused_graphs()
    if a.fixtures:
        d = Path(a.fixtures)
        d.mkdir(parents=True, exist_ok=True)
        nir.write(d / "foreign-conv.nir", conv)
        nir.write(d / "leaky.nir", refused[0][1])
        print(f"nir-import-check: wrote {d / 'foreign-conv.nir'} and {d / 'leaky.nir'}")
        return 0
    fs = a.firstspike or os.environ.get("FIRSTSPIKE_BIN") or str(ROOT / "target/release/firstspike")
    if not Path(fs).is_file():
        sys.exit(f"nir-import-check: firstspike binary {fs} not found; build it or pass --firstspike")
    tmp = None if a.workdir else tempfile.TemporaryDirectory(prefix="nir-import-check-")
    work = Path(a.workdir or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    failures = []
    rep, f = check_model(fs, "conv", conv, conv_layers, (2, 9, 9), a.samples, rng, work, a.nest)
    failures += f
    if (rep["tau_syn"], rep["theta"], rep["arch_string"]) != (2.5, 1.0, "9x9x2-4c3s2p1-6"):
        failures.append(f"conv: imported as {rep['arch_string']}, tau_syn {rep['tau_syn']}, theta {rep['theta']}")
    rep, f = check_model(fs, "dense", dense, dense_layers, (12,), a.samples, rng, work, a.nest)
    failures += f
    if (rep["tau_syn"], rep["theta"]) != (0.4, 0.8):
        failures.append(f"dense: tau_syn {rep['tau_syn']}, theta {rep['theta']} (want the graph's 0.4 and 0.8)")
    for name, g, node, word in refused:
        path = work / f"refused-{name}.nir"
        nir.write(path, g)
        r = run([fs, "import", "--nir", path, "--out", work / f"refused-{name}"], ok=False)
        said = r.stderr.strip()
        if r.returncode != 1 or f"node '{node}'" not in said or word not in said:
            failures.append(f"refused {name}: exit {r.returncode}, wanted 1 naming node '{node}' and '{word}': {said}")
        if (work / f"refused-{name}.bin").exists():
            failures.append(f"refused {name}: a model was written")
    print(f"nir-import-check: {len(refused)} graphs refused as they should be "
          f"({', '.join(n for n, *_ in refused)})")
    for x in failures:
        print(f"FAIL: {x}")
    print(f"nir-import-check: {'PASS' if not failures else 'FAIL'} ({len(failures)} failures)")
    if tmp:
        tmp.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
