#!/usr/bin/env python3
"""Dojo SAC / TD3 against Stable-Baselines3 on the pendulum (Gymnasium Pendulum-v1), side by side: one thread,
evaluation every 2,000 steps with 10 deterministic episodes on a separate environment. Reported per seed: env steps
and wall-clock seconds until the evaluation mean first reaches -200 (SB3 stops there, its time taken at that
evaluation with the evaluations included; Dojo runs its whole 20k-step preset and the step and wall_time_s of its
first evaluation at or above -200 are read from metrics.jsonl), the wall-clock ratio, and the final returns.

SB3 side, rl-baselines3-zoo 2.9.2 Pendulum-v1 settings exactly, 20k steps:
  sac  learning_rate 1e-3, everything else SB3's defaults (net_arch [256, 256], buffer 1M, learning_starts 100,
       batch 256, tau 0.005, gamma 0.99, ent_coef "auto")
  td3  gamma 0.98, buffer_size 200000, learning_starts 10000, NormalActionNoise sigma 0.1, train_freq 1,
       gradient_steps 1, learning_rate 1e-3, net_arch [400, 300]
Dojo side: `dojo train pendulum --preset pendulum-sac|pendulum-td3 --threads 1`. The presets keep the zoo's settings
but use [64, 64] networks (and TD3 learns from step 5,000 rather than 10,000), so the default comparison is time to the
target, not time per step at equal arithmetic. `--same-network` also runs Dojo with the zoo's layers
(`--set net_arch=256,256`, or `400,300` with `--set learning_starts=10000` for TD3), which shows that too;
`--sb3-small-network` runs SB3 with the Dojo preset's settings ([64, 64], TD3 from step 5,000), the converse.

Usage: .venv-anchors/bin/python bench/offpolicy_vs_sb3.py [--algorithms sac td3] [--seeds 0 1 2] [--same-network]
       [--sb3-small-network]
Needs stable-baselines3 and gymnasium in the anchors venv, and the release binary (swift build -c release).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from common import first_evaluation_reaching

THRESHOLD = -200
BUDGET = 20_000
EVAL_EVERY = 2_000
EVAL_EPISODES = 10
PRESET = {"sac": "pendulum-sac", "td3": "pendulum-td3"}
# What the zoo's networks need on the Dojo side (--same-network).
ZOO_NETWORK = {"sac": ["net_arch=256,256"], "td3": ["net_arch=400,300", "learning_starts=10000"]}


def sb3_run(algorithm, seed, small=False):
    """Trains SB3 with the zoo's Pendulum-v1 settings until an evaluation reaches THRESHOLD or BUDGET steps pass
    (`small`: with the Dojo preset's departures from them, [64, 64] layers and TD3 learning from step 5,000). Returns (hit, last): hit is (steps, seconds) at the first evaluation at or above THRESHOLD, or None; last is the
    mean return of the last evaluation."""
    import numpy as np
    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.noise import NormalActionNoise

    class EvalEvery(BaseCallback):
        """Evaluates every EVAL_EVERY env steps; stops training at the first evaluation reaching THRESHOLD."""

        def __init__(self, eval_env):
            super().__init__()
            self.eval_env, self.hit, self.last, self.next = eval_env, None, None, EVAL_EVERY
            self.start = time.perf_counter()

        def _on_step(self):
            if self.num_timesteps >= self.next:
                self.next += EVAL_EVERY
                mean, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=EVAL_EPISODES, deterministic=True)
                self.last = mean
                if mean >= THRESHOLD and self.hit is None:
                    self.hit = (self.num_timesteps, time.perf_counter() - self.start)
                    return False
            return True

    env = make_vec_env("Pendulum-v1", n_envs=1, seed=seed)
    eval_env = make_vec_env("Pendulum-v1", n_envs=1, seed=seed + 1000)
    if algorithm == "sac":
        model = SAC("MlpPolicy", env, learning_rate=1e-3, seed=seed, device="cpu", verbose=0,
                    policy_kwargs=dict(net_arch=[64, 64]) if small else None)
    else:
        noise = NormalActionNoise(mean=np.zeros(1), sigma=0.1 * np.ones(1))
        model = TD3("MlpPolicy", env, gamma=0.98, buffer_size=200_000, learning_starts=5_000 if small else 10_000,
                    action_noise=noise, gradient_steps=1, train_freq=1, learning_rate=1e-3,
                    policy_kwargs=dict(net_arch=[64, 64] if small else [400, 300]),
                    seed=seed, device="cpu", verbose=0)
    callback = EvalEvery(eval_env)
    model.learn(total_timesteps=BUDGET, callback=callback)
    return callback.hit, float(callback.last)


def dojo_run(dojo, algorithm, seed, overrides=()):
    """Runs a Dojo preset to its end. Returns (hit, last, seconds): hit as for sb3_run, read from metrics.jsonl; last
    the final evaluation's mean return; seconds the wall_time_s of that final evaluation."""
    with tempfile.TemporaryDirectory(prefix="dojo-offpolicy-") as out:
        command = [dojo, "train", "pendulum", "--preset", PRESET[algorithm], "--seed", str(seed), "--threads", "1",
                   "--out", out + "/run"]
        for assignment in overrides:
            command += ["--set", assignment]
        done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if done.returncode != 0:
            sys.exit(f"dojo failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
        metrics = out + "/run/metrics.jsonl"
        evaluations = [row for row in map(json.loads, open(metrics)) if "eval_return_mean" in row]
        if not evaluations:
            sys.exit(f"no evaluation in {metrics}")
        return first_evaluation_reaching(metrics, THRESHOLD), evaluations[-1]["eval_return_mean"], evaluations[-1]["wall_time_s"]


def cell(hit):
    return f"{hit[0]:>7} {hit[1]:>8.2f}" if hit else f"{'not reached':>16}"


def report(algorithm, rows, same_network):
    zoo_layers = "[256, 256]" if algorithm == "sac" else "[400, 300]"
    print(f"\n{algorithm.upper()} on Pendulum-v1: budget {BUDGET} steps, one thread, evaluation every {EVAL_EVERY} steps "
          f"({EVAL_EPISODES} deterministic episodes); steps and seconds to the first evaluation >= {THRESHOLD}")
    print(f"Networks: Dojo preset {PRESET[algorithm]} [64, 64]; SB3 (zoo) {zoo_layers}"
          + (f"; 'zoo-net' = the Dojo preset with {' '.join(ZOO_NETWORK[algorithm])}" if same_network else ""))
    header = f"{'seed':>4}  {'dojo st':>7} {'dojo s':>8}  {'sb3 st':>7} {'sb3 s':>8}  {'sb3/dojo':>8}"
    if same_network:
        header += f"  {'zoo-net st':>10} {'s':>8}  {'sb3/zoo-net':>11}"
    header += f"  {'dojo final':>10}  {'sb3 last':>8}"
    if same_network:
        header += f"  {'zoo-net final':>13}"
    print(header)
    for r in rows:
        ratio = lambda mine: f"{r['sb3'][1] / mine[1]:>7.1f}x" if mine and r["sb3"] else f"{'-':>8}"
        line = f"{r['seed']:>4}  {cell(r['dojo'])}  {cell(r['sb3'])}  {ratio(r['dojo'])}"
        if same_network:
            zoo = f"{r['zoo'][0]:>10} {r['zoo'][1]:>8.2f}" if r["zoo"] else f"{'not reached':>19}"
            line += f"  {zoo}  {ratio(r['zoo']):>11}"
        line += f"  {r['dojo_last']:>10.1f}  {r['sb3_last']:>8.1f}"
        if same_network:
            line += f"  {r['zoo_last']:>13.1f}"
        print(line, flush=True)
    summarize("dojo", [r["dojo"] for r in rows], rows)
    if same_network:
        summarize("dojo-zoo-net", [r["zoo"] for r in rows], rows)
    # Time per env step over the whole run (learning and evaluations included): what the ratio is made of.
    dojo_rate = statistics.median(r["dojo_seconds"] / BUDGET * 1e3 for r in rows)
    sb3_rate = [r["sb3"][1] / r["sb3"][0] * 1e3 for r in rows if r["sb3"]]
    print(f"per env step (median): dojo {dojo_rate:.3f} ms over its {BUDGET} steps"
          + (f"; sb3 {statistics.median(sb3_rate):.3f} ms up to its hit" if sb3_rate else "")
          + (f"; dojo-zoo-net {statistics.median(r['zoo_seconds'] / BUDGET * 1e3 for r in rows):.3f} ms" if same_network else ""))
    if "sb3small" in rows[0]:
        print(f"SB3 with the Dojo preset's networks ([64, 64]{', learning_starts 5000' if algorithm == 'td3' else ''}), "
              "against the Dojo preset:")
        print(f"{'seed':>4}  {'sb3-64 st':>9} {'s':>8}  {'sb3-64/dojo':>11}  {'sb3-64 last':>11}")
        for r in rows:
            ratio = f"{r['sb3small'][1] / r['dojo'][1]:>10.1f}x" if r["sb3small"] and r["dojo"] else f"{'-':>11}"
            print(f"{r['seed']:>4}  {cell(r['sb3small']):>18}  {ratio}  {r['sb3small_last']:>11.1f}")
        pairs = [(r["dojo"], r["sb3small"]) for r in rows if r["dojo"] and r["sb3small"]]
        if pairs:
            print(f"median per-seed ratio sb3-64/dojo {statistics.median(t[1] / m[1] for m, t in pairs):.1f}x "
                  f"({len(pairs)} of {len(rows)} seeds reached by both)")


def summarize(name, hits, rows):
    pairs = [(mine, r["sb3"]) for mine, r in zip(hits, rows) if mine and r["sb3"]]
    mine = [h for h in hits if h]
    theirs = [r["sb3"] for r in rows if r["sb3"]]
    if not mine or not theirs:
        print(f"median ({name}): reached by {name} in {len(mine)} of {len(rows)} seeds, by sb3 in {len(theirs)}")
        return
    text = (f"median ({name}): {name} {statistics.median(m[0] for m in mine):.0f} steps, {statistics.median(m[1] for m in mine):.2f} s "
            f"({len(mine)} of {len(rows)}); sb3 {statistics.median(t[0] for t in theirs):.0f} steps, "
            f"{statistics.median(t[1] for t in theirs):.2f} s ({len(theirs)} of {len(rows)}); "
            f"ratio of medians {statistics.median(t[1] for t in theirs) / statistics.median(m[1] for m in mine):.1f}x")
    if pairs:
        text += f"; median per-seed ratio {statistics.median(t[1] / m[1] for m, t in pairs):.1f}x"
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithms", nargs="+", choices=sorted(PRESET), default=["sac", "td3"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1, help="core both sides are pinned to")
    parser.add_argument("--same-network", action="store_true",
                        help="also run Dojo with the zoo's net_arch (and TD3's learning_starts 10000)")
    parser.add_argument("--sb3-small-network", action="store_true",
                        help="also run SB3 with the Dojo preset's [64, 64] layers (TD3: learning_starts 5000)")
    args = parser.parse_args()
    if any(seed < 0 for seed in args.seeds):
        parser.error("seeds must be non-negative")
    if not 0 <= args.cpu < os.cpu_count():
        parser.error(f"--cpu must be in 0..{os.cpu_count() - 1}")
    if not os.path.exists(args.dojo):
        parser.error(f"{args.dojo} not found: build it with swift build -c release")
    os.sched_setaffinity(0, {args.cpu})  # children (dojo) inherit the pinning
    torch.set_num_threads(1)
    for algorithm in args.algorithms:
        rows = []
        for seed in args.seeds:
            row = {"seed": seed}
            row["dojo"], row["dojo_last"], row["dojo_seconds"] = dojo_run(args.dojo, algorithm, seed)
            if args.same_network:
                row["zoo"], row["zoo_last"], row["zoo_seconds"] = dojo_run(args.dojo, algorithm, seed, ZOO_NETWORK[algorithm])
            row["sb3"], row["sb3_last"] = sb3_run(algorithm, seed)
            if args.sb3_small_network:
                row["sb3small"], row["sb3small_last"] = sb3_run(algorithm, seed, small=True)
            print(f"  {algorithm} seed {seed}: {row}", file=sys.stderr, flush=True)
            rows.append(row)
        report(algorithm, rows, args.same_network)


if __name__ == "__main__":
    main()
