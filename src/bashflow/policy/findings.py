"""policy/findings.py - what `check` returns: findings with codes and places, and the verdict.

A `Finding` is data (STYLE habit 4): a stable code (`BF1xx`), a message that says why, where it
is (`line`, `col`, the `span` into the checked source), the construct it is about, and whether it
is a definite violation or *unknown* (the checker could not prove it safe; a runtime check
would be needed). `check` denies on either kind.
"""

from __future__ import annotations

from typing import Any

from bashflow.policy.records import field, record
from bashflow.source import MISSING, Source, Span


@record
class Finding:
    """One reason to deny."""

    code: str
    message: str
    line: int
    col: int
    construct: str
    definite: bool = True
    span: Span = MISSING
    rule: str = ""

    @property
    def kind(self) -> str:
        """`"definite"` or `"unknown"` (needs a runtime check)."""
        return "definite" if self.definite else "unknown"

    def to_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "rule": self.rule,
            "kind": self.kind,
            "message": self.message,
            "line": self.line,
            "col": self.col,
            "construct": self.construct,
        }


@record
class Verdict:
    """The checker's answer: `decision` is `"allow"` when there are no findings."""

    findings: tuple[Finding, ...] = ()
    source: Source | None = field(default=None, compare=False, repr=False)

    @property
    def allowed(self) -> bool:
        return not self.findings

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"

    @property
    def codes(self) -> list[str]:
        """The sorted, distinct codes of the findings (what most tests compare)."""
        return sorted({f.code for f in self.findings})

    def to_data(self) -> dict[str, Any]:
        return {
            "schema": "bashflow.check",
            "version": 1,
            "file": self.source.filename if self.source is not None else "<string>",
            "decision": self.decision,
            "findings": [f.to_data() for f in self.findings],
        }
