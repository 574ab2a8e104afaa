"""execute/policy_hook - the run-time policy check of each external command's concrete argv.

The policy package has no function that judges one argv, so the argv is quoted into a
one-line script (`cd` into the shell's current directory first, so relative paths resolve
as they will at run time) and given to `bashflow.policy.check`; verdicts are cached per
(directory, argv). For both runners (`--no-sandbox` and `contained`): `resolve_policy` reads
exec's `--policy`/`--profile` (without pydantic when it can), and `precheck` runs the static
check first and renders the findings that stop a run (`blocking`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bashflow.execute.quoting import single_quote

if TYPE_CHECKING:
    from bashflow.cli.exec_cmd import ExecOptions
    from bashflow.execute.interp import Interpreter
    from bashflow.policy.findings import Finding
    from bashflow.policy.lite import LitePolicy
    from bashflow.policy.model import Policy


# Static findings that do not stop `exec`: the interpreter evaluates these itself, as bash
# would, and checks every argv they lead to at run time (inside the sandbox). A syntax error
# (also in an `eval` payload) is reported by the interpreter as bash reports it, after the
# commands before it have run; these variables only steer the shell itself.
RUNTIME_CODES = frozenset(["BF100"])
SHELL_ONLY_VARIABLES = frozenset(
    ["IFS", "PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "PWD", "OLDPWD", "CDPATH",
     "GLOBIGNORE", "SHELLOPTS", "BASHOPTS", "BASH_XTRACEFD", "HISTFILE"]
)  # fmt: skip


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings of the static precheck that stop a run before anything starts: the
    definite ones, except those the run-time check covers (see above)."""
    out = []
    for f in findings:
        if not f.definite or f.code in RUNTIME_CODES:
            continue
        quoted = f.message.split("`")  # BF109's message starts with the variable: `IFS` set by ...
        if f.code == "BF109" and len(quoted) > 2 and quoted[1] in SHELL_ONLY_VARIABLES:
            continue
        out.append(f)
    return out


def precheck(text: str, policy: LitePolicy, filename: str, workdir: str) -> list[str]:
    """The static precheck: the blocking findings (see `blocking`), each rendered with its
    source line (empty: the script may run). Both runners print these and exit 126."""
    from bashflow.policy.check import check
    from bashflow.render import diagnostic
    from bashflow.source import MISSING, Source

    verdict = check(text, policy, cwd=workdir, filename=filename)
    source = Source(text, filename)
    out = []
    for f in blocking(verdict.findings):
        span = f.span if f.line else MISSING
        out.append(diagnostic(source, span, f"deny[{f.code}]", f.message))
    return out


class PolicyHook:
    """The run-time check. `home` is the home directory `~` means to the checker (default:
    this process's `$HOME`); the sandboxed runner passes the one the policy was resolved with
    outside, since inside `HOME` is only set when the policy passes it."""

    def __init__(self, policy: Policy | LitePolicy, *, home: str | None = None) -> None:
        self.policy = policy
        self.home = home
        self.base = os.getcwd()
        """The run's work dir: the policy's `.` stays there when the script `cd`s away."""
        self.cache: dict[tuple[str, tuple[str, ...]], str | None] = {}

    def judge(self, argv: list[str], path: str, interp: Interpreter) -> str | None:
        """None when allowed, else the reason it is denied."""
        from bashflow.policy.check import check

        cwd = os.getcwd()
        key = (cwd, tuple(argv))
        if key in self.cache:
            return self.cache[key]
        script = " ".join(single_quote(a) for a in argv)
        verdict = check(script, self.policy, cwd=cwd, home=self.home, base=self.base)
        reason = None
        if not verdict.allowed:
            reason = "; ".join(f.message for f in verdict.findings) or "not allowed by the policy"
        if len(self.cache) > 4096:
            self.cache.clear()
        self.cache[key] = reason
        return reason

    def judge_redirect(self, path: str) -> str | None:
        """A redirection to `path` (`/dev/tcp/...`): None when allowed, else why not."""
        from bashflow.policy.check import check

        cwd = os.getcwd()
        key = (cwd, (">", path))
        if key not in self.cache:
            verdict = check(f": > {single_quote(path)}", self.policy, cwd=cwd, home=self.home,
                            base=self.base)  # fmt: skip
            reason = None
            if not verdict.allowed:
                reason = "; ".join(f.message for f in verdict.findings) or "not allowed"
            self.cache[key] = reason
        return self.cache[key]


def resolve_policy(o: ExecOptions) -> LitePolicy:
    """`--policy FILE` (or a profile name that is not a file), else `--profile NAME`, else
    `workspace`, as a `LitePolicy`: pydantic is imported only for a policy file that is not
    plainly valid (`policy.lite`), which the model then validates (or reports). Raises
    PolicyError / KeyError."""
    from bashflow.policy.lite import LitePolicy, lite_from_model
    from bashflow.policy.profiles import DEFAULT_PROFILE, lite_profile, load_policy

    if o.policy is not None:
        policy = load_policy(o.policy, lite=True)
        return policy if isinstance(policy, LitePolicy) else lite_from_model(policy)
    return lite_profile(o.profile or DEFAULT_PROFILE)
