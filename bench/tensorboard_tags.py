#!/usr/bin/env python3
"""Reads the TensorBoard event files of short Dojo runs with TensorBoard's own reader and checks Stable-Baselines3's tags.

Trains four short runs (DQN, PPO, A2C on cart-pole; PPO on the arm, a Gaussian policy), loads each run's
`tensorboard/` folder with `tensorboard.backend.event_processing.event_accumulator.EventAccumulator`, prints the
scalar tags with their number of points and last value, and exits with status 1 if a tag SB3 writes for that
algorithm is missing or a value disagrees with the run's metrics.jsonl (`train/entropy_loss` must be the negative
of the logged entropy, as in SB3).

Usage: .venv-anchors/bin/python bench/tensorboard_tags.py [--dojo .build/debug/dojo] [--keep DIR]
Needs: pip install tensorboard (in the anchors venv).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

# The tags SB3 writes to TensorBoard for each algorithm (logger.record calls in on_policy_algorithm.py,
# off_policy_algorithm.py, ppo.py, a2c.py, dqn.py, base_class.py's learning-rate update and EvalCallback).
SHARED = ["rollout/ep_rew_mean", "rollout/ep_len_mean", "time/fps", "train/learning_rate",
          "eval/mean_reward", "eval/mean_ep_length"]
REQUIRED = {
    "dqn": SHARED + ["rollout/exploration_rate", "train/loss", "train/n_updates"],
    "ppo": SHARED + ["train/loss", "train/policy_gradient_loss", "train/value_loss", "train/entropy_loss",
                     "train/approx_kl", "train/clip_fraction", "train/explained_variance", "train/n_updates"],
    "a2c": SHARED + ["train/policy_loss", "train/value_loss", "train/entropy_loss", "train/explained_variance",
                     "train/n_updates"],
}
RUNS = [  # (name, algorithm, extra tags required, dojo train arguments)
    ("cartpole-dqn", "dqn", [], ["train", "--preset", "cartpole-dqn", "--steps", "3000", "--set", "learning_starts=500"]),
    ("cartpole-ppo", "ppo", [], ["train", "--preset", "cartpole-ppo", "--steps", "4096"]),
    ("cartpole-a2c", "a2c", [], ["train", "--preset", "cartpole-a2c", "--steps", "4096"]),
    ("arm-reach-ppo", "ppo", ["train/std"], ["train", "--preset", "arm-reach-ppo", "--steps", "4096"]),
]


def check_run(dojo, name, algorithm, extra, arguments, folder):
    run = os.path.join(folder, name)
    subprocess.run([dojo] + arguments + ["--out", run], check=True, stdout=subprocess.DEVNULL)
    accumulator = EventAccumulator(os.path.join(run, "tensorboard"))
    accumulator.Reload()
    tags = sorted(accumulator.Tags()["scalars"])
    print(f"{name} ({algorithm}): {len(tags)} scalar tags")
    for tag in tags:
        events = accumulator.Scalars(tag)
        print(f"  {tag:<30} {len(events):>3} points, last {events[-1].value:.6g} at step {events[-1].step}")
    problems = [f"missing SB3 tag {tag}" for tag in REQUIRED[algorithm] + extra if tag not in tags]
    if algorithm != "dqn":
        lines = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
        entropy = {line["step"]: line["entropy"] for line in lines if "entropy" in line}
        for event in accumulator.Scalars("train/entropy_loss") if "train/entropy_loss" in tags else []:
            if abs(event.value + entropy.get(event.step, float("nan"))) > 1e-5 * max(1, abs(event.value)):
                problems.append(f"train/entropy_loss at step {event.step} is {event.value}, "
                                f"not the negative of metrics.jsonl's entropy {entropy.get(event.step)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dojo", default=".build/debug/dojo", help="the dojo binary (default: the debug build)")
    parser.add_argument("--keep", help="write the runs into this (new) folder instead of a temporary one")
    args = parser.parse_args()
    folder = args.keep or tempfile.mkdtemp(prefix="dojo-tensorboard-")
    problems = []
    for name, algorithm, extra, arguments in RUNS:
        problems += [f"{name}: {p}" for p in check_run(args.dojo, name, algorithm, extra, arguments, folder)]
    if problems:
        print("\n".join(["FAILED:"] + problems))
        sys.exit(1)
    print("all SB3 tags present; train/entropy_loss is the negative entropy in every run")


if __name__ == "__main__":
    main()
