"""Helpers for the command-spec tests: shell text -> `cmdspec.Arg`s, `Usage` -> a comparable dict.

Words come from bashflow's own parser, so the tests feed `usage()` the argvs a script really
has: a quoted expansion is one unknown word, an unquoted one or `"$@"` may be many words, a
glob is a pattern that may be many words (`benchmarks/spec_coverage.args_of`, which reads the
corpus's argvs the same way).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import bashflow
from bashflow.compile.cmdspec import UPWARD_LEVELS, Arg, PathUse, Usage
from bashflow.parser import syntax as S

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from benchmarks.spec_coverage import args_of  # noqa: E402


def argv(command: str) -> list[Arg]:
    """The argv of the one simple command in `command`."""
    script = bashflow.parse(command)
    cmds = [n for n in S.walk(script) if isinstance(n, S.SimpleCommand)]
    assert len(cmds) == 1, command
    return args_of(cmds[0])


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
