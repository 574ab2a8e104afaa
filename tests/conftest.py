"""Shared test helpers."""

from __future__ import annotations

import os
import sys

import pytest

BASH = "/usr/bin/bash"


def pytest_configure(config: pytest.Config) -> None:
    # the parser raises the recursion limit itself; tests that walk deep trees need it too
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 30000))
    # every `bashflow exec` the tests start records its run: into a directory of this
    # session, never the user's own history (a test that needs its own sets it again)
    if "BASHFLOW_STATE_DIR" not in os.environ:
        import atexit
        import shutil
        import tempfile

        state = tempfile.mkdtemp(prefix="bashflow-test-state.")
        os.environ["BASHFLOW_STATE_DIR"] = state
        atexit.register(shutil.rmtree, state, True)


@pytest.fixture(scope="session")
def bash_path() -> str:
    if not os.path.exists(BASH):
        pytest.skip(f"{BASH} is not installed")
    return BASH
