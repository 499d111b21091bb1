#!/usr/bin/env python3
"""Side-by-side environment throughput: `dojo bench envs` against Gymnasium, EnvPool and MiniGrid, same run.

Random actions (drawn in advance on both sides), one thread unless stated. Dojo: cart-pole and gridworld (four-rooms
and empty 8x8 with MiniGrid's default 7x7 partial view) with 1, 8 and 64 copies on one thread, and 64 copies on two.
Pendulum with 1 and 64 copies against Gymnasium Pendulum-v1 (one env).
Python anchors: Gymnasium CartPole-v1 (one env), EnvPool CartPole-v1 (1, 8, 64 envs, num_threads=1),
MiniGrid-FourRooms-v0 and MiniGrid-Empty-8x8-v0 (one env), highway-env highway-v0 and highway-fast-v0 (default
configurations, one env), and Gymnasium's MuJoCo Reacher-v5 against the robot arm (when MuJoCo installs).

Usage: .venv-anchors/bin/python bench/envs_vs_python.py [--seconds 1] [--dojo .build/release/dojo]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np


def rate(step, seconds):
    """Steps per second of step() (which performs `n` env steps and returns n), timed for about `seconds`."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += step()
    return count / (time.perf_counter() - start)


def gymnasium_cartpole(seconds):
    import gymnasium as gym
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, size=4096)
    i = [0]

    def step():
        for _ in range(256):
            _, _, terminated, truncated, _ = env.step(int(actions[i[0] & 4095]))
            i[0] += 1
            if terminated or truncated:
                env.reset()
        return 256
    return rate(step, seconds)


def gymnasium_pendulum(seconds):
    import gymnasium as gym
    env = gym.make("Pendulum-v1")
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-2, 2, size=(4096, 1)).astype(np.float32)
    i = [0]

    def step():
        for _ in range(256):
            _, _, terminated, truncated, _ = env.step(actions[i[0] & 4095])
            i[0] += 1
            if terminated or truncated:
                env.reset()
        return 256
    return rate(step, seconds)


def envpool_cartpole(num_envs, seconds):
    import envpool
    env = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=num_envs, batch_size=num_envs, num_threads=1, seed=0)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 2, size=(256, num_envs))
    i = [0]

    def step():
        for _ in range(16):
            env.step(actions[i[0] & 255])
            i[0] += 1
        return 16 * num_envs
    return rate(step, seconds)


def minigrid(name, seconds):
    import gymnasium as gym
    import minigrid  # noqa: F401  (registers the environments)
    env = gym.make(name)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 3, size=4096)  # left, right, forward
    i = [0]

    def step():
        for _ in range(64):
            _, _, terminated, truncated, _ = env.step(int(actions[i[0] & 4095]))
            i[0] += 1
            if terminated or truncated:
                env.reset()
        return 64
    return rate(step, seconds)


def highway(name, seconds):
    import gymnasium as gym
    import highway_env  # noqa: F401  (registers the environments)
    env = gym.make(name)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 5, size=4096)
    i = [0]

    def step():
        _, _, terminated, truncated, _ = env.step(int(actions[i[0] & 4095]))
        i[0] += 1
        if terminated or truncated:
            env.reset()
        return 1
    return rate(step, seconds)


def reacher(seconds):
    """Gymnasium's MuJoCo Reacher-v5, or None when MuJoCo is not installed."""
    import gymnasium as gym
    try:
        env = gym.make("Reacher-v5")
    except Exception as error:  # gymnasium raises DependencyNotInstalled without mujoco
        print(f"Reacher-v5 unavailable: {error}", file=sys.stderr)
        return None
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, size=(4096, 2)).astype(np.float32)
    i = [0]

    def step():
        for _ in range(64):
            _, _, terminated, truncated, _ = env.step(actions[i[0] & 4095])
            i[0] += 1
            if terminated or truncated:
                env.reset()
        return 64
    return rate(step, seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1, help="core for the one-thread runs (-1: none)")
    args = parser.parse_args()
    if not os.path.exists(args.dojo):
        print("building dojo (release)...", file=sys.stderr)
        subprocess.run(["swift", "build", "-c", "release", "--product", "dojo"], check=True)
    command = [args.dojo, "bench", "envs", "--json", "--seconds", str(args.seconds / 2)]
    dojo = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    dojo_rate = {(r["configuration"], r["copies"], r["threads"]): r["stepsPerSecond"] for r in dojo}
    if args.cpu >= 0 and shutil.which("taskset"):
        os.sched_setaffinity(0, {args.cpu})

    rows = []
    gym_rate = gymnasium_cartpole(args.seconds)
    rows.append(("cartpole, 1 env", dojo_rate[("cartpole", 1, 1)], "Gymnasium CartPole-v1", gym_rate))
    for n in (1, 8, 64):
        rows.append((f"cartpole, {n} envs, 1 thread", dojo_rate[("cartpole", n, 1)],
                     f"EnvPool CartPole-v1 x{n}", envpool_cartpole(n, args.seconds)))
    envpool64 = rows[-1][3]
    rows.append(("cartpole, 64 envs, 2 threads", dojo_rate[("cartpole", 64, 2)], "EnvPool x64 (1 thread)", envpool64))
    if ("pendulum", 1, 1) in dojo_rate:
        pendulum_rate = gymnasium_pendulum(args.seconds)
        rows.append(("pendulum, 1 env", dojo_rate[("pendulum", 1, 1)], "Gymnasium Pendulum-v1", pendulum_rate))
        rows.append(("pendulum, 64 envs, 2 threads", dojo_rate[("pendulum", 64, 2)], "Gymnasium Pendulum-v1 (1 env)", pendulum_rate))
    for dojo_name, python_name in (("gridworld-four-rooms", "MiniGrid-FourRooms-v0"), ("gridworld-empty-8x8", "MiniGrid-Empty-8x8-v0")):
        python_rate = minigrid(python_name, args.seconds)
        rows.append((f"{dojo_name}, 1 env", dojo_rate[(dojo_name, 1, 1)], python_name, python_rate))
        rows.append((f"{dojo_name}, 64 envs, 2 threads", dojo_rate[(dojo_name, 64, 2)], python_name + " (1 env)", python_rate))
    for dojo_name in ("highway-v0", "highway-fast-v0"):
        python_rate = highway(dojo_name, max(args.seconds, 5))  # a few steps per second: time longer
        rows.append((f"highway {dojo_name} settings, 1 env", dojo_rate[(dojo_name, 1, 1)], dojo_name, python_rate))
        rows.append((f"highway {dojo_name}, 64 envs, 2 threads", dojo_rate[(dojo_name, 64, 2)], dojo_name + " (1 env)", python_rate))
    reacher_rate = reacher(args.seconds)
    if reacher_rate:
        for dojo_name in ("arm-reach", "arm-push"):
            if (dojo_name, 1, 1) in dojo_rate:
                rows.append((f"{dojo_name}, 1 env", dojo_rate[(dojo_name, 1, 1)], "MuJoCo Reacher-v5", reacher_rate))

    print(f"{'Dojo':<40}{'steps/s':>14}   {'anchor':<32}{'steps/s':>12}{'ratio':>10}")
    print("-" * 110)
    for name, mine, anchor, theirs in rows:
        print(f"{name:<40}{mine:>14,.0f}   {anchor:<32}{theirs:>12,.0f}{mine / theirs:>9.0f}x")
    two, one = dojo_rate[("cartpole", 64, 2)], dojo_rate[("cartpole", 64, 1)]
    print(f"two-thread speed-up at 64 copies: cart-pole {two / one:.2f}x, "
          f"gridworld four-rooms {dojo_rate[('gridworld-four-rooms', 64, 2)] / dojo_rate[('gridworld-four-rooms', 64, 1)]:.2f}x")


if __name__ == "__main__":
    main()
