"""BF112 shadowing - a function, alias, `hash -p` or `enable` changes what a name runs.

What: a function or alias named like a shell builtin or keyword (`cd() {..}`,
`alias command=..`), `hash -p /tmp/x ls`, `enable -f lib.so name` or `enable -n echo`.
Why: the checker resolves names as bash does; redefining the builtins it relies on (or
pointing a name at another file) would make its reading of the rest of the script wrong.
Example: `hash -p /tmp/evil ls; ls`
Fix: give helper functions their own names; run programs by their real names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Flag

CODE = "BF112"
NAME = "shadowing"
EFFECT = "Flag"


def check(e: Flag, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.code == CODE:
        yield e.message, e.definite
