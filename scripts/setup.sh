#!/usr/bin/env bash
# Installs the system libraries Dojo builds against (Debian/Ubuntu), skipping what is already there.
#   libopenblas-dev  matrix products (cblas_sgemm)      pkg-config  finds OpenBLAS and SDL2
#   libsdl2-dev      the optional visualizer window      zlib1g-dev  PNG frames
#   ffmpeg           video export (--video), checked by the tests with ffprobe
#   xvfb             a virtual X display, so the window tests also run in a real X11 window
#   python3-venv     the Python package's tests run in a virtual environment scripts/test.sh creates
set -euo pipefail
packages=(pkg-config libopenblas-dev libsdl2-dev zlib1g-dev ffmpeg xvfb python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages present (${packages[*]})"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
