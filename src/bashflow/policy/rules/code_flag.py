"""BF111 code-flag - flags or subcommands that make an allowed program run other code.

What: `git -c core.pager=...` (any `-c` key outside a small safe list), `git config
core.sshCommand ...`, `git rebase -x`, `git submodule foreach`, `git bisect run`, `git
difftool`, `--upload-pack`, `tar --to-command` / `--checkpoint-action` / `-I`, `rsync -e`,
`ssh -o ProxyCommand`, interactive programs that can shell out (`less`, `vim`, `man`),
`make --eval`, `zip -TT`; writing into a `.git` directory (hooks, config).
Why: these are how an allowed program is talked into running a denied one.
Example: `git -c core.pager='sh -c "rm -rf ~"' log`
Fix: drop the flag; configure tools through files the policy controls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.programs import code_flags
from bashflow.policy.values import Access

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Exec

CODE = "BF111"
NAME = "code-flag"
EFFECT = ("Exec", "Access")


def check(e: Exec | Access, ctx: Context) -> Iterator[tuple[str, bool]]:
    if isinstance(e, Access):
        t = ctx.resolve(e.path, e.cwd)
        if e.mode == "write" and t is not None and ".git" in t.path.split("/") and e.what != "git":
            yield f"writing {t.path} inside .git can make git run code (hooks, config)", True
        return
    why = code_flags(e.argv)
    if why:
        yield why, True
