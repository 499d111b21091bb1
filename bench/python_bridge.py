#!/usr/bin/env python3
"""Dojo's Python package (dojo_rl, ctypes over libdojo-c.so) against the Python anchors, side by side in one run.

Parts (each prints a markdown table with ratios; Dojo over the anchor for rates, anchor over Dojo for times):
  a  single environment from Python through `gymnasium.make`, random actions drawn in advance, reset at episode end:
     Dojo/CartPole-v1 vs Gymnasium CartPole-v1; Dojo/GridWorld-v0 (map=four-rooms, MiniGrid's 7x7 partial view) vs
     MiniGrid-FourRooms-v0 (left/right/forward); Dojo/Highway-v0 vs highway-env highway-v0 and Dojo/HighwayFast-v0
     vs highway-fast-v0. Target: Dojo cart-pole >= 2x Gymnasium's.
  b  vector environments: `dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=N, threads=T)` vs EnvPool CartPole-v1
     (num_envs=N, num_threads=T) at N = 1, 8, 64 on one thread and 64 on two; Dojo/HighwayFast-v0 x64 vs one
     highway-fast-v0 for context. Target: Dojo >= 10x EnvPool at 64 copies.
  c  Stable-Baselines3 PPO through the bridge (`dojo_rl.sb3.DojoVecEnv`) vs the same PPO on SB3's make_vec_env:
     CartPole-v1 with the rl-baselines3-zoo hyperparameters (8 envs, n_steps 32, batch 256, gae_lambda 0.8,
     gamma 0.98, 20 epochs, ent_coef 0, learning rate and clip range linear from 1e-3 and 0.2), --ppo-steps steps per
     seed, the final policy evaluated greedily over --eval-episodes episodes (Dojo's policy also on Gymnasium's
     CartPole-v1); then default PPO MlpPolicy for --highway-steps steps (first seed only) on Dojo/HighwayFast-v0 vs
     highway-fast-v0 (wall-clock ratio; target >= 20x).

One-thread parts run pinned to one core (--cpu) with torch.set_num_threads(1); the two-thread rows of part b run on
every core, Dojo and EnvPool alike. DojoVecEnv runs on one thread (threads=1), as SB3's DummyVecEnv does. Wall-clock
times include making the environments and the model.

Usage: .venv-anchors/bin/python bench/python_bridge.py [--parts a b c] [--seconds 1] [--seeds 0 1 2]
           [--ppo-steps 100000] [--highway-steps 2048] [--eval-episodes 100] [--cpu N]
Needs the anchors venv (gymnasium, envpool, minigrid, highway-env, stable-baselines3, torch) with dojo_rl installed
(`pip install -e python`) and libdojo-c.so (release build; DOJO_LIBRARY names it if it is not found by itself).
"""
import argparse
import contextlib
import os
import statistics
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")  # highway-env's float64 bounds and the passive checker's notes, on both sides alike


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers


@contextlib.contextmanager
def cores(cpu):
    """Runs the block on core `cpu` alone (None: on every core). Threads made inside inherit the mask."""
    before = os.sched_getaffinity(0)
    target = set(range(os.cpu_count())) if cpu is None else {cpu}
    os.sched_setaffinity(0, target)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def rate(step, seconds, minimum=0):
    """Env steps per second of `step()` (which performs some env steps and returns how many), called until at least
    `seconds` have passed and `minimum` steps are done."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < minimum:
        count += step()
    return count / (time.perf_counter() - start)


def steps_per_second(number):
    if number >= 1e6:
        return f"{number / 1e6:.2f} M"
    if number >= 1e4:
        return f"{number / 1e3:.0f} k"
    return f"{number:,.0f}"


def markdown(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    sys.stdout.flush()


def register():
    import dojo_rl
    dojo_rl.register_environments()
    import highway_env  # noqa: F401  (registers highway-v0, highway-fast-v0)
    import minigrid  # noqa: F401  (registers MiniGrid-*)


# ---------------------------------------------------------------------------------------------------------------
# Part a: one environment through gymnasium.make


def single_env_rate(gym_id, kwargs, action_count, seconds, batch, minimum=0):
    """Steps/s of one `gymnasium.make(gym_id, **kwargs)` with uniform random actions in [0, action_count) drawn in
    advance, `batch` steps between clock reads, reset when an episode ends."""
    import gymnasium as gym
    env = gym.make(gym_id, **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, action_count, size=4096).tolist()
    index = [0]

    def step():
        for _ in range(batch):
            _, _, terminated, truncated, _ = env.step(actions[index[0] & 4095])
            index[0] += 1
            if terminated or truncated:
                env.reset()
        return batch
    result = rate(step, seconds, minimum)
    env.close()
    return result


# (Dojo id, options, anchor id, random actions on each side, batch, minimum steps)
SINGLE = [
    ("Dojo/CartPole-v1", {}, "CartPole-v1", (2, 2), 256, 0),
    ("Dojo/GridWorld-v0", {"map": "four-rooms", "observation": "partial"}, "MiniGrid-FourRooms-v0", (4, 3), 64, 0),
    ("Dojo/Highway-v0", {}, "highway-v0", (5, 5), 1, 20),
    ("Dojo/HighwayFast-v0", {}, "highway-fast-v0", (5, 5), 1, 40),
]


def part_a(args):
    """Rows of part a; also returns the anchors' highway rates for part b's context rows."""
    rows, anchor_rates = [], {}
    with cores(args.cpu):
        for dojo_id, options, anchor_id, (dojo_actions, anchor_actions), batch, minimum in SINGLE:
            # Highway-env makes a few steps a second: time it longer so that resets average out.
            anchor_seconds = args.seconds if minimum == 0 else max(args.seconds, 5)
            dojo = single_env_rate(dojo_id, options, dojo_actions, args.seconds, batch)
            anchor = single_env_rate(anchor_id, {}, anchor_actions, anchor_seconds, batch, minimum)
            anchor_rates[anchor_id] = anchor
            shown = dojo_id + "".join(f", {k}={v}" for k, v in options.items())
            rows.append((shown, steps_per_second(dojo), anchor_id, steps_per_second(anchor), f"{dojo / anchor:.1f}x"))
    print("\n### (a) One environment from Python via gymnasium.make (one thread, random actions)\n")
    markdown(("Dojo", "steps/s", "anchor", "steps/s", "ratio"), rows)
    return anchor_rates


# ---------------------------------------------------------------------------------------------------------------
# Part b: vector environments


def dojo_vec_rate(gym_id, num_envs, threads, seconds, rounds, **settings):
    import dojo_rl
    env = dojo_rl.make_vec(gym_id, num_envs=num_envs, threads=threads, **settings)
    env.reset(seed=0)
    n = int(env.single_action_space.n)
    actions = np.random.default_rng(0).integers(0, n, size=(256, num_envs))
    index = [0]

    def step():
        for _ in range(rounds):
            env.step(actions[index[0] & 255])
            index[0] += 1
        return rounds * num_envs
    result = rate(step, seconds)
    env.close()
    return result


def envpool_rate(num_envs, threads, seconds, rounds):
    import envpool
    env = envpool.make("CartPole-v1", env_type="gymnasium", num_envs=num_envs, batch_size=num_envs,
                       num_threads=threads, seed=0)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 2, size=(256, num_envs))
    index = [0]

    def step():
        for _ in range(rounds):
            env.step(actions[index[0] & 255])
            index[0] += 1
        return rounds * num_envs
    result = rate(step, seconds)
    env.close()
    return result


def part_b(args, anchor_rates):
    rows = []
    # Dojo's defaults (infos every step, copies of the arrays), then lean: no infos, Dojo's own arrays (copy=False).
    lean = {"infos": False, "copy": False}
    for num_envs, threads, settings in ((1, 1, {}), (8, 1, {}), (64, 1, {}), (64, 1, lean), (64, 2, {}), (64, 2, lean)):
        with cores(args.cpu if threads == 1 else None):
            dojo = dojo_vec_rate("Dojo/CartPole-v1", num_envs, threads, args.seconds, 16, **settings)
            anchor = envpool_rate(num_envs, threads, args.seconds, 16)
        rows.append((f"make_vec Dojo/CartPole-v1 x{num_envs}, {threads} thread{'s' * (threads > 1)}"
                     + (", infos=False, copy=False" if settings else ""),
                     steps_per_second(dojo), f"EnvPool CartPole-v1 x{num_envs}, num_threads={threads}",
                     steps_per_second(anchor), f"{dojo / anchor:.1f}x"))
    highway = anchor_rates.get("highway-fast-v0")
    if highway is None:
        with cores(args.cpu):
            highway = single_env_rate("highway-fast-v0", {}, 5, max(args.seconds, 5), 1, 40)
    for threads in (1, 2):
        with cores(args.cpu if threads == 1 else None):
            dojo = dojo_vec_rate("Dojo/HighwayFast-v0", 64, threads, args.seconds, 1)
        rows.append((f"make_vec Dojo/HighwayFast-v0 x64, {threads} thread{'s' * (threads > 1)}", steps_per_second(dojo),
                     "highway-env highway-fast-v0 (1 env)", steps_per_second(highway), f"{dojo / highway:.0f}x"))
    print("\n### (b) Vector environments from Python (steps/s over all copies, random actions)\n")
    markdown(("Dojo", "steps/s", "anchor", "steps/s", "ratio"), rows)


# ---------------------------------------------------------------------------------------------------------------
# Part c: Stable-Baselines3 PPO through the bridge


def linear(start):
    """SB3 schedule falling linearly from `start` to 0 over training (rl-zoo's lin_<start>)."""
    return lambda progress_remaining: progress_remaining * start


def zoo_cartpole_ppo(env, seed):
    from stable_baselines3 import PPO
    return PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
               learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu", verbose=0)


def evaluate(model, env, episodes):
    """Mean and standard deviation of the greedy policy's return over `episodes` episodes, and how many there were."""
    from stable_baselines3.common.evaluation import evaluate_policy
    returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True,
                                 warn=False)
    return float(np.mean(returns)), float(np.std(returns)), len(returns)


def cartpole_ppo(side, seed, args):
    """Trains zoo PPO on `side` ("dojo" or "sb3"); returns (seconds, evaluation on its own env, evaluation on
    Gymnasium's CartPole-v1)."""
    from stable_baselines3.common.env_util import make_vec_env
    from dojo_rl.sb3 import DojoVecEnv
    start = time.perf_counter()
    if side == "dojo":
        env = DojoVecEnv("Dojo/CartPole-v1", num_envs=8, threads=1, seed=seed)
    else:
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = zoo_cartpole_ppo(env, seed)
    model.learn(total_timesteps=args.ppo_steps)
    seconds = time.perf_counter() - start
    env.close()
    gym_eval = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 1000)
    on_gymnasium = evaluate(model, gym_eval, args.eval_episodes)
    gym_eval.close()
    if side == "dojo":
        own_eval = DojoVecEnv("Dojo/CartPole-v1", num_envs=1, threads=1, seed=seed + 1000)
        own = evaluate(model, own_eval, args.eval_episodes)
        own_eval.close()
    else:
        own = on_gymnasium
    return seconds, own, on_gymnasium


def highway_ppo(side, seed, args):
    """Default PPO MlpPolicy for --highway-steps steps; returns (seconds, observation shape)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from dojo_rl.sb3 import DojoVecEnv
    start = time.perf_counter()
    if side == "dojo":
        env = DojoVecEnv("Dojo/HighwayFast-v0", num_envs=args.highway_envs, threads=1, seed=seed)
    else:
        env = make_vec_env("highway-fast-v0", n_envs=args.highway_envs, seed=seed)
    # SB3's default rollout is 2,048 steps per env; a shorter budget shortens the rollout so that both sides do the
    # same number of env steps.
    n_steps = max(1, min(2048, args.highway_steps // args.highway_envs))
    model = PPO("MlpPolicy", env, n_steps=n_steps, batch_size=min(64, n_steps * args.highway_envs), seed=seed,
                device="cpu", verbose=0)
    model.learn(total_timesteps=args.highway_steps)
    seconds = time.perf_counter() - start
    shape = env.observation_space.shape
    env.close()
    return seconds, shape


def part_c(args):
    import torch
    torch.set_num_threads(1)
    fmt = lambda e: f"{e[0]:.1f} ± {e[1]:.1f}"
    rows, times = [], {"dojo": [], "sb3": []}
    with cores(args.cpu):
        for seed in args.seeds:
            dojo = cartpole_ppo("dojo", seed, args)
            sb3 = cartpole_ppo("sb3", seed, args)
            times["dojo"].append(dojo[0])
            times["sb3"].append(sb3[0])
            rows.append((seed, fmt(dojo[1]), dojo[1][2], fmt(dojo[2]), f"{dojo[0]:.1f}", fmt(sb3[1]), sb3[1][2],
                         f"{sb3[0]:.1f}", f"{sb3[0] / dojo[0]:.2f}x"))
    median_dojo, median_sb3 = statistics.median(times["dojo"]), statistics.median(times["sb3"])
    rows.append(("median", "", "", "", f"{median_dojo:.1f}", "", "", f"{median_sb3:.1f}", f"{median_sb3 / median_dojo:.2f}x"))
    print(f"\n### (c) SB3 PPO on CartPole-v1, rl-zoo hyperparameters, {args.ppo_steps:,} steps, torch 1 thread; "
          f"greedy evaluation over {args.eval_episodes} episodes\n")
    markdown(("seed", "DojoVecEnv: return on Dojo", "episodes", "same policy on Gymnasium", "Dojo s",
              "make_vec_env: return", "episodes", "SB3 s", "SB3 s / Dojo s"), rows)

    rows = []  # highway-env makes ~50 steps a second: one seed (the first) is enough for a wall-clock ratio
    with cores(args.cpu):
        for seed in args.seeds[:1]:
            dojo_seconds, dojo_shape = highway_ppo("dojo", seed, args)
            sb3_seconds, sb3_shape = highway_ppo("sb3", seed, args)
            rows.append((seed, f"{dojo_seconds:.2f}", dojo_shape, f"{sb3_seconds:.2f}", sb3_shape,
                         f"{sb3_seconds / dojo_seconds:.1f}x"))
    print(f"\n### (c) SB3 PPO (default MlpPolicy) on highway-fast, {args.highway_steps:,} steps, "
          f"{args.highway_envs} env(s), torch 1 thread\n")
    markdown(("seed", "DojoVecEnv Dojo/HighwayFast-v0 s", "observation", "highway-env highway-fast-v0 s", "observation",
              "wall-clock ratio"), rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per throughput row (highway anchors: >= 5)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ppo-steps", type=int, default=100_000)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--highway-steps", type=int, default=2048)
    parser.add_argument("--highway-envs", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1, help="core for the one-thread parts (-1: none)")
    args = parser.parse_args()
    if args.seconds <= 0 or args.ppo_steps <= 0 or args.highway_steps <= 0 or args.eval_episodes <= 0 \
            or args.highway_envs <= 0 or not args.seeds:
        parser.error("--seconds, --ppo-steps, --highway-steps, --highway-envs and --eval-episodes must be positive")
    if args.cpu >= os.cpu_count():
        parser.error(f"--cpu must be below {os.cpu_count()}")
    if args.cpu < 0:
        args.cpu = None
    register()
    import dojo_rl
    print(f"dojo_rl {dojo_rl.version()}, {os.cpu_count()} cores, one-thread parts on core "
          f"{'any' if args.cpu is None else args.cpu}, load average {os.getloadavg()[0]:.2f} (ratios are side by side; "
          "absolute rates on a busy machine are noise)")
    anchor_rates = part_a(args) if "a" in args.parts else {}
    if "b" in args.parts:
        part_b(args, anchor_rates)
    if "c" in args.parts:
        part_c(args)


if __name__ == "__main__":
    main()
