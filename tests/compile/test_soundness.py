"""Soundness of the graph over the fixture scripts (issue 5's rule): two nodes with no path
between them must be safe to run at the same time.

Two independent pieces of evidence, neither using the graph builder's own conflict logic:
the declared effects compared pairwise (`compile_oracle.py`), and what bash really did under
strace, attributed to nodes (`strace_oracle.py`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from compile_oracle import problems
from strace_oracle import STRACE, check_traced

from bashflow.compile import compile_script

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures" / "scripts").glob("*.sh"))


def test_there_are_enough_realistic_fixtures() -> None:
    assert len(FIXTURES) >= 15


@pytest.mark.parametrize("script", FIXTURES, ids=lambda p: p.name)
def test_unordered_siblings_have_compatible_effects(script: Path) -> None:
    doc = compile_script(script.read_bytes(), filename=script.name, cwd="/work").to_json()
    assert problems(doc) == []


def observed_failures(script: Path, tmp_path: Path) -> list[str]:
    if not os.access(STRACE, os.X_OK):
        pytest.skip("strace is needed")
    failures, returncode, observed = check_traced(script, tmp_path)
    if returncode != 0 and not observed:
        pytest.skip(f"strace could not trace here (exit {returncode})")
    assert returncode == 0
    assert observed, "nothing was observed: the oracle itself is broken"
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("script", FIXTURES, ids=lambda p: p.name)
def test_observed_accesses_of_unordered_siblings_do_not_conflict(
    script: Path, tmp_path: Path
) -> None:
    failures = observed_failures(script, tmp_path)
    assert failures == [], json.dumps(failures, indent=1)


@pytest.mark.slow
def test_a_spec_that_misses_a_write_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The oracle is not vacuous: make `sort` forget that `-o FILE` writes FILE, and the
    observed accesses of the now unordered `sort -o` and `cat` conflict."""
    from bashflow.compile import cmdspec, effects

    script = tmp_path / "missed.sh"
    script.write_text("seq 3 > in.txt\nsort -r -o out.txt in.txt\ncat out.txt\n")
    assert observed_failures(script, tmp_path / "right") == []
    real = cmdspec.usage

    def forgetful(argv: Any) -> Any:
        u = real(argv)
        if argv and argv[0].text == "sort":
            return type(u)(**{**{f: getattr(u, f) for f in u.__slots__}, "writes": ()})
        return u

    monkeypatch.setattr(cmdspec, "usage", forgetful)
    effects.clear_caches()  # the compiler memoises usage() by argv
    request.addfinalizer(effects.clear_caches)
    failures = observed_failures(script, tmp_path / "wrong")
    assert any("out.txt" in f for f in failures), failures
