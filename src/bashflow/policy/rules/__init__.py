"""policy/rules - one rule a module (What / Why / Example / Fix), each with a code `BF1xx`.

A rule module defines `CODE`, `NAME`, `EFFECT` (the effect type it looks at: `Exec`, `Access`,
`EnvSet` or `Flag`) and `check(effect, ctx)`, which yields `(message, definite)` pairs.
Each has a fixture (`fixtures/check/rules/<CODE>.sh`) and a golden (`tests/policy/golden/`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from bashflow.policy.rules import (
    code_flag,
    command_denied,
    command_not_allowed,
    dangerous_env,
    hidden_exec,
    inline_code,
    invisible_chars,
    network,
    program_path,
    read_denied,
    shadowing,
    syntax_error,
    unhandled,
    unknown_command,
    unknown_path,
    write_denied,
)
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Effect

RULES: tuple[ModuleType, ...] = (
    syntax_error,
    command_not_allowed,
    command_denied,
    unknown_command,
    program_path,
    read_denied,
    write_denied,
    unknown_path,
    network,
    dangerous_env,
    inline_code,
    code_flag,
    shadowing,
    hidden_exec,
    invisible_chars,
    unhandled,
)
RULE_NAMES: dict[str, str] = {r.CODE: r.NAME for r in RULES}
_BY_EFFECT: dict[str, list[ModuleType]] = {}
for _r in RULES:
    for _kind in (_r.EFFECT,) if isinstance(_r.EFFECT, str) else _r.EFFECT:
        _BY_EFFECT.setdefault(_kind, []).append(_r)


def run_rules(effects: Iterable[Effect], ctx: Context) -> Iterator[tuple[str, str, Span, bool]]:
    for e in effects:
        for rule in _BY_EFFECT.get(type(e).__name__, ()):
            for message, definite in rule.check(e, ctx):
                yield rule.CODE, message, e.span, definite
