#!/usr/bin/env bash
# Re-measures the speed and memory figures quoted in docs/performance.md and docs/experiments/.
#
#   tools/measure.sh compare [REV] [REPS]   side by side: this tree against commit REV
#                                           (default b7d189a), REPS runs each (default 3)
#   tools/measure.sh compare-conv REV [REPS] the same for the padded MNIST conv model
#                                           (mnist-conv-32c5s2p2-64c5s2p2-10): a training epoch
#                                           of its architecture on 10,000 images (2 threads),
#                                           eval on the test set, simulate and verify on 2,000
#                                           test images (REV must know padded conv layers)
#   tools/measure.sh figures [MODEL]        accuracy, engine agreement, event-engine throughput,
#                                           trace size and recording cost, one training epoch
#   tools/measure.sh table MODEL...         the model table of docs/rate-baseline-and-sparsity.md: per model its data set,
#                                           parameters, test accuracy (eval), spikes and synaptic
#                                           events per image to the decision and in a full run
#                                           (event engine, simulate), on the full test set
#
# `compare` builds REV in a git worktree under target/ (as REV builds itself: b7d189a compiled
# for the build machine's CPU, `-C target-cpu=native`; this tree builds portably and picks
# its kernels at run time), then runs the same commands with both binaries on the same data, old and new
# alternating, and prints per command the median wall time, the median CPU time (user +
# system: the fairer figure on a machine shared with other work), their ratios old/new and
# the largest peak resident memory (GNU time's maximum RSS). Needs data/mnist and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-compare}
fs=./target/release/firstspike
m=models/mnist-784-800-10.bin

figures() {
    local m=${1:-models/mnist-784-800-10.bin}
    cargo build --release --quiet
    run() { echo "\$ $*"; /usr/bin/time -f "(wall %e s, peak RSS %M kB)" "$@"; echo; }
    run $fs eval --model "$m"
    run $fs verify --model "$m"
    run $fs simulate --model "$m" --threads 1
    run $fs simulate --model "$m" --threads 2
    run $fs simulate --model "$m" --threads 1 --until-decision
    run $fs simulate --model "$m" --threads 2 --until-decision
    local tmp
    tmp=$(mktemp -d)
    run $fs simulate --model "$m" --limit 1000 --threads 1
    run $fs simulate --model "$m" --limit 1000 --threads 1 --record "$tmp/tr"
    echo "trace bytes per sample: $(($(du -sb "$tmp/tr" | cut -f1) / 1000))"
    run $fs train --epochs 1 --test-limit 1000 --out "$tmp/epoch"
    rm -rf "$tmp"
}

compare() {
    local suite=$1 rev=${2:-b7d189a} reps=${3:-3}
    local old_tree=target/measure-$rev
    cargo build --release --quiet
    if [ ! -e "$old_tree/.git" ]; then
        git worktree add --detach "$old_tree" "$rev" >/dev/null
    fi
    (cd "$old_tree" && cargo build --release --quiet)
    local old=$old_tree/target/release/firstspike
    local tmp
    tmp=$(mktemp -d)
    # name | arguments (the same for both binaries)
    local -a names cmds
    if [ "$suite" = conv ]; then
        local c=models/mnist-conv-32c5s2p2-64c5s2p2-10.bin
        names=(train-conv-10k eval-conv simulate-conv-2k verify-conv-2k)
        cmds=(
            "train --arch 28x28-32c5s2p2-64c5s2p2-10 --epochs 1 --train-limit 10000 --no-test --shift 2 --threads 2 --out $tmp/epoch"
            "eval --model $c"
            "simulate --model $c --limit 2000"
            "verify --model $c --limit 2000"
        )
    else
        names=(train-epoch eval simulate-full simulate-decision verify)
        cmds=(
            "train --epochs 1 --test-limit 1000 --out $tmp/epoch"
            "eval --model $m"
            "simulate --model $m"
            "simulate --model $m --until-decision"
            "verify --model $m"
        )
    fi
    echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; old = $rev ($(git rev-parse --short "$rev")), new = $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' + changes')"
    echo "full MNIST (60,000 training, 10,000 test images), default threads; $reps runs each, old and new alternating"
    for r in $(seq "$reps"); do
        for i in "${!names[@]}"; do
            for side in old new; do
                local bin=$fs
                [ "$side" = old ] && bin=$old
                # shellcheck disable=SC2086
                /usr/bin/time -o "$tmp/t" -f "%e %U %S %M" $bin ${cmds[$i]} >/dev/null 2>"$tmp/err" || {
                    echo "failed: $bin ${cmds[$i]}" >&2
                    cat "$tmp/err" >&2
                    exit 1
                }
                echo "${names[$i]} $side $(cat "$tmp/t")" >>"$tmp/all"
            done
        done
    done
    python3 - "$tmp/all" <<'EOF'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    name, side, wall, user, sys_, rss = line.split()
    r = rows.setdefault(name, {}).setdefault(side, {"wall": [], "cpu": [], "rss": []})
    r["wall"].append(float(wall)); r["cpu"].append(float(user) + float(sys_)); r["rss"].append(int(rss))
print(f"{'command':<18} {'wall old':>9} {'wall new':>9} {'ratio':>6} {'CPU old':>9} {'CPU new':>9} {'ratio':>6} {'RSS old':>9} {'RSS new':>9}")
for name, r in rows.items():
    o, n = r["old"], r["new"]
    wo, wn, co, cn = (st.median(x) for x in (o["wall"], n["wall"], o["cpu"], n["cpu"]))
    print(f"{name:<18} {wo:8.2f}s {wn:8.2f}s {wo/wn:5.2f}x {co:8.2f}s {cn:8.2f}s {co/cn:5.2f}x "
          f"{max(o['rss'])/1024:7.0f}MB {max(n['rss'])/1024:7.0f}MB")
EOF
    rm -rf "$tmp"
}

# One row per model: `eval --json`, `simulate --until-decision --json` and `simulate --json`
# on the model's data set (data/<data set named in its card>), parameters counted from its arch.
table() {
    cargo build --release --quiet
    local tmp
    tmp=$(mktemp -d)
    for model in "$@"; do
        local card=${model%.bin}.json ds data stem
        ds=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["meta"]["dataset"])' "$card")
        case $ds in fashion*) data=data/fashion-mnist ;; *) data=data/mnist ;; esac
        stem=$tmp/$(basename "${model%.bin}")
        $fs eval --model "$model" --data "$data" --json >"$stem.eval" 2>/dev/null
        $fs simulate --model "$model" --data "$data" --until-decision --json >"$stem.dec" 2>/dev/null
        $fs simulate --model "$model" --data "$data" --json >"$stem.full" 2>/dev/null
        echo "$card $stem" >>"$tmp/list"
    done
    python3 - "$tmp/list" <<'EOF'
import json, re, sys

def params(arch):
    # Dense sizes (784-800-10) or a map HxW[xC], then <ch>c<k>[s<s>][p<p>] and dense sizes.
    parts = arch.split("-")
    m = re.fullmatch(r"(\d+)x(\d+)(?:x(\d+))?", parts[0])
    h, w, c = (int(m[1]), int(m[2]), int(m[3] or 1)) if m else (1, 1, int(parts[0]))
    total = 0
    for p in parts[1:]:
        cm = re.fullmatch(r"(\d+)c(\d+)(?:s(\d+))?(?:p(\d+))?", p)
        if cm:
            co, k, s, pad = int(cm[1]), int(cm[2]), int(cm[3] or 1), int(cm[4] or 0)
            total += k * k * c * co
            h, w, c = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1, co
        else:
            n = int(p)
            total += h * w * c * n
            h, w, c = 1, 1, n
    return total

print("| model | data | parameters | test accuracy | spikes to decision (inputs included) | synaptic events to decision | spikes, full run | synaptic events, full run |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    card, stem = line.split()
    c = json.load(open(card))
    # The card's "layers" (cards from before it: the sizes, all dense).
    arch = c.get("layers") or "-".join(map(str, c["arch"]))
    ev, dec, full = (json.load(open(f"{stem}.{x}")) for x in ("eval", "dec", "full"))
    name = stem.rsplit("/", 1)[1]
    print(f"| `{name}` | {c['meta']['dataset']} | {params(arch):,} | "
          f"{100 * ev['accuracy']:.2f} % ({ev['correct']:,} / {ev['total']:,}) | "
          f"{dec['spikes_before_decision_mean']:,.0f} | {dec['synaptic_events_per_sample_mean']:,.0f} | "
          f"{full['spikes_per_sample_mean']:,.0f} | {full['synaptic_events_per_sample_mean']:,.0f} |")
EOF
    rm -rf "$tmp"
}

case $mode in
    compare) compare dense "${2:-b7d189a}" "${3:-3}" ;;
    compare-conv)
        [ $# -ge 2 ] || { echo "usage: tools/measure.sh compare-conv REV [REPS]" >&2; exit 2; }
        compare conv "$2" "${3:-3}"
        ;;
    figures) figures "${2:-$m}" ;;
    table) shift; table "$@" ;;
    *)
        echo "usage: tools/measure.sh compare [REV] [REPS] | compare-conv REV [REPS] | figures [MODEL] | table MODEL..." >&2
        exit 2
        ;;
esac
