"""compile/build.py - the compile pipeline: parse, lower, effects, edges, verdicts."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import Any

from bashflow.compile.effects import normalize
from bashflow.compile.graph import build_edges, resolve_effects
from bashflow.compile.lower import Lowerer
from bashflow.compile.model import CNode
from bashflow.compile.serialize import Workflow
from bashflow.errors import ParseError
from bashflow.parser import parse_source
from bashflow.parser.syntax import Script
from bashflow.source import Source, Span

_RANK = {"allow": 0, "unknown": 1, "deny": 2}


def build(
    script: str | bytes | Script,
    *,
    filename: str = "<string>",
    policy: Any = None,
    cwd: str | None = None,
    home: str | None = None,
) -> Workflow:
    """`compile_script`, with the cyclic garbage collector paused: a compile allocates
    hundreds of thousands of objects that all stay alive until it returns, and collections
    triggered by those allocations would scan the whole syntax tree again and again (about a
    third of the time on large scripts). The collector's state is restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(script, filename, policy, cwd, home)
    finally:
        if enabled:
            gc.enable()


def _build(
    script: str | bytes | Script, filename: str, policy: Any, cwd: str | None, home: str | None
) -> Workflow:
    if isinstance(script, bytes):
        data = script
        source = Source.from_bytes(script, filename)
    elif isinstance(script, str):
        source = Source(script, filename)
        data = script.encode("utf-8", "surrogateescape")
    elif isinstance(script, Script):
        # A tree has no text of its own: print it as bash (`declare -f` style, indented;
        # leading blanks mean nothing to bash outside here-document bodies, which the
        # printer does not indent) and compile that text, so every span slices back.
        from bashflow.parser.printer import print_function_body

        printed = print_function_body(script)  # `f () \n{ \n    BODY\n}`: keep BODY
        text = printed[printed.index("{ \n") + 3 : printed.rindex("}")]
        source = Source(text, script.filename if filename == "<string>" else filename)
        data = text.encode("utf-8", "surrogateescape")
    else:
        raise TypeError(f"cannot compile a {type(script).__name__}; pass the script text")
    tree = parse_source(source)
    cwd = normalize(os.path.abspath(cwd) if cwd is not None else os.getcwd())
    home = normalize(os.path.abspath(home) if home is not None else os.path.expanduser("~"))
    try:
        lw = Lowerer(source, tree, home=home, cwd=cwd)
        nodes = lw.lower()
        resolve_effects(nodes)
    except RecursionError:
        raise ParseError(
            "script nested too deeply to compile", source=source, span=Span(0, 0)
        ) from None
    visible = [n for n in nodes if not n.hidden]
    for i, n in enumerate(visible, 1):
        n.id = i
    edges = build_edges(nodes, lw.errexit)
    pinfo = None
    if policy is not None:
        pinfo = attach_verdicts(data, source, visible, policy, cwd=cwd, home=home)
    return Workflow(source, data, visible, edges, cwd, pinfo)


def _load_policy(policy: Any) -> tuple[Any, str]:
    if isinstance(policy, str | os.PathLike):
        from bashflow.policy.profiles import load_policy

        spec = os.fspath(policy)
        return load_policy(spec, lite=True), spec
    if isinstance(policy, Mapping):
        return policy, str(policy.get("name", "policy"))
    return policy, str(getattr(policy, "name", None) or "policy")


def attach_verdicts(
    data: bytes, source: Source, nodes: list[CNode], policy: Any, *, cwd: str, home: str
) -> dict[str, str]:
    """Run the checker once; each finding goes to the innermost node holding its position."""
    from bashflow.policy.check import check

    pol, name = _load_policy(policy)
    verdict = check(data, pol, cwd=cwd, home=home, filename=source.filename)
    for n in nodes:
        n.decision = "allow"
    for f in verdict.findings:
        span = f.span
        if span.start < 0 or not nodes:
            continue
        best: CNode | None = None
        for n in nodes:
            s = n.span
            inside = s.start <= span.start and (
                span.start < s.end or s.start == s.end == span.start
            )
            if inside and (best is None or n.uid > best.uid):
                best = n
        if best is None:
            best = nodes[0] if span.start == 0 else None
        if best is None:
            continue
        best.findings.append(
            {
                "code": f.code,
                "message": f.message,
                "line": f.line,
                "col": f.col,
                "definite": f.definite,
            }
        )
        own = "deny" if f.definite else "unknown"
        if _RANK[own] > _RANK[best.decision or "allow"]:
            best.decision = own
    for n in reversed(nodes):  # a compound is as bad as the worst command inside it
        p = n.parent
        while p is not None and p.hidden:
            p = p.parent
        if p is not None and _RANK[n.decision or "allow"] > _RANK[p.decision or "allow"]:
            p.decision = n.decision
    return {"name": name, "decision": verdict.decision}
