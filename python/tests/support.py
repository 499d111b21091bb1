"""What the package's tests share: the repository's folder and the `dojo` binary to compare against."""

import os
import pathlib

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


def dojo_binary() -> str:
    """$DOJO_BINARY, else the checkout's debug or release build; skips the test when there is none."""
    named = os.environ.get("DOJO_BINARY")
    if named:
        return named
    for build in (".build/debug", ".build/release"):
        candidate = REPOSITORY / build / "dojo"
        if candidate.is_file():
            return str(candidate)
    pytest.skip("no dojo binary (set DOJO_BINARY)")
