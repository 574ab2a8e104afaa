"""The adversarial check corpus (fixtures/check/corpus/*.toml): load, run, report.

Each file names a policy (fixtures/check/policies/NAME.toml or a built-in profile) and lists
`deny = [[codes, script], ...]` and `allow = [script, ...]`; `known = {script = "why"}` marks
cases the checker gets wrong today (reported, not hidden). cwd is /work/proj, home
/home/agent. Run `python3 tests/policy/corpus.py` for the false-allow / false-deny counts.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fixtures" / "check" / "corpus"
POLICIES = ROOT / "fixtures" / "check" / "policies"
CWD = "/work/proj"
HOME = "/home/agent"


@dataclass(frozen=True)
class Case:
    file: str
    policy: str
    script: str
    expect: str
    codes: tuple[str, ...]
    known: str = ""

    @property
    def id(self) -> str:
        text = self.script.replace("\n", "⏎")
        return f"{self.file}:{self.expect}:{text[:60]}"


def load_cases() -> list[Case]:
    out: list[Case] = []
    for path in sorted(CORPUS.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        policy = data.get("policy", "agent")
        known = data.get("known", {})
        for codes, script in data.get("deny", []):
            out.append(
                Case(path.stem, policy, script, "deny", tuple(codes.split()), known.get(script, ""))
            )
        for script in data.get("allow", []):
            out.append(Case(path.stem, policy, script, "allow", (), known.get(script, "")))
    return out


@cache
def policy(name: str):  # type: ignore[no-untyped-def]
    from bashflow import Policy

    path = POLICIES / f"{name}.toml"
    return Policy.load(path) if path.exists() else Policy.profile(name)


def run(case: Case) -> tuple[bool, str, list[str]]:
    """(matches expectation, decision, codes)."""
    from bashflow import check

    v = check(case.script, policy(case.policy), cwd=CWD, home=HOME)
    if case.expect == "allow":
        return v.allowed, v.decision, v.codes
    return (not v.allowed and set(case.codes) <= set(v.codes)), v.decision, v.codes


def report() -> int:
    cases = load_cases()
    false_allow: list[Case] = []
    false_deny: list[Case] = []
    wrong_code: list[tuple[Case, list[str]]] = []
    for c in cases:
        ok, decision, codes = run(c)
        if ok:
            continue
        if c.expect == "deny" and decision == "allow":
            false_allow.append(c)
        elif c.expect == "allow":
            false_deny.append(c)
        else:
            wrong_code.append((c, codes))
    n_deny = sum(c.expect == "deny" for c in cases)
    print(f"{len(cases)} cases: {n_deny} must deny, {len(cases) - n_deny} must allow")
    print(f"false allows: {len(false_allow)}")
    for c in false_allow:
        print(f"  {c.id}")
    print(f"false denies: {len(false_deny)}")
    for c in false_deny:
        print(f"  {c.id}")
    print(f"denied with other codes than expected: {len(wrong_code)}")
    for c, codes in wrong_code:
        print(f"  {c.id} expected {c.codes} got {codes}")
    return 1 if false_allow or false_deny or wrong_code else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(report())
