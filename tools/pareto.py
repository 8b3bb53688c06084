#!/usr/bin/env python3
"""Accuracy against synaptic events to the decision: first-spike models beside a rate twin.

Draws one SVG (standard library only, no plotting package): each first-spike model is a point
at (synaptic events to its decision per image, accuracy), from the JSON that
`firstspike simulate --until-decision --json` prints; points of one series are joined in the
order given (e.g. a sweep of `train --decision-cost`). The rate-coded twin is a curve, from a
CSV written by `firstspike compare --csv`: its accuracy after T time steps against the
synaptic events of those T steps, one point per T.

    python3 tools/pareto.py --out pareto.svg --title "MNIST 784-800-10, validation" \
        --rate rate.csv --series "decision cost" \
        --point "0=w0.json" --point "0.03=w0.03.json" --point "0.1=w0.1.json"

Several --series may be given; each --point belongs to the last --series before it. The x axis
is logarithmic. A table of the points is printed on stdout (Markdown).
"""

import argparse
import csv
import json
import math
import os
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b"]


def read_point(label, path):
    with open(path) as f:
        d = json.load(f)
    if not d.get("until_decision"):
        sys.exit(f"{path}: not a `simulate --until-decision --json` result (until_decision is not true)")
    td = d["sparsity"]["to_decision"]
    return {
        "label": label,
        "accuracy": d["accuracy"],
        "events": td["synaptic_events"],
        "spikes": d["spikes_before_decision_mean"],
        "per_hidden": td["spikes_per_hidden_neuron"],
        "samples": d["samples"],
    }


def read_rate(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["coding"] == "rate" and float(r["synaptic_events_per_inference"]) > 0:
                rows.append((float(r["synaptic_events_per_inference"]), float(r["accuracy"])))
    if not rows:
        sys.exit(f"{path}: no rate rows (coding = rate): not a `firstspike compare --csv` file?")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="SVG file to write")
    ap.add_argument("--title", default="")
    ap.add_argument("--rate", help="compare --csv of the rate twin on the same images")
    ap.add_argument("--rate-label", default="rate-coded twin (T steps)")
    ap.add_argument("--series", action="append", default=[], help="name of the next points' series")
    ap.add_argument("--point", action="append", default=[], help="LABEL=simulate.json")
    ap.add_argument("--ymin", type=float, default=None, help="lowest accuracy shown (fraction)")
    a = ap.parse_args()

    series = []
    for kind, value in in_order(sys.argv[1:]):
        if kind == "series":
            series.append((value, []))
        else:
            if not series:
                series.append(("first-spike", []))
            label, _, path = value.rpartition("=")
            if not path:
                sys.exit(f"--point {value!r}: give LABEL=FILE.json")
            series[-1][1].append(read_point(label, path))
    rate = read_rate(a.rate) if a.rate else []

    pts = [p for _, ps in series for p in ps]
    if not pts:
        sys.exit("no --point given")
    xs = [p["events"] for p in pts] + [e for e, _ in rate]
    ys = [p["accuracy"] for p in pts]
    ymax = max(ys + [acc for _, acc in rate])
    ymin = a.ymin if a.ymin is not None else max(0.0, min(ys) - 0.01)
    ymax = min(1.0, ymax + 0.002)
    xmin = 10 ** math.floor(math.log10(min(xs)))
    xmax = 10 ** math.ceil(math.log10(max(xs)))

    W, H, L, R, T, B = 720, 460, 70, 20, 40, 60
    def px(x):
        return L + (math.log10(x) - math.log10(xmin)) / (math.log10(xmax) - math.log10(xmin)) * (W - L - R)
    def py(y):
        return T + (ymax - y) / (ymax - ymin) * (H - T - B)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W/2}" y="20" text-anchor="middle" font-size="14">{esc(a.title)}</text>']
    # axes, grid and ticks
    out.append(f'<rect x="{L}" y="{T}" width="{W-L-R}" height="{H-T-B}" fill="none" stroke="black"/>')
    e = math.floor(math.log10(xmin))
    while 10 ** e <= xmax:
        x = px(10 ** e)
        out.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H-B}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{H-B+16}" text-anchor="middle">1e{e}</text>')
        e += 1
    step = nice_step((ymax - ymin) * 100) / 100
    y = math.ceil(ymin / step) * step
    while y <= ymax + 1e-12:
        out.append(f'<line x1="{L}" y1="{py(y):.1f}" x2="{W-R}" y2="{py(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{L-6}" y="{py(y)+4:.1f}" text-anchor="end">{100*y:.1f} %</text>')
        y += step
    out.append(f'<text x="{(L+W-R)/2}" y="{H-18}" text-anchor="middle">synaptic events per image to the decision (rate: in T steps), log scale</text>')
    out.append(f'<text transform="translate(16,{(T+H-B)/2}) rotate(-90)" text-anchor="middle">accuracy</text>')
    entries = len(series) + (1 if rate else 0)
    legend_x, legend_y = L + 10, H - B - 10 - 18 * (entries - 1)
    if rate:
        vis = [(x, yy) for x, yy in rate if yy >= ymin]
        if vis:
            d = " ".join(f"{px(x):.1f},{py(yy):.1f}" for x, yy in vis)
            out.append(f'<polyline points="{d}" fill="none" stroke="#ff7f0e" stroke-width="2"/>')
        out.append(legend(legend_x, legend_y, "#ff7f0e", a.rate_label))
        legend_y += 18
    for k, (name, ps) in enumerate(series):
        c = COLOURS[k % len(COLOURS)]
        if len(ps) > 1:
            d = " ".join(f"{px(p['events']):.1f},{py(p['accuracy']):.1f}" for p in ps)
            out.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-dasharray="4 3"/>')
        # Labels in a column to the right of the series, in the order of the points'
        # heights, at least 14 px apart, each joined to its point by a thin line.
        col = max(px(p["events"]) for p in ps) + 40
        last = -1e9
        for p in sorted(ps, key=lambda p: -p["accuracy"]):
            x, yy = px(p["events"]), py(p["accuracy"])
            ly = max(yy, last + 14)
            last = ly
            out.append(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="4" fill="{c}"/>')
            out.append(f'<line x1="{x:.1f}" y1="{yy:.1f}" x2="{col-3:.1f}" y2="{ly-4:.1f}" stroke="{c}" stroke-width="0.5"/>')
            out.append(f'<text x="{col:.1f}" y="{ly:.1f}" fill="{c}">{esc(p["label"])}</text>')
        out.append(legend(legend_x, legend_y, c, f"first-spike: {name}"))
        legend_y += 18
    out.append("</svg>")
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, a.out)

    print("| series | point | accuracy | synaptic events to the decision | spikes to the decision | spikes per hidden neuron | images |")
    print("|---|---|---|---|---|---|---|")
    for name, ps in series:
        for p in ps:
            print(f"| {name} | {p['label']} | {100*p['accuracy']:.2f} % | {p['events']:,.0f} | {p['spikes']:,.1f} | {p['per_hidden']:.3f} | {p['samples']} |")


def in_order(argv):
    """The --series and --point arguments in the order given (argparse keeps two lists)."""
    return [(argv[i][2:], argv[i + 1]) for i in range(len(argv) - 1)
            if argv[i] in ("--series", "--point")]


def nice_step(span):
    for s in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50):
        if span / s <= 8:
            return s
    return 100


def legend(x, y, colour, text):
    return (f'<line x1="{x}" y1="{y-4}" x2="{x+20}" y2="{y-4}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{x+26}" y="{y}">{esc(text)}</text>')


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    main()
