"""The native vector environment: Gymnasium's make_vec, equality with Gymnasium's own SyncVectorEnv over single Dojo
environments (every autoreset mode, episode statistics), threads, zero copy and bad input."""

import gc
import sys

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import RecordEpisodeStatistics

import dojo_rl

dojo_rl.register_environments()

CASES = [("Dojo/CartPole-v1", {}), ("Dojo/GridWorld-v0", {"map": "key-door", "max_steps": "30"}),
         ("Dojo/HighwayFast-v0", {"duration": "4"})]


def actions_for(space, steps, seed):
    space.seed(seed)
    return [space.sample() for _ in range(steps)]


@pytest.mark.parametrize("gym_id", ["Dojo/CartPole-v1", "Dojo/Highway-v0", "Dojo/ArmReach-v0"])
def test_make_vec_gives_the_native_vector_env_with_gymnasiums_spaces(gym_id):
    env = gymnasium.make_vec(gym_id, num_envs=3, vectorization_mode="vector_entry_point", threads=2)
    assert isinstance(env.unwrapped, dojo_rl.DojoVectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    single = gymnasium.make(gym_id)
    assert env.single_observation_space == single.observation_space and env.single_action_space == single.action_space
    assert env.observation_space == gymnasium.vector.utils.batch_space(single.observation_space, 3)
    observations, infos = env.reset(seed=5)
    assert observations in env.observation_space and isinstance(infos, dict)
    for actions in actions_for(env.action_space, 20, 1):
        observations, rewards, terminated, truncated, infos = env.step(actions)
        assert observations in env.observation_space
        assert rewards.shape == (3,) and terminated.dtype == np.bool_ and truncated.dtype == np.bool_
        for key, value in infos.items():
            if not key.startswith("_") and key != "episode":
                assert value.shape == (3,) and infos["_" + key].dtype == np.bool_
    env.close()
    single.close()
    # Without a mode, make_vec picks the vector entry point too.
    assert isinstance(gymnasium.make_vec(gym_id, num_envs=2).unwrapped, dojo_rl.DojoVectorEnv)


@pytest.mark.parametrize("gym_id,options", CASES)
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_bitwise_equal_to_gymnasiums_sync_vector_env(gym_id, options, mode):
    count, steps = 4, 150
    ours = dojo_rl.make_vec(gym_id, num_envs=count, threads=2, autoreset_mode=mode, episode_statistics=True, **options)
    theirs = RecordEpisodeStatistics(SyncVectorEnv([lambda: gymnasium.make(gym_id, **options) for _ in range(count)],
                                                   autoreset_mode=mode))
    a, _ = ours.reset(seed=7)
    b, _ = theirs.reset(seed=7)
    assert np.array_equal(a, b)
    episodes = 0
    for step, actions in enumerate(actions_for(theirs.action_space, steps, 3)):
        a, ra, ta, ua, ia = ours.step(actions)
        b, rb, tb, ub, ib = theirs.step(actions)
        where = f"{gym_id} {mode} step {step}"
        assert a.dtype == b.dtype and np.array_equal(a.view(np.uint32), b.view(np.uint32)), where
        assert np.array_equal(ra, rb) and np.array_equal(ta, tb) and np.array_equal(ua, ub), where
        assert np.array_equal(ia.get("_episode", np.zeros(count, bool)), ib.get("_episode", np.zeros(count, bool))), where
        if "episode" in ib:
            done = ib["_episode"]
            episodes += done.sum()
            assert np.array_equal(ia["episode"]["r"][done], ib["episode"]["r"][done]), where
            assert np.array_equal(ia["episode"]["l"][done], ib["episode"]["l"][done]), where
        if mode == AutoresetMode.SAME_STEP and "final_obs" in ib:
            for i in np.flatnonzero(ib["_final_obs"]):
                assert np.array_equal(ia["final_obs"][i], ib["final_obs"][i]), where
    assert episodes >= 2, f"{gym_id}: the comparison should cross episode ends"
    ours.close()
    theirs.close()


def test_dojos_own_episode_statistics_match_the_wrapper():
    env = dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=8, episode_statistics=True)
    wrapped = RecordEpisodeStatistics(dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=8))
    env.reset(seed=1)
    wrapped.reset(seed=1)
    seen = 0
    for actions in actions_for(env.action_space, 200, 2):
        *_, ours = env.step(actions)
        *_, theirs = wrapped.step(actions)
        assert np.array_equal(ours.get("_episode", np.zeros(8, bool)), theirs.get("_episode", np.zeros(8, bool)))
        if "episode" in theirs:
            done = theirs["_episode"]
            seen += done.sum()
            assert np.array_equal(ours["episode"]["r"][done], theirs["episode"]["r"][done])
            assert np.array_equal(ours["episode"]["l"][done], theirs["episode"]["l"][done])
    assert seen > 10


def test_threads_do_not_change_results_and_copy_false_returns_dojos_arrays():
    one = dojo_rl.make_vec("Dojo/GridWorld-v0", num_envs=64, threads=1, map="four-rooms")
    two = dojo_rl.make_vec("Dojo/GridWorld-v0", num_envs=64, threads=2, map="four-rooms", copy=False)
    a, _ = one.reset(seed=3)
    b, _ = two.reset(seed=3)
    first = b
    for actions in actions_for(one.action_space, 300, 4):
        a, ra, *_ = one.step(actions)
        b, rb, *_ = two.step(actions)
        assert np.array_equal(a, b) and np.array_equal(ra, rb)
    assert b is first  # zero copy: the same array every step
    one.close()
    two.close()


def test_disabled_autoreset_resets_masked_copies_only():
    env = dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=3, autoreset_mode="disabled")
    assert env.metadata["autoreset_mode"] == AutoresetMode.DISABLED
    env.reset(seed=0)
    ended = np.zeros(3, bool)
    while not ended.any():
        observations, _, terminated, truncated, _ = env.step(np.ones(3, dtype=np.int64))
        ended = terminated | truncated
    with pytest.raises(dojo_rl.DojoError, match="autoreset is disabled"):
        env.step(np.ones(3, dtype=np.int64))
    kept = observations[~ended].copy()
    observations, infos = env.reset(options={"reset_mask": ended})
    assert np.array_equal(observations[~ended], kept)
    assert all(infos["_x"] == ended)
    env.step(np.ones(3, dtype=np.int64))
    env.close()


def test_bad_input_raises_python_exceptions():
    with pytest.raises(dojo_rl.DojoError, match="cartpole"):
        dojo_rl.make_vec("cartpol", num_envs=2)
    with pytest.raises(ValueError, match="num_envs"):
        dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=0)
    with pytest.raises(TypeError, match="infos must be True or False"):
        dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=2, infos="none")
    with pytest.raises(ValueError, match="autoreset_mode"):
        dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=2, autoreset_mode="sometimes")
    with pytest.raises(dojo_rl.DojoError, match="max_steps"):
        dojo_rl.make_vec("Dojo/GridWorld-v0", num_envs=2, max_steps="-3")
    env = dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=2)
    with pytest.raises(dojo_rl.DojoError, match="reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=1)
    with pytest.raises(dojo_rl.DojoError, match="copy 1's action"):
        env.step(np.array([0, 7]))
    with pytest.raises(ValueError, match="one action per environment"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="numbers"):
        env.step(np.array(["left", "right"]))
    with pytest.raises(ValueError, match="seeds"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match=r"\[0, 2\*\*64\)"):
        env.reset(seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer, a list of 2 seeds or None, got bool"):
        env.reset(seed=True)
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": [1, 0]})
    env.close()
    with pytest.raises(dojo_rl.DojoError, match="closed"):
        env.step(np.zeros(2, dtype=np.int64))


def test_infos_every_step_or_none():
    full = dojo_rl.make_vec("Dojo/HighwayFast-v0", num_envs=6, duration="3")
    none = dojo_rl.make_vec("Dojo/HighwayFast-v0", num_envs=6, duration="3", infos=False)
    single = [gymnasium.make("Dojo/HighwayFast-v0", duration="3") for _ in range(6)]
    full.reset(seed=2)
    none.reset(seed=2)
    resetting = [False] * 6
    for i, env in enumerate(single):
        env.reset(seed=2 + i)
    ends = 0
    for actions in actions_for(full.action_space, 40, 5):
        *_, everything = full.step(actions)
        *_, nothing = none.step(actions)
        assert nothing == {}
        for i, env in enumerate(single):
            if resetting[i]:  # next-step autoreset: this step reset the copy
                _, info = env.reset()
                resetting[i] = False
            else:
                _, _, terminated, truncated, info = env.step(actions[i])
                resetting[i] = terminated or truncated
                ends += resetting[i]
            assert all(everything["_" + key][i] and everything[key][i] == value for key, value in info.items())
    assert ends >= 6


def test_integers_beyond_32_bits_and_nul_characters_are_refused_not_cut(tmp_path):
    # ctypes would wrap an int32 argument without a word (2**32 + 1 copies made one copy, render(2**32 + 1) drew
    # copy 1), and a C string ends at a NUL (a replay meant for "a.replay\0.txt" went to "a.replay").
    with pytest.raises(ValueError, match="copies must fit in 32 bits"):
        dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=2**32 + 1)
    with pytest.raises(TypeError, match="threads must be an integer"):
        dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=2, threads="4")
    with pytest.raises(dojo_rl.DojoError, match=r"threads must be in 1\.\.\.256 \(got 0\)"):
        dojo_rl.make_vec("Dojo/CartPole-v1", num_envs=2, threads=0)
    with pytest.raises(ValueError, match="NUL"):
        dojo_rl.Vector("cartpole\0junk")
    vector = dojo_rl.Vector("cartpole", copies=2, autoreset="disabled")
    vector.reset(seeds=[1, 2])
    for call in (lambda: vector.render(2**32 + 1), lambda: vector.info(2**32), lambda: vector.reset_copy(2**32),
                 lambda: vector.record(2**32, tmp_path / "a.replay"), lambda: vector.stop_recording(-2**32)):
        with pytest.raises(ValueError, match="copy must fit in 32 bits"):
            call()
    with pytest.raises(TypeError, match="copy must be an integer"):
        vector.render(1.5)
    with pytest.raises(ValueError, match="NUL"):
        vector.record(0, str(tmp_path / "b.replay") + "\0.txt")
    assert list(tmp_path.iterdir()) == []
    vector.close()


def test_a_vector_or_policy_that_failed_to_be_made_is_collected_quietly():
    unraisable = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        for make in (lambda: dojo_rl.Vector(5), lambda: dojo_rl.load_policy(5), lambda: dojo_rl.load_policy(".", None)):
            try:
                make()
            except TypeError:
                pass
            gc.collect()
    finally:
        sys.unraisablehook = hook
    assert [str(u.exc_value) for u in unraisable] == []
