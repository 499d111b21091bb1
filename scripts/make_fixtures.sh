#!/usr/bin/env bash
# Regenerates the committed PyTorch parity fixtures. Needs the anchors venv (see README, "Benchmarks").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv-anchors/bin/python}
DOJO_WRITE_FIXTURES=1 swift test --filter "dojoWrittenModel|dojoQNetworkLoadsInTorch"
"$PY" scripts/make_torch_fixtures.py
"$PY" scripts/make_ppo_fixtures.py
