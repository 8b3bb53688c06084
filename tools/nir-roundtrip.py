#!/usr/bin/env python3
"""Checks firstspike's NIR files with the official `nir` package (run it in the venv of
tools/setup-pyenv.sh).

    tools/nir-roundtrip.py --nir M.nir --numbers M.json [--events E.nir --raster R.csv]

M.nir and M.json come from the same model:

    firstspike export --model M.bin --format nir  --out M.nir
    firstspike export --model M.bin --format json --out M.json

The JSON holds the model's numbers in the model's own layout (w[i * n_out + j], input i to
neuron j), written by other code than the NIR writer, so a transposition or a wrong parameter in
the NIR file shows. The check: `nir.read` (with NIR's type checking) accepts the file; the nodes,
their types and the edges are the chain input -> affine_l | conv_l -> li_l -> if_l -> ... -> output
(with flatten_l between a convolution's if_l and a dense affine_{l+1}); every weight equals the
model's bit for bit: an Affine's W[j][i] is the model's w[i][j], a Conv2d's K[o][c][ky][kx] the
model's w[ky][kx][c][o], and where a convolution's (C, H, W) map feeds an Affine its columns are
in NIR's channel-major order ((c H + y) W + x is the model's input (y W + x) C + c); Conv2d
stride, padding, dilation 1, groups 1, input_shape; bias 0; LI tau = tau_syn, r = 1, v_leak = 0;
IF r = 1, v_threshold = theta, fires_at_most_once = 1, each of the layer's shape ((n) or
(C, H, W)); the input node's encoding and the graph's model_sha256 are the model's; and
`nir.write` of what `nir.read` gave reads back equal.

With --events/--raster, also: E.nir (firstspike export --format nir-events) reads with
`nir.read_data`, matches the graph's nodes (NIRGraphData.check_nodes; for a (C, H, W) node, whose
shape nir 1.0.8's check cannot compare with a neuron count, n_neurons = C H W), and holds exactly
the spikes of R.csv (firstspike raster, same samples): same neurons (firstspike's numbering),
same times to the last bit.

Exits 0 if every check passes, 1 otherwise, printing each failure.
"""
import argparse
import csv
import json
import os
import sys
import tempfile

import h5py
import nir
import numpy as np


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            print(f"FAIL: {what}")
        return ok


def weight_name(layer, l):
    return f"conv_{l}" if layer.get("kind") == "conv2d" else f"affine_{l}"


def layer_names(layer, l):
    return weight_name(layer, l), f"li_{l}", f"if_{l}"


def neuron_shape(layer):
    """NIR shape of a layer's neurons: (n_out) or (C, H, W)."""
    if layer.get("kind") != "conv2d":
        return (layer["n_out"],)
    h, w, _ = layer["input_hwc"]
    k, s, p = layer["kernel"], layer["stride"], layer["pad"]
    return (layer["channels"], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)


def firstspike_index(shape, n):
    """firstspike's number of the neuron NIR numbers n in a (C, H, W) map (channel fastest)."""
    c, hh, ww = shape
    ch, y, x = n // (hh * ww), (n // ww) % hh, n % ww
    return (y * ww + x) * c + ch


def expected_weight(layers, k):
    """Layer k's weights in its NIR node's layout, from the model's numbers (its own layout)."""
    layer = layers[k]
    w = np.asarray(layer["w"], dtype=np.float64)
    if layer.get("kind") == "conv2d":
        kk, ci, co = layer["kernel"], layer["input_hwc"][2], layer["channels"]
        return w.reshape(kk, kk, ci, co).transpose(3, 2, 0, 1)  # [ky][kx][c][o] -> [o][c][ky][kx]
    n_in, n_out = layer["n_in"], layer["n_out"]
    w = w.reshape(n_in, n_out).T  # [i][j] -> [j][i]
    if k > 0 and layers[k - 1].get("kind") == "conv2d":
        # Columns in NIR's channel-major order of the map before.
        shape = neuron_shape(layers[k - 1])
        cols = [firstspike_index(shape, n) for n in range(n_in)]
        w = w[:, cols]
    return w


def check_graph(c, g, numbers, label):
    arch = numbers["arch"]
    layers = numbers["layers"]
    n_layers = len(arch) - 1
    tau, theta = numbers["tau_syn"], numbers["theta"]
    want_edges = [tuple(e) for e in numbers["nodes"]["edges"]]
    want_nodes = {n for e in want_edges for n in e}
    c.check(set(g.nodes) == want_nodes, f"{label}: nodes {sorted(g.nodes)} != {sorted(want_nodes)}")
    c.check(list(map(tuple, g.edges)) == want_edges, f"{label}: edges {g.edges} != {want_edges}")
    for l in range(1, n_layers):
        if layers[l - 1].get("kind") == "conv2d" and layers[l].get("kind") != "conv2d":
            c.check((f"if_{l}", f"flatten_{l}") in want_edges, f"{label}: no flatten_{l} after conv_{l}")
            fl = g.nodes.get(f"flatten_{l}")
            if c.check(isinstance(fl, nir.Flatten), f"{label}: flatten_{l} is {type(fl).__name__}"):
                c.check(fl.start_dim == 0 and fl.end_dim == -1, f"{label}: flatten_{l} dims {fl.start_dim}..{fl.end_dim}")
                c.check(list(fl.input_type["input"]) == list(neuron_shape(layers[l - 1])), f"{label}: flatten_{l} input_type")
    c.check(isinstance(g.nodes.get("input"), nir.Input), f"{label}: input is not nir.Input")
    c.check(isinstance(g.nodes.get("output"), nir.Output), f"{label}: output is not nir.Output")
    first = layers[0]
    in_shape = [arch[0]] if first.get("kind") != "conv2d" else [first["input_hwc"][2], *first["input_hwc"][:2]]
    c.check(list(g.nodes["input"].input_type["input"]) == in_shape, f"{label}: input shape")
    c.check(list(g.nodes["output"].output_type["output"]) == list(neuron_shape(layers[-1])), f"{label}: output shape")
    meta = g.nodes["input"].metadata
    enc = numbers["encoding"]
    c.check(
        meta.get("encoding") == enc["kind"]
        and float(meta.get("t_max", np.nan)) == enc["t_max"]
        and int(meta.get("silent_below", -1)) == enc["silent_below"],
        f"{label}: input encoding metadata {meta} != {enc}",
    )
    c.check(g.metadata.get("model_sha256") == numbers["weights_sha256"], f"{label}: graph model_sha256")
    for l in range(1, n_layers + 1):
        layer = layers[l - 1]
        wn, ln, fn = layer_names(layer, l)
        a, li, fi = g.nodes.get(wn), g.nodes.get(ln), g.nodes.get(fn)
        shape = neuron_shape(layer)
        want_w = expected_weight(layers, l - 1)
        if layer.get("kind") == "conv2d":
            if not c.check(isinstance(a, nir.Conv2d), f"{label}: {wn} is {type(a).__name__}"):
                continue
            st, pd = layer["stride"], layer["pad"]
            c.check(list(a.stride) == [st, st] and list(a.padding) == [pd, pd], f"{label}: {wn} stride {a.stride} padding {a.padding}")
            c.check(list(a.dilation) == [1, 1] and int(a.groups) == 1, f"{label}: {wn} dilation {a.dilation} groups {a.groups}")
            c.check(list(a.input_shape) == list(layer["input_hwc"][:2]), f"{label}: {wn} input_shape {a.input_shape}")
            c.check(np.array_equal(a.bias, np.zeros(layer["channels"])), f"{label}: {wn} bias is not 0")
        else:
            if not c.check(isinstance(a, nir.Affine), f"{label}: {wn} is {type(a).__name__}"):
                continue
            c.check(np.array_equal(a.bias, np.zeros(layer["n_out"])), f"{label}: {wn} bias is not 0")
        c.check(a.weight.shape == want_w.shape, f"{label}: {wn} weight shape {a.weight.shape} != {want_w.shape}")
        c.check(a.weight.dtype == np.float64, f"{label}: {wn} weight dtype {a.weight.dtype}")
        if a.weight.shape == want_w.shape:
            # Bit for bit: compare the bytes, so that -0.0 and 0.0 differ.
            c.check(a.weight.tobytes() == np.ascontiguousarray(want_w).tobytes(), f"{label}: {wn} weights differ from the model's")
        if c.check(isinstance(li, nir.LI), f"{label}: {ln} is {type(li).__name__}"):
            c.check(np.array_equal(li.tau, np.full(shape, tau)), f"{label}: {ln} tau != tau_syn (or shape != {shape})")
            c.check(np.array_equal(li.r, np.ones(shape)), f"{label}: {ln} r != 1")
            c.check(np.array_equal(li.v_leak, np.zeros(shape)), f"{label}: {ln} v_leak != 0")
        if c.check(isinstance(fi, nir.IF), f"{label}: {fn} is {type(fi).__name__}"):
            c.check(np.array_equal(fi.r, np.ones(shape)), f"{label}: {fn} r != 1")
            c.check(np.array_equal(fi.v_threshold, np.full(shape, theta)), f"{label}: {fn} v_threshold != theta")
            c.check(int(fi.metadata.get("fires_at_most_once", 0)) == 1, f"{label}: {fn} lacks fires_at_most_once")


def read_raster(path):
    """{(sample, layer): {neuron: time}} from a firstspike raster CSV."""
    spikes = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (int(row["sample"]), int(row["layer"]))
            spikes.setdefault(key, {})[int(row["neuron"])] = float(row["time"])
    return spikes


def check_events(c, events_path, raster_path, graph, numbers):
    data = nir.read_data(events_path)
    maps = {n for n, node in graph.nodes.items() if len(node.output_type["output"]) > 1}
    try:
        if maps:
            # nir 1.0.8 compares n_neurons with the node's shape elementwise, which fails for a
            # (C, H, W) node: check the 1-D nodes with it, the maps here.
            flat = nir.NIRGraphData(nodes={k: v for k, v in data.nodes.items() if k not in maps})
            flat.check_nodes(graph)
        else:
            data.check_nodes(graph)
        error = None
    except Exception as e:  # noqa: BLE001 - report whatever nir raises
        error = e
    c.check(error is None, f"events: NIRGraphData.check_nodes: {error}")
    for name in maps & set(data.nodes):
        n = int(np.prod(graph.nodes[name].output_type["output"]))
        c.check(data.nodes[name].observables["spikes"].n_neurons == n, f"events: {name} n_neurons != {n}")
    with h5py.File(events_path, "r") as f:
        samples = [int(s) for s in f["firstspike/sample"][()]]
    raster = read_raster(raster_path)
    arch = numbers["arch"]
    compared = 0
    for l, n in enumerate(arch):
        name = "input" if l == 0 else f"if_{l}"
        node = data.nodes.get(name)
        if not c.check(node is not None, f"events: no node {name}"):
            continue
        ev = node.observables["spikes"]
        c.check(ev.n_neurons == n, f"events: {name} n_neurons {ev.n_neurons} != {n}")
        c.check(ev.idx.shape == (len(samples), ev.idx.shape[1]), f"events: {name} rows {ev.idx.shape}")
        for r, s in enumerate(samples):
            valid = ev.idx[r] >= 0
            got = dict(zip(ev.idx[r][valid].tolist(), ev.time[r][valid].tolist()))
            c.check(np.all(np.isinf(ev.time[r][~valid])), f"events: {name} sample {s}: padding is not +inf")
            c.check(np.all(np.diff(ev.time[r][valid]) >= 0), f"events: {name} sample {s}: not in time order")
            want = raster.get((s, l), {})
            c.check(got == want, f"events: {name} sample {s}: {len(got)} spikes differ from the raster's {len(want)}")
            compared += len(want)
    return compared


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nir", required=True, help="graph from firstspike export --format nir")
    ap.add_argument("--numbers", required=True, help="JSON from firstspike export --format json")
    ap.add_argument("--events", help="EventData from firstspike export --format nir-events")
    ap.add_argument("--raster", help="PREFIX.csv from firstspike raster for the same samples")
    a = ap.parse_args()
    if bool(a.events) != bool(a.raster):
        ap.error("--events and --raster go together")
    with open(a.numbers) as f:
        numbers = json.load(f)
    c = Checks()
    version = nir.serialization.read_version(a.nir)
    g = nir.read(a.nir)  # type_check=True: NIR's own shape checks along every edge
    check_graph(c, g, numbers, "nir.read")
    with tempfile.TemporaryDirectory() as d:
        again = os.path.join(d, "again.nir")
        nir.write(again, g)
        check_graph(c, nir.read(again), numbers, "nir.write + nir.read")
    spikes = 0
    if a.events:
        spikes = check_events(c, a.events, a.raster, g, numbers)
    arch = "-".join(map(str, numbers["arch"]))
    print(
        f"nir-roundtrip: {a.nir} (NIR layout {version}, nir {nir.__version__}), {arch}"
        + (f", {spikes} spikes of {a.events} against {a.raster}" if a.events else "")
    )
    print(f"nir-roundtrip: {c.passed} checks passed, {len(c.failed)} failed")
    return 0 if not c.failed else 1


if __name__ == "__main__":
    sys.exit(main())
