"""BF110 inline-code - an interpreter runs code given inline or on standard input.

What: `python3 -c`, `perl -e`, `ruby -e`, `node -e`, `php -r`, `python3 -` or a here-doc fed
to an interpreter, `awk` programs that call `system()`, pipe to/from commands, `getline` or
print to files, `sed` scripts with `e`, `w`, `r` or `s///e|w`, `sed -f`/`awk -f`.
Why: inline code is a second language the shell checker cannot see into; only pure text
transforms (`sed 's/a/b/'`, `awk '{print $1}'`) are provably harmless.
Example: `python3 -c 'import os; os.system("rm -rf ~")'`
Fix: put the code in a file the policy covers and run it as a script, or use a pure
`sed`/`awk` transform.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.inline import inline_code

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Exec

CODE = "BF110"
NAME = "inline-code"
EFFECT = "Exec"


def check(e: Exec, ctx: Context) -> Iterator[tuple[str, bool]]:
    why = inline_code(e.argv)
    if why:
        yield why, "not known" not in why
