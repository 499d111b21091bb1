"""Dojo's native vector environment for Gymnasium: every copy stepped in one call on Dojo's threads."""

from __future__ import annotations

import os
import time

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ._native import Vector, _seed
from .env import space, split


def default_threads() -> int:
    """Every core, up to the 256 threads Dojo takes."""
    return min(os.cpu_count() or 1, 256)


_DOJO_NAMES = {AutoresetMode.NEXT_STEP: "next_step", AutoresetMode.SAME_STEP: "same_step", AutoresetMode.DISABLED: "disabled"}


def _autoreset_mode(value) -> AutoresetMode:
    """An AutoresetMode from itself, its value ("NextStep") or its snake-case name ("next_step")."""
    if isinstance(value, AutoresetMode):
        return value
    for mode, name in _DOJO_NAMES.items():
        if value in (name, mode.value, mode.name):
            return mode
    raise ValueError(f"autoreset_mode must be one of {', '.join(_DOJO_NAMES.values())} (or a gymnasium.vector.AutoresetMode), "
                     f"got {value!r}")


class DojoVectorEnv(VectorEnv):
    """`num_envs` copies of a Dojo environment as one `gymnasium.vector.VectorEnv`.

    Each `step` is one call into Dojo, which steps the copies on up to `threads` threads (the GIL is released
    meanwhile) and writes into arrays allocated once; with `copy=False` those arrays are returned as they are (zero
    copy; the next step overwrites them), with `copy=True` (Gymnasium's default) as copies. Results do not depend on
    `threads`. Seeding follows Gymnasium's `SyncVectorEnv`: `reset(seed=s)` seeds copy i with s + i (the episode
    `dojo rollout ENV --seed s+i` plays), a list gives each copy its seed, and `reset()` continues each copy's
    generator.

    `autoreset_mode`: "next_step" (Gymnasium's default: the step after an episode ends resets that copy, ignoring its
    action), "same_step" (reset at once; the ended episode's last observation is in `info["final_obs"]`, its episode
    statistics in `info["final_info"]`, but the environment's metrics then describe the new episode), or
    "disabled" (reset ended copies with `reset(options={"reset_mask": mask})`).

    `info` holds the environment's numeric metrics, every copy's at every step, as arrays with Gymnasium's `_key`
    masks (Dojo writes them beside the observations; `infos=False` leaves them out, for the last microseconds). With
    `episode_statistics=True` it also holds, for copies whose episode ended, `info["episode"]` = {"r": return, "l":
    length, "t": seconds since creation} with mask `info["_episode"]`, as Gymnasium's `RecordEpisodeStatistics`
    writes them but counted by Dojo (leave it off when wrapping in `RecordEpisodeStatistics`, which refuses a key
    that exists).

    Goal-conditioned tasks observe a `Dict` (each part an array of shape (num_envs, …); `final_obs` entries are dicts
    of one copy's parts) and have `compute_reward(achieved_goal, desired_goal, info)`, vectorized over leading axes.
    """

    def __init__(self, env_id: str, num_envs: int = 1, threads: int | None = None, autoreset_mode="next_step",
                 render_mode: str | None = None, copy: bool = True, episode_statistics: bool = False, infos: bool = True,
                 **options):
        mode = _autoreset_mode(autoreset_mode)
        for name, value in (("copy", copy), ("episode_statistics", episode_statistics), ("infos", infos)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        options.pop("max_episode_steps", None)  # Dojo's environments truncate by their own options
        self._vector = Vector(env_id, options, copies=int(num_envs), threads=default_threads() if threads is None else threads,
                              autoreset=_DOJO_NAMES[mode], infos=infos)
        description = self._vector.description
        self.num_envs = int(num_envs)
        self.single_observation_space = space(description["observation"])
        self.single_action_space = space(description["action"])
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": mode, "render_modes": ["rgb_array"], "render_fps": description["render_fps"]}
        self.render_mode = render_mode
        self.copy = copy
        self.episode_statistics = episode_statistics
        self.infos = bool(infos)
        self._discrete = description["action"]["type"] == "discrete"
        # Views of Dojo's buffers in the batched observation shape (a dict of views for a Dict space), made once.
        self._dict = description["observation"]["type"] == "dict"
        if self._dict:
            self._observations = split(self._vector.observations, description["observation"], copy=False)
            self._final_observations = split(self._vector.final_observations, description["observation"], copy=False)
        else:
            shape = (self.num_envs,) + self.single_observation_space.shape
            self._observations = self._vector.observations.reshape(shape)
            self._final_observations = self._vector.final_observations.reshape(shape)
        self._start = time.perf_counter()

    def _out(self, array):
        if isinstance(array, dict):
            return {key: self._out(part) for key, part in array.items()}
        return array.copy() if self.copy else array

    def compute_reward(self, achieved_goal, desired_goal, info=None):
        """Goal tasks: the reward of each (achieved, desired) goal pair, float32 over the goals' leading axes (see
        `DojoEnv.compute_reward`); `info` is unused."""
        return self._vector.compute_reward(achieved_goal, desired_goal)

    def reset(self, *, seed=None, options: dict | None = None):
        mask = None if options is None else options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), got "
                                 f"{mask.dtype} {mask.shape}")
        single = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
        if not single and seed is not None and not isinstance(seed, (list, tuple, np.ndarray)):
            raise TypeError(f"seed must be an integer, a list of {self.num_envs} seeds or None, got {type(seed).__name__}")
        seeds = [int(seed) + i for i in range(self.num_envs)] if single else seed
        if seeds is not None and len(seeds) != self.num_envs:
            raise ValueError(f"reset got {len(seeds)} seeds for {self.num_envs} environments")
        if seeds is not None:
            seeds = [None if s is None else _seed(s) for s in seeds]
        super().reset(seed=int(seed) if single else None)
        if mask is None and seeds is not None and None not in seeds:
            self._vector.reset(seeds=seeds)
        elif mask is None:
            self._vector.reset()  # then the copies given a seed again, with it (a seed replaces the generator)
            for copy, value in enumerate(seeds or []):
                if value is not None:
                    self._vector.reset_copy(copy, value)
        else:
            for copy in np.flatnonzero(mask):
                self._vector.reset_copy(copy, None if seeds is None else seeds[copy])
        return self._out(self._observations), self._infos(None if mask is None else mask)

    def step(self, actions):
        values = np.asarray(actions)
        if self._discrete and values.shape != (self.num_envs,):
            raise ValueError(f"expected one action per environment, shape ({self.num_envs},), got {values.shape}")
        observations, rewards, terminated, truncated = self._vector.step(values)
        ended = terminated | truncated
        infos = self._infos(None)
        if ended.any():
            if self.episode_statistics:
                returns, lengths = self._vector.episodes()
                elapsed = np.where(ended, round(time.perf_counter() - self._start, 6), 0.0)
                infos["episode"] = {"r": np.where(ended, returns, 0.0), "l": np.where(ended, lengths, 0), "t": elapsed}
                infos["_episode"] = ended.copy()
            if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
                final = self._final_observations
                if self._dict:  # one dict of parts per ended copy
                    infos["final_obs"] = np.empty(self.num_envs, dtype=object)
                    for i in np.flatnonzero(ended):
                        infos["final_obs"][i] = {key: part[i].copy() for key, part in final.items()}
                else:
                    infos["final_obs"] = np.array([final[i].copy() if ended[i] else None for i in range(self.num_envs)],
                                                  dtype=object)
                infos["_final_obs"] = ended.copy()
                # The metrics of the state the episode ended in are gone with the reset; use next_step for them.
                infos["final_info"] = {k: infos[k] for k in ("episode", "_episode") if k in infos}
                infos["_final_info"] = ended.copy()
        return (self._out(self._observations), self._out(rewards),
                self._out(terminated), self._out(truncated), infos)

    def _infos(self, mask) -> dict:
        """The environments' numeric info as Gymnasium's vector info: an array per key and a `_key` mask (only the copies
        in `mask`, when given)."""
        infos = {}
        if not self._vector.info_keys or not self.infos:
            return infos
        # One array of columns and one of masks, fresh each call; each key gets a row of both (views).
        columns = self._vector.all_infos().T.copy()
        masks = ~np.isnan(columns)
        if mask is not None:
            masks &= mask[None, :]
        if not masks.all():
            columns = np.where(masks, columns, 0.0)
        present = masks.any(axis=1).tolist()
        for k, key in enumerate(self._vector.info_keys):
            if present[k]:
                infos[key] = columns[k]
                infos["_" + key] = masks[k]
        return infos

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return tuple(self._vector.render(copy) for copy in range(self.num_envs))

    def close_extras(self, **kwargs):
        self._vector.close()


def make_vec(env_id: str, num_envs: int = 1, **kwargs) -> DojoVectorEnv:
    """A native vector environment for a Gymnasium id of this package ("Dojo/Highway-v0") or a Dojo id ("highway");
    keyword arguments as `DojoVectorEnv` (threads, autoreset_mode, copy, episode_statistics, infos, render_mode) and
    the environment's options."""
    from . import gymnasium_ids

    ids = gymnasium_ids()
    if env_id in ids:
        dojo_id, options = ids[env_id]
        return DojoVectorEnv(dojo_id, num_envs=num_envs, **dict(options, **kwargs))
    return DojoVectorEnv(env_id, num_envs=num_envs, **kwargs)
