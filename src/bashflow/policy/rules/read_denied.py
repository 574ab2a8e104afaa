"""BF105 read-denied - a path is read that the policy does not let the script read.

What: a redirect `< f`, a file operand of a known file tool (`cat`, `grep`, `cp` sources,
`tar c`), a path-looking argument of any program, `cd DIR`, `source f`. Readable =
paths.read ∪ paths.write − paths.deny. Recursive operations (`grep -r`, `find`, `tar c`,
`cp -r`) and globs are denied when their tree contains a denied path.
Why: reading secrets (`~/.ssh`, `.env`) is the usual goal of a hostile script.
Example: `cat ~/.ssh/id_rsa`
Fix: read only inside the policy's read paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.paths import Access as Grant

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Access

CODE = "BF105"
NAME = "read-denied"
EFFECT = "Access"


def check(e: Access, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.mode == "link":
        t = ctx.resolve(e.path, e.cwd)
        if t is not None and (ctx.grant(t) is Grant.DENY or ctx.denied_inside(t, True, e.dotglob)):
            yield f"a symlink to {t.path} would reach into paths.deny", True
        return
    if e.mode != "read":
        return
    yield from path_check(e, ctx, (Grant.READ, Grant.WRITE), "read", "paths.read")


def path_check(
    e: Access, ctx: Context, ok: tuple[Grant, ...], verb: str, section: str
) -> Iterator[tuple[str, bool]]:
    if e.path.exact and e.path.text.startswith(("/dev/tcp/", "/dev/udp/")):
        return
    t = ctx.resolve(e.path, e.cwd)
    if t is None:
        return  # unknown_path (BF107) says why
    who = f"`{e.what}` " if e.what and e.what != "redirection" else "a redirection "
    what = t.path + ("/" + t.prefix + "*" if t.pattern else "")
    grant = ctx.grant(t)
    if grant is Grant.DENY:
        yield f"{who}would {verb} {what}, which paths.deny covers", True
    elif grant not in ok:
        yield f"{who}would {verb} {what}, which is not in {section}", True
    else:
        inside = ctx.denied_inside(t, e.recursive, e.dotglob)
        if inside is not None:
            yield f"{who}would {verb} {what}, whose tree holds {inside} (paths.deny)", True
