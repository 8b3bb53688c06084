#!/usr/bin/env bash
# Fills data/mnist (or $FIRSTSPIKE_DATA_OUT) with the four standard MNIST IDX files (.gz) and
# verifies each against the sha256 of its uncompressed content (the values below are those of
# the original files, as recorded by many public projects).
#
#   tools/fetch-mnist.sh [LOCAL_DIR]
#
# With LOCAL_DIR, copies the files from there (CI passes ../shared/data/mnist); without it,
# downloads them from a public mirror (needs curl or wget).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${FIRSTSPIKE_DATA_OUT:-$here/data/mnist}
mirrors=(
  "https://ossci-datasets.s3.amazonaws.com/mnist"
  "https://storage.googleapis.com/cvdf-datasets/mnist"
)
declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
mkdir -p "$out"
for f in "${!sha[@]}"; do
  dest="$out/$f.gz"
  if [ -f "$dest" ] && [ "$(gzip -dc "$dest" | sha256sum | cut -d' ' -f1)" = "${sha[$f]}" ]; then
    echo "ok (already there): $dest"; continue
  fi
  tmp="$dest.part"
  if [ $# -ge 1 ]; then
    src="$1/$f.gz"
    [ -f "$src" ] || { echo "error: $src not found" >&2; exit 1; }
    cp "$src" "$tmp"
  else
    got=""
    for m in "${mirrors[@]}"; do
      if command -v curl >/dev/null; then curl -fsSL "$m/$f.gz" -o "$tmp" && got=1 && break
      else wget -q "$m/$f.gz" -O "$tmp" && got=1 && break; fi
    done
    [ -n "$got" ] || { echo "error: could not download $f.gz from any mirror" >&2; rm -f "$tmp"; exit 1; }
  fi
  have=$(gzip -dc "$tmp" | sha256sum | cut -d' ' -f1)
  if [ "$have" != "${sha[$f]}" ]; then
    rm -f "$tmp"; echo "error: $f: sha256 $have, expected ${sha[$f]}" >&2; exit 1
  fi
  mv "$tmp" "$dest"
  echo "ok: $dest"
done
