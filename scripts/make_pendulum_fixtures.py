#!/usr/bin/env python3
"""Generates the Gymnasium Pendulum-v1 parity fixtures checked by `swift test` (Tests/Fixtures/gym/pendulum.json).

Each case makes gymnasium's Pendulum-v1 (with its 200-step time limit; `g` given for two cases), resets it, sets the
state (theta, theta_dot) explicitly, then applies a fixed float32 action sequence for the whole 200 steps, recording
after every step the float64 state, the float32 observation, the float64 reward and the terminated/truncated flags.
Actions: uniform random torques inside ±2, random torques well outside ±2 (so Gymnasium's clipping is exercised),
bang-bang torques (±2 by the sign of theta_dot: a swing-up that pushes theta_dot into its ±8 clip), and a constant
push from near the speed limit. Actions are float32 arrays, as Dojo's are, because NumPy then computes the torque
and control-cost terms in float32.

Run: .venv-anchors/bin/python scripts/make_pendulum_fixtures.py
"""
import json
import os

import gymnasium as gym
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "gym", "pendulum.json")
STEPS = 200


def run(initial, policy, rng, g=10.0):
    env = gym.make("Pendulum-v1", g=g)
    env.reset(seed=0)
    env.unwrapped.state = np.array(initial, dtype=np.float64)
    obs = env.unwrapped._get_obs()
    case = {"initial": [float(v) for v in initial], "g": float(g), "first_observation": [float(v) for v in obs],
            "actions": [], "states": [], "observations": [], "rewards": [], "terminated": [], "truncated": []}
    while True:
        action = np.array([policy(obs, rng)], dtype=np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        case["actions"].append(float(action[0]))
        case["states"].append([float(v) for v in env.unwrapped.state])
        case["observations"].append([float(v) for v in obs])
        case["rewards"].append(float(reward))
        case["terminated"].append(bool(terminated))
        case["truncated"].append(bool(truncated))
        if terminated or truncated:
            return case


def random_policy(obs, rng):
    return rng.uniform(-2.0, 2.0)


def wide_random_policy(obs, rng):
    # Mostly outside ±2, so the clip decides the torque; sometimes far outside.
    return rng.uniform(-6.0, 6.0) * (10.0 if rng.random() < 0.1 else 1.0)


def bang_bang_policy(obs, rng):
    # Full torque along the angular velocity: pumps energy in until theta_dot reaches its clip.
    return 2.0 if obs[2] >= 0 else -2.0


def constant_push(obs, rng):
    return 2.0


def main():
    rng = np.random.default_rng(20261201)
    cases = []

    def start():
        return [rng.uniform(-np.pi, np.pi), rng.uniform(-1.0, 1.0)]

    for _ in range(5):
        cases.append(run(start(), random_policy, rng))
    for _ in range(2):
        cases.append(run(start(), wide_random_policy, rng))
    cases.append(run([np.pi, 0.0], bang_bang_policy, rng))       # hanging still: sin(pi) is not quite 0
    cases.append(run([3.0, -0.5], bang_bang_policy, rng))
    cases.append(run(start(), bang_bang_policy, rng, g=9.81))
    cases.append(run(start(), random_policy, rng, g=15.0))
    cases.append(run([np.pi - 0.01, 7.9], constant_push, rng))   # θ̇ clipped at 8 on the first step
    cases.append(run([7.5, -3.0], random_policy, rng))           # theta beyond ±pi: angle_normalize wraps it
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "scripts/make_pendulum_fixtures.py", "gymnasium": gym.__version__, "cases": cases}, f)
    clipped = sum(abs(s[1]) == 8.0 for c in cases for s in c["states"])
    outside = sum(abs(a) > 2 for c in cases for a in c["actions"])
    print(f"{len(cases)} cases, {sum(len(c['actions']) for c in cases)} steps, {clipped} steps at the speed clip, "
          f"{outside} actions outside ±2 -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
