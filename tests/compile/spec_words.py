"""Helpers for the command-spec tests: shell text -> `cmdspec.Arg`s, `Usage` -> a comparable dict.

Words come from bashflow's own parser, so the tests feed `usage()` the argvs a script really
has: a quoted expansion is one unknown word, an unquoted one or `"$@"` may be many words, a
glob is a pattern that may be many words.
"""

from __future__ import annotations

import re
from typing import Any

import bashflow
from bashflow.compile.cmdspec import UPWARD_LEVELS, Arg, PathUse, Usage
from bashflow.parser import syntax as S


def _literal(parts: tuple[Any, ...], quoted: bool) -> tuple[str | None, bool, bool]:
    """(text, glob, many) of a word's parts."""
    out: list[str] = []
    glob = many = False
    unknown = False
    for p in parts:
        if isinstance(p, S.Literal | S.SingleQuoted):
            out.append(p.text)
        elif isinstance(p, S.Escaped):
            out.append(p.char)
        elif isinstance(p, S.AnsiCQuoted):
            out.append(p.value)
        elif isinstance(p, S.Glob) and not quoted:
            out.append(p.text)
            glob = many = True
        elif isinstance(p, S.DoubleQuoted):
            text, _, inner_many = _literal(p.parts, True)
            if text is None:
                unknown = True
            else:
                out.append(text)
            many = many or inner_many
        elif isinstance(p, S.ParamExpansion):
            unknown = True
            name = getattr(p, "name", "")
            if not quoted or name in ("@", "*"):
                many = True
        else:
            unknown = True
            if not quoted:
                many = True
    return (None if unknown else "".join(out)), glob, many


def argv(command: str) -> list[Arg]:
    """The argv of the one simple command in `command`."""
    script = bashflow.parse(command)
    cmds = [n for n in S.walk(script) if isinstance(n, S.SimpleCommand)]
    assert len(cmds) == 1, command
    out = []
    for i, w in enumerate(cmds[0].words):
        text, glob, many = _literal(w.parts, False)
        out.append(Arg(text, i, glob, many))
    return out


def _path(u: PathUse) -> str:
    text = "?" if u.arg.text is None else u.arg.text
    if re.fullmatch(r"(\.\./)*\.\.", text) and text.count("..") == UPWARD_LEVELS:
        text = "^."  # the highest directory above the base
    elif re.fullmatch(r"(\.\./)*(\.git)", text):
        text = "^.git"  # .git in the base or any directory above (listed once)
    if u.base is not None:
        return f"{'?' if u.base.text is None else u.base.text}:{text}"
    return text


def show(u: Usage) -> dict[str, Any]:
    """A Usage as plain data; `runs`/`code` as texts (`?` unknown, `?*` unknown many)."""

    def word(a: Arg) -> str:
        return a.text if a.text is not None else ("?*" if a.many else "?")

    return {
        "spec": u.spec,
        "class": u.klass,
        "reads": sorted({_path(p) for p in u.reads}),
        "writes": sorted({_path(p) for p in u.writes}),
        "read_trees": sorted({_path(p) for p in u.read_trees}),
        "write_trees": sorted({_path(p) for p in u.write_trees}),
        "stdin": u.stdin,
        "stdout": u.stdout,
        "network": u.network,
        "runs": [[word(a) for a in r] for r in u.runs],
        "code": [word(a) for a in u.code],
        "opaque": u.opaque,
    }
