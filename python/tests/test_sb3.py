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


def test_goal_task_dict_observations_and_compute_reward_through_env_method():
    env = DojoVecEnv("Dojo/ArmPushGoal-v0", num_envs=2, seed=4, max_steps="20")
    assert isinstance(env.observation_space, gymnasium.spaces.Dict)
    observations = env.reset()
    assert list(observations) == ["achieved_goal", "desired_goal", "observation"] and observations["observation"].shape == (2, 10)
    ended = 0
    for _ in range(45):
        observations, rewards, dones, infos = env.step(np.random.default_rng(0).uniform(-1, 1, size=(2, 2)))
        achieved, desired = observations["achieved_goal"].copy(), observations["desired_goal"].copy()
        for i in np.flatnonzero(dones):  # SB3 resets at once: the reward is of the terminal observation
            terminal = infos[i]["terminal_observation"]
            achieved[i], desired[i] = terminal["achieved_goal"], terminal["desired_goal"]
            ended += 1
        # As HerReplayBuffer calls it: one result, from copy 0's (shared) reward function.
        (recomputed,) = env.env_method("compute_reward", achieved, desired, [{}] * 2, indices=[0])
        assert np.array_equal(recomputed, rewards)
    assert ended == 4
    with pytest.raises(AttributeError):
        env.env_method("render_something_else")
    env.close()


@pytest.mark.parametrize("vectorized", [True, False], ids=["DojoVecEnv", "DummyVecEnv"])
def test_sac_with_her_replay_learns_on_the_push_goal_task(vectorized):
    import torch
    from stable_baselines3 import SAC, HerReplayBuffer
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    if vectorized:
        env = DojoVecEnv("Dojo/ArmPushGoal-v0", num_envs=2, seed=0)
    else:
        from stable_baselines3.common.monitor import Monitor

        env = DummyVecEnv([lambda: Monitor(gymnasium.make("Dojo/ArmPushGoal-v0", reward="dense")) for _ in range(2)])
        env.seed(0)
    model = SAC("MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer,
                replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"},
                learning_starts=200, batch_size=64, policy_kwargs={"net_arch": [32, 32]}, seed=0)
    model.learn(400)
    assert model.num_timesteps >= 400 and len(model.ep_info_buffer) >= 4
    # Every sampled transition, real or relabelled, carries compute_reward of its next achieved and its desired goal.
    batch = model.replay_buffer.sample(256)
    achieved = batch.next_observations["achieved_goal"].numpy()
    desired = batch.observations["desired_goal"].numpy()
    (expected,) = env.env_method("compute_reward", achieved, desired, [{}] * 256, indices=[0])
    assert np.array_equal(batch.rewards.numpy().reshape(-1), expected)
    assert expected.max() <= 0 and (set(np.unique(expected)) <= {-1.0, 0.0}) == vectorized  # sparse, or dense
    env.close()
