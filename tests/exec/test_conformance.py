"""Conformance: every case of fixtures/spec/*.test.sh run under `bashflow exec` must give bash's
recorded stdout, exit status and (unless skipped) stderr. Cases listed in
conformance_known_failures.txt are xfail(strict=True): fixing one fails the run until its line
is deleted (or `python -m benchmarks.conformance --update-known-failures`). Format and runner:
docs/conformance.md."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import conformance as conf  # noqa: E402

CASES = conf.load_cases()
KNOWN = conf.read_known_failures()
# the implementation under test; CONFORMANCE_IMPL (an argv prefix, split on spaces) scores
# another build, e.g. a wrapper that imports bashflow from an exported commit
IMPL = tuple(os.environ.get("CONFORMANCE_IMPL", "").split()) or conf.BASHFLOW_ARGV


def _params() -> Iterator[object]:
    known = set(KNOWN)
    for case in CASES:
        marks = [pytest.mark.slow]
        if case.id in known:
            marks.append(pytest.mark.xfail(strict=True, reason="in conformance_known_failures.txt"))
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(scope="session")
def conformance_results(request: pytest.FixtureRequest) -> dict[str, conf.Result]:
    """Runs the selected cases once, two at a time, and hands each test its result."""
    selected: list[conf.Case] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if isinstance(case, conf.Case):
            selected.append(case)
    return {r.case.id: r for r in conf.run_all(selected, IMPL)}


@pytest.mark.parametrize("case", list(_params()))
def test_conformance(case: conf.Case, conformance_results: dict[str, conf.Result]) -> None:
    result = conformance_results[case.id]
    assert result.passed, f"{case.location}: {case.id}\n" + "\n".join(result.problems)


def test_known_failures_name_real_cases() -> None:
    ids = {c.id for c in CASES}
    stale = [i for i in KNOWN if i not in ids]
    assert not stale, f"not a case (renamed or deleted?): {stale}"
    assert len(KNOWN) == len(set(KNOWN)), "listed twice"
