"""policy/arithmetic.py - where bash evaluates text as arithmetic, and when that runs code.

bash evaluates a variable's value as an arithmetic expression wherever arithmetic meets it:
`(( ))`, `$(( ))`, `let`, `[[ -eq ]]`, indexed-array subscripts, `${x:off:len}`, `declare -i`
variables, `kill`/`wait` arguments, `printf %d`. A value holding `$(cmd)` or `a[$(cmd)]` runs
cmd there (`x='a[$(id)]'; (( x ))`). So a value read from data (tainted) reaching arithmetic
is unknown, and a known value holding `$` or a backquote is a definite finding.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from bashflow.parser.syntax import (
    Arith,
    ArithAssign,
    ArithPostfix,
    ArithUnary,
    ArithVar,
    ArithWord,
    Node,
    children,
)
from bashflow.policy.values import EnvSet, Field, State
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.policy.extract import Walker

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATA = "comes from data (a value like `a[$(cmd)]` would run cmd)"


def _runs(text: str) -> bool:
    """Text that runs a command when bash evaluates it as arithmetic: a subscript holding an
    expansion (`a[$(cmd)]`). A bare `$(cmd)` is only a syntax error there."""
    return "[" in text and ("$" in text or "`" in text)


def walk_arith(w: Walker, a: Arith, st: State) -> None:
    if a.expr is None:
        if a.word is not None:  # bash still runs the substitutions before failing
            w.expand(a.word, st, split=False)
        if "$" in a.raw or "`" in a.raw:
            w.flag("BF115", "arithmetic that does not parse may still run substitutions", a.span)
        return
    stack: list[Any] = [a.expr]
    while stack:
        n = stack.pop()
        if isinstance(n, ArithWord):
            for f in w.expand(n.word, st, split=False):
                arith_value(w, f, n.span, st, "arithmetic")
            continue
        if isinstance(n, ArithVar):
            arith_var(w, n.name, n.span, st)
        target = None
        if isinstance(n, ArithAssign):
            target = n.target
        elif isinstance(n, ArithUnary | ArithPostfix) and n.op in ("++", "--"):
            target = n.operand
        if isinstance(target, ArithVar):  # `(( IFS = 1 ))` sets IFS like any assignment
            w.emit(EnvSet(target.name, w.span(n.span), "arithmetic"))
            st.vars[target.name] = Field("1")
        stack.extend(children(cast(Node, n)))


def arith_var(w: Walker, name: str, span: Span, st: State, depth: int = 0) -> None:
    """`name` is evaluated as arithmetic: so is its value, recursively."""
    value = st.vars.get(name)
    if value is None or depth > 8:
        return
    if value.tainted:
        w.flag("BF113", f"arithmetic evaluates `{name}`, whose value {_DATA}", span)
    elif value.exact:
        if _runs(value.text):
            w.flag(
                "BF113",
                f"arithmetic evaluates `{name}`, whose value runs a command",
                span,
                definite=True,
            )
        else:
            for ref in _NAME.findall(value.text):
                if ref != name:
                    arith_var(w, ref, span, st, depth + 1)


def arith_value(w: Walker, f: Field, span: Span, st: State, what: str) -> None:
    """An expanded word that bash then evaluates as arithmetic (`what` says where)."""
    if f.tainted:
        w.flag("BF113", f"{what} evaluates as arithmetic a value that {_DATA}", span)
    elif f.exact and _runs(f.text):
        w.flag(
            "BF113",
            f"{what} evaluates as arithmetic a value that runs a command",
            span,
            definite=True,
        )
    elif f.exact:
        for ref in _NAME.findall(f.text):
            arith_var(w, ref, span, st)
