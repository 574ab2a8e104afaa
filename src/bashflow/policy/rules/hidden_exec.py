"""BF113 hidden-exec - code runs where it does not look like a command.

What: `trap`/`alias`/`mapfile -C` handlers that are not known statically, prompt expansion
`${x@P}` of an unknown value, `${!x}` with an unknown name, arithmetic (`(( ))`, `$(( ))`,
`[[ -gt ]]`, `let`, subscripts) evaluating a value read from data, `printf -v`/`read`/`test -v`
with a subscript that holds `$(..)`, `fc`, `bind -x`, `compgen -C`.
Why: bash evaluates array subscripts inside arithmetic and names, so a value like
`a[$(rm -rf ~)]` runs a command when it is only compared (`x='a[$(id)]'; (( x > 1 ))`).
Example: `n=$(cat count.txt); if (( n > 3 )); then echo many; fi`
Fix: validate data before arithmetic (`[[ $n =~ ^[0-9]+$ ]]` is not enough in a `&&`-free
script: compare with `[ "$n" -gt 3 ]`, which only accepts integers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Flag

CODE = "BF113"
NAME = "hidden-exec"
EFFECT = "Flag"


def check(e: Flag, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.code == CODE:
        yield e.message, e.definite
