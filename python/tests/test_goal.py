"""Goal-conditioned tasks through the package: Dict observations, and compute_reward equal to the rewards `step` gives
(Gymnasium-Robotics' contract, which hindsight relabelling relies on)."""

import gymnasium
import numpy as np
import pytest

import dojo_rl
from dojo_rl import DojoEnv, DojoVectorEnv

dojo_rl.register_environments()

KEYS = ["achieved_goal", "desired_goal", "observation"]
TASKS = [{"task": "reach"}, {"task": "reach", "reward": "dense"}, {"task": "push"}, {"task": "push", "reward": "dense", "links": 3}]


def test_dict_space_and_observations():
    env = gymnasium.make("Dojo/ArmPushGoal-v0")
    space = env.observation_space
    assert isinstance(space, gymnasium.spaces.Dict) and list(space.keys()) == KEYS
    assert [space[key].shape for key in KEYS] == [(2,), (2,), (10,)] and all(space[k].dtype == np.float32 for k in KEYS)
    observation, info = env.reset(seed=3)
    assert list(observation) == KEYS and all(observation[k].dtype == np.float32 for k in KEYS)
    assert observation in space and 0 <= info["distance"]
    # The disc is the achieved goal; distance is the disc's to the target.
    assert np.hypot(*(observation["achieved_goal"] - observation["desired_goal"])) == pytest.approx(info["distance"], abs=1e-6)
    before = observation["observation"].copy()
    observation2, *_ = env.step(env.action_space.sample())
    assert np.array_equal(observation["observation"], before), "returned observations are copies, not views"
    env.close()
    plain = gymnasium.make("Dojo/ArmPush-v0")
    assert isinstance(plain.observation_space, gymnasium.spaces.Box) and plain.observation_space.shape == (14,)
    plain.close()


@pytest.mark.parametrize("options", TASKS, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_compute_reward_is_the_step_reward(options):
    env = DojoEnv("arm", goal=True, **options)
    env.action_space.seed(1)
    sparse = options.get("reward", "sparse") == "sparse"
    for episode in range(5):
        observation, _ = env.reset(seed=40 + episode)
        achieved, desired, rewards = [], [], []
        while True:
            observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
            single = env.compute_reward(observation["achieved_goal"], observation["desired_goal"], info)
            assert isinstance(single, np.float32) and single == reward and type(reward) is float
            achieved.append(observation["achieved_goal"])
            desired.append(observation["desired_goal"])
            rewards.append(reward)
            assert not terminated
            if truncated:
                break
        if sparse:
            assert set(rewards) <= {-1.0, 0.0}
        else:
            assert max(rewards) <= 0
        # Batched over one and over two leading axes, as SB3 and Gymnasium-Robotics call it; infos are ignored.
        batch = env.compute_reward(np.array(achieved), np.array(desired), [{}] * len(rewards))
        assert batch.dtype == np.float32 and batch.shape == (len(rewards),)
        assert np.array_equal(batch, np.array(rewards, dtype=np.float32))
        grid = env.compute_reward(np.array(achieved[:20]).reshape(4, 5, 2), np.array(desired[:20]).reshape(4, 5, 2), None)
        assert grid.shape == (4, 5) and np.array_equal(grid.reshape(-1), batch[:20])
        # Hindsight: the goal it reached gives the best reward; broadcasting one desired goal over many achieved ones.
        assert np.all(env.compute_reward(np.array(achieved), np.array(achieved), None) == 0)
        assert np.array_equal(env.compute_reward(np.array(achieved), desired[-1], None)[-1:], batch[-1:])
    env.close()


def test_compute_reward_values_and_bad_input():
    env = DojoEnv("arm", goal=True, task="reach")
    assert env.compute_reward([0, 0], [0.03, 0], {}) == -1 and env.compute_reward([0, 0], [0.01, 0], {}) == 0
    assert DojoEnv("arm", goal=True, reward="dense").compute_reward([0.3, 0], [0, 0.4], {}) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="2 values on their last axis"):
        env.compute_reward([0, 0, 0], [0, 0, 0], {})
    with pytest.raises(ValueError, match="do not broadcast"):
        env.compute_reward(np.zeros((3, 2)), np.zeros((4, 2)), {})
    assert env.compute_reward(np.zeros((0, 2)), np.zeros((0, 2)), {}).shape == (0,)
    plain = DojoEnv("arm")
    with pytest.raises(dojo_rl.DojoError, match="not goal-conditioned"):
        plain.compute_reward([0, 0], [0, 0], {})
    with pytest.raises(dojo_rl.DojoError, match="goal tasks take a reward option"):
        DojoEnv("arm", reward="dense")
    env.close()
    plain.close()


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_vector_env_returns_dicts_and_its_rewards_are_compute_reward(mode):
    envs = DojoVectorEnv("arm", num_envs=3, autoreset_mode=mode, goal=True, task="push", max_steps=30)
    assert isinstance(envs.observation_space, gymnasium.spaces.Dict)
    observations, _ = envs.reset(seed=5)
    assert list(observations) == KEYS and observations["observation"].shape == (3, 10)
    assert observations["achieved_goal"].dtype == np.float32 and observations in envs.observation_space
    ended_seen = 0
    rng = np.random.default_rng(0)
    resetting = np.zeros(3, dtype=bool)
    for _ in range(70):
        observations, rewards, terminated, truncated, infos = envs.step(rng.uniform(-1, 1, size=(3, 2)).astype(np.float32))
        achieved, desired = observations["achieved_goal"].copy(), observations["desired_goal"].copy()
        recomputed = envs.compute_reward(achieved, desired, infos)
        if mode == "same_step":  # an ended copy's reward belongs to its final observation
            for i in np.flatnonzero(truncated):
                final = infos["final_obs"][i]
                assert list(final) == KEYS
                achieved[i], desired[i] = final["achieved_goal"], final["desired_goal"]
                ended_seen += 1
            recomputed = envs.compute_reward(achieved, desired, infos)
        else:  # a copy's step after its episode ended only resets it, for reward 0
            ended_seen += int(truncated.sum())
            assert np.all(rewards[resetting] == 0)
            recomputed[resetting] = 0
            resetting = terminated | truncated
        assert np.array_equal(recomputed, rewards)
    assert ended_seen >= 3
    envs.close()


def test_a_policy_trained_on_a_goal_task_takes_dict_observations(tmp_path):
    import json
    import subprocess

    from support import dojo_binary

    run, replay = tmp_path / "run", tmp_path / "best.replay"
    subprocess.run([dojo_binary(), "train", "arm", "--agent", "ppo", "-o", "goal=true", "-o", "max_steps=20", "--steps", "256",
                    "--set", "n_steps=64", "--set", "batch_size=64", "--out", str(run)], check=True, capture_output=True)
    subprocess.run([dojo_binary(), "eval", str(run), "--episodes", "2", "--record", str(replay)], check=True, capture_output=True)
    recorded = json.loads(replay.read_text())
    policy = dojo_rl.load_policy(run)
    assert policy.description["observation"]["type"] == "dict" and policy.description["observation"]["keys"] == KEYS
    env = DojoEnv("arm", **recorded["options"])
    observation, _ = env.reset(seed=int(recorded["seed"]))
    observations = []
    for step, action in enumerate(recorded["actions"]):
        ours = policy(observation)
        assert np.array_equal(ours.astype(np.float32), np.array(action, dtype=np.float32)), f"step {step}"
        observations.append(observation)
        observation, *_ = env.step(ours)
    batch = {key: np.stack([o[key] for o in observations]) for key in KEYS}
    assert np.array_equal(policy(batch), np.array(recorded["actions"], dtype=np.float32))
    env.close()
    policy.close()
