#!/usr/bin/env python3
"""Generates the Gymnasium CartPole-v1 parity fixtures checked by `swift test` (Tests/Fixtures/gym/cartpole.json).

Each case starts gymnasium's CartPole-v1 from an explicit state (x, x_dot, theta, theta_dot), applies a fixed action
sequence and records, after every step, the float64 state, the float32 observation, the reward and the
terminated/truncated flags, until the episode ends (by failure or by the 500-step limit). Policies: random actions,
and a balancing rule that lasts the whole 500 steps so truncation is covered.

Run: .venv-anchors/bin/python scripts/make_gym_fixtures.py
"""
import json
import os

import gymnasium as gym
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "gym", "cartpole.json")


def run(initial, policy, rng, integrator="euler"):
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.unwrapped.kinematics_integrator = integrator
    env.unwrapped.state = np.array(initial, dtype=np.float64)
    obs = np.array(initial, dtype=np.float32)
    case = {"initial": [float(v) for v in initial], "integrator": integrator, "actions": [], "states": [],
            "observations": [], "rewards": [], "terminated": [], "truncated": []}
    while True:
        action = policy(obs, rng)
        obs, reward, terminated, truncated, _ = env.step(action)
        case["actions"].append(int(action))
        case["states"].append([float(v) for v in env.unwrapped.state])
        case["observations"].append([float(v) for v in obs])
        case["rewards"].append(float(reward))
        case["terminated"].append(bool(terminated))
        case["truncated"].append(bool(truncated))
        if terminated or truncated:
            return case


def random_policy(obs, rng):
    return int(rng.integers(2))


def balancing_policy(obs, rng):
    # Push toward the side the pole falls to, with a little cart-position feedback.
    return int(obs[2] + 0.5 * obs[3] + 0.01 * obs[0] + 0.1 * obs[1] > 0)


def main():
    rng = np.random.default_rng(20261129)
    cases = []
    for _ in range(8):
        cases.append(run(rng.uniform(-0.05, 0.05, size=4), random_policy, rng))
    for initial in ([0.0, 0.0, 0.1, 0.0], [1.0, -0.5, -0.15, 0.8], [-2.3, -0.3, 0.0, 0.0]):
        cases.append(run(initial, random_policy, rng))
    for _ in range(3):
        cases.append(run(rng.uniform(-0.05, 0.05, size=4), balancing_policy, rng))
    cases.append(run(rng.uniform(-0.05, 0.05, size=4), random_policy, rng, integrator="semi-implicit"))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/make_gym_fixtures.py", "gymnasium": gym.__version__, "cases": cases}, f)
    print(f"{len(cases)} cases, {sum(len(c['actions']) for c in cases)} steps, "
          f"lengths {[len(c['actions']) for c in cases]} -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
