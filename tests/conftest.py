"""Shared test helpers."""

from __future__ import annotations

import os
import sys

import pytest

BASH = "/usr/bin/bash"


def pytest_configure(config: pytest.Config) -> None:
    # the parser raises the recursion limit itself; tests that walk deep trees need it too
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 30000))


@pytest.fixture(scope="session")
def bash_path() -> str:
    if not os.path.exists(BASH):
        pytest.skip(f"{BASH} is not installed")
    return BASH
