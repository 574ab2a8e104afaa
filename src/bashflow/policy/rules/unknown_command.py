"""BF103 unknown-command - what runs here is not known statically.

What: the command name is an expansion (`$cmd`, `"${arr[@]}"`, `$(echo rm)`), or a payload
(`eval "$x"`, `sh -c "$y"`, `xargs` input, `source FILE`, a shell reading its standard input or
a script file this script wrote) whose text is not known when checking.
Why: an allow list only means something if every program name is known; a name built at
run time is how gates are talked around (`c=r; ${c}m -rf /`).
Example: `cmd=$(cat name.txt); $cmd --version`
Fix: spell the command literally; pass data as arguments, not as code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Flag

CODE = "BF103"
NAME = "unknown-command"
EFFECT = "Flag"


def check(e: Flag, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.code == CODE:
        yield e.message, e.definite
