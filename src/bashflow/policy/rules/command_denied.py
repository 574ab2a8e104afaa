"""BF102 command-denied - a `commands.deny` entry matches the argv.

What: deny entries match the program by basename wherever it lives (`/bin/rm`, `./rm`),
their flags anywhere after normalisation (`-rf` = `-fr` = `-r -f` = `--recursive --force`)
and their other words as the subcommand after global options (`git -C x push --force`).
With arguments that are not known statically, a deny entry that could match is *unknown*.
Why: deny beats allow; a deny list that reordered flags can dodge protects nothing.
Example: `git push origin main --force` with `deny = ["git push --force"]`
Fix: do not run it; if it is really needed, change the policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Exec


CODE = "BF102"
NAME = "command-denied"
EFFECT = "Exec"


def check(e: Exec, ctx: Context) -> Iterator[tuple[str, bool]]:
    if not e.argv[0].exact:
        return
    known: list[str] = []
    unknown: list[tuple[int, str]] = []
    for f in e.argv:
        if f.exact:
            known.append(f.text)
        else:
            unknown.append((len(known), f.text))
    m = ctx.commands.denied(known, unknown=unknown)
    if m is None:
        return
    if m.definite:
        yield f"`{m.entry.text}` is denied by commands.deny", True
    else:
        yield (
            f"arguments not known statically could make this `{m.entry.text}`, which commands.deny denies",
            False,
        )
