"""BF114 invisible-chars - invisible, bidi-control or look-alike characters.

What: a format or control character (zero-width space U+200B, bidi overrides U+202E, ...)
anywhere in the script, or a command name that is not plain ASCII (`rｍ`, Cyrillic `с`).
Why: the text a reviewer sees is not the text bash runs (Trojan Source); a look-alike name
slips past a deny list by basename.
Example: `r\u200bm -rf build`
Fix: remove the character; spell command names in ASCII.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Flag

CODE = "BF114"
NAME = "invisible-chars"
EFFECT = "Flag"


def check(e: Flag, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.code == CODE:
        yield e.message, e.definite
