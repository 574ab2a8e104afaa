"""BF100 syntax-error - the script (or a payload in it) is not valid bash, or too big to check.

What: a syntax error, a NUL byte, an `eval`/`sh -c` payload that does not parse, a script
over the size budget, nesting too deep, or a check that ran out of its time budget.
Why: what bash would do with text bashflow cannot read is not known; unknown is deny.
Example: `if true; then echo` (no `fi`).
Fix: make the script valid bash (`bash -n` accepts it) and keep it under the budgets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Flag

CODE = "BF100"
NAME = "syntax-error"
EFFECT = "Flag"


def check(e: Flag, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.code == CODE:
        yield e.message, e.definite
