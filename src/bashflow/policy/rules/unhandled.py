"""BF115 unhandled - a construct the checker does not handle, or an internal failure.

What: a syntax node kind without a handler, arithmetic that does not parse but contains
substitutions, a command substitution in a here-doc that does not parse, or an exception
inside the checker.
Why: fail closed (STYLE habit 7): what the checker did not look at is never allowed.
Example: `echo $(( $(id) + ))` (invalid arithmetic around a substitution)
Fix: rewrite the construct in a simpler form; report the case if it is valid bash.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Flag

CODE = "BF115"
NAME = "unhandled"
EFFECT = "Flag"


def check(e: Flag, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.code == CODE:
        yield e.message, e.definite
