"""ctypes bindings to libdojo-c.so (include/dojo.h). The library is found at $DOJO_LIBRARY, beside this package, or
in the repository's SwiftPM build folders (release first)."""

from __future__ import annotations

import ctypes
import json
import os
import pathlib

import numpy as np

ABI_VERSION = 1


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
    f32, u8, f64 = (ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(ctypes.c_double))
    signatures = {
        "dojo_version": (ctypes.c_char_p, []),
        "dojo_abi_version": (ctypes.c_int32, []),
        "dojo_last_error": (ctypes.c_char_p, []),
        "dojo_environments_json": (ctypes.c_char_p, []),
        "dojo_vector_create": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]),
        "dojo_vector_destroy": (None, [ctypes.c_void_p]),
        "dojo_vector_describe": (ctypes.c_char_p, [ctypes.c_void_p]),
        "dojo_vector_reset": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_uint64, f32, ctypes.c_int64]),
        "dojo_vector_reset_seeds": (ctypes.c_int32, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_int64, f32,
                                                     ctypes.c_int64]),
        "dojo_vector_step": (ctypes.c_int32, [ctypes.c_void_p, f32, ctypes.c_int64, f32, f32, ctypes.c_int64, f32, u8, u8,
                                              ctypes.c_int64]),
        "dojo_vector_info": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, f64, ctypes.c_int64]),
        "dojo_vector_render": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, u8, ctypes.c_int64]),
    }
    for name, (result, arguments) in signatures.items():
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


def _pointer(array: np.ndarray, kind):
    return array.ctypes.data_as(ctypes.POINTER(kind))


def version() -> str:
    return _lib.dojo_version().decode()


def environments() -> list[dict]:
    """Every Dojo environment: id, summary, spaces and options."""
    return json.loads(_lib.dojo_environments_json().decode())


class Vector:
    """`copies` copies of a Dojo environment stepped in lockstep on Dojo's threads, writing into numpy arrays allocated
    once (observations (copies, observation_size) float32, rewards float32, terminated/truncated bool)."""

    def __init__(self, env_id: str, options: dict | None = None, copies: int = 1, threads: int = 1):
        if not isinstance(env_id, str):
            raise TypeError(f"the environment id must be a string, got {type(env_id).__name__}")
        # Dojo's options are text; booleans as Dojo writes them.
        encoded = json.dumps({str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in (options or {}).items()})
        self._handle = _lib.dojo_vector_create(env_id.encode(), encoded.encode(), int(copies), int(threads))
        if not self._handle:
            raise _error()
        description = _lib.dojo_vector_describe(self._handle)
        if description is None:
            raise _error()
        self.description = json.loads(description.decode())
        self.copies = self.description["copies"]
        size = self.description["observation_size"]
        self.observations = np.zeros((self.copies, size), dtype=np.float32)
        self.final_observations = np.zeros((self.copies, size), dtype=np.float32)
        self.rewards = np.zeros(self.copies, dtype=np.float32)
        self._terminated = np.zeros(self.copies, dtype=np.uint8)
        self._truncated = np.zeros(self.copies, dtype=np.uint8)
        self._info = np.zeros(len(self.description["info_keys"]), dtype=np.float64)
        self._actions = np.zeros((self.copies, self.description["action_width"]), dtype=np.float32)
        self._frame = np.zeros((self.description["render_height"], self.description["render_width"], 3), dtype=np.uint8)

    def _live(self):
        if not self._handle:
            raise DojoError("the environment is closed")
        return self._handle

    def reset(self, seed: int | None = None, seeds=None) -> np.ndarray:
        """Resets every copy: from a run seed (copy i seeded as Dojo's training seeds it), from one seed per copy, or
        (neither) continuing each copy's generator."""
        if seeds is not None:
            values = np.ascontiguousarray(seeds, dtype=np.uint64).reshape(-1)
            _check(_lib.dojo_vector_reset_seeds(self._live(), values.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64)),
                                                values.size, _pointer(self.observations, ctypes.c_float),
                                                self.observations.size))
        elif seed is not None:
            _check(_lib.dojo_vector_reset(self._live(), int(seed) % (1 << 64), _pointer(self.observations, ctypes.c_float),
                                          self.observations.size))
        else:
            _check(_lib.dojo_vector_reset_seeds(self._live(), None, 0, _pointer(self.observations, ctypes.c_float),
                                                self.observations.size))
        return self.observations

    def step(self, actions):
        """Steps every copy with its row of `actions` (copies × action_width, or one value a copy for discrete actions).
        Copies whose episode ended are reset at once; their last observation is in `final_observations`."""
        values = np.asarray(actions)
        if values.size != self._actions.size:
            raise ValueError(f"expected {self._actions.size} action values ({self.copies} copies × "
                             f"{self.description['action_width']}), got an array of shape {values.shape}")
        if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
            raise TypeError(f"actions must be numbers, got dtype {values.dtype}")
        self._actions[...] = values.reshape(self._actions.shape)
        _check(_lib.dojo_vector_step(self._live(), _pointer(self._actions, ctypes.c_float), self._actions.size,
                                     _pointer(self.observations, ctypes.c_float), _pointer(self.final_observations, ctypes.c_float),
                                     self.observations.size, _pointer(self.rewards, ctypes.c_float),
                                     _pointer(self._terminated, ctypes.c_uint8), _pointer(self._truncated, ctypes.c_uint8),
                                     self.copies))
        return self.observations, self.rewards, self._terminated.astype(bool), self._truncated.astype(bool)

    def info(self, copy: int) -> dict:
        _check(_lib.dojo_vector_info(self._live(), int(copy), _pointer(self._info, ctypes.c_double), self._info.size))
        return {key: float(value) for key, value in zip(self.description["info_keys"], self._info) if not np.isnan(value)}

    def render(self, copy: int = 0) -> np.ndarray:
        _check(_lib.dojo_vector_render(self._live(), int(copy), _pointer(self._frame, ctypes.c_uint8), self._frame.size))
        return self._frame.copy()

    def close(self) -> None:
        if self._handle:
            _lib.dojo_vector_destroy(self._handle)
            self._handle = None

    def __del__(self):
        self.close()
