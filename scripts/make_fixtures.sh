#!/usr/bin/env bash
# Regenerates the committed PyTorch parity fixtures. Needs the anchors venv (see README, "Benchmarks").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv-anchors/bin/python}
DOJO_WRITE_FIXTURES=1 swift test --filter "dojoWrittenModel|dojoQNetworkLoadsInTorch|TorchPolicyFixtureTests"
"$PY" scripts/make_torch_fixtures.py
"$PY" scripts/make_ppo_fixtures.py
"$PY" scripts/make_offpolicy_fixtures.py
# Every policy kind rebuilt in torch from its checkpoint (scripts/torch_policies.py) acts as Dojo does; the
# Stable-Baselines3 recipe is checked too when stable-baselines3 is installed in the venv.
"$PY" scripts/test_torch_policies.py
