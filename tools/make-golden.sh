#!/usr/bin/env bash
# Regenerates the recorded traces and rasters under traces/:
#
#   traces/golden/   the event engine's trace of MNIST test digit 0 on the tiny model
#                    tiny-784-20-10.bin, and its raster (sample0.*); tests/golden.rs compares
#                    fresh simulations against these.
#   traces/readme-raster.*   the raster shown in README.md: test digit 0 (among the first
#                    1,000, the bundled ones; the shipped model classifies it correctly) on the
#                    shipped model models/mnist-784-800-10.bin.
#
#   tools/make-golden.sh [--retrain]
#
# By default the existing tiny model is kept and only its trace and rasters are recorded again
# (after a change of the engine or of the drawing code). --retrain first trains a new tiny
# model (1 epoch on the first 2,000 training images, seed 7, one thread), which changes every
# golden spike time.
# Reads the MNIST slice shipped in tests/data/mnist-slice (the first 5,000 training and 1,000
# test images), so it needs no download.
set -euo pipefail
cd "$(dirname "$0")/.."
retrain=0
for arg in "$@"; do
  case "$arg" in
    --retrain) retrain=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (expected --retrain)" >&2; exit 2 ;;
  esac
done
g=traces/golden
tiny="$g/tiny-784-20-10"
fs="cargo run --release --quiet --"
data=tests/data/mnist-slice
mkdir -p "$g"
if [[ $retrain == 1 ]]; then
  $fs train --arch 784-20-10 --data "$data" --train-limit 2000 --test-limit 1000 --epochs 1 --seed 7 --threads 1 --out "$tiny"
  rm -f "$tiny.log.jsonl" "$tiny.curve.svg" "$tiny.ckpt"
elif [[ ! -f "$tiny.bin" ]]; then
  echo "$tiny.bin is missing; run with --retrain to train it" >&2
  exit 1
fi
rm -f "$g"/*.trace
$fs simulate --model "$tiny.bin" --data "$data" --limit 1 --threads 1 --record "$g" > /dev/null
$fs raster --model "$tiny.bin" --trace "$g/samples-000000-000000.trace" --out "$g/sample0"
$fs raster --model models/mnist-784-800-10.bin --data "$data" --index 0 --out traces/readme-raster
ls -l "$g" traces/readme-raster.*
