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
their types and the edges are the chain input -> affine_l -> li_l -> if_l -> ... -> output;
every weight equals the model's bit for bit; bias 0; LI tau = tau_syn, r = 1, v_leak = 0; IF r = 1,
v_threshold = theta, fires_at_most_once = 1; the input node's encoding and the graph's
model_sha256 are the model's; and `nir.write` of what `nir.read` gave reads back equal.

With --events/--raster, also: E.nir (firstspike export --format nir-events) reads with
`nir.read_data`, matches the graph's nodes (NIRGraphData.check_nodes), and holds exactly the
spikes of R.csv (firstspike raster, same samples): same neurons, same times to the last bit.

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


def layer_names(l):
    return f"affine_{l}", f"li_{l}", f"if_{l}"


def check_graph(c, g, numbers, label):
    arch = numbers["arch"]
    n_layers = len(arch) - 1
    tau, theta = numbers["tau_syn"], numbers["theta"]
    want_nodes = {"input", "output"} | {n for l in range(1, n_layers + 1) for n in layer_names(l)}
    c.check(set(g.nodes) == want_nodes, f"{label}: nodes {sorted(g.nodes)} != {sorted(want_nodes)}")
    want_edges = [tuple(e) for e in numbers["nodes"]["edges"]]
    c.check(list(map(tuple, g.edges)) == want_edges, f"{label}: edges {g.edges} != {want_edges}")
    c.check(isinstance(g.nodes.get("input"), nir.Input), f"{label}: input is not nir.Input")
    c.check(isinstance(g.nodes.get("output"), nir.Output), f"{label}: output is not nir.Output")
    c.check(list(g.nodes["input"].input_type["input"]) == [arch[0]], f"{label}: input shape")
    c.check(list(g.nodes["output"].output_type["output"]) == [arch[-1]], f"{label}: output shape")
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
        a, li, fi = (g.nodes.get(n) for n in layer_names(l))
        layer = numbers["layers"][l - 1]
        n_in, n_out = layer["n_in"], layer["n_out"]
        if not c.check(isinstance(a, nir.Affine), f"{label}: affine_{l} is {type(a).__name__}"):
            continue
        w_model = np.asarray(layer["w"], dtype=np.float64).reshape(n_in, n_out)  # [i][j]
        c.check(a.weight.shape == (n_out, n_in), f"{label}: affine_{l} weight shape {a.weight.shape}")
        c.check(a.weight.dtype == np.float64, f"{label}: affine_{l} weight dtype {a.weight.dtype}")
        if a.weight.shape == (n_out, n_in):
            c.check(np.array_equal(a.weight, w_model.T), f"{label}: affine_{l} weights differ from the model's")
        c.check(np.array_equal(a.bias, np.zeros(n_out)), f"{label}: affine_{l} bias is not 0")
        if c.check(isinstance(li, nir.LI), f"{label}: li_{l} is {type(li).__name__}"):
            c.check(np.array_equal(li.tau, np.full(n_out, tau)), f"{label}: li_{l} tau != tau_syn")
            c.check(np.array_equal(li.r, np.ones(n_out)), f"{label}: li_{l} r != 1")
            c.check(np.array_equal(li.v_leak, np.zeros(n_out)), f"{label}: li_{l} v_leak != 0")
        if c.check(isinstance(fi, nir.IF), f"{label}: if_{l} is {type(fi).__name__}"):
            c.check(np.array_equal(fi.r, np.ones(n_out)), f"{label}: if_{l} r != 1")
            c.check(np.array_equal(fi.v_threshold, np.full(n_out, theta)), f"{label}: if_{l} v_threshold != theta")
            c.check(int(fi.metadata.get("fires_at_most_once", 0)) == 1, f"{label}: if_{l} lacks fires_at_most_once")


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
    try:
        data.check_nodes(graph)
        error = None
    except Exception as e:  # noqa: BLE001 - report whatever nir raises
        error = e
    c.check(error is None, f"events: NIRGraphData.check_nodes: {error}")
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
