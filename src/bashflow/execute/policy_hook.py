"""execute/policy_hook - the run-time policy check of each external command's concrete argv.

The policy package has no function that judges one argv, so the argv is quoted into a
one-line script (`cd` into the shell's current directory first, so relative paths resolve
as they will at run time) and given to `bashflow.policy.check`; verdicts are cached per
(directory, argv).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bashflow.execute.quoting import single_quote

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


class PolicyHook:
    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.cache: dict[tuple[str, tuple[str, ...]], str | None] = {}

    def judge(self, argv: list[str], path: str, interp: Interpreter) -> str | None:
        """None when allowed, else the reason it is denied."""
        from bashflow.policy.check import check

        cwd = os.getcwd()
        key = (cwd, tuple(argv))
        if key in self.cache:
            return self.cache[key]
        script = " ".join(single_quote(a) for a in argv)
        verdict = check(script, self.policy, cwd=cwd)
        reason = None
        if not verdict.allowed:
            reason = "; ".join(f.message for f in verdict.findings) or "not allowed by the policy"
        if len(self.cache) > 4096:
            self.cache.clear()
        self.cache[key] = reason
        return reason
