"""BF106 write-denied - a path is written that the policy does not let the script write.

What: `>`, `>>`, `&>`, `<>` redirects, `tee`, `rm`, `mv`, `cp`/`ln`/`install` targets,
`touch`, `mkdir`, `chmod`, `sed -i`, `dd of=`, `tar x` (the directory it extracts into),
`find -delete`. Writable = paths.write − paths.deny; recursive operations are denied when
their tree holds a denied path.
Why: writes outside the work area change the machine (shell rc files, other projects).
Example: `echo 'alias ls=evil' >> ~/.bashrc`
Fix: write only inside the policy's write paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from bashflow.policy.paths import Access as Grant
from bashflow.policy.rules.read_denied import path_check

if TYPE_CHECKING:
    from bashflow.policy.check import Context
    from bashflow.policy.values import Access

CODE = "BF106"
NAME = "write-denied"
EFFECT = "Access"


def check(e: Access, ctx: Context) -> Iterator[tuple[str, bool]]:
    if e.mode != "write":
        return
    yield from path_check(e, ctx, (Grant.WRITE,), "write", "paths.write")
