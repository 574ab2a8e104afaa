"""BF101 command-not-allowed - a program that no `commands.allow` entry covers.

What: an external program runs whose argv no allow entry is a whole-word prefix of.
Why: allow lists are the policy; anything not listed does not run (`"*"` allows any
program that is not denied).
Example: `curl -s https://example.com` with `allow = ["@coreutils"]`
Fix: add an allow entry (`"curl"`, or a narrower prefix such as `"git status"`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.commands import is_system_path

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Exec

CODE = "BF101"
NAME = "command-not-allowed"
EFFECT = "Exec"
_HOLE = "\x00?"


def check(e: Exec, ctx: Context) -> Iterator[tuple[str, bool]]:
    first = e.argv[0]
    if not first.exact:
        return
    if "/" in first.text and not is_system_path(first.text):
        return  # program_path (BF104) says why
    argv = [f.text if f.exact else _HOLE for f in e.argv]
    if not ctx.commands.is_allowed(argv):
        m = ctx.commands.denied([f.text for f in e.argv if f.exact])
        if m is not None and m.definite:
            return  # command_denied (BF102) already says it
        shown = " ".join(f.text if f.exact else "…" for f in e.argv[:3])
        via = f" (run by `{e.via}`)" if e.via else ""
        yield f"`{shown}` is not allowed by commands.allow{via}", True
