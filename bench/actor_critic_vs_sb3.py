#!/usr/bin/env python3
"""Dojo PPO / A2C against Stable-Baselines3 (and sb3-contrib RecurrentPPO) on CartPole-v1, side by side: same
rl-baselines3-zoo hyperparameters, one thread, evaluation every 10,000 steps with 10 deterministic episodes.
Reported per seed: env steps and wall-clock seconds until the evaluation mean first reaches 475 (SB3 stops there;
Dojo's time at that evaluation is read from its metrics.jsonl, evaluations included).

Workloads:
  ppo            zoo PPO CartPole-v1: 8 envs, n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, 20 epochs, lr and clip
                 annealed linearly from 1e-3 and 0.2 to 0; 50k steps (Dojo preset cartpole-ppo)
  a2c            zoo A2C CartPole-v1: 8 envs, ent_coef 0, SB3's other defaults (RMSprop, n_steps 5); 100k steps
                 (Dojo preset cartpole-a2c)
  recurrent-ppo  cart-pole with only x and theta observed: sb3-contrib RecurrentPPO with the zoo's CartPoleNoVel-v1
                 settings (LSTM 64, separate critic LSTM, ReLU, no orthogonal init) against Dojo's
                 cartpole-masked-recurrent-ppo preset (one shared LSTM, reward scaling, 10 epochs); 200k steps

Usage: .venv-anchors/bin/python bench/actor_critic_vs_sb3.py [--algorithms ppo a2c recurrent-ppo] [--seeds 0 1 2]
Needs stable-baselines3 and sb3-contrib in the anchors venv.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch

from common import first_evaluation_reaching

THRESHOLD = 475
BUDGET = {"ppo": 50_000, "a2c": 100_000, "recurrent-ppo": 200_000}
PRESET = {"ppo": "cartpole-ppo", "a2c": "cartpole-a2c", "recurrent-ppo": "cartpole-masked-recurrent-ppo"}


def linear(start):
    return lambda progress_remaining: progress_remaining * start


def sb3_run(algorithm, seed):
    import gymnasium as gym
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    masked = algorithm == "recurrent-ppo"

    def make():
        env = gym.make("CartPole-v1")
        if masked:  # observe x and theta only
            low, high = env.observation_space.low[[0, 2]], env.observation_space.high[[0, 2]]
            env = gym.wrappers.TransformObservation(env, lambda o: o[[0, 2]], gym.spaces.Box(low, high, dtype=np.float32))
        return env

    class EvalEvery(BaseCallback):
        def __init__(self, eval_env, n_envs):
            super().__init__()
            self.eval_env, self.n_envs, self.hit, self.start, self.next = eval_env, n_envs, None, time.perf_counter(), 10_000

        def _on_step(self):
            if self.num_timesteps >= self.next:
                self.next += 10_000
                mean, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=10, deterministic=True)
                if mean >= THRESHOLD and self.hit is None:
                    self.hit = (self.num_timesteps, time.perf_counter() - self.start)
                    return False
            return True

    env = make_vec_env(make, n_envs=8, seed=seed)
    eval_env = make_vec_env(make, n_envs=1, seed=seed + 1000)
    if algorithm == "ppo":
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                    learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu", verbose=0)
    elif algorithm == "a2c":
        model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu", verbose=0)
    else:
        from sb3_contrib import RecurrentPPO
        model = RecurrentPPO("MlpLstmPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                             ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu",
                             verbose=0, policy_kwargs=dict(ortho_init=False, activation_fn=torch.nn.ReLU, lstm_hidden_size=64,
                                                           enable_critic_lstm=True, net_arch=dict(pi=[64], vf=[64])))
    callback = EvalEvery(eval_env, 8)
    model.learn(total_timesteps=BUDGET[algorithm], callback=callback)
    return callback.hit


def dojo_run(dojo, algorithm, seed):
    out = tempfile.mkdtemp(prefix="dojo-ac-")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run([dojo, "train", "--preset", PRESET[algorithm], "--seed", str(seed), "--out", out + "/run",
                    "--steps", str(BUDGET[algorithm])], check=True, capture_output=True, env=env)
    return first_evaluation_reaching(out + "/run/metrics.jsonl", THRESHOLD)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithms", nargs="+", default=["ppo", "a2c", "recurrent-ppo"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1)
    args = parser.parse_args()
    if not os.path.exists(args.dojo):
        subprocess.run(["swift", "build", "-c", "release", "--product", "dojo"], check=True)
    os.sched_setaffinity(0, {args.cpu})  # children (dojo) inherit the pinning
    torch.set_num_threads(1)
    for algorithm in args.algorithms:
        rows = [(seed, dojo_run(args.dojo, algorithm, seed), sb3_run(algorithm, seed)) for seed in args.seeds]
        print(f"\n{algorithm}: CartPole-v1{' (velocities hidden)' if algorithm == 'recurrent-ppo' else ''}, "
              f"budget {BUDGET[algorithm]} steps, one thread, evaluation every 10k steps (10 deterministic episodes)")
        print(f"{'seed':>4}  {'dojo steps':>10} {'dojo s':>8}   {'sb3 steps':>10} {'sb3 s':>8}")
        for seed, mine, theirs in rows:
            fmt = lambda hit: f"{hit[0]:>10} {hit[1]:>8.2f}" if hit else f"{'not reached':>19}"
            print(f"{seed:>4}  {fmt(mine)}   {fmt(theirs)}", flush=True)
        mine = [r[1] for r in rows if r[1]]
        theirs = [r[2] for r in rows if r[2]]
        if mine and theirs:
            print(f"median: dojo {statistics.median(m[0] for m in mine):.0f} steps, {statistics.median(m[1] for m in mine):.2f} s; "
                  f"sb3 {statistics.median(t[0] for t in theirs):.0f} steps, {statistics.median(t[1] for t in theirs):.2f} s; "
                  f"wall-clock ratio {statistics.median(t[1] for t in theirs) / statistics.median(m[1] for m in mine):.1f}x")


if __name__ == "__main__":
    main()
