"""Dojo's environments through the Python package: Gymnasium's checker, bitwise equality with `dojo rollout`, and bad
input raising Python exceptions with Dojo's messages."""

import json
import os
import pathlib
import subprocess
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dojo_rl
from support import dojo_binary

dojo_rl.register_environments()  # also registered by the entry point when the package is installed


@pytest.mark.parametrize("gym_id", sorted(dojo_rl.gymnasium_ids()))
def test_gymnasium_checker_passes_without_warnings(gym_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if gym_id == "Dojo/Pendulum-v1":
            # Pendulum-v1's torque box is [-2, 2] by definition; Gymnasium's own Pendulum-v1 gets this advice too.
            warnings.filterwarnings("ignore", message=".*recommend using a symmetric and normalized space", category=UserWarning)
        env = gymnasium.make(gym_id, render_mode="rgb_array")
        check_env(env.unwrapped, skip_render_check=False)
        env.close()


@pytest.mark.parametrize("gym_id", sorted(dojo_rl.NAMED))
def test_bitwise_equal_to_dojo_rollout(gym_id, tmp_path):
    dojo_id, options = dojo_rl.NAMED[gym_id]
    env = gymnasium.make(gym_id)
    env.action_space.seed(3)
    actions = [env.action_space.sample() for _ in range(40)]
    def flat(observation):  # a goal task's Dict is its parts concatenated in key order, as Dojo writes it
        return np.concatenate(list(observation.values())) if isinstance(observation, dict) else observation.reshape(-1)

    observation, _ = env.reset(seed=12)
    ours = [flat(observation)]
    for action in actions:
        observation, reward, terminated, truncated, _ = env.step(action)
        ours.append(flat(observation))
        if terminated or truncated:
            break
    env.close()
    action_file = tmp_path / "actions.txt"
    action_file.write_text("".join(" ".join(str(float(v)) for v in np.atleast_1d(a)) + "\n" for a in actions[:len(ours) - 1]))
    command = [dojo_binary(), "rollout", dojo_id, "--seed", "12", "--actions", str(action_file), "--json"]
    for key, value in options.items():
        command += ["--option", f"{key}={value}"]
    lines = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
    # parse_int=float keeps the sign of a negative zero, which JSON writes as -0.
    theirs = [np.array(json.loads(line, parse_int=float)["observation"], dtype=np.float32) for line in lines]
    assert len(theirs) == len(ours)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == np.float32 and np.array_equal(a.view(np.uint32), b.view(np.uint32)), f"{gym_id} step {step}"


def test_bad_input_raises_with_dojos_message():
    with pytest.raises(dojo_rl.DojoError, match="cartpole"):
        dojo_rl.DojoEnv("cartpol")
    with pytest.raises(dojo_rl.DojoError, match="map"):
        dojo_rl.DojoEnv("gridworld", map="no-such-map")
    env = gymnasium.make("Dojo/CartPole-v1").unwrapped
    env.reset(seed=1)
    with pytest.raises(dojo_rl.DojoError, match="action"):
        env.step(5)
    with pytest.raises(ValueError, match="expected 1 action values"):
        env.step(np.zeros(3))
    with pytest.raises(TypeError, match="numbers"):
        env.step(np.array(["left"]))
    env.close()
    with pytest.raises(dojo_rl.DojoError, match="closed"):
        env.step(0)


def test_info_and_render():
    env = gymnasium.make("Dojo/HighwayFast-v0", render_mode="rgb_array")
    env.reset(seed=2)
    _, _, _, _, info = env.step(1)
    assert "speed" in info and "crashed" in info
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and len(np.unique(frame)) > 1
    env.close()


def test_gridworld_options_and_map_file(tmp_path):
    layout = tmp_path / "room.txt"
    layout.write_text("#####\n#S..#\n#..G#\n#####\n")
    env = gymnasium.make("Dojo/GridWorld-v0", map=str(layout), observation="partial")
    observation, _ = env.reset(seed=0)
    assert observation.shape == env.observation_space.shape
    env.close()


def test_installed_package_registers_the_ids_when_gymnasium_is_imported():
    import site
    import sys

    folders = site.getsitepackages() + [site.getusersitepackages()]
    if not any(pathlib.Path(folder, "dojo_rl_gymnasium.pth").is_file() for folder in folders):
        pytest.skip("dojo-rl is not installed with its .pth (an editable install or PYTHONPATH)")
    script = ("import sys, gymnasium; assert 'dojo_rl' not in sys.modules; "
              "env = gymnasium.make('Dojo/CartPole-v1'); env.reset(seed=1); print(type(env.unwrapped).__name__)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=""))
    assert result.returncode == 0 and result.stdout.strip() == "DojoEnv", result.stderr


@pytest.mark.parametrize("options", [{"map": "key-door"}, {"map": "memory"}, {"map": "four-rooms", "random_start": "true"}])
def test_cell_codes_expand_to_the_one_hot_observation(options):
    codes = dojo_rl.make_vec("Dojo/GridWorldCodes-v0", num_envs=3, **options)
    planes = dojo_rl.make_vec("Dojo/GridWorld-v0", num_envs=3, **options)
    layout = codes._vector.description["cell_codes"]
    assert planes._vector.description["cell_codes"] is None
    assert codes.single_observation_space.shape == (layout["cells"] + layout["extras"],)
    assert planes.single_observation_space.shape == (layout["planes"] * layout["cells"] + layout["extras"],)
    compact, _ = codes.reset(seed=4)
    full, _ = planes.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(150):
        assert np.array_equal(dojo_rl.expand_cell_codes(compact, layout), full)
        assert compact.min() >= 0 and compact.max() <= 31 and np.array_equal(compact, np.round(compact))
        actions = rng.integers(0, 4, size=3)
        compact, reward_c, terminated_c, truncated_c, _ = codes.step(actions)
        full, reward_p, terminated_p, truncated_p, _ = planes.step(actions)
        assert np.array_equal(reward_c, reward_p) and np.array_equal(terminated_c, terminated_p)
    with pytest.raises(ValueError, match="cell codes have"):
        dojo_rl.expand_cell_codes(compact[:, :-1], layout)
