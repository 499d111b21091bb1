"""ctypes bindings to libdojo-c.so (include/dojo.h). The library is found at $DOJO_LIBRARY, beside this package, or
in the repository's SwiftPM build folders (release first)."""

from __future__ import annotations

import ctypes
import json
import os
import pathlib

import numpy as np

ABI_VERSION = 2

# Autoreset modes of include/dojo.h, by Gymnasium's names.
AUTORESET_MODES = {"same_step": 0, "next_step": 1, "disabled": 2}


class DojoError(RuntimeError):
    """An error reported by Dojo's C interface, with its message."""


def _library_path() -> str:
    named = os.environ.get("DOJO_LIBRARY")
    if named:
        if not pathlib.Path(named).is_file():
            raise DojoError(f"DOJO_LIBRARY names {named!r}, which is not a file; build it with "
                            "`swift build -c release --product dojo-c` and point DOJO_LIBRARY at libdojo-c.so")
        return named
    here = pathlib.Path(__file__).resolve().parent
    candidates = [here / "libdojo-c.so"] + [here.parent.parent / build / "libdojo-c.so" for build in (".build/release", ".build/debug")]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    raise DojoError("libdojo-c.so not found; build it with `swift build -c release --product dojo-c` in the Dojo "
                    "repository, or set DOJO_LIBRARY to its path")


def _load() -> ctypes.CDLL:
    library = ctypes.CDLL(_library_path())  # CDLL calls release the GIL while Dojo works
    # Buffers pass as addresses (ints): numpy's `.ctypes.data_as` costs microseconds a call.
    f32 = u8 = f64 = i64 = u64 = ctypes.c_void_p
    signatures = {
        "dojo_version": (ctypes.c_char_p, []),
        "dojo_abi_version": (ctypes.c_int32, []),
        "dojo_last_error": (ctypes.c_char_p, []),
        "dojo_environments_json": (ctypes.c_char_p, []),
        "dojo_vector_create": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]),
        "dojo_vector_destroy": (None, [ctypes.c_void_p]),
        "dojo_vector_describe": (ctypes.c_char_p, [ctypes.c_void_p]),
        "dojo_vector_reset": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_uint64, f32, ctypes.c_int64]),
        "dojo_vector_reset_seeds": (ctypes.c_int32, [ctypes.c_void_p, u64, ctypes.c_int64, f32, ctypes.c_int64]),
        "dojo_vector_reset_copy": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_uint64), f32,
                                                    ctypes.c_int64]),
        "dojo_vector_set_autoreset": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32]),
        "dojo_vector_bind": (ctypes.c_int32, [ctypes.c_void_p, f32, ctypes.c_int64, f32, f32, ctypes.c_int64, f32, u8, u8,
                                              ctypes.c_int64]),
        "dojo_vector_step_bound": (ctypes.c_int32, [ctypes.c_void_p]),
        "dojo_vector_bind_infos": (ctypes.c_int32, [ctypes.c_void_p, f64, ctypes.c_int64]),
        "dojo_vector_episodes": (ctypes.c_int32, [ctypes.c_void_p, f64, i64, ctypes.c_int64]),
        "dojo_vector_infos": (ctypes.c_int32, [ctypes.c_void_p, f64, ctypes.c_int64]),
        "dojo_vector_record": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p]),
        "dojo_policy_load": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]),
        "dojo_policy_destroy": (None, [ctypes.c_void_p]),
        "dojo_policy_describe": (ctypes.c_char_p, [ctypes.c_void_p]),
        "dojo_policy_begin_episode": (ctypes.c_int32, [ctypes.c_void_p]),
        "dojo_policy_act": (ctypes.c_int32, [ctypes.c_void_p, f32, ctypes.c_int64, f32, ctypes.c_int64, ctypes.c_int32]),
        "dojo_vector_step": (ctypes.c_int32, [ctypes.c_void_p, f32, ctypes.c_int64, f32, f32, ctypes.c_int64, f32, u8, u8,
                                              ctypes.c_int64]),
        "dojo_vector_info": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, f64, ctypes.c_int64]),
        "dojo_vector_render": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, u8, ctypes.c_int64]),
    }
    # Added within ABI 2: a library built before them still loads, and says what is missing when they are called.
    optional = {
        "dojo_vector_compute_reward": (ctypes.c_int32, [ctypes.c_void_p, f32, f32, ctypes.c_int64, f32, ctypes.c_int64]),
    }
    for name, (result, arguments) in list(signatures.items()) + list(optional.items()):
        if name in optional and not hasattr(library, name):
            continue
        function = getattr(library, name)
        function.restype = result
        function.argtypes = arguments
    if library.dojo_abi_version() != ABI_VERSION:
        raise DojoError(f"libdojo-c.so has ABI version {library.dojo_abi_version()}, this package needs {ABI_VERSION}; "
                        "rebuild the library from the same Dojo checkout")
    return library


_lib = _load()


def _error() -> DojoError:
    message = _lib.dojo_last_error()
    return DojoError(message.decode() if message else "Dojo reported an error without a message")


def _check(code: int) -> None:
    if code != 0:
        raise _error()


def _pointer(array: np.ndarray, kind=None) -> int:
    """The address of a C-contiguous array's first element."""
    return array.__array_interface__["data"][0]


def version() -> str:
    return _lib.dojo_version().decode()


def environments() -> list[dict]:
    """Every Dojo environment: id, summary, spaces and options."""
    return json.loads(_lib.dojo_environments_json().decode())


def _int32(name: str, value) -> int:
    """An integer argument as Dojo's int32_t takes it (ctypes would silently wrap a larger one: 2**32 + 1 becomes 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not -(1 << 31) <= int(value) < 1 << 31:
        raise ValueError(f"{name} must fit in 32 bits, got {value}")
    return int(value)


def _text(name: str, value) -> bytes:
    """A string or path argument as the C string Dojo reads (which would end at a NUL: refused, not cut short)."""
    encoded = os.fsencode(value) if isinstance(value, (str, bytes, os.PathLike)) else None
    if encoded is None:
        raise TypeError(f"{name} must be a string or a path, got {type(value).__name__}")
    if b"\0" in encoded:
        raise ValueError(f"{name} contains a NUL character: {value!r}")
    return encoded


def _seed(value) -> int:
    """A seed as Dojo takes it: a non-negative integer below 2**64 (Gymnasium's own bound)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"a seed must be an integer, got {type(value).__name__}")
    if not 0 <= int(value) < 1 << 64:
        raise ValueError(f"a seed must be in [0, 2**64), got {value}")
    return int(value)


class Vector:
    """`copies` copies of a Dojo environment stepped in lockstep on Dojo's threads, writing into numpy arrays allocated
    once: `observations` (copies, observation_size) float32, `rewards` float32, `terminated`/`truncated` bool,
    `final_observations` (the last observation of an episode that ended in the last step). `autoreset` is
    "same_step" (Dojo's and SB3's), "next_step" (Gymnasium's vector default) or "disabled"."""

    _handle = None  # until made: __del__ of a half-made Vector has nothing to free

    def __init__(self, env_id: str, options: dict | None = None, copies: int = 1, threads: int = 1,
                 autoreset: str = "same_step", infos: bool = False):
        if not isinstance(env_id, str):
            raise TypeError(f"the environment id must be a string, got {type(env_id).__name__}")
        if autoreset not in AUTORESET_MODES:
            raise ValueError(f"autoreset must be one of {', '.join(AUTORESET_MODES)}, got {autoreset!r}")
        # Dojo's options are text; booleans as Dojo writes them.
        encoded = json.dumps({str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in (options or {}).items()})
        self._handle = _lib.dojo_vector_create(_text("the environment id", env_id), encoded.encode(),
                                               _int32("copies", copies), _int32("threads", threads))
        if not self._handle:
            raise _error()
        description = _lib.dojo_vector_describe(self._handle)
        if description is None:
            raise _error()
        _check(_lib.dojo_vector_set_autoreset(self._handle, AUTORESET_MODES[autoreset]))
        self.autoreset = autoreset
        self.description = json.loads(description.decode())
        self.copies = self.description["copies"]
        self.info_keys = self.description["info_keys"]
        size = self.description["observation_size"]
        self.observations = np.zeros((self.copies, size), dtype=np.float32)
        self.final_observations = np.zeros((self.copies, size), dtype=np.float32)
        self.rewards = np.zeros(self.copies, dtype=np.float32)
        self.terminated = np.zeros(self.copies, dtype=bool)
        self.truncated = np.zeros(self.copies, dtype=bool)
        self.episode_returns = np.zeros(self.copies, dtype=np.float64)
        self.episode_lengths = np.zeros(self.copies, dtype=np.int64)
        self.infos = np.zeros((self.copies, len(self.info_keys)), dtype=np.float64)
        self._actions = np.zeros((self.copies, self.description["action_width"]), dtype=np.float32)
        self._frame = np.zeros((self.description["render_height"], self.description["render_width"], 3), dtype=np.uint8)
        self._flat_actions = self._actions.reshape(-1)
        self._infos_address = _pointer(self.infos)
        self._one_value = self._flat_actions.size == 1
        # With `infos`, Dojo rewrites `infos` after every step and reset (no call of its own needed).
        self.infos_bound = bool(infos) and bool(self.info_keys)
        if self.infos_bound:
            _check(_lib.dojo_vector_bind_infos(self._handle, self._infos_address, self.infos.size))
        # Dojo writes every step's results straight into these arrays and reads the actions from `_actions`.
        _check(_lib.dojo_vector_bind(self._handle, _pointer(self._actions, ctypes.c_float), self._actions.size,
                                     _pointer(self.observations, ctypes.c_float),
                                     _pointer(self.final_observations, ctypes.c_float), self.observations.size,
                                     _pointer(self.rewards, ctypes.c_float), _pointer(self.terminated, ctypes.c_uint8),
                                     _pointer(self.truncated, ctypes.c_uint8), self.copies))
        self._step_bound = _lib.dojo_vector_step_bound

    def _live(self):
        if not self._handle:
            raise DojoError("the environment is closed")
        return self._handle

    def reset(self, seed: int | None = None, seeds=None) -> np.ndarray:
        """Resets every copy: from a run seed (copy i seeded as Dojo's training seeds it), from one seed per copy, or
        (neither) continuing each copy's generator."""
        if seeds is not None:
            values = np.array([_seed(value) for value in np.asarray(seeds, dtype=object).reshape(-1)], dtype=np.uint64)
            _check(_lib.dojo_vector_reset_seeds(self._live(), _pointer(values),
                                                values.size, _pointer(self.observations, ctypes.c_float),
                                                self.observations.size))
        elif seed is not None:
            _check(_lib.dojo_vector_reset(self._live(), _seed(seed), _pointer(self.observations, ctypes.c_float),
                                          self.observations.size))
        else:
            _check(_lib.dojo_vector_reset_seeds(self._live(), None, 0, _pointer(self.observations, ctypes.c_float),
                                                self.observations.size))
        return self.observations

    def reset_copy(self, copy: int, seed: int | None = None) -> np.ndarray:
        """Resets copy `copy` alone (with `seed`, or continuing its generator); returns its row of `observations`."""
        value = None if seed is None else ctypes.byref(ctypes.c_uint64(_seed(seed)))
        copy = _int32("copy", copy)
        row = self.observations[copy if 0 <= copy < self.copies else 0]  # Dojo refuses a copy outside
        _check(_lib.dojo_vector_reset_copy(self._live(), copy, value, _pointer(row, ctypes.c_float), row.size))
        return row

    def step(self, actions):
        """Steps every copy with its row of `actions` (copies × action_width, or one value a copy for discrete actions).
        Returns the arrays `observations`, `rewards`, `terminated`, `truncated`, overwritten by the next step."""
        if self._one_value and isinstance(actions, (int, float, np.integer, np.floating)) and not isinstance(actions, bool):
            self._flat_actions[0] = actions  # one copy, one action value: the common single-environment call
        else:
            values = actions if type(actions) is np.ndarray else np.asarray(actions)
            if values.size != self._flat_actions.size:
                raise ValueError(f"expected {self._flat_actions.size} action values ({self.copies} copies × "
                                 f"{self.description['action_width']}), got an array of shape {values.shape}")
            if values.dtype.kind not in "biuf":
                raise TypeError(f"actions must be numbers, got dtype {values.dtype}")
            self._flat_actions[:] = values.reshape(-1)
        if self._step_bound(self._live()) != 0:
            raise _error()
        return self.observations, self.rewards, self.terminated, self.truncated

    def compute_reward(self, achieved_goal, desired_goal) -> np.ndarray:
        """For a goal-conditioned environment (`description["goal"]` not None): the reward of each (achieved, desired)
        goal pair, as float32 of the goals' leading shape (the goals broadcast against each other; their last axis is
        the goal). Goals are taken as float32, as observations hold them; the reward `step` reports for a step is this
        function of the goals in its observation, bit for bit."""
        goal = self.description.get("goal")
        if goal is None:
            raise DojoError(f"{self.description['id']} with these options is not goal-conditioned; build a goal task "
                            "(e.g. arm with goal=true)")
        if not hasattr(_lib, "dojo_vector_compute_reward"):
            raise DojoError("this libdojo-c.so predates dojo_vector_compute_reward; rebuild it from this Dojo checkout")
        achieved, desired = (np.asarray(value, dtype=np.float32) for value in (achieved_goal, desired_goal))
        try:
            achieved, desired = np.broadcast_arrays(achieved, desired)
        except ValueError:
            raise ValueError(f"achieved_goal {achieved.shape} and desired_goal {desired.shape} do not broadcast") from None
        size = goal["goal_size"]
        if achieved.ndim == 0 or achieved.shape[-1] != size:
            raise ValueError(f"goals have {size} values on their last axis; got shape {achieved.shape}")
        achieved, desired = np.ascontiguousarray(achieved), np.ascontiguousarray(desired)
        rewards = np.empty(achieved.shape[:-1], dtype=np.float32)
        _check(_lib.dojo_vector_compute_reward(self._live(), _pointer(achieved), _pointer(desired), achieved.size,
                                               _pointer(rewards), rewards.size))
        return rewards

    def episodes(self):
        """(returns, lengths) of the episodes each copy ended in the last step (valid where terminated or truncated)."""
        _check(_lib.dojo_vector_episodes(self._live(), _pointer(self.episode_returns, ctypes.c_double),
                                         _pointer(self.episode_lengths, ctypes.c_int64), self.copies))
        return self.episode_returns, self.episode_lengths

    def info(self, copy: int) -> dict:
        """Copy `copy`'s numeric info (also left in row `copy` of `infos`)."""
        row = self.infos[copy] if self.infos_bound and 0 <= copy < self.copies and self._handle else self.info_row(copy)
        return {key: value for key, value in zip(self.info_keys, row.tolist()) if value == value}  # NaN: not reported

    def info_row(self, copy: int) -> np.ndarray:
        """Copy `copy`'s numeric info written into row `copy` of `infos` (NaN where not reported)."""
        copy = _int32("copy", copy)
        inside = 0 <= copy < self.copies
        address = self._infos_address + copy * self.infos.strides[0] if inside else self._infos_address
        if _lib.dojo_vector_info(self._live(), copy, address, len(self.info_keys)) != 0:
            raise _error()
        return self.infos[copy]

    def all_infos(self) -> np.ndarray:
        """Every copy's numeric info, (copies, len(info_keys)); NaN where a copy does not report a key."""
        if self.infos_bound:
            self._live()
            return self.infos
        _check(_lib.dojo_vector_infos(self._live(), self._infos_address, self.infos.size))
        return self.infos

    def render(self, copy: int = 0) -> np.ndarray:
        _check(_lib.dojo_vector_render(self._live(), _int32("copy", copy), _pointer(self._frame, ctypes.c_uint8),
                                       self._frame.size))
        return self._frame.copy()

    def record(self, copy: int, path) -> None:
        """Records copy `copy`'s episode as a Dojo replay at `path` (a new file; `dojo replay PATH --verify` checks it).
        Call right after a seeded reset; the file is written when the episode ends, at the next reset, or at
        `stop_recording`/`close`."""
        _check(_lib.dojo_vector_record(self._live(), _int32("copy", copy), _text("the replay path", path)))

    def stop_recording(self, copy: int) -> None:
        _check(_lib.dojo_vector_record(self._live(), _int32("copy", copy), None))

    def close(self) -> None:
        if self._handle:
            _lib.dojo_vector_destroy(self._handle)
            self._handle = None

    def __del__(self):
        self.close()


class Policy:
    """A trained Dojo run's policy (checkpoint "best" unless named), computed by Dojo's own networks as `dojo eval`
    computes it: call it with one observation (returns its action: an int for a discrete action space) or a batch
    (rows × observation_size; returns one action a row). A recurrent
    policy remembers the episode: call `begin_episode()` at each reset and pass one observation at a time."""

    _handle = None  # until loaded

    def __init__(self, run_directory, checkpoint: str | int = "best"):
        if isinstance(checkpoint, (int, np.integer)) and not isinstance(checkpoint, bool):
            checkpoint = str(int(checkpoint))  # a step
        if not isinstance(checkpoint, str):
            raise TypeError(f"checkpoint must be \"best\", \"last\" or a step, got {checkpoint!r}")
        self._handle = _lib.dojo_policy_load(_text("run_directory", run_directory), _text("checkpoint", checkpoint))
        if not self._handle:
            raise _error()
        self.description = json.loads(_lib.dojo_policy_describe(self._handle).decode())
        self.observation_size = self.description["observation_size"]
        self.action_width = self.description["action_width"]
        self.recurrent = self.description["recurrent"]
        observation = self.description["observation"]
        self._observation_shape = (tuple(observation["shape"]) if observation["type"] == "box" else
                                   (observation["rows"], observation["features"]) if observation["type"] == "entity_set" else
                                   (self.observation_size,))

    def begin_episode(self) -> None:
        if not self._handle:
            raise DojoError("the policy is closed")
        _check(_lib.dojo_policy_begin_episode(self._handle))

    def __call__(self, observations) -> np.ndarray:
        if not self._handle:
            raise DojoError("the policy is closed")
        observation = self.description["observation"]
        if isinstance(observations, dict) and observation["type"] == "dict":  # parts concatenated in key order
            observations = np.concatenate([np.asarray(observations[key], dtype=np.float32) for key in observation["keys"]],
                                          axis=-1)
        values = np.ascontiguousarray(observations, dtype=np.float32)
        single = values.shape in (self._observation_shape, (self.observation_size,))
        if values.size == 0 or values.size % self.observation_size:
            raise ValueError(f"expected observations of {self.observation_size} values (or rows of them), got shape "
                             f"{values.shape}")
        rows = values.size // self.observation_size
        actions = np.zeros((rows, self.action_width), dtype=np.float32)
        _check(_lib.dojo_policy_act(self._handle, _pointer(values, ctypes.c_float), values.size,
                                    _pointer(actions, ctypes.c_float), actions.size, rows))
        if self.description["action"]["type"] in ("discrete", "multi_discrete"):
            actions = actions.astype(np.int64)
        if self.description["action"]["type"] == "discrete":
            actions = actions[:, 0]
        return actions[0] if single else actions

    def close(self) -> None:
        if self._handle:
            _lib.dojo_policy_destroy(self._handle)
            self._handle = None

    def __del__(self):
        self.close()


def load_policy(run_directory, checkpoint: str | int = "best") -> Policy:
    """The policy of a Dojo run directory (from `dojo train`), as a callable from observations to actions."""
    return Policy(run_directory, checkpoint)
