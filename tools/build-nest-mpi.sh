#!/usr/bin/env bash
# Builds NEST with MPI from its source distribution, into a Python venv outside the repository,
# for running tools/nest-check under mpirun (the PyPI wheel of tools/setup-pyenv.sh has no MPI).
#
#   tools/build-nest-mpi.sh [PREFIX]        default: $HOME/nest-mpi
#
# Then:   PREFIX/venv/bin/python            has nest (MPI + OpenMP), nir, h5py, numpy
#         mpirun -np 2 PREFIX/venv/bin/python tools/nest-check ... --workdir DIR
#
# Steps, each skipped when already done (a stamp file under PREFIX records it), so re-running
# is cheap and an interrupted build resumes where it stopped:
#   1. Debian/Ubuntu build dependencies with apt-get (needs root or sudo; skipped if present):
#      OpenMPI, CMake, GSL, libltdl, Boost headers, a C++ compiler;
#   2. a Python 3.11 venv with the pinned packages of tools/setup-pyenv.sh (minus the wheel of
#      nest-simulator) and Cython (NEST's Python bindings are generated with it);
#   3. the NEST sdist from PyPI (pip download --no-binary), unpacked;
#   4. CMake with -Dwith-mpi=ON -Dwith-openmp=ON -Dwith-python=ON and NEST's model set
#      "precise" (the neuron, generator, recorder and synapse that tools/nest-check and
#      tools/nest-scale use, among a dozen; a much shorter compile than the full set),
#      make -j$JOBS, make install into the venv (NEST installs its Python package into the
#      venv that runs CMake);
#   5. a check that the venv's nest reports have_mpi = True.
# It prints how long each step and the whole took.
#
# Environment: JOBS (parallel compile jobs, default 2), PYTHON (a Python 3.11),
# NEST_VERSION (default 3.10.0), NEST_MODELSET (default precise; "full" builds every model).
# On a busy machine run it under `nice -n 19`.
# OpenMPI refuses to run as root unless told: `mpirun --allow-run-as-root`, or
# OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; more processes than cores needs
# `mpirun --oversubscribe`.
set -euo pipefail
prefix=$(mkdir -p "${1:-$HOME/nest-mpi}" && cd "${1:-$HOME/nest-mpi}" && pwd)
nest_version=${NEST_VERSION:-3.10.0}
jobs=${JOBS:-2}
modelset=${NEST_MODELSET:-precise}
venv=$prefix/venv
src=$prefix/src
build=$prefix/build
# The pins of tools/setup-pyenv.sh, without nest-simulator (built here instead).
reqs=(nir==1.0.8 h5py==3.15.1 numpy==2.3.5 "cython>=3.0,<4")
t_all=$SECONDS
say() { echo "build-nest-mpi: $*"; }
took() { say "$1 took $(($SECONDS - $2)) s"; }

# 1. System packages.
t=$SECONDS
debs=(build-essential cmake pkg-config openmpi-bin libopenmpi-dev libgsl-dev libltdl-dev libboost-dev)
missing=()
for d in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'install ok installed' || missing+=("$d")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
else
    say "system packages present (${debs[*]})"
fi
took "system packages" "$t"

# 2. The venv.
t=$SECONDS
want="${reqs[*]}"
if [[ -f "$venv/.firstspike-stamp-venv" && "$(cat "$venv/.firstspike-stamp-venv")" == "$want" && -x "$venv/bin/python" ]]; then
    say "venv $venv is up to date"
else
    py=${PYTHON:-}
    if [[ -z "$py" ]]; then
        if command -v python3.11 >/dev/null 2>&1; then
            py=python3.11
        elif python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            py=python3
        else
            echo "build-nest-mpi: needs Python 3.11 (the pins of tools/setup-pyenv.sh); set PYTHON=/path/to/python3.11" >&2
            exit 1
        fi
    fi
    say "creating $venv with $($py --version 2>&1)"
    rm -rf "$venv" "$build" "$prefix/.stamp-installed"   # a new venv needs a new NEST install
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}"
    echo "$want" > "$venv/.firstspike-stamp-venv"
fi
took "venv" "$t"

# 3. The source distribution.
t=$SECONDS
tarball=$src/nest_simulator-$nest_version.tar.gz
tree=$src/nest_simulator-$nest_version
mkdir -p "$src"
if [[ ! -f "$tarball" ]]; then
    say "downloading the nest-simulator $nest_version sdist from PyPI"
    "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        "nest-simulator==$nest_version" -d "$src"
fi
if [[ ! -f "$tree/CMakeLists.txt" ]]; then
    tar -xzf "$tarball" -C "$src"
fi
took "source" "$t"

# 4. Configure, compile, install.
t=$SECONDS
if [[ -f "$prefix/.stamp-installed" && "$(cat "$prefix/.stamp-installed")" == "$nest_version $modelset" ]]; then
    say "NEST $nest_version already installed in $venv"
else
    mkdir -p "$build"
    export PATH=$venv/bin:$PATH VIRTUAL_ENV=$venv   # CMake finds the venv's Python and Cython
    # Configuring again is cheap and keeps what is already compiled.
    cmake -S "$tree" -B "$build" -DPython_EXECUTABLE="$venv/bin/python" -Dwith-modelset="$modelset" \
        -Dwith-mpi=ON -Dwith-openmp=ON -Dwith-python=ON -DCMAKE_BUILD_TYPE=Release >"$build/cmake.log"
    grep -E 'Found (MPI|OpenMP|Python|Cython):' "$build/cmake.log" | sed 's/^-- /build-nest-mpi: /' || true
    took "configure" "$t"
    tc=$SECONDS
    make -C "$build" -j"$jobs"
    took "compile (make -j$jobs)" "$tc"
    make -C "$build" install >"$build/install.log"
    echo "$nest_version $modelset" > "$prefix/.stamp-installed"
fi
took "configure + compile + install" "$t"

# 5. Check.
"$venv/bin/python" - <<'PY'
import os
os.environ["PYNEST_QUIET"] = "1"
import nest, nir, h5py, numpy
info = nest.GetKernelStatus("build_info")
print(f"build-nest-mpi: nest {nest.__version__} (have_mpi {info['have_mpi']}, have_threads {info.get('have_threads')}), "
      f"nir {nir.__version__}, h5py {h5py.__version__}, numpy {numpy.__version__}")
if not info["have_mpi"]:
    raise SystemExit("build-nest-mpi: this NEST has no MPI")
PY
say "done in $(($SECONDS - t_all)) s; use $venv/bin/python (mpirun -np P $venv/bin/python tools/nest-check ...)"
