"""Sweeps on Ray Tune (dojo_rl.sweep): the sweep file's checks, and a real sweep on a two-node Ray cluster started on
this machine (skipped where Ray Tune, Optuna or PyYAML is not installed: `pip install 'dojo-rl[sweep]'`)."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

# Ray on this machine only: with this, Ray's nodes and drivers use 127.0.0.1 (not the network interface's address).
# Set before Ray is imported; the sweep's subprocess and the cluster's processes inherit it.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from dojo_rl.sweep import SweepError, format_value, objective_of, parse_sweep
from support import dojo_binary

BASE = {"preset": "cartpole-ppo", "space": {"learning_rate": {"loguniform": [1e-5, 1e-2]}}, "trials": 4, "steps": 1000}


def sweep(**changes):
    data = {**BASE, **changes}
    return parse_sweep({k: v for k, v in data.items() if v is not None}, source="s.yaml")


def test_a_sweep_file_is_read_with_its_defaults():
    s = sweep(seeds=[3, 5], set={"eval_freq": 500, "policy.x": 1, "activation_fn": "relu"}, objective="auc",
              space={"learning_rate": {"loguniform": [1e-5, 1e-2]}, "n_epochs": {"int": [2, 8]},
                     "net_arch": {"choice": [[64, 64], [128]]}})
    assert (s.metric, s.reduce, s.mode, s.search, s.cpus_per_trial) == ("eval_return_mean", "auc", "max", "optuna", 2)
    assert s.fixed == {"eval_freq": 500, "policy.x": 1, "activation_fn": "relu"} and s.space[2].values == ["64,64", "128"]
    assert s.base_args(None)[-2:] == ["--set", "activation_fn=relu"] and s.base_args(None)[:2] == ["--preset", "cartpole-ppo"]
    grid = sweep(search="grid", trials=None, space={"n_steps": {"grid": [16, 32]}, "gamma": {"choice": [0.9, 0.99, 0.999]}})
    assert grid.trials == 6 and [d.kind for d in grid.space] == ["grid", "grid"]


def test_values_reach_dojo_exactly_and_objectives_reduce_the_curve():
    assert format_value(0.1 + 0.2) == "0.30000000000000004" and float(format_value(3.3e-05)) == 3.3e-05
    assert format_value(True) == "true" and format_value([64, 64]) == "64,64"
    curve = [10.0, 30.0, 20.0]
    assert objective_of(curve, "final", "max") == 20.0 and objective_of(curve, "best", "max") == 30.0
    assert objective_of(curve, "best", "min") == 10.0 and objective_of(curve, "auc", "max") == 20.0


@pytest.mark.parametrize("changes, message", [
    ({"spaces": {}}, "unknown key 'spaces'; valid keys: name, preset"),
    ({"preset": None}, "no base: name a `preset:`"),
    ({"space": None}, "space: expected a mapping of hyperparameter names"),
    ({"space": {"learning_rate": {"logarithmic": [1, 2]}}}, "space.learning_rate: expected a domain among choice"),
    ({"space": {"learning_rate": {"loguniform": [0, 1e-2]}}}, "space.learning_rate.loguniform: expected [low, high] with 0 < low"),
    ({"space": {"learning_rate": {"uniform": [1e-2, 1e-3]}}}, "space.learning_rate.uniform: expected [low, high], finite numbers with low < high"),
    ({"space": {"learning_rate": {"uniform": [0, float("nan")]}}}, "finite numbers"),
    ({"space": {"n_epochs": {"int": [2.5, 8]}}}, "space.n_epochs.int: expected [low, high], whole numbers"),
    ({"space": {"n_epochs": {"choice": []}}}, "space.n_epochs.choice: expected a list of 1 to 10000 values"),
    ({"space": {"n_epochs": {"choice": [2, 2]}}}, "space.n_epochs.choice: a value is listed twice"),
    ({"space": {"net_arch": {"choice": [{"pi": 64}]}}}, "space.net_arch.choice: expected a number, true/false, text or a list"),
    ({"space": {"Learning Rate": {"choice": [1]}}}, "space.Learning Rate: expected a name in lower case"),
    ({"space": {"seed": {"choice": [1, 2]}}}, "seed: cannot be set or searched in a sweep; use the sweep's `seeds:` key"),
    ({"set": {"total_timesteps": 5}}, "total_timesteps: cannot be set or searched in a sweep; use the sweep's `steps:` key"),
    ({"set": {"learning_rate": 0.1}}, "space.learning_rate: also fixed under `set:`"),
    ({"space": {"n_steps": {"grid": [16, 32]}}}, "space.n_steps: grid needs `search: grid` or `search: random`"),
    ({"search": "grid"}, "space.learning_rate: `search: grid` takes grid or choice lists only"),
    ({"search": "bayes"}, "search: expected one of optuna, random, grid (got 'bayes')"),
    ({"trials": 0}, "trials: expected a whole number in 1...100000 (got 0)"),
    ({"trials": None}, "trials: expected a whole number in 1...100000"),
    ({"trials": True}, "trials: expected a whole number"),
    ({"steps": "10k"}, "steps: expected a whole number in 1..."),
    ({"seeds": 0}, "seeds: expected a count in 1...1000 or a list of seeds (got 0)"),
    ({"seeds": [1, 1]}, "seeds: a seed is listed twice"),
    ({"seeds": [-1]}, "seeds: expected a count in 1...1000 or a list of distinct whole numbers"),
    ({"objective": {"metric": "return"}}, "objective.metric: expected an evaluation figure of metrics.jsonl"),
    ({"objective": {"reduce": "mean"}}, "objective.reduce: expected final (the last evaluation), best"),
    ({"objective": {"mode": "maximize"}}, "objective.mode: expected max or min (got 'maximize')"),
    ({"objective": {"goal": "max"}}, "objective: unknown key 'goal'; valid keys: metric, reduce, mode"),
    ({"asha": {"grace_period": 5000}}, "asha.grace_period: expected environment steps before a trial can be stopped, in 1...1000"),
    ({"asha": {"reduction_factor": 1}}, "asha.reduction_factor: expected a number in (1, 100]"),
    ({"asha": {"grace": 10}}, "asha: unknown key 'grace'; valid keys: grace_period, reduction_factor"),
    ({"asha": "yes"}, "asha: expected a mapping {grace_period, reduction_factor}, true or false"),
    ({"cpus_per_trial": 0}, "cpus_per_trial: expected a whole number in 1...1024 (got 0)"),
    ({"options": ["map=maze"]}, "options: expected a mapping of environment option names to values"),
    ({"config": "no-such-file.yaml"}, "config: cannot read"),
])
def test_a_bad_sweep_file_is_refused_naming_the_key(changes, message):
    with pytest.raises(SweepError) as error:
        sweep(**changes)
    assert message in str(error.value)
    assert str(error.value).startswith("s.yaml: ")


def test_a_sweep_file_that_is_not_a_mapping_or_not_yaml_is_refused(tmp_path):
    pytest.importorskip("yaml", reason="PyYAML is not installed (pip install 'dojo-rl[sweep]')")
    from dojo_rl.sweep import load_sweep

    for text, message in [("- 1\n- 2\n", "the sweep file must be a mapping"), ("space: [1,\n", "not valid YAML"),
                          ("", "the sweep file must be a mapping")]:
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(SweepError, match=message):
            load_sweep(path)
    with pytest.raises(SweepError, match="cannot read the sweep file"):
        load_sweep(tmp_path / "missing.yaml")


def test_dojo_refusing_a_setting_is_reported_before_any_trial(tmp_path):
    pytest.importorskip("ray", reason="Ray Tune is not installed (pip install 'dojo-rl[sweep]')")
    from dojo_rl.sweep import run_sweep

    for changes, message in [({"set": {"learnin_rate": 0.1}, "space": {"n_epochs": {"int": [1, 2]}}}, "did you mean"),
                             ({"objective": {"metric": "eval_success_rate"}}, "the evaluations of this environment have no 'eval_success_rate'")]:
        with pytest.raises(SweepError, match=message):
            run_sweep(sweep(**changes), tmp_path / "out", dojo_binary())
        assert not (tmp_path / "out").exists()


# --- A sweep on a two-node Ray cluster --------------------------------------------------------------------------

# Six cart-pole PPO trials over the learning rate, evaluated every 2,000 steps up to 12,000, with ASHA at a grace
# period of 2,000 steps and a reduction factor of 2 (rungs at 2,000, 4,000, 8,000 steps). Why ASHA reliably stops a
# trial: at a rung, a trial is stopped when its objective is below the median of the trials recorded there before it.
# The learning rates come from Optuna's seeded TPE sampler (its first ten suggestions are seeded random draws, so the
# six values do not depend on timing) and each trial's evaluations are deterministic; with two one-CPU nodes, a
# trial from the third on starts only after an earlier one has ended, hence after at least one earlier trial is
# recorded at the first rung. So any trial from the third on whose first evaluation is below every earlier trial's
# is stopped whatever the timing. With search_seed 1 (Optuna 5.0) the learning rates come in the order 4.7e-5,
# 7.6e-4, 1.0e-6, 1.6e-5, 3.9e-6, 2.3e-6, whose first evaluations are 170.8, 138, 500, 112, 266.6, 306.4: the fourth
# trial is below the first three and is always stopped (the other stops depend on timing). Should another Optuna
# draw other numbers, the failure message points here.
SWEEP_YAML = """\
name: lr
preset: cartpole-ppo
set: {eval_freq: 2000, n_eval_episodes: 5}
space:
  learning_rate: {loguniform: [1.0e-6, 1.0e-2]}
seeds: [0]
trials: 6
steps: 12000
asha: {grace_period: 2000, reduction_factor: 2}
search: optuna
search_seed: 1
"""


@pytest.fixture(scope="module")
def two_node_cluster():
    """A head and a worker node, one CPU each, on 127.0.0.1; shut down (only its own processes) even on failure."""
    pytest.importorskip("ray", reason="Ray Tune is not installed (pip install 'dojo-rl[sweep]')")
    pytest.importorskip("optuna", reason="Optuna is not installed (pip install 'dojo-rl[sweep]')")
    pytest.importorskip("yaml", reason="PyYAML is not installed (pip install 'dojo-rl[sweep]')")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                                            "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


def dojo_processes_under(folder: pathlib.Path) -> list:
    """Processes whose command line names `folder` (the sweep's dojo train runs)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(folder) in command and "train" in command:
                found.append(command)
    return found


def evaluations(run: pathlib.Path) -> list:
    """The run's metric rows without the timings (which differ between runs)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in row.items() if k not in ("wall_time_s", "steps_per_second")} for row in rows]


def test_a_sweep_on_two_nodes_stops_poor_trials_and_its_best_config_reproduces(two_node_cluster, tmp_path):
    dojo = dojo_binary()
    (tmp_path / "sweep.yaml").write_text(SWEEP_YAML)
    out = tmp_path / "out"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "dojo_rl.sweep", "sweep.yaml", "--address", two_node_cluster.address,
                           "--dojo", dojo, "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=170)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(out / "trials.csv") as file:
        trials = list(csv.DictReader(file))
    table = (out / "trials.md").read_text()
    assert len(trials) == 6, table

    # Every trial completed its 12,000 steps or was stopped by ASHA at a rung.
    statuses = [t["status"] for t in trials]
    assert all(s == "completed" or s in ("stopped at 2048", "stopped at 4096", "stopped at 8192") for s in statuses), table
    assert any(s.startswith("stopped") for s in statuses), f"ASHA stopped no trial (see the comment above):\n{table}"
    assert any(s == "completed" for s in statuses), table
    for trial in trials:
        if trial["status"] == "completed":
            assert int(trial["steps"]) >= 12000 and int(trial["evaluations"]) == 6, table
    # Trials ran on both nodes.
    nodes = {two_node_cluster.head_node.node_id[:12]} | {n.node_id[:12] for n in two_node_cluster.worker_nodes}
    assert len(nodes) == 2 and {t["node"] for t in trials} == nodes, table
    # The stopped trials' dojo train processes were killed, and nothing is left running.
    assert dojo_processes_under(out) == []
    for trial in trials:
        if trial["status"].startswith("stopped"):
            stopped_at = int(trial["steps"])
            assert max(row["step"] for row in evaluations(out / "runs" / trial["trial"] / "seed0")) < 12000, table
            assert stopped_at < 12000

    # The best configuration, trained with `dojo train --config`, is the best trial's run, bit for bit.
    best = trials[0]
    assert best["status"] == "completed"
    config = json.loads((out / "best_config.json").read_text())
    assert config["ppo"]["learning_rate"] == float(best["learning_rate"])
    assert (config["total_timesteps"], config["seed"], config["env"], config["agent"]) == (12000, 0, "cartpole", "ppo")
    again = tmp_path / "again"
    subprocess.run([dojo, "train", "--config", str(out / "best_config.json"), "--out", str(again)], check=True,
                   capture_output=True, timeout=120)
    trial_rows, rerun_rows = evaluations(out / "runs" / best["trial"] / "seed0"), evaluations(again)
    final = [row for row in rerun_rows if "eval_episodes" in row][-1]
    assert final == [row for row in trial_rows if "eval_episodes" in row][-1]
    assert final["eval_return_mean"] == float(best["eval_return_mean"])
    assert rerun_rows == trial_rows
    assert f"dojo compare {out / 'runs' / best['trial']}" in done.stdout
    print(f"\nsweep on two nodes: {elapsed:.1f} s\n{table}")


def test_the_binary_can_be_shipped_to_the_nodes_through_the_runtime_env(two_node_cluster, tmp_path):
    # The binary is copied where only the driver sees it; the trials must run the copy Ray unpacked on their node.
    shipped = tmp_path / "bin" / "dojo"
    shipped.parent.mkdir()
    shutil.copy2(dojo_binary(), shipped)
    (tmp_path / "sweep.yaml").write_text("preset: cartpole-ppo\nset: {eval_freq: 1000, n_eval_episodes: 2}\n"
                                         "space: {n_epochs: {grid: [2, 4]}}\nsearch: grid\nsteps: 1000\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "dojo_rl.sweep", "sweep.yaml", "--address", two_node_cluster.address,
                           "--dojo", str(shipped), "--ship-dojo", "--out", str(out)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(out / "trials.csv") as file:
        trials = list(csv.DictReader(file))
    assert sorted(t["n_epochs"] for t in trials) == ["2", "4"] and all(t["status"] == "completed" for t in trials)
    for trial in trials:
        command = (out / "runs" / trial["trial"] / "seed0.log").read_text().splitlines()[0]
        assert "dojo_sweep_binary/dojo train" in command and str(shipped) not in command, command
