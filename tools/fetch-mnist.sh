#!/usr/bin/env bash
# Fills a data folder with the four standard IDX files (.gz) of MNIST or Fashion-MNIST and
# verifies each against the sha256 of its uncompressed content (the values below are those of
# the original files, as recorded by many public projects).
#
#   tools/fetch-mnist.sh [mnist|fashion-mnist] [LOCAL_DIR]
#
# The data set defaults to mnist. The folder written is $FIRSTSPIKE_DATA when it is set (the
# same variable firstspike reads), else data/mnist or data/fashion-mnist in the repository.
# With LOCAL_DIR the files are copied from there (CI passes the shared data folder); without
# it they are downloaded from a public mirror (needs curl or wget). Works with GNU and macOS
# tools (sha256sum or shasum -a 256). A file that is already there and verifies is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

dataset=mnist
case "${1:-}" in
  mnist|fashion-mnist) dataset=$1; shift ;;
  fashion) dataset=fashion-mnist; shift ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[ $# -le 1 ] || { echo "usage: tools/fetch-mnist.sh [mnist|fashion-mnist] [LOCAL_DIR]" >&2; exit 2; }

if [ "$dataset" = mnist ]; then
  mirrors=(
    "https://ossci-datasets.s3.amazonaws.com/mnist"
    "https://storage.googleapis.com/cvdf-datasets/mnist"
  )
  sums="train-images-idx3-ubyte ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
train-labels-idx1-ubyte 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
t10k-images-idx3-ubyte 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
t10k-labels-idx1-ubyte ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
else
  mirrors=(
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion"
  )
  sums="train-images-idx3-ubyte c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
train-labels-idx1-ubyte bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
t10k-images-idx3-ubyte 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
t10k-labels-idx1-ubyte 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
fi
out=${FIRSTSPIKE_DATA:-$here/data/$dataset}

if command -v sha256sum >/dev/null; then sha() { sha256sum | cut -d' ' -f1; }
elif command -v shasum >/dev/null; then sha() { shasum -a 256 | cut -d' ' -f1; }
else echo "error: neither sha256sum nor shasum found" >&2; exit 1; fi
# sha256 of a file's uncompressed content (plain files are hashed as they are).
content_sha() { if gzip -t "$1" 2>/dev/null; then gzip -dc "$1" | sha; else sha < "$1"; fi; }

mkdir -p "$out"
echo "$dataset -> $out"
while read -r f want; do
  dest="$out/$f.gz"
  if [ -f "$dest" ] && [ "$(content_sha "$dest")" = "$want" ]; then
    echo "ok (already there): $dest"; continue
  fi
  tmp="$dest.part"
  if [ $# -ge 1 ]; then
    src="$1/$f.gz"
    [ -f "$src" ] || { echo "error: $src not found (is $1 a $dataset folder?)" >&2; exit 1; }
    cp "$src" "$tmp"
  else
    got=""
    for m in "${mirrors[@]}"; do
      if command -v curl >/dev/null; then curl -fsSL "$m/$f.gz" -o "$tmp" && got=1 && break
      elif command -v wget >/dev/null; then wget -q "$m/$f.gz" -O "$tmp" && got=1 && break
      else echo "error: neither curl nor wget found" >&2; exit 1; fi
    done
    [ -n "$got" ] || { echo "error: could not download $f.gz from any mirror; copy the files from elsewhere: tools/fetch-mnist.sh $dataset DIR" >&2; rm -f "$tmp"; exit 1; }
  fi
  have=$(content_sha "$tmp")
  if [ "$have" != "$want" ]; then
    rm -f "$tmp"; echo "error: $f: sha256 $have, expected $want (corrupt or not $dataset)" >&2; exit 1
  fi
  mv "$tmp" "$dest"
  echo "ok: $dest"
done <<< "$sums"
