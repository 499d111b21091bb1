"""The Stable-Baselines3 adapter. Skipped where SB3 is not installed (the test venv of scripts/test.sh has no torch: the
PyPI wheel is the multi-gigabyte CUDA build); run it in the anchors venv:
`DOJO_LIBRARY=... .venv-anchors/bin/python -m pytest python/tests/test_sb3.py`."""

import numpy as np
import pytest

sb3 = pytest.importorskip("stable_baselines3")

import gymnasium  # noqa: E402

import dojo_rl  # noqa: E402
from dojo_rl.sb3 import DojoVecEnv  # noqa: E402


def test_steps_like_sb3s_dummy_vec_env_over_single_environments():
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    ours = DojoVecEnv("Dojo/GridWorld-v0", num_envs=4, seed=11, map="key-door", max_steps="25")
    theirs = DummyVecEnv([lambda: Monitor(gymnasium.make("Dojo/GridWorld-v0", map="key-door", max_steps="25"))
                          for _ in range(4)])
    theirs.seed(11)
    assert np.array_equal(ours.reset(), theirs.reset())
    rng = np.random.default_rng(0)
    ends = 0
    for step in range(200):
        actions = rng.integers(0, 4, size=4)
        a, ra, da, ia = ours.step(actions)
        b, rb, db, ib = theirs.step(actions)
        assert np.array_equal(a, b) and np.array_equal(ra, rb) and np.array_equal(da, db), f"step {step}"
        for i in np.flatnonzero(db):
            ends += 1
            assert np.array_equal(ia[i]["terminal_observation"], ib[i]["terminal_observation"])
            assert ia[i]["TimeLimit.truncated"] == ib[i]["TimeLimit.truncated"]
            assert ia[i]["episode"]["r"] == pytest.approx(ib[i]["episode"]["r"]) and ia[i]["episode"]["l"] == ib[i]["episode"]["l"]
    assert ends >= 8
    ours.close()


def test_ppo_trains_on_it_and_records_episodes():
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = DojoVecEnv("Dojo/CartPole-v1", num_envs=4, seed=0)
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=2, seed=0)
    model.learn(1024)
    assert len(model.ep_info_buffer) > 10 and all(info["l"] >= 1 for info in model.ep_info_buffer)
    assert env.get_attr("render_mode") == [None] * 4 and env.env_is_wrapped(gymnasium.Wrapper) == [False] * 4
    env.close()
    with pytest.raises(dojo_rl.DojoError, match="closed"):
        env.reset()
