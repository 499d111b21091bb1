#!/usr/bin/env bash
# Runs the whole test suite. OpenBLAS is pinned to one thread: bit-exact results depend on the thread count.
# Arguments go to `swift test` (CI also runs `./scripts/test.sh --disable-default-traits --build-path .build-nosdl`).
# The window tests run with SDL's dummy driver; when Xvfb is installed they run once more in a real X11 window.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
swift test "$@"
if [ $# -eq 0 ]; then
  # The C interface from C: the header against the shared library's symbols and ABI.
  swift build --product dojo-c
  library="$(swift build --show-bin-path)"
  clang -std=c11 -Wall -Werror -I include Tests/CInterface/smoke.c -L "$library" -ldojo-c -Wl,-rpath,"$library" \
    -o "$library/dojo-c-smoke"
  "$library/dojo-c-smoke"
  # The Python package (python/) on the same library, in a virtual environment of its own (numpy, gymnasium, pytest;
  # Ray Tune, Optuna and PyYAML for the sweep tests: about 160 MB of wheels, 570 MB installed, +50 s on a fresh venv).
  if [ ! -x .venv-test/bin/python ]; then python3 -m venv .venv-test; fi
  .venv-test/bin/python -m pip install -q --disable-pip-version-check numpy gymnasium pytest "ray[tune]" optuna pyyaml
  # Installed as a user would (the build hook bundles the library named by DOJO_LIBRARY).
  DOJO_LIBRARY="$library/libdojo-c.so" .venv-test/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./python
  rm -rf python/build
  DOJO_LIBRARY="$library/libdojo-c.so" DOJO_BINARY="$library/dojo" .venv-test/bin/python -m pytest -q python/tests
fi
if [ $# -eq 0 ] && command -v xvfb-run >/dev/null; then
  echo "test: the window tests again under Xvfb (x11 driver)"
  # -noreset: by default Xvfb resets when its last client leaves, and a window opened during the reset finds no
  # display ("x11 not available"), one run in three here.
  DOJO_TEST_VIDEODRIVER=x11 xvfb-run -a -s "-noreset -screen 0 1280x1024x24" swift test --skip-build --filter WindowTests
fi
