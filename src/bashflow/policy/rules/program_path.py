"""BF104 program-path - a program spelled as a path outside the system bin directories.

What: `./ls`, `~/bin/git`, `/tmp/sed`, `../x/tool` (anything with a `/` that is not
`/bin`, `/usr/bin`, `/sbin`, `/usr/sbin`, `/usr/local/bin` or `/usr/local/sbin`).
Why: allow entries name programs found on PATH; a file with the same name elsewhere can be
anything, so only `"*"` allows it.
Example: `./sed -n 1p notes.txt` with `allow = ["sed"]`
Fix: run the program by its bare name, or allow `"*"` in the policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.commands import is_system_path

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Exec

CODE = "BF104"
NAME = "program-path"
EFFECT = "Exec"


def check(e: Exec, ctx: Context) -> Iterator[tuple[str, bool]]:
    name = e.argv[0].text
    if e.argv[0].exact and "/" in name and not is_system_path(name) and not ctx.commands.allow_any:
        yield f"`{name}` is a program spelled as a path; allow entries match only bare names", True
