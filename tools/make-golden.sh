#!/usr/bin/env bash
# Regenerates traces/golden/: a tiny deterministic model, the event engine's trace of MNIST
# test digit 0, and its raster. tests/golden.rs compares fresh simulations against these.
# Needs full MNIST in data/mnist (tools/fetch-mnist.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
g=traces/golden
mkdir -p "$g"
rm -f "$g"/*.trace
fs="cargo run --release --quiet --"
$fs train --arch 784-20-10 --limit 2000 --test-limit 1000 --epochs 1 --seed 7 --threads 1 --out "$g/tiny-784-20-10"
rm -f "$g/tiny-784-20-10.log.jsonl"
$fs simulate --model "$g/tiny-784-20-10.bin" --limit 1 --threads 1 --record "$g" > /dev/null
$fs raster --trace "$g/samples-000000-000000.trace" --out "$g/sample0"
ls -l "$g"
