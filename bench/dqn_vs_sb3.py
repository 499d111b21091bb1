#!/usr/bin/env python3
"""Dojo DQN against Stable-Baselines3 DQN on CartPole-v1, side by side, same thread count and evaluation schedule.

Both use the rl-baselines3-zoo hyperparameters for CartPole-v1 (Dojo's `cartpole-dqn` preset): lr 2.3e-3, batch 64,
buffer 100k, learning_starts 1000, gamma 0.99, target_update_interval 10, train_freq 256, gradient_steps 128,
exploration_fraction 0.16, exploration_final_eps 0.04, net_arch [256, 256], 50k steps. Evaluation every 10,000 steps,
10 greedy episodes. Reported per seed: env steps and wall-clock seconds until the mean evaluation return first
reaches 475 (training is stopped there on both sides' clocks; Dojo's wall time is read from its metrics.jsonl).

Usage: .venv-anchors/bin/python bench/dqn_vs_sb3.py [--seeds 0 1 2] [--dojo .build/release/dojo]
Needs: pip install stable-baselines3 (in the anchors venv).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from common import first_evaluation_reaching

THRESHOLD = 475


def sb3_run(seed):
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy

    class EvalEvery(BaseCallback):
        def __init__(self, eval_env):
            super().__init__()
            self.eval_env, self.hit, self.start = eval_env, None, time.perf_counter()

        def _on_step(self):
            if self.num_timesteps % 10_000 == 0:
                mean, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=10, deterministic=True)
                if mean >= THRESHOLD and self.hit is None:
                    self.hit = (self.num_timesteps, time.perf_counter() - self.start)
                    return False
            return True

    env, eval_env = gym.make("CartPole-v1"), gym.make("CartPole-v1")
    model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu", verbose=0)
    callback = EvalEvery(eval_env)
    model.learn(total_timesteps=50_000, callback=callback)
    return callback.hit


def dojo_run(dojo, seed, native_blas):
    out = tempfile.mkdtemp(prefix="dojo-dqn-")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if native_blas:  # let OpenBLAS pick the CPU's own kernel, as PyTorch's bundled BLAS does
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    subprocess.run([dojo, "train", "cartpole", "--seed", str(seed), "--out", out + "/run"], check=True,
                   capture_output=True, env=env)
    return first_evaluation_reaching(out + "/run/metrics.jsonl", THRESHOLD)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1)
    parser.add_argument("--native-blas", action="store_true",
                        help="run dojo without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see nn_vs_torch.py)")
    args = parser.parse_args()
    if not os.path.exists(args.dojo):
        subprocess.run(["swift", "build", "-c", "release", "--product", "dojo"], check=True)
    os.sched_setaffinity(0, {args.cpu})  # children (dojo) inherit the pinning
    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        rows.append((seed, dojo_run(args.dojo, seed, args.native_blas), sb3_run(seed)))
    print(f"CartPole-v1 DQN, zoo hyperparameters, one thread, evaluation every 10k steps (10 greedy episodes)")
    print(f"{'seed':>4}  {'dojo steps':>10} {'dojo s':>8}   {'sb3 steps':>10} {'sb3 s':>8}")
    for seed, mine, theirs in rows:
        fmt = lambda hit: f"{hit[0]:>10} {hit[1]:>8.1f}" if hit else f"{'not reached':>19}"
        print(f"{seed:>4}  {fmt(mine)}   {fmt(theirs)}")
    mine = [r[1] for r in rows if r[1]]
    theirs = [r[2] for r in rows if r[2]]
    if mine and theirs:
        print(f"median: dojo {statistics.median(m[0] for m in mine):.0f} steps, {statistics.median(m[1] for m in mine):.1f} s; "
              f"sb3 {statistics.median(t[0] for t in theirs):.0f} steps, {statistics.median(t[1] for t in theirs):.1f} s; "
              f"wall-clock ratio {statistics.median(t[1] for t in theirs) / statistics.median(m[1] for m in mine):.1f}x")


if __name__ == "__main__":
    main()
