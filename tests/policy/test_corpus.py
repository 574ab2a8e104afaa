"""The adversarial corpus: every case gets the expected decision and codes.

Cases listed under `[known]` in a corpus file are ones the checker gets wrong today; they are
strict xfails (fixing one makes the test fail until the entry is removed).
"""

from __future__ import annotations

import pytest

from policy.corpus import Case, load_cases, run

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    if case.known:
        pytest.xfail(case.known)
    ok, decision, codes = run(case)
    if case.expect == "allow":
        assert ok, f"false deny: {codes}"
    else:
        assert decision == "deny", "false allow"
        assert ok, f"expected {case.codes} among {codes}"


def test_corpus_is_large_and_balanced() -> None:
    deny = [c for c in CASES if c.expect == "deny"]
    allow = [c for c in CASES if c.expect == "allow"]
    assert len(deny) >= 300 and len(allow) >= 200
    assert len({c.script for c in CASES}) > 0.95 * len(CASES)


def test_known_entries_name_real_cases() -> None:
    import tomllib

    from policy.corpus import CORPUS

    for path in CORPUS.glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        scripts = {s for _, s in data.get("deny", [])} | set(data.get("allow", []))
        assert set(data.get("known", {})) <= scripts, path.name
