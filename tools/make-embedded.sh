#!/usr/bin/env bash
# Regenerates the two MNIST slices shipped in the repository, as gzipped IDX files:
#   src/embedded/            the first 1,000 test images and labels (embedded in the binary,
#                            used by `firstspike demo`, the benches and the tests);
#   tests/data/mnist-slice/  the first 5,000 training images and labels and the first 1,000
#                            test images and labels, under the standard file names, so that
#                            the tests (and `--data tests/data/mnist-slice`) train on real
#                            digits without a download.
# Usage: tools/make-embedded.sh [MNIST_DIR]   (default $FIRSTSPIKE_DATA, else data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-${FIRSTSPIKE_DATA:-data/mnist}}
python3 - "$src" <<'PY'
import gzip, os, struct, sys
src = sys.argv[1]

def read(split, kind):
    return gzip.open(os.path.join(src, f"{split}-{kind}.gz")).read()

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # mtime=0 and no name: the same input gives the same bytes.
    with open(path + ".part", "wb") as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
            f.write(data)
    os.replace(path + ".part", path)

def cut(split, n):
    img, lab = read(split, "images-idx3-ubyte"), read(split, "labels-idx1-ubyte")
    _, _, r, c = struct.unpack(">IIII", img[:16])
    return (struct.pack(">IIII", 2051, n, r, c) + img[16:16 + n * r * c],
            struct.pack(">II", 2049, n) + lab[8:8 + n])

test_img, test_lab = cut("t10k", 1000)
train_img, train_lab = cut("train", 5000)
write("src/embedded/t10k-first1000-images-idx3-ubyte.gz", test_img)
write("src/embedded/t10k-first1000-labels-idx1-ubyte.gz", test_lab)
write("tests/data/mnist-slice/t10k-images-idx3-ubyte.gz", test_img)
write("tests/data/mnist-slice/t10k-labels-idx1-ubyte.gz", test_lab)
write("tests/data/mnist-slice/train-images-idx3-ubyte.gz", train_img)
write("tests/data/mnist-slice/train-labels-idx1-ubyte.gz", train_lab)
PY
ls -l src/embedded tests/data/mnist-slice
