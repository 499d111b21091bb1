#!/usr/bin/env bash
# Runs the whole test suite. OpenBLAS is pinned to one thread: bit-exact results depend on the thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
swift test "$@"
