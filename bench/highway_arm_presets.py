#!/usr/bin/env python3
"""Trains presets (by default the highway and robot-arm DQN ones; `--presets actor-critic` the PPO/A2C ones) over several seeds and evaluates every run on the same 100 greedy
episodes (evaluation seed 12345), so the attention and MLP highway agents meet the same traffic.

Reports per run and on average: collision rate, mean speed and return (highway); success rate and final distance
(arm). Budget: each preset's own (`dojo train --help` lists them), unless --steps overrides it.

Usage: python3 bench/highway_arm_presets.py [--presets NAME ...] [--seeds 0 1 2] [--steps N] [--jobs 2]
Standard library only; run directories go to --out (default bench/runs-highway-arm).
"""
import argparse
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

DEFAULT = ["highway-attention-dqn", "highway-mlp-dqn", "arm-reach-dqn"]
ACTOR_CRITIC = ["highway-attention-ppo", "highway-mlp-ppo", "arm-reach-ppo", "arm-push-ppo", "gridworld-memory-recurrent-ppo",
                "gridworld-memory-ppo", "cartpole-ppo", "cartpole-a2c", "cartpole-masked-recurrent-ppo"]
FIGURES = {"return": r"return: mean (-?[\d.]+)", "collisions": r"collisions ([\d.]+)%", "speed": r"mean speed ([\d.]+) m/s",
           "success": r"success ([\d.]+)%", "distance": r"final distance ([\d.]+) m",
           "traffic": r"traffic speed ([\d.]+) m/s"}


def run(dojo, preset, seed, steps, out, episodes):
    directory = f"{out}/{preset}-seed{seed}"
    subprocess.run(["rm", "-rf", directory])
    command = [dojo, "train", "--preset", preset, "--seed", str(seed), "--out", directory]
    if steps:
        command += ["--steps", str(steps)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run(command, check=True, capture_output=True, env=env)
    text = subprocess.run([dojo, "eval", directory, "--episodes", str(episodes), "--checkpoint", "last"],
                          check=True, capture_output=True, text=True, env=env).stdout
    return {name: float(m.group(1)) for name, pattern in FIGURES.items() if (m := re.search(pattern, text))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=DEFAULT, help="preset names, or 'actor-critic' for the PPO/A2C set")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (one core each)")
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--out", default="bench/runs-highway-arm")
    args = parser.parse_args()
    if args.presets == ["actor-critic"]:
        args.presets = ACTOR_CRITIC
    if not os.path.exists(args.dojo):
        subprocess.run(["swift", "build", "-c", "release", "--product", "dojo"], check=True)
    jobs = [(p, s) for p in args.presets for s in args.seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run(args.dojo, job[0], job[1], args.steps, args.out, args.episodes), jobs))
    by_preset = {}
    for (preset, seed), figures in zip(jobs, results):
        by_preset.setdefault(preset, []).append((seed, figures))
    for preset, rows in by_preset.items():
        print(f"== {preset} ({args.steps or 'preset'} steps, {args.episodes} evaluation episodes, last checkpoint)")
        for seed, figures in rows:
            print(f"  seed {seed}: " + ", ".join(f"{k} {v:g}" for k, v in figures.items()))
        names = rows[0][1].keys()
        print("  mean: " + ", ".join(f"{k} {sum(r[1][k] for r in rows) / len(rows):.3g}" for k in names))


if __name__ == "__main__":
    main()
