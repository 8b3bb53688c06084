#!/usr/bin/env bash
# Regenerates src/embedded/: the first 1,000 images and labels of the MNIST test set, as
# gzipped IDX files. Usage: tools/make-embedded.sh [MNIST_DIR]   (default data/mnist)
set -euo pipefail
src=${1:-data/mnist}
out=$(dirname "$0")/../src/embedded
mkdir -p "$out"
n=1000
python3 - "$src" "$out" "$n" <<'PY'
import gzip, struct, sys, os
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
img = gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")).read()
lab = gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")).read()
_, _, r, c = struct.unpack(">IIII", img[:16])
for name, data in [("images-idx3-ubyte", struct.pack(">IIII", 2051, n, r, c) + img[16:16 + n * r * c]),
                   ("labels-idx1-ubyte", struct.pack(">II", 2049, n) + lab[8:8 + n])]:
    with gzip.GzipFile(os.path.join(out, f"t10k-first{n}-{name}.gz"), "wb", compresslevel=9, mtime=0) as f:
        f.write(data)
PY
ls -l "$out"
