#!/usr/bin/env python3
"""Dojo SAC + HER against Stable-Baselines3 SAC + HerReplayBuffer on Dojo's goal-conditioned push, side by side.

Each seed trains Dojo's preset (default arm-push-sac-her) with the release binary, then SB3 on the same environment
through the Python package (`DojoVecEnv("Dojo/ArmPushGoal-v0", ...)` with the preset's options) with the preset's own
hyperparameters read back from the run's config.json: steps, copies, learning rate (and its linear decay), buffer, batch, tau, gamma,
train_freq, gradient_steps, learning_starts, net_arch, HER's n_sampled_goal and goal_selection_strategy, and
VecNormalize(norm_obs) when the preset normalizes observations. Both then play the same 100 evaluation episodes
(deterministic actions); the figures are the success rate (disc within 3 cm at the end) and the training wall-clock,
both on one core, one thread.

Usage: .venv-anchors/bin/python bench/her_push_vs_sb3.py [--preset arm-push-sac-her] [--seeds 0 1 2] [--steps N]
       .venv-anchors/bin/python bench/her_push_vs_sb3.py --curve DOJO_RUN --seeds 0 --steps 800000 [--every 100000]
       (SB3 alone along a finished Dojo run: success every --every steps beside the run's own evaluations)
Needs stable-baselines3 and dojo_rl (pip install -e python) in the anchors venv.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch

EPISODES = 100


def dojo_run(dojo, preset, seed, steps):
    out = tempfile.mkdtemp(prefix="dojo-her-") + "/run"
    command = [dojo, "train", "--preset", preset, "--seed", str(seed), "--threads", "1", "--out", out]
    if steps:
        command += ["--steps", str(steps)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    seconds = time.perf_counter() - started
    evaluation = subprocess.run([dojo, "eval", out, "--checkpoint", "last", "--episodes", str(EPISODES), "--seed", "77",
                                 "--json"], check=True, capture_output=True, text=True)
    record = json.loads(evaluation.stdout)
    print(f"  dojo trained in {seconds:.0f} s: {record['success_rate']:.0%} of {EPISODES}", flush=True)
    return out, seconds, record["success_rate"]


def sb3_model(config, seed):
    """SB3's SAC or TD3 with HerReplayBuffer on Dojo's push, every setting from a Dojo run's config.json."""
    from stable_baselines3 import SAC, TD3, HerReplayBuffer
    from stable_baselines3.common.noise import NormalActionNoise
    from stable_baselines3.common.vec_env import VecNormalize

    from dojo_rl.sb3 import DojoVecEnv

    agent = config["agent"]
    h = config[agent]
    options = config.get("env_options", {})
    env = DojoVecEnv("Dojo/ArmPushGoal-v0", num_envs=config["n_envs"], seed=seed, **options)
    if h.get("normalize_observations"):
        env = VecNormalize(env, norm_obs=True, norm_reward=False, clip_obs=10.0)
    learning_rate = h["learning_rate"]
    if h.get("learning_rate_end") is not None:  # Dojo's linear decay over the run, as an SB3 schedule
        start, end = h["learning_rate"], h["learning_rate_end"]
        learning_rate = lambda remaining: end + (start - end) * remaining  # noqa: E731
    kwargs = dict(learning_rate=learning_rate, buffer_size=h["buffer_size"], learning_starts=h["learning_starts"],
                  batch_size=h["batch_size"], tau=h["tau"], gamma=h["gamma"], train_freq=h["train_freq"],
                  gradient_steps=h["gradient_steps"], replay_buffer_class=HerReplayBuffer,
                  replay_buffer_kwargs=dict(n_sampled_goal=h["n_sampled_goal"],
                                            goal_selection_strategy=h["goal_selection_strategy"]),
                  policy_kwargs=dict(net_arch=h["net_arch"], n_critics=h["n_critics"]), seed=seed, device="cpu", verbose=0)
    dimensions = env.action_space.shape[0]
    if h.get("noise_type") == "normal":
        kwargs["action_noise"] = NormalActionNoise(np.zeros(dimensions), h["noise_std"] * np.ones(dimensions))
    if agent == "sac":
        model = SAC("MultiInputPolicy", env, ent_coef=h["ent_coef"], target_entropy=h["target_entropy"],
                    target_update_interval=h["target_update_interval"], **kwargs)
    else:
        model = TD3("MultiInputPolicy", env, policy_delay=h["policy_delay"], target_policy_noise=h["target_policy_noise"],
                    target_noise_clip=h["target_noise_clip"], **kwargs)
    return model, env, options


def sb3_run(config, seed):
    model, env, options = sb3_model(config, seed)
    started = time.perf_counter()
    model.learn(total_timesteps=config["total_timesteps"])
    seconds = time.perf_counter() - started
    print(f"  sb3 trained {config['total_timesteps']} steps in {seconds:.0f} s", flush=True)
    return seconds, evaluate(model, env, options, seed)


def sb3_curve(run, seed, steps, every):
    """SB3 along an existing Dojo run: the same settings and learning-rate schedule (over the run's full budget),
    stopped after `steps`; every `every` steps it plays EVALUATION episodes, printed beside the Dojo run's own
    100-episode evaluation at that step (from its metrics.jsonl). Training seconds exclude the evaluations."""
    from stable_baselines3.common.callbacks import BaseCallback

    config = json.load(open(os.path.join(run, "config.json")))
    dojo_curve = {}
    for line in open(os.path.join(run, "metrics.jsonl")):
        record = json.loads(line)
        if "eval_success_rate" in record:
            dojo_curve[record["step"]] = record["eval_success_rate"]
    model, env, options = sb3_model(config, seed)

    class Curve(BaseCallback):
        def __init__(self):
            super().__init__()
            self.started, self.evaluating, self.next = time.perf_counter(), 0.0, every

        def _on_step(self):
            if self.num_timesteps < self.next:
                return True
            self.next += every
            trained = time.perf_counter() - self.started - self.evaluating
            begun = time.perf_counter()
            success = evaluate(self.model, env, options, seed)
            self.evaluating += time.perf_counter() - begun
            near = min(dojo_curve, key=lambda step: abs(step - self.num_timesteps)) if dojo_curve else None
            dojo = f"dojo {dojo_curve[near]:.0%} at {near}" if near is not None else "dojo -"
            print(f"step {self.num_timesteps}: sb3 {success:.0%} of {EPISODES} after {trained:.0f} s training "
                  f"({self.num_timesteps / trained:.1f} steps/s); {dojo}", flush=True)
            return self.num_timesteps < steps

    model.learn(total_timesteps=config["total_timesteps"], callback=Curve())


def evaluate(model, train_env, options, seed):
    """Success rate over EPISODES deterministic episodes on a fresh environment: the disc within success_distance of
    the target in the episode's last observation (what Dojo's info["success"] reports at the end). Observations are
    normalized with the training statistics, frozen, when the preset normalizes them."""
    from stable_baselines3.common.vec_env import VecNormalize

    from dojo_rl.sb3 import DojoVecEnv

    radius = float(options.get("success_distance", 0.03))
    env = DojoVecEnv("Dojo/ArmPushGoal-v0", num_envs=1, seed=seed + 10_000, **options)
    normalizer = train_env if isinstance(train_env, VecNormalize) else None
    successes = []
    observation = env.reset()
    while len(successes) < EPISODES:
        policy_input = normalizer.normalize_obs(observation) if normalizer else observation
        action, _ = model.predict(policy_input, deterministic=True)
        observation, _, dones, infos = env.step(action)
        if dones[0]:
            last = infos[0]["terminal_observation"]
            successes.append(float(np.linalg.norm(last["achieved_goal"] - last["desired_goal"]) <= radius))
    return float(np.mean(successes))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="arm-push-sac-her")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="override the preset's budget (both sides)")
    parser.add_argument("--dojo", default=".build/release/dojo")
    parser.add_argument("--cpu", type=int, default=os.cpu_count() - 1)
    parser.add_argument("--curve", metavar="RUN", help="train SB3 only, along this Dojo run (its settings and schedule), "
                        "for --steps steps, evaluating every --every steps beside the run's own evaluations")
    parser.add_argument("--every", type=int, default=100_000)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    torch.set_num_threads(1)
    if args.curve:
        return sb3_curve(args.curve, args.seeds[0], args.steps or 10**12, args.every)
    rows = []
    for seed in args.seeds:
        out, dojo_seconds, dojo_success = dojo_run(args.dojo, args.preset, seed, args.steps)
        config = json.load(open(out + "/config.json"))
        sb3_seconds, sb3_success = sb3_run(config, seed)
        rows.append((seed, dojo_success, dojo_seconds, sb3_success, sb3_seconds))
        print(f"seed {seed}: dojo {dojo_success:.0%} in {dojo_seconds:.0f} s; sb3 {sb3_success:.0%} in {sb3_seconds:.0f} s; "
              f"wall-clock ratio {sb3_seconds / dojo_seconds:.1f}x", flush=True)
    print(f"\n{args.preset}: {config['total_timesteps']} steps, {config['n_envs']} copies, success over {EPISODES} episodes")
    print(f"{'seed':>4}  {'dojo':>6} {'dojo s':>8}   {'sb3':>6} {'sb3 s':>8}  {'ratio':>6}")
    for seed, ds, dt, ss, st in rows:
        print(f"{seed:>4}  {ds:>6.0%} {dt:>8.0f}   {ss:>6.0%} {st:>8.0f}  {st / dt:>5.1f}x")
    print(f"median: dojo {statistics.median(r[1] for r in rows):.0%}, sb3 {statistics.median(r[3] for r in rows):.0%}, "
          f"wall-clock ratio {statistics.median(r[4] / r[2] for r in rows):.1f}x")


if __name__ == "__main__":
    main()
