"""BF107 unknown-path - a path that is read or written is not known statically.

What: a path built from a variable that is not known (`cat "$f"`, `> "$out"`), a relative
path after `cd "$dir"`, a glob followed by `..`, a `~user` path.
Why: the policy can only be enforced on paths it can see; `$x` may be `~/.ssh/id_rsa`.
Example: `f=$(ls ~ | head -1); cat "$f"`
Fix: use literal paths (or variables assigned literal values); `bashflow exec` checks such
paths at run time instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Access

CODE = "BF107"
NAME = "unknown-path"
EFFECT = "Access"


def check(e: Access, ctx: Context) -> Iterator[tuple[str, bool]]:
    if ctx.resolve(e.path, e.cwd) is not None:
        return
    who = f"`{e.what}`" if e.what and e.what != "redirection" else "a redirection"
    why = (
        "the working directory is not known"
        if e.cwd is None and e.path.exact
        else "it is not known statically"
    )
    yield f"{who} would {e.mode} a path that cannot be checked: {why}", False
