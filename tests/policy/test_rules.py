"""Every rule module: a docstring What / Why / Example / Fix, a fixture and a golden (STYLE 5);
and the extractor's node table covers every syntax class (STYLE 7)."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

import bashflow.parser.syntax as syntax
from bashflow.policy.check import check
from bashflow.policy.extract import NODE_HANDLING
from bashflow.policy.model import Policy
from bashflow.policy.rules import RULES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "check" / "rules"
GOLDEN = Path(__file__).resolve().parent / "golden"
POLICY = ROOT / "fixtures" / "check" / "policies" / "agent.toml"


def render(code: str) -> str:
    from bashflow.cli.check_cmd import render_text

    path = FIXTURES / f"{code}.sh"
    v = check(
        path.read_bytes(),
        Policy.load(POLICY),
        cwd="/work/proj",
        home="/home/agent",
        filename=f"{code}.sh",
    )
    return render_text(v) + "\n"


@pytest.mark.parametrize("rule", RULES, ids=[r.CODE for r in RULES])
def test_rule_has_doc_fixture_and_golden(rule: object) -> None:
    doc = inspect.getdoc(rule) or ""
    code = rule.CODE  # type: ignore[attr-defined]
    assert doc.startswith(f"{code} {rule.NAME} - "), doc[:40]  # type: ignore[attr-defined]
    for section in ("What:", "Why:", "Example:", "Fix:"):
        assert section in doc, f"{code} docstring lacks {section}"
    assert (FIXTURES / f"{code}.sh").is_file(), f"missing fixture for {code}"
    golden = GOLDEN / f"{code}.txt"
    text = render(code)
    if os.environ.get("BASHFLOW_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing golden for {code}"
    assert text == golden.read_text(encoding="utf-8")
    assert f"deny[{code}]" in text


def test_codes_are_unique_and_ordered() -> None:
    codes = [r.CODE for r in RULES]
    assert len(set(codes)) == len(codes)
    assert all(c.startswith("BF1") and len(c) == 5 for c in codes)


def syntax_classes() -> set[str]:
    out = set()
    for name, obj in vars(syntax).items():
        if (
            inspect.isclass(obj)
            and obj.__module__ == syntax.__name__
            and getattr(obj, "_fields", ())
        ):
            out.add(name)
    return out


def test_node_table_covers_every_syntax_class() -> None:
    classes = syntax_classes()
    assert classes, "no syntax classes found"
    assert set(NODE_HANDLING) == classes, (
        classes - set(NODE_HANDLING),
        set(NODE_HANDLING) - classes,
    )
    assert set(NODE_HANDLING.values()) <= {"command", "part", "arith", "cond", "structure"}


def test_unhandled_command_kind_is_a_finding() -> None:
    from bashflow.policy.extract import Walker
    from bashflow.policy.values import State
    from bashflow.source import Source, Span

    class Strange:
        span = Span(0, 1)

    w = Walker(Source("x"), home="/h", deadline=1e18)
    w.run_command(Strange(), State(cwd="/w"))
    assert [getattr(e, "code", "") for e in w.effects] == ["BF115"]
