"""Dojo's native vector environment as a Stable-Baselines3 `VecEnv` (needs stable-baselines3, which this package does
not install): `PPO("MlpPolicy", DojoVecEnv("Dojo/CartPole-v1", num_envs=8))` trains on Dojo's copies directly, without
one Python environment per copy."""

from __future__ import annotations

import time

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from ._native import Vector
from .env import space, split
from .vector import default_threads


class DojoVecEnv(VecEnv):
    """`num_envs` copies of a Dojo environment, stepped in one call on Dojo's threads, with SB3's conventions: a copy
    whose episode ends is reset in the same step, its last observation in `info["terminal_observation"]`,
    `info["TimeLimit.truncated"]` set for truncated episodes, and `info["episode"]` = {"r", "l", "t"} as SB3's
    `Monitor` writes it (so no `VecMonitor` is needed). Seeds: `seed(s)` then `reset()` seeds copy i with s + i, as
    SB3's `DummyVecEnv` does; `env_id` is a Gymnasium id of this package or a Dojo id; keywords are Dojo's options.

    Goal tasks ("Dojo/ArmPushGoal-v0") observe dicts of arrays (`MultiInputPolicy`), and
    `env_method("compute_reward", achieved_goal, desired_goal, infos, indices=[0])` answers as SB3's
    `HerReplayBuffer` calls it."""

    def __init__(self, env_id: str, num_envs: int = 1, threads: int | None = None, seed: int | None = None,
                 render_mode: str | None = None, **options):
        from . import gymnasium_ids

        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        ids = gymnasium_ids()
        dojo_id, defaults = ids.get(env_id, (env_id, {}))
        self._vector = Vector(dojo_id, dict(defaults, **options), copies=int(num_envs),
                              threads=default_threads() if threads is None else threads, autoreset="same_step")
        description = self._vector.description
        self.render_mode = render_mode
        observation_space = space(description["observation"])
        self._observation_description = description["observation"]
        self._dict = description["observation"]["type"] == "dict"
        self._shape = None if self._dict else (int(num_envs),) + observation_space.shape
        super().__init__(int(num_envs), observation_space, space(description["action"]))
        self._actions = None
        self._start = time.perf_counter()
        if seed is not None:
            self.seed(seed)

    def reset(self):
        seeds = self._seeds
        if all(s is not None for s in seeds):
            self._vector.reset(seeds=seeds)
        else:
            self._vector.reset()
            for copy, seed in enumerate(seeds):
                if seed is not None:
                    self._vector.reset_copy(copy, seed)
        self._reset_seeds()
        self._reset_options()
        return self._batch(self._vector.observations)

    def _batch(self, flat: np.ndarray):
        """Every copy's observation as SB3 takes it (a copy): an array, or a dict of arrays for a goal task."""
        if self._dict:
            return split(flat, self._observation_description)
        return flat.reshape(self._shape).copy()

    def compute_reward(self, achieved_goal, desired_goal, info=None):
        """Goal tasks: the reward of each (achieved, desired) goal pair, float32 over the goals' leading axes; `info` is
        unused (the reward depends on the goals alone)."""
        return self._vector.compute_reward(achieved_goal, desired_goal)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        observations, rewards, terminated, truncated = self._vector.step(self._actions)
        dones = terminated | truncated
        infos = [{} for _ in range(self.num_envs)]
        if dones.any():
            returns, lengths = self._vector.episodes()
            final = self._batch(self._vector.final_observations)
            elapsed = round(time.perf_counter() - self._start, 6)
            for copy in np.flatnonzero(dones):
                terminal = {key: part[copy] for key, part in final.items()} if self._dict else final[copy]
                infos[copy] = {"terminal_observation": terminal,
                               "TimeLimit.truncated": bool(truncated[copy] and not terminated[copy]),
                               "episode": {"r": float(returns[copy]), "l": int(lengths[copy]), "t": elapsed}}
        return self._batch(observations), rewards.copy(), dones.copy(), infos

    def close(self) -> None:
        self._vector.close()

    def get_images(self):
        return [self._vector.render(copy) for copy in range(self.num_envs)]

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        """Only `compute_reward` (goal tasks), which every copy shares: one result per index, as SB3 expects."""
        if method_name == "compute_reward":
            return [self.compute_reward(*method_args, **method_kwargs) for _ in self._get_indices(indices)]
        raise AttributeError(f"DojoVecEnv has no per-copy environments to call {method_name!r} on")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
