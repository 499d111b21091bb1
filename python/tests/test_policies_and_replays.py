"""Replays recorded from Python verify with the CLI; load_policy acts as `dojo eval` acts; cart-pole through the bridge
equals Gymnasium's CartPole-v1 from the same states."""

import json
import subprocess

import gymnasium
import numpy as np
import pytest

import dojo_rl
from support import REPOSITORY, dojo_binary

dojo_rl.register_environments()


@pytest.mark.parametrize("gym_id,options", [("Dojo/GridWorld-v0", {"map": "key-door"}), ("Dojo/HighwayFast-v0", {}),
                                            ("Dojo/ArmPush-v0", {}), ("Dojo/CartPole-v1", {}),
                                            ("Dojo/ArmPushGoal-v0", {"reward": "dense"})])
def test_replays_recorded_from_python_verify_with_the_cli(gym_id, options, tmp_path):
    env = gymnasium.make(gym_id, record_dir=tmp_path, max_episode_steps=None, **options)
    env.action_space.seed(0)
    for episode in range(3):
        env.reset(seed=21 if episode == 0 else None)  # later episodes draw their seed from np_random
        for _ in range(25):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break
    env.close()  # writes the last episode (stopped early unless it ended)
    paths = env.unwrapped.replay_paths
    assert len(paths) == 3 and "seed21" in paths[0].name
    for path in paths:
        verified = subprocess.run([dojo_binary(), "replay", str(path), "--verify"], capture_output=True, text=True)
        assert verified.returncode == 0 and "bit for bit" in verified.stdout, verified.stdout + verified.stderr


def test_recording_refuses_to_replace_a_file_and_needs_a_seeded_reset(tmp_path):
    taken = tmp_path / "cartpole-episode00000-seed4.replay"
    taken.write_text("mine")
    env = dojo_rl.DojoEnv("cartpole", record_dir=tmp_path)
    with pytest.raises(dojo_rl.DojoError, match="never replaces a file"):
        env.reset(seed=4)
    assert taken.read_text() == "mine"
    env.close()
    with pytest.raises(dojo_rl.DojoError, match="not a folder"):
        dojo_rl.DojoEnv("cartpole", record_dir=tmp_path / "missing")
    vector = dojo_rl.Vector("cartpole", autoreset="next_step")
    vector.reset()
    with pytest.raises(dojo_rl.DojoError, match="did not start from a seed"):
        vector.record(0, tmp_path / "unseeded.replay")
    vector.close()
    same_step = dojo_rl.Vector("cartpole")
    same_step.reset(seeds=[1])
    with pytest.raises(dojo_rl.DojoError, match="next_step or disabled"):
        same_step.record(0, tmp_path / "same-step.replay")
    same_step.close()


@pytest.fixture(scope="module", params=["dqn", "ppo"])
def evaluated_run(request, tmp_path_factory):
    """A short training run on a small gridworld and the best episode `dojo eval` records with its policy."""
    folder = tmp_path_factory.mktemp(request.param)
    run = folder / "run"
    settings = {"dqn": ["--set", "learning_starts=100", "--set", "batch_size=8"],
                "ppo": ["--set", "n_steps=32", "--set", "batch_size=32"]}[request.param]
    subprocess.run([dojo_binary(), "train", "gridworld", "--agent", request.param, "-o", "map=four-rooms",
                    "-o", "max_steps=15", "--steps", "300", *settings, "--out", str(run)], check=True, capture_output=True)
    replay = folder / "best.replay"
    subprocess.run([dojo_binary(), "eval", str(run), "--episodes", "3", "--record", str(replay)], check=True,
                   capture_output=True)
    return run, json.loads(replay.read_text())


def test_load_policy_acts_as_dojo_eval(evaluated_run):
    run, replay = evaluated_run
    policy = dojo_rl.load_policy(run)
    assert policy.description["env"] == replay["env"]
    env = dojo_rl.DojoEnv(replay["env"], **replay["options"])
    observation, _ = env.reset(seed=int(replay["seed"]))
    policy.begin_episode()
    observations = []
    for step, recorded in enumerate(replay["actions"]):
        action = policy(observation)
        assert isinstance(action, (int, np.integer)) and action == int(recorded[0]), f"step {step}"
        observations.append(observation)
        observation, *_ = env.step(action)
    assert len(observations) >= 5
    if policy.recurrent:  # remembers the episode: one observation per call
        with pytest.raises(dojo_rl.DojoError, match="recurrent"):
            policy(np.stack(observations))
    else:  # a batch of rows gives the same actions one call at a time gives
        assert policy(np.stack(observations)).tolist() == [int(a[0]) for a in replay["actions"]]
    env.close()
    with pytest.raises(ValueError, match="observations of"):
        policy(np.zeros(3, dtype=np.float32))
    policy.close()
    with pytest.raises(dojo_rl.DojoError, match="closed"):
        policy(observation)


def test_load_policy_reports_bad_runs(tmp_path):
    with pytest.raises(dojo_rl.DojoError, match="run.json|config"):
        dojo_rl.load_policy(tmp_path)
    with pytest.raises(dojo_rl.DojoError, match="checkpoint"):
        dojo_rl.load_policy(tmp_path, checkpoint="../../etc")
    with pytest.raises(ValueError, match="NUL"):
        dojo_rl.load_policy(tmp_path, checkpoint="best\0/../../etc")
    with pytest.raises(dojo_rl.DojoError, match="run.json|config"):  # a step, not an AttributeError from int.encode
        dojo_rl.load_policy(tmp_path, checkpoint=300)


def cartpole_cases():
    return json.loads((REPOSITORY / "Tests/Fixtures/gym/cartpole.json").read_text())["cases"]


@pytest.mark.parametrize("case", range(len(cartpole_cases())))
def test_cartpole_through_the_bridge_equals_gymnasiums_cartpole(case):
    fixture = cartpole_cases()[case]
    ours = gymnasium.make("Dojo/CartPole-v1", state=",".join(repr(v) for v in fixture["initial"]),
                          integrator=fixture["integrator"])
    theirs = gymnasium.make("CartPole-v1").unwrapped
    if fixture["integrator"] != "euler":
        theirs.kinematics_integrator = fixture["integrator"]
    observation, _ = ours.reset(seed=0)
    theirs.reset(seed=0)
    theirs.state = np.array(fixture["initial"], dtype=np.float64)
    assert np.array_equal(observation, np.array(fixture["initial"], dtype=np.float32))
    for step, action in enumerate(fixture["actions"]):
        mine = ours.step(action)
        gym = theirs.step(action)
        where = f"case {case} step {step + 1}"
        assert np.array_equal(mine[0], np.array(fixture["observations"][step], dtype=np.float32)), where
        assert np.array_equal(mine[0], gym[0]) and mine[1] == gym[1] == fixture["rewards"][step], where
        assert mine[2] == gym[2] == fixture["terminated"][step], where
        # Gymnasium's bare CartPole has no time limit (TimeLimit adds it); the fixture recorded it through make().
        assert mine[3] == fixture["truncated"][step], where
    ours.close()
