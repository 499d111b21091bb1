"""Hyperparameter sweeps of Dojo's native trainer on Ray Tune.

    python -m dojo_rl.sweep sweep.yaml [--address ADDR] [--dojo PATH] [--out DIR]
    dojo-sweep sweep.yaml ...                       (the console script, same arguments)

Each trial runs `dojo train` as a subprocess, one per seed (`--threads 1`), follows its metrics.jsonl and reports
every evaluation to Tune, so that ASHA can stop a poor trial early (its subprocesses are then killed; they are paused
while Tune weighs each evaluation, so a fast run cannot finish before a stop reaches it). At the end
the sweep prints and writes a table of the trials (trials.csv, trials.md), the best trial's configuration as a Dojo
config file (best_config.json: `dojo train --config best_config.json` trains the same run, bit for bit) and the
`dojo compare` command for the best trials' runs.

The sweep file (YAML; every key is checked, and a bad one is named with what is expected):

    preset: cartpole-ppo            # the base: a preset, and/or `config: base.yaml` (relative to this file);
    # env: cartpole                 #   `env:` and `agent:` as `dojo train ENV --agent ID`
    options: {}                     # fixed environment options (--option key=value)
    set: {eval_freq: 1000}          # fixed hyperparameters (--set key=value, SB3 names)
    space:                          # the search space, by SB3 names as `--set` takes them
      learning_rate: {loguniform: [1.0e-5, 1.0e-2]}
      n_epochs: {int: [5, 20]}      # both ends included (`randint` is the same)
      gamma: {uniform: [0.95, 0.999]}
      net_arch: {choice: [[64, 64], [128, 128]]}
      batch_size: {grid: [64, 256]} # every value, for `search: grid` (or crossed with random samples)
    seeds: [0, 1]                   # run seeds of each trial (or a count: 2 means 0 and 1); objective = their mean
    objective: {metric: eval_return_mean, reduce: final, mode: max}   # reduce: final | best | auc
    trials: 20                      # trials sampled (for `search: grid`: the grid's size, may be left out)
    steps: 50000                    # environment steps of each run
    asha: {grace_period: 10000, reduction_factor: 3}   # early stopping, in steps; `asha: false` turns it off
    search: optuna                  # optuna (TPE, the default) | random | grid
    search_seed: 0                  # the search algorithm's random seed
    cpus_per_trial: 2               # Ray CPUs a trial reserves (default: one per seed; its seeds run together)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Dimension", "Sweep", "SweepError", "load_sweep", "main", "parse_sweep", "run_sweep"]


class SweepError(Exception):
    """A sweep file or a sweep's setting that cannot be used; the message names the key and what is expected."""


# ---------------------------------------------------------------------------------------------------------------
# The sweep file

SEARCH_KINDS = ("choice", "uniform", "loguniform", "int", "randint", "grid")
SEARCH_ALGORITHMS = ("optuna", "random", "grid")
REDUCTIONS = ("final", "best", "auc")
TOP_KEYS = ("name", "preset", "config", "env", "agent", "options", "set", "space", "seeds", "objective", "trials",
            "steps", "asha", "search", "search_seed", "cpus_per_trial")
# Keys the sweep sets itself on every run: a `set:` or `space:` entry for them would be overridden or conflict.
RESERVED = {"total_timesteps": "steps", "seed": "seeds", "env": "env", "agent": "agent",
            "preset": "preset", "env_options": "options"}
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
MAX_TRIALS = 100_000
MAX_STEPS = 10 ** 12
MAX_SEEDS = 1_000


@dataclass
class Dimension:
    """One hyperparameter of the search space: `kind` (one of SEARCH_KINDS) over `values` (the bounds for uniform,
    loguniform and int; the list for choice and grid)."""

    name: str
    kind: str
    values: list

    def tune_domain(self):
        """The Ray Tune sampling domain of this dimension."""
        from ray import tune

        if self.kind == "uniform":
            return tune.uniform(*self.values)
        if self.kind == "loguniform":
            return tune.loguniform(*self.values)
        if self.kind in ("int", "randint"):
            return tune.randint(self.values[0], self.values[1] + 1)  # Tune's upper bound is excluded
        if self.kind == "choice":
            return tune.choice(self.values)
        return tune.grid_search(self.values)

    def corners(self) -> list:
        """Values that exercise the ends of the dimension (for the pre-flight check)."""
        if self.kind in ("choice", "grid"):
            return list(self.values)
        return [self.values[0], self.values[1]]


@dataclass
class Sweep:
    """A checked sweep file."""

    name: str
    preset: str | None
    config_path: str | None
    config_text: str | None
    env: str | None
    agent: str | None
    options: dict
    fixed: dict
    space: list
    seeds: list
    metric: str
    reduce: str
    mode: str
    trials: int
    steps: int
    asha: dict | None
    search: str
    search_seed: int
    cpus_per_trial: int
    source: str = ""
    grid_size: int = field(default=1)

    def base_args(self, config_file: str | None) -> list:
        """The `dojo train` arguments of the base (environment, preset, config file, options, fixed settings)."""
        args = []
        if self.env:
            args.append(self.env)
        if self.agent:
            args += ["--agent", self.agent]
        if self.preset:
            args += ["--preset", self.preset]
        if config_file:
            args += ["--config", config_file]
        for key, value in self.options.items():
            args += ["--option", f"{key}={format_value(value)}"]
        for key, value in self.fixed.items():
            args += ["--set", f"{key}={format_value(value)}"]
        return args


def format_value(value) -> str:
    """A value as `dojo train --set key=value` reads it (a float in its shortest exact form, a list as a comma list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    if value is None:
        return "null"
    return str(value)


def _fail(source: str, key: str, expected: str, got: Any = None, show_got: bool = True) -> SweepError:
    text = f"{source}: {key}: expected {expected}"
    if show_got:
        shown = repr(got)
        text += f" (got {shown[:80] + '…' if len(shown) > 80 else shown})"
    return SweepError(text)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str)) and (not isinstance(value, float) or math.isfinite(value))


def _setting(source: str, key: str, value):
    """A fixed or searched setting value: a scalar, or a list of scalars (net_arch)."""
    if _scalar(value):
        return value
    if isinstance(value, list) and value and all(_scalar(v) and v is not None for v in value):
        return format_value(value)  # hashable, and as --set takes it
    raise _fail(source, key, "a number, true/false, text or a list of them")


def _names(source: str, key: str, mapping, what: str) -> dict:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise _fail(source, key, f"a mapping of {what} to values")
    for name in mapping:
        if not isinstance(name, str) or not NAME.match(name):
            raise _fail(source, f"{key}.{name}", "a name in lower case, letters, digits and '_' (SB3's names, "
                        "or agent.name), e.g. learning_rate", show_got=False)
    return mapping


def parse_sweep(data, source: str = "sweep", base_dir: str | os.PathLike = ".") -> Sweep:
    """Checks a parsed sweep file (a mapping) and returns the sweep; raises SweepError naming the first bad key."""
    if not isinstance(data, dict):
        raise SweepError(f"{source}: the sweep file must be a mapping of keys ({', '.join(TOP_KEYS)})")
    unknown = [key for key in data if key not in TOP_KEYS]
    if unknown:
        raise SweepError(f"{source}: unknown key {unknown[0]!r}; valid keys: {', '.join(TOP_KEYS)}")

    def text(key, default=None):
        value = data.get(key, default)
        if value is not None and not (isinstance(value, str) and value and len(value) < 4096 and "\0" not in value):
            raise _fail(source, key, "text", value)
        return value

    def whole(key, low, high, default=None):
        value = data.get(key, default)
        if value is None:
            return None
        if not _whole(value) or not low <= value <= high:
            raise _fail(source, key, f"a whole number in {low}...{high}", value)
        return value

    name = text("name") or pathlib.Path(source).stem or "sweep"
    preset, env, agent = text("preset"), text("env"), text("agent")
    config_path = text("config")
    config_text = None
    if config_path:
        path = pathlib.Path(base_dir) / config_path
        try:
            if path.stat().st_size > 1 << 20:
                raise SweepError(f"{source}: config: {path} is larger than 1 MiB; Dojo reads config files of at most 1 MiB")
            config_text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise SweepError(f"{source}: config: cannot read {path} ({error})") from None
        config_path = str(path)
    if not (preset or config_path or env):
        raise SweepError(f"{source}: no base: name a `preset:` (see `dojo train --help`), a `config:` file or an `env:`")

    options = _names(source, "options", data.get("options"), "environment option names")
    options = {key: _setting(source, f"options.{key}", value) for key, value in options.items()}
    fixed = _names(source, "set", data.get("set"), "hyperparameter names")
    fixed = {key: _setting(source, f"set.{key}", value) for key, value in fixed.items()}

    space_data = data.get("space")
    if not isinstance(space_data, dict) or not space_data:
        raise _fail(source, "space", "a mapping of hyperparameter names to search domains, e.g. "
                    "learning_rate: {loguniform: [1.0e-5, 1.0e-2]}", space_data)
    _names(source, "space", space_data, "hyperparameter names")
    space = []
    for key, domain in space_data.items():
        where = f"space.{key}"
        if key in fixed:
            raise SweepError(f"{source}: {where}: also fixed under `set:`; keep it in one place")
        if not isinstance(domain, dict) or len(domain) != 1:
            raise _fail(source, where, f"one of {', '.join(SEARCH_KINDS)} with its values, "
                        "e.g. {loguniform: [1.0e-5, 1.0e-2]} or {choice: [32, 64]}", domain)
        kind, values = next(iter(domain.items()))
        if kind not in SEARCH_KINDS:
            raise _fail(source, where, f"a domain among {', '.join(SEARCH_KINDS)}", kind)
        if kind in ("choice", "grid"):
            if not isinstance(values, list) or not values or len(values) > 10_000:
                raise _fail(source, f"{where}.{kind}", "a list of 1 to 10000 values", values)
            values = [_setting(source, f"{where}.{kind}", v) for v in values]
            if len(set(map(repr, values))) != len(values):
                raise SweepError(f"{source}: {where}.{kind}: a value is listed twice")
        else:
            if not isinstance(values, list) or len(values) != 2:
                raise _fail(source, f"{where}.{kind}", "[low, high]", values)
            low, high = values
            if kind in ("int", "randint"):
                if not (_whole(low) and _whole(high)) or not low <= high or abs(low) > 2 ** 53 or abs(high) > 2 ** 53:
                    raise _fail(source, f"{where}.{kind}", "[low, high], whole numbers with low ≤ high (both included)", values)
            else:
                if not (_number(low) and _number(high)) or not low < high:
                    raise _fail(source, f"{where}.{kind}", "[low, high], finite numbers with low < high", values)
                if kind == "loguniform" and low <= 0:
                    raise _fail(source, f"{where}.{kind}", "[low, high] with 0 < low < high", values)
                values = [float(low), float(high)]
        space.append(Dimension(key, kind, values))
    for key in list(fixed) + [d.name for d in space]:
        if key in RESERVED:
            instead = RESERVED[key]
            hint = f"use the sweep's `{instead}:` key" if instead else "the sweep sets it itself"
            raise SweepError(f"{source}: {key}: cannot be set or searched in a sweep; {hint}")

    seeds = data.get("seeds", 1)
    if _whole(seeds):
        if not 1 <= seeds <= MAX_SEEDS:
            raise _fail(source, "seeds", f"a count in 1...{MAX_SEEDS} or a list of seeds", seeds)
        seeds = list(range(seeds))
    elif isinstance(seeds, list) and seeds and len(seeds) <= MAX_SEEDS and all(_whole(s) and 0 <= s < 2 ** 64 for s in seeds):
        if len(set(seeds)) != len(seeds):
            raise SweepError(f"{source}: seeds: a seed is listed twice")
    else:
        raise _fail(source, "seeds", f"a count in 1...{MAX_SEEDS} or a list of distinct whole numbers ≥ 0", seeds)

    objective = data.get("objective", {})
    if isinstance(objective, str):
        objective = {"reduce": objective}
    if not isinstance(objective, dict):
        raise _fail(source, "objective", "final, best or auc, or a mapping {metric, reduce, mode}", objective)
    for key in objective:
        if key not in ("metric", "reduce", "mode"):
            raise SweepError(f"{source}: objective: unknown key {key!r}; valid keys: metric, reduce, mode")
    metric = objective.get("metric", "eval_return_mean")
    if not isinstance(metric, str) or not re.match(r"^eval_[a-z0-9_]+$", metric):
        raise _fail(source, "objective.metric", "an evaluation figure of metrics.jsonl, e.g. eval_return_mean or "
                    "eval_success_rate", metric)
    reduce = objective.get("reduce", "final")
    if reduce not in REDUCTIONS:
        raise _fail(source, "objective.reduce", "final (the last evaluation), best (the best one) or auc (the mean "
                    "over evaluations: the area under the learning curve)", reduce)
    mode = objective.get("mode", "min" if metric.endswith(("_distance", "_collision_rate")) else "max")
    if mode not in ("max", "min"):
        raise _fail(source, "objective.mode", "max or min", mode)

    search = data.get("search", "optuna")
    if search not in SEARCH_ALGORITHMS:
        raise _fail(source, "search", f"one of {', '.join(SEARCH_ALGORITHMS)}", search)
    search_seed = whole("search_seed", 0, 2 ** 32 - 1, 0)
    grids = [d for d in space if d.kind == "grid"]
    grid_size = math.prod(len(d.values) for d in grids) if grids else 1
    if search == "optuna" and grids:
        raise SweepError(f"{source}: space.{grids[0].name}: grid needs `search: grid` or `search: random` "
                         "(Optuna samples; use choice instead)")
    if search == "grid":
        for d in space:
            if d.kind == "choice":
                d.kind = "grid"
            elif d.kind != "grid":
                raise SweepError(f"{source}: space.{d.name}: `search: grid` takes grid or choice lists only "
                                 f"(got {d.kind}); use search: optuna or random for ranges")
        grid_size = math.prod(len(d.values) for d in space)
        if grid_size > MAX_TRIALS:
            raise SweepError(f"{source}: space: the grid has {grid_size} points; at most {MAX_TRIALS}")
    trials = whole("trials", 1, MAX_TRIALS)
    if search == "grid":
        if trials is not None and trials != grid_size:
            raise _fail(source, "trials", f"the grid's size, {grid_size} (or leave `trials:` out)", trials)
        trials = grid_size
    elif trials is None:
        raise _fail(source, "trials", f"a whole number in 1...{MAX_TRIALS}", None)
    elif grids and trials * grid_size > MAX_TRIALS:
        raise SweepError(f"{source}: trials: {trials} samples × a grid of {grid_size} is more than {MAX_TRIALS} trials")
    steps = whole("steps", 1, MAX_STEPS)
    if steps is None:
        raise _fail(source, "steps", f"a whole number of environment steps per run in 1...{MAX_STEPS}", None)

    asha = data.get("asha", None)
    if asha is False or asha is None:
        asha = None
    elif asha is True:
        asha = {}
    if asha is not None:
        if not isinstance(asha, dict):
            raise _fail(source, "asha", "a mapping {grace_period, reduction_factor}, true or false", asha)
        for key in asha:
            if key not in ("grace_period", "reduction_factor"):
                raise SweepError(f"{source}: asha: unknown key {key!r}; valid keys: grace_period, reduction_factor")
        grace = asha.get("grace_period", max(1, steps // 10))
        if not _whole(grace) or not 1 <= grace <= steps:
            raise _fail(source, "asha.grace_period", f"environment steps before a trial can be stopped, in 1...{steps} "
                        "(the sweep's steps)", grace)
        factor = asha.get("reduction_factor", 3)
        if not _number(factor) or not 1 < factor <= 100:
            raise _fail(source, "asha.reduction_factor", "a number in (1, 100]: 1/factor of the trials at a rung go on",
                        factor)
        asha = {"grace_period": grace, "reduction_factor": factor}
    cpus = whole("cpus_per_trial", 1, 1024, len(seeds))

    return Sweep(name=re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80], preset=preset, config_path=config_path,
                 config_text=config_text, env=env, agent=agent, options=dict(options), fixed=dict(fixed), space=space,
                 seeds=seeds, metric=metric, reduce=reduce, mode=mode, trials=trials, steps=steps, asha=asha,
                 search=search, search_seed=search_seed, cpus_per_trial=cpus, source=source, grid_size=grid_size)


def load_sweep(path: str | os.PathLike) -> Sweep:
    """Reads and checks a sweep file (YAML or JSON)."""
    try:
        import yaml
    except ImportError:
        raise SweepError("reading sweep files needs PyYAML: pip install 'dojo-rl[sweep]'") from None
    path = pathlib.Path(path)
    try:
        if path.stat().st_size > 1 << 20:
            raise SweepError(f"{path}: the sweep file is larger than 1 MiB")
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SweepError(f"{path}: cannot read the sweep file ({error})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SweepError(f"{path}: not valid YAML: {error}") from None
    return parse_sweep(data, source=str(path), base_dir=path.parent)


# ---------------------------------------------------------------------------------------------------------------
# One trial: its seeds' `dojo train` processes, followed through metrics.jsonl

class TrialFailed(RuntimeError):
    """A `dojo train` process of a trial failed."""


def objective_of(values: list, reduce: str, mode: str) -> float:
    """The objective of a learning curve (the seed-mean metric at each evaluation so far)."""
    if reduce == "final":
        return values[-1]
    if reduce == "best":
        return max(values) if mode == "max" else min(values)
    return sum(values) / len(values)


class MetricsTail:
    """Reads the complete lines appended to a metrics.jsonl since the last call."""

    def __init__(self, path: pathlib.Path):
        self.path, self.offset, self.partial = path, 0, b""

    def rows(self) -> list:
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                data = file.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        return [json.loads(line) for line in lines if line.strip()]


class SeedRuns:
    """The `dojo train` processes of one trial, one per seed, and their evaluations as they come."""

    def __init__(self, dojo: str, args: list, seeds: list, steps: int, directory: pathlib.Path, metric: str):
        self.seeds, self.steps, self.metric = seeds, steps, metric
        self.directory = directory
        self.run_dirs = [directory / f"seed{seed}" for seed in seeds]
        self.tails = [MetricsTail(d / "metrics.jsonl") for d in self.run_dirs]
        self.evaluations = [[] for _ in seeds]
        self.processes, self.logs = [], []
        directory.mkdir(parents=True, exist_ok=True)
        for seed, run_dir in zip(seeds, self.run_dirs):
            command = [dojo, "train", *args, "--steps", str(steps), "--seed", str(seed), "--out", str(run_dir),
                       "--threads", "1"]
            log = open(directory / f"seed{seed}.log", "wb")
            log.write((" ".join(command) + "\n").encode())
            log.flush()
            self.logs.append(log)
            # A session of its own, so that the whole group can be killed; stdin closed (no prompts).
            try:
                self.processes.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                                       stderr=subprocess.STDOUT, start_new_session=True,
                                                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}))
            except OSError as error:
                self.kill()
                raise TrialFailed(f"cannot run {dojo} on this node ({os.uname().nodename}): {error}; the dojo binary "
                                  "must exist at --dojo on every node of the Ray cluster") from None
        self.reported = 0

    def _check_failures(self):
        for seed, process, run_dir in zip(self.seeds, self.processes, self.run_dirs):
            code = process.poll()
            if code not in (None, 0):
                log = (self.directory / f"seed{seed}.log").read_text(errors="replace")
                tail = "\n".join(log.strip().splitlines()[-12:])
                raise TrialFailed(f"dojo train (seed {seed}, {run_dir}) exited with status {code}:\n{tail}")

    def next_evaluation(self, poll_seconds: float = 0.05):
        """Waits for the next evaluation of every seed; returns (step, {seed: row}) or None when the runs ended."""
        while True:
            for tail, evaluations in zip(self.tails, self.evaluations):
                evaluations += [row for row in tail.rows() if "eval_episodes" in row]
            if all(len(e) > self.reported for e in self.evaluations):
                rows = [e[self.reported] for e in self.evaluations]
                self.reported += 1
                missing = [s for s, row in zip(self.seeds, rows) if self.metric not in row]
                if missing:
                    figures = sorted(k for k in rows[0] if k.startswith("eval_") and k != "eval_episodes")
                    raise TrialFailed(f"objective.metric: the evaluations have no {self.metric!r}; "
                                      f"they have: {', '.join(figures)}")
                return rows[0]["step"], rows
            self._check_failures()
            if all(p.poll() is not None for p in self.processes):
                # Ended: read what was written last, then stop when nothing is left.
                for tail, evaluations in zip(self.tails, self.evaluations):
                    evaluations += [row for row in tail.rows() if "eval_episodes" in row]
                if not all(len(e) > self.reported for e in self.evaluations):
                    return None
                continue
            time.sleep(poll_seconds)

    def wait(self, timeout: float = 60):
        for process in self.processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._check_failures()

    def pause(self):
        """Stops the running processes (SIGSTOP to each group) until `resume`: a run waits while its evaluation is weighed."""
        self._signal(signal.SIGSTOP)

    def resume(self):
        self._signal(signal.SIGCONT)

    def _signal(self, number):
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, number)
                except (ProcessLookupError, PermissionError):
                    process.send_signal(number)

    def kill(self):
        """Kills every process that is still running (with its process group) and closes the logs."""
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def trial_values(sweep: Sweep, config: dict) -> dict:
    """The searched hyperparameters of a trial's config, in the space's order."""
    return {d.name: config[d.name] for d in sweep.space}


def trial_args(sweep: Sweep, values: dict, config_file: str | None) -> list:
    args = sweep.base_args(config_file)
    for key, value in values.items():
        args += ["--set", f"{key}={format_value(value)}"]
    return args


# ---------------------------------------------------------------------------------------------------------------
# The sweep

SHIPPED = "<shipped>"
SHIPPED_PACKAGE = "dojo_sweep_binary"


def shipped_dojo() -> str:
    """On a Ray node, the path of the binary that --ship-dojo sent (made executable: the upload drops the mode)."""
    import importlib

    package = importlib.import_module(SHIPPED_PACKAGE)
    path = pathlib.Path(package.__file__).parent / "dojo"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


def find_dojo(path: str | None) -> str:
    """The dojo binary: --dojo, else $DOJO_BINARY, else `dojo` on PATH; as an absolute path."""
    named = path or os.environ.get("DOJO_BINARY") or shutil.which("dojo")
    if not named:
        raise SweepError("no dojo binary: pass --dojo PATH, set DOJO_BINARY, or put dojo on PATH "
                         "(swift build -c release --product dojo)")
    return str(pathlib.Path(named).resolve())


def preflight(sweep: Sweep, dojo: str) -> None:
    """Trains a few one-step runs at the ends of the search space, so that a misspelled hyperparameter, a value Dojo
    refuses or a metric the evaluations lack is reported before any trial starts."""
    combos = max([len(d.corners()) for d in sweep.space] + [2])
    with tempfile.TemporaryDirectory(prefix="dojo-sweep-check-") as scratch:
        config_file = None
        if sweep.config_text is not None:
            config_file = str(pathlib.Path(scratch) / pathlib.Path(sweep.config_path).name)
            pathlib.Path(config_file).write_text(sweep.config_text)
        for index in range(min(combos, 8)):
            values = {d.name: d.corners()[index % len(d.corners())] for d in sweep.space}
            out = pathlib.Path(scratch) / f"check{index}"
            command = [dojo, "train", *trial_args(sweep, values, config_file), "--set", "n_eval_episodes=1",
                       "--steps", "1", "--seed", str(sweep.seeds[0]), "--out", str(out), "--threads", "1"]
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                shown = ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
                message = (done.stderr.strip() or done.stdout.strip())[-2000:]
                raise SweepError(f"{sweep.source}: dojo train refuses the sweep's settings (tried {shown}):\n{message}")
            rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
            evaluations = [row for row in rows if "eval_episodes" in row]
            if evaluations and sweep.metric not in evaluations[-1]:
                figures = sorted(k for k in evaluations[-1] if k.startswith("eval_") and k != "eval_episodes")
                raise SweepError(f"{sweep.source}: objective.metric: the evaluations of this environment have no "
                                 f"{sweep.metric!r}; they have: {', '.join(figures)}")


def _is_loopback(address: str) -> bool:
    host = address.split("://")[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def _progress_callback(sweep: Sweep, total: int):
    """A Tune callback that prints a line as each trial ends (completed, stopped by ASHA or failed)."""
    from ray.tune import Callback

    class Progress(Callback):
        def __init__(self):
            self.ended, self.stopped = 0, set()

        def _line(self, trial, how):
            self.ended += 1
            result = trial.last_result or {}
            values = ", ".join(f"{d.name}={_cell(trial.config.get(d.name))}" for d in sweep.space)
            figure = result.get(sweep.metric)
            shown = f" ({sweep.metric} {_cell(figure)})" if figure is not None else ""
            node = (result.get("node_id") or "")[:12]
            print(f"[{self.ended}/{total}] trial {trial.trial_id} {values}: {how}{shown}" + (f" on node {node}" if node else ""),
                  flush=True)

        def on_trial_complete(self, iteration, trials, trial, **info):
            result = trial.last_result or {}
            if not result.get("completed"):
                self.stopped.add(trial.trial_id)
            self._line(trial, "completed" if result.get("completed") else f"stopped by ASHA at step {result.get('step')}")

        def on_trial_error(self, iteration, trials, trial, **info):
            self._line(trial, "failed")

    return Progress()


def _search_algorithm(sweep: Sweep):
    if sweep.search == "optuna":
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return OptunaSearch(metric="objective", mode=sweep.mode, sampler=optuna.samplers.TPESampler(seed=sweep.search_seed))
    from ray.tune.search import BasicVariantGenerator

    return BasicVariantGenerator(random_state=sweep.search_seed)


def _status(result) -> tuple:
    """(status, last metrics) of a Tune result: completed, stopped (by ASHA) or error."""
    metrics = result.metrics or {}
    if result.error is not None:
        return "error", metrics
    if metrics.get("completed"):
        return "completed", metrics
    return "stopped", metrics


def _better(sweep: Sweep, a: float, b: float) -> bool:
    return a > b if sweep.mode == "max" else a < b


def summarize(sweep: Sweep, results, stopped_by_asha: set | None = None) -> list:
    """One row per trial, the completed ones first, best objective first. A trial that neither completed nor was
    stopped by ASHA (`stopped_by_asha`: trial ids; all when None) was interrupted (Ctrl-C)."""
    rows = []
    for result in results:
        status, metrics = _status(result)
        config = result.config or {}
        trial = metrics.get("trial_id")
        if not trial:
            found = re.search(r"DojoTrial_([0-9a-f]+)_", pathlib.Path(getattr(result, "path", "") or "").name)
            trial = found.group(1) if found else ""
        if status == "stopped":
            asha = stopped_by_asha is None or trial in stopped_by_asha
            status = f"stopped at {metrics.get('step')}" if asha else f"interrupted at {metrics.get('step', 0)}"
        row = {"trial": trial, "status": status,
               "node": (metrics.get("node_id") or "")[:12],
               **{d.name: config.get(d.name) for d in sweep.space},
               "steps": metrics.get("step"), "evaluations": metrics.get("evaluations"),
               sweep.metric: metrics.get(sweep.metric), "objective": metrics.get("objective"),
               "seconds": round(metrics["seconds"], 2) if "seconds" in metrics else None,
               "_completed": status == "completed", "_config": metrics.get("dojo_config"),
               "_run_dirs": metrics.get("run_dirs", ""), "_error": str(result.error) if result.error else ""}
        rows.append(row)
    sign = -1 if sweep.mode == "max" else 1

    def key(row):
        objective = row["objective"]
        return (not row["_completed"], row["status"] == "error",
                sign * objective if isinstance(objective, (int, float)) else math.inf)

    rows.sort(key=key)
    return rows


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def table_markdown(rows: list) -> str:
    columns = [k for k in rows[0] if not k.startswith("_")] if rows else []
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def table_csv(rows: list) -> str:
    columns = [k for k in rows[0] if not k.startswith("_")] if rows else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([repr(row[c]) if isinstance(row[c], float) else _cell(row[c]) for c in columns])
    return buffer.getvalue()


def run_sweep(sweep: Sweep, out: str | os.PathLike, dojo: str, address: str | None = None, check: bool = True,
              verbose: int = 0, ship: bool = False) -> dict:
    """Runs the sweep on Ray Tune (a local Ray, or the cluster at `address`) and writes the results under `out`.
    With `ship`, the binary `dojo` goes to the nodes through Ray's runtime_env instead of being installed there.
    Returns {"rows", "best_config", "best_trial", "compare"}."""
    local = address is None or _is_loopback(address)
    if local and "ray" not in sys.modules:
        # A Ray on this machine only: its nodes talk over 127.0.0.1 (Ray would otherwise take the address of the
        # machine's network interface, as on a real cluster).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
        try:
            from ray.tune import FailureConfig, RunConfig
        except ImportError:  # Ray before 2.41 kept them in ray.train
            from ray.train import FailureConfig, RunConfig
        from ._sweep_trial import DojoTrial
    except ImportError:
        raise SweepError("sweeps need Ray Tune and Optuna: pip install 'dojo-rl[sweep]' "
                         "(or pip install 'ray[tune]' optuna pyyaml)") from None
    out = pathlib.Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SweepError(f"--out {out}: exists and is not an empty folder; sweeps are never overwritten")
    if not os.access(dojo, os.X_OK):
        if local:
            raise SweepError(f"--dojo {dojo}: not an executable file")
        print(f"dojo-sweep: {dojo} is not on this machine: the settings are not checked here; the cluster's nodes "
              "must have it", file=sys.stderr)
    elif check:
        preflight(sweep, dojo)
    out.mkdir(parents=True, exist_ok=True)

    started_here, runtime_env, scratch = False, None, None
    if ship:
        if ray.is_initialized():
            raise SweepError("--ship-dojo: Ray is already initialized in this process; the binary is shipped through "
                             "ray.init's runtime_env, so let the sweep initialize Ray")
        # A one-file Python package holding the binary: Ray uploads it once and unpacks it on every node that runs
        # a trial (as the trial's py_modules); the trial finds it by importing the package.
        scratch = tempfile.TemporaryDirectory(prefix="dojo-sweep-ship-")
        package = pathlib.Path(scratch.name) / SHIPPED_PACKAGE
        package.mkdir()
        (package / "__init__.py").write_text("# The dojo binary, shipped to the Ray nodes by dojo-sweep.\n")
        shutil.copy2(dojo, package / "dojo")
        runtime_env = {"py_modules": [str(package)]}
        dojo = SHIPPED
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env=runtime_env)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                     runtime_env=runtime_env)
            started_here = True
    try:
        total = ray.cluster_resources().get("CPU", 0)
        if total < sweep.cpus_per_trial:
            raise SweepError(f"cpus_per_trial: a trial needs {sweep.cpus_per_trial} CPUs (one per seed unless set), "
                             f"the Ray cluster has {total:g}; lower cpus_per_trial or add nodes")
        # With a search algorithm Tune keeps one trial pending at a time, so short trials would run one after the
        # other; let it queue as many as the cluster can run at once (unless the user chose otherwise).
        os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(max(1, int(total // sweep.cpus_per_trial))))
        space = {d.name: d.tune_domain() for d in sweep.space}
        if sweep.asha is not None:
            scheduler = ASHAScheduler(time_attr="step", max_t=sweep.steps, grace_period=sweep.asha["grace_period"],
                                      reduction_factor=sweep.asha["reduction_factor"])
        else:
            scheduler = FIFOScheduler()
        trainable = tune.with_resources(tune.with_parameters(DojoTrial, sweep=sweep, dojo=dojo, out=str(out)),
                                        {"cpu": sweep.cpus_per_trial})
        samples = 1 if sweep.search == "grid" else sweep.trials
        progress = _progress_callback(sweep, sweep.grid_size * samples)
        tuner = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(metric="objective", mode=sweep.mode, num_samples=samples,
                                        search_alg=_search_algorithm(sweep), scheduler=scheduler, reuse_actors=False),
            run_config=RunConfig(name=sweep.name, storage_path=str(out / "ray"), verbose=verbose,
                                 failure_config=FailureConfig(max_failures=0), callbacks=[progress]))
        grid = tuner.fit()
        results = [grid[i] for i in range(len(grid))]
    finally:
        if started_here or ship:
            ray.shutdown()
        if scratch is not None:
            scratch.cleanup()
    return write_results(sweep, out, summarize(sweep, results, progress.stopped))


def write_results(sweep: Sweep, out: pathlib.Path, rows: list) -> dict:
    """Writes trials.csv, trials.md and best_config.json; returns what was written and the compare command."""
    (out / "trials.csv").write_text(table_csv(rows))
    markdown = table_markdown(rows)
    (out / "trials.md").write_text(markdown)
    summary = {"rows": rows, "table": markdown, "best_config": None, "best_trial": None, "compare": None}
    completed = [row for row in rows if row["_completed"] and row["_config"]]
    if completed:
        best = completed[0]
        config = json.loads(best["_config"])
        config["seed"] = sweep.seeds[0]  # the first seed's run; --seed S gives the others
        path = out / "best_config.json"
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        summary["best_config"], summary["best_trial"] = str(path), best
        # Each trial's folder holds its seeds' runs, which `dojo compare` reads as one group.
        trials = []
        for row in completed[:3]:
            runs = [run for run in row["_run_dirs"].split(",") if run]
            if runs and str(pathlib.Path(runs[0]).parent) not in trials:
                trials.append(str(pathlib.Path(runs[0]).parent))
        summary["compare"] = "dojo compare " + " ".join(trials)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dojo-sweep", description=(
        "Hyperparameter sweep of `dojo train` on Ray Tune (ASHA early stopping; Optuna TPE, random or grid search). "
        "The sweep file format is described in `python -m pydoc dojo_rl.sweep`."))
    parser.add_argument("sweep", help="the sweep file (YAML)")
    parser.add_argument("--address", help="a running Ray cluster (ray start --head ...); default: a local Ray with "
                        "every core. The dojo binary must exist at --dojo on every node")
    parser.add_argument("--dojo", help="the dojo binary (default: $DOJO_BINARY, else dojo on PATH)")
    parser.add_argument("--out", help="a new or empty folder for the sweep (default: sweeps/<name>)")
    parser.add_argument("--ship-dojo", action="store_true", help="send the binary to the nodes through Ray's "
                        "runtime_env instead (the nodes still need its shared libraries: the Swift runtime, OpenBLAS)")
    parser.add_argument("--no-check", action="store_true", help="skip the one-step pre-flight runs of the settings")
    parser.add_argument("--verbose", action="store_true", help="Tune's own progress tables as well")
    args = parser.parse_args(argv)
    try:
        sweep = load_sweep(args.sweep)
        dojo = find_dojo(args.dojo)
        out = args.out or f"sweeps/{sweep.name}"
        summary = run_sweep(sweep, out, dojo, address=args.address, check=not args.no_check, ship=args.ship_dojo,
                            verbose=1 if args.verbose else 0)
    except SweepError as error:
        print(f"dojo-sweep: {error}", file=sys.stderr)
        return 2
    out = pathlib.Path(out)
    print()
    print(summary["table"], end="")
    print(f"\ntrials: {out / 'trials.csv'}, {out / 'trials.md'}")
    errors = [row for row in summary["rows"] if row["status"] == "error"]
    for row in errors[:3]:
        print(f"trial {row['trial']} failed: {row['_error'].strip().splitlines()[-1] if row['_error'].strip() else ''}")
    if summary["best_config"]:
        best = summary["best_trial"]
        print(f"best: trial {best['trial']} ({sweep.reduce} {sweep.metric} = {_cell(best['objective'])}), "
              + ", ".join(f"{d.name}={format_value(best[d.name])}" for d in sweep.space))
        print(f"best configuration: {summary['best_config']}")
        print(f"  reproduce: dojo train --config {summary['best_config']} --out runs/{sweep.name}-best"
              + (f"   (other seeds: --seed {' / '.join(map(str, sweep.seeds[1:]))})" if len(sweep.seeds) > 1 else ""))
        print(f"  compare the best trials' seeds: {summary['compare']}")
        return 0
    print("no trial completed its budget: no best configuration", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
