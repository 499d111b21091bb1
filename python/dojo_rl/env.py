"""Dojo environments as Gymnasium environments."""

from __future__ import annotations

import pathlib

import gymnasium as gym
import numpy as np

from ._native import DojoError, Vector


def space(description: dict) -> gym.Space:
    """A Gymnasium space for a Dojo space description (entity sets become a Box of rows × features whose first
    column is presence: 1 for an observed entity, 0 for padding; dictionaries a `gymnasium.spaces.Dict` of their parts,
    in Dojo's key order, which is Gymnasium's sorted order). Unbounded dimensions get float32's largest finite bounds,
    which Gymnasium's checker accepts."""
    kind = description["type"]
    if kind == "dict":
        keys = list(description["keys"])
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise ValueError(f"a Dojo dict space has sorted, distinct keys; got {keys}")
        return gym.spaces.Dict([(key, space(part)) for key, part in zip(keys, description["spaces"])])
    if kind == "discrete":
        return gym.spaces.Discrete(description["n"])
    if kind == "box":
        shape = tuple(description["shape"])
        low = np.array(description["low"], dtype=np.float32).reshape(shape)
        high = np.array(description["high"], dtype=np.float32).reshape(shape)
        low[low <= -1e38] = np.finfo(np.float32).min
        high[high >= 1e38] = np.finfo(np.float32).max
        return gym.spaces.Box(low=low, high=high, dtype=np.float32)
    if kind == "multi_discrete":
        return gym.spaces.MultiDiscrete(description["nvec"])
    if kind == "entity_set":
        bound = np.finfo(np.float32).max
        return gym.spaces.Box(low=-bound, high=bound, shape=(description["rows"], description["features"]), dtype=np.float32)
    raise ValueError(f"unknown Dojo space type {kind!r}")


def expand_cell_codes(codes, layout: dict) -> np.ndarray:
    """The one-hot planes that compact cell codes stand for (a gridworld made with `encoding="codes"`): `codes` is
    (..., cells + extras) and `layout` the vector description's `cell_codes`. A code c sets plane (c & 15) - 1 of its
    cell when c & 15 > 0, and plane `marker_plane` (the agent) when c & 16; the result is (..., planes * cells + extras),
    planes first, then the extras, exactly the observation of `encoding="one-hot"`."""
    codes = np.asarray(codes)
    cells, planes, extras = layout["cells"], layout["planes"], layout["extras"]
    if codes.shape[-1] != cells + extras:
        raise ValueError(f"cell codes have {cells} + {extras} values per observation, got {codes.shape[-1]}")
    values = codes[..., :cells].astype(np.int64)
    out = np.zeros(codes.shape[:-1] + (planes, cells), dtype=np.float32)
    plane = (values & 15) - 1
    np.put_along_axis(out, np.clip(plane, 0, planes - 1)[..., None, :], (plane >= 0)[..., None, :].astype(np.float32), axis=-2)
    marked = (values & 16) != 0
    out[..., layout["marker_plane"], :] = np.maximum(out[..., layout["marker_plane"], :], marked)
    return np.concatenate([out.reshape(codes.shape[:-1] + (planes * cells,)), codes[..., cells:].astype(np.float32)], axis=-1)


def flat_size(description: dict) -> int:
    """How many floats an element of a Dojo space takes in a flat observation row."""
    kind = description["type"]
    if kind == "discrete":
        return 1
    if kind == "box":
        return int(np.prod(description["shape"], dtype=np.int64))
    if kind == "multi_discrete":
        return len(description["nvec"])
    if kind == "entity_set":
        return description["rows"] * description["features"]
    if kind == "dict":
        return sum(flat_size(part) for part in description["spaces"])
    raise ValueError(f"unknown Dojo space type {kind!r}")


def split(flat: np.ndarray, description: dict, copy: bool = True):
    """Flat observation rows (..., flat size) as elements of the space `description` describes: for a dict, a dict of
    its parts, each of shape (..., part shape); otherwise `flat` in the space's shape. Box parts are views of `flat`
    unless `copy` (discrete parts become int64 copies)."""
    lead = flat.shape[:-1]
    kind = description["type"]
    if kind == "dict":
        parts, offset = {}, 0
        for key, part in zip(description["keys"], description["spaces"]):
            size = flat_size(part)
            parts[key] = split(flat[..., offset:offset + size], part, copy)
            offset += size
        return parts
    if kind == "discrete":
        return flat[..., 0].astype(np.int64)
    if kind == "multi_discrete":
        return flat.astype(np.int64)
    shape = tuple(description["shape"]) if kind == "box" else (description["rows"], description["features"])
    values = flat.reshape(lead + shape)
    return values.copy() if copy else values


class DojoEnv(gym.Env):
    """One Dojo environment. `env_id` is Dojo's id (`dojo envs`); keyword arguments are its options (map, view,
    scenario, task … as `dojo train --option`). Seeding follows Gymnasium: `reset(seed=s)` plays the episode
    `dojo rollout ENV --seed s` plays, bit for bit; `reset()` continues the environment's own generator.

    `record_dir`: write every episode as a Dojo replay into this folder (`dojo replay FILE --verify` checks it,
    `dojo watch`/`dojo replay` play it). A replay starts from a seed, so while recording, `reset()` without a seed
    draws the episode's seed from the environment's `np_random` (the episodes differ from unrecorded ones, but stay
    determined by the first seed).

    Goal-conditioned tasks (`gymnasium.make("Dojo/ArmPushGoal-v0")`, or `arm` with goal=true) observe a
    `gymnasium.spaces.Dict` of `achieved_goal`, `desired_goal` and `observation` (float32 arrays) and have
    `compute_reward(achieved_goal, desired_goal, info)`, as Gymnasium-Robotics' goal environments: SB3's
    `HerReplayBuffer` relabels goals with it."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, env_id: str, render_mode: str | None = None, record_dir=None, **options):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self._vector = Vector(env_id, options, copies=1, threads=1, autoreset="disabled", infos=True)
        description = self._vector.description
        self.render_mode = render_mode
        self.metadata = dict(self.metadata, render_fps=description["render_fps"])
        self.observation_space = space(description["observation"])
        self.action_space = space(description["action"])
        self._observation_description = description["observation"]
        self._dict = isinstance(self.observation_space, gym.spaces.Dict)
        if not self._dict:
            self._observation_shape = self.observation_space.shape
            self._observation_row = self._vector.observations[0].reshape(self._observation_shape)  # a view, made once
        self.action_names = description["action_names"]
        self._env_id = env_id
        self._record_dir = None if record_dir is None else pathlib.Path(record_dir)
        if self._record_dir is not None and not self._record_dir.is_dir():
            raise DojoError(f"record_dir {str(record_dir)!r} is not a folder; create it first")
        self._episodes_recorded = 0
        self.replay_paths: list[pathlib.Path] = []

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is None and self._record_dir is not None:
            seed = int(self.np_random.integers(0, 1 << 63))
        self._vector.reset(seeds=None if seed is None else [seed])
        if self._record_dir is not None:
            path = self._record_dir / f"{self._env_id}-episode{self._episodes_recorded:05d}-seed{seed}.replay"
            self._vector.record(0, path)
            self._episodes_recorded += 1
            self.replay_paths.append(path)
        return self._observation(), self._vector.info(0)

    def _observation(self):
        if self._dict:
            return split(self._vector.observations[0], self._observation_description)
        return self._observation_row.copy()

    def step(self, action):
        vector = self._vector
        vector.step(action)
        return (self._observation(), vector.rewards.item(0), vector.terminated.item(0),
                vector.truncated.item(0), vector.info(0))

    def compute_reward(self, achieved_goal, desired_goal, info=None):
        """The reward of reaching `achieved_goal` when `desired_goal` is wanted (goal tasks only), vectorized over
        leading batch axes: float32 of the goals' leading shape (a float32 scalar for one pair). `info` is accepted
        for Gymnasium-Robotics' signature and unused: the reward depends on the goals alone. Equal to the reward
        `step` returned for a step whose observation holds these goals."""
        rewards = self._vector.compute_reward(achieved_goal, desired_goal)
        return rewards[()] if rewards.ndim == 0 else rewards

    def render(self):
        return self._vector.render(0) if self.render_mode == "rgb_array" else None

    def close(self):
        self._vector.close()
        super().close()
