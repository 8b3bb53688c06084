#!/usr/bin/env bash
# Re-measures the figures quoted in the README on this machine, printing each command and its
# output: accuracy (analytic, f64), engine agreement, event-engine throughput on 1 and 2
# threads, trace size and recording cost, and the time of one training epoch.
#   tools/measure.sh [MODEL]     (default models/mnist-784-800-10.bin; needs data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
m=${1:-models/mnist-784-800-10.bin}
fs=./target/release/firstspike
cargo build --release --quiet
run() { echo "\$ $*"; /usr/bin/time -f "(wall %e s)" "$@"; echo; }
run $fs eval --model "$m"
run $fs verify --model "$m"
run $fs simulate --model "$m" --threads 1
run $fs simulate --model "$m" --threads 2
run $fs simulate --model "$m" --threads 1 --until-decision
run $fs simulate --model "$m" --threads 2 --until-decision
tmp=$(mktemp -d)
run $fs simulate --model "$m" --limit 1000 --threads 1
run $fs simulate --model "$m" --limit 1000 --threads 1 --record "$tmp/tr"
echo "trace bytes per sample: $(( $(du -sb "$tmp/tr" | cut -f1) / 1000 ))"
run $fs train --epochs 1 --test-limit 1000 --out "$tmp/epoch"
rm -rf "$tmp"
