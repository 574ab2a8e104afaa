"""Differential against bash's own parser: our tree, printed the way `declare -f` prints a
function, must be bash's text, over the construct fixtures and the real-world corpus.

Run the report by hand with `python tests/parse/bash_oracle.py [--corpus]`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bash_oracle as oracle

pytestmark = pytest.mark.skipif(not os.access(oracle.BASH, os.X_OK), reason="needs bash")

KNOWN = oracle.read_known_diffs()
FIXTURES = oracle.fixture_bodies()


def _check(outcome: oracle.Outcome) -> None:
    assert outcome.status in ("same", "bash-refused"), outcome.diff()


@pytest.fixture(scope="module")
def fixture_outcomes() -> dict[str, oracle.Outcome]:
    return {o.name: o for o in oracle.compare(FIXTURES)}


def test_fixtures_cover_the_constructs() -> None:
    assert len(FIXTURES) >= 12


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name, marks=pytest.mark.xfail(strict=True, reason=KNOWN[name]) if name in KNOWN else ()
        )
        for name, _ in FIXTURES
    ],
)
def test_fixture_prints_like_bash(name: str, fixture_outcomes: dict[str, oracle.Outcome]) -> None:
    outcome = fixture_outcomes[name]
    assert outcome.status != "bash-refused", f"bash refuses fixture {name}"
    _check(outcome)


@pytest.mark.slow
def test_corpus_prints_like_bash() -> None:
    bodies = oracle.corpus_bodies()
    if bodies is None:
        pytest.skip(f"no corpus at {oracle.CORPUS_DIR} (python -m benchmarks.corpus builds it)")
    outcomes = oracle.compare(bodies)
    counts = oracle.summarize(outcomes)
    compared = len(outcomes) - counts.get("bash-refused", 0)
    same = counts.get("same", 0)
    print(
        f"\ndeclare -f differential over the corpus: {same}/{compared} identical "
        f"({100.0 * same / max(compared, 1):.2f}%); {counts}"
    )
    unexpected = [
        o for o in outcomes if o.status not in ("same", "bash-refused") and o.name not in KNOWN
    ]
    fixed = [o.name for o in outcomes if o.status == "same" and o.name in KNOWN]
    assert not unexpected, "\n".join(o.diff() for o in unexpected[:10])
    assert not fixed, f"listed in printer_known_diffs.txt but now identical: {fixed}"
