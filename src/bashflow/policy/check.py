"""policy/check.py - `check(script, policy) -> Verdict`: the static policy check.

Parse, walk (`extract.py`) into effects, run every rule (`rules/`) over them, and return the
findings. Never raises on any script text (syntax errors, budgets and internal failures are
deny findings); raises `PolicyError` on a bad policy. Re-entrant: every call builds its own
walker; compiled policies are cached by object identity behind a lock (an optimisation only).
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bashflow.errors import ParseError, PolicyError
from bashflow.policy.commands import CommandRules
from bashflow.policy.findings import Finding, Verdict
from bashflow.policy.groups import UnknownGroup
from bashflow.policy.lite import LitePolicy
from bashflow.policy.paths import Access as Grant
from bashflow.policy.paths import PathTrie, components, resolve_paths
from bashflow.policy.records import record
from bashflow.policy.values import Field, State
from bashflow.source import MISSING, Source, Span

if TYPE_CHECKING:
    from bashflow.policy.model import Policy

MAX_SCRIPT_CHARS = 100_000
MAX_SCRIPT_LINES = 10_000
TIME_BUDGET_SECONDS = 0.6


@record
class Target:
    """A resolved path: exact, or a pattern (`directory`, children whose names start with
    `prefix`, and everything below them)."""

    path: str
    pattern: bool = False
    prefix: str = ""


class Context:
    """A policy compiled for one working directory and home; immutable once built."""

    def __init__(self, policy: Policy | LitePolicy, cwd: str, home: str,
                 base: str | None = None) -> None:  # fmt: skip
        self.policy = policy
        self.cwd = cwd
        self.home = home
        try:
            self.commands = CommandRules(policy.commands.allow, policy.commands.deny)
            resolved = resolve_paths(policy, cwd=base or cwd, home=home, must_exist=False)  # type: ignore[arg-type]
        except UnknownGroup as err:
            raise PolicyError(str(err.args[0])) from None
        self.trie: PathTrie = resolved.trie()
        self.deny = tuple(components(d) for d in resolved.deny)
        self.network = policy.network.allow

    def resolve(self, f: Field, cwd: str | None) -> Target | None:
        """Where a field points, or None when that is not known statically."""
        return _resolve(f, cwd, self.home)

    def grant(self, t: Target) -> Grant:
        return self.trie.access(t.path)

    def denied_inside(self, t: Target, recursive: bool, dotglob: bool = False) -> str | None:
        """A deny rule below the target (for recursive operations and patterns)."""
        base = components(t.path)
        n = len(base)
        for d in self.deny:
            if len(d) <= n or d[:n] != base:
                continue
            if t.pattern and not d[n].startswith(t.prefix):
                continue
            if t.pattern and not t.prefix and d[n].startswith(".") and not dotglob:
                continue  # `*` does not match dot files (dotglob is off)
            if recursive or t.pattern:
                return "/" + "/".join(d)
        return None


@functools.lru_cache(maxsize=4096)
def _resolve(f: Field, cwd: str | None, home: str) -> Target | None:
    if f.exact or (f.glob and not f.dotdot and not f.tainted):
        text = f.text
    else:
        return None
    if text.startswith("~/") or text == "~":
        text = home + text[1:]
    if not text.startswith("/"):
        if cwd is None:
            return None
        text = posixpath.join(cwd, text)
    if text.startswith("/proc/") or text == "/proc":
        text = _proc(_norm(text) if f.exact else text, cwd) or ""
        if not text or not f.exact:
            return None  # another process's root or cwd, or a glob over processes
    if f.exact:
        return Target(_norm(text))
    head, _, name = text.rpartition("/")
    return Target(_norm(head or "/"), True, name)


def _proc(path: str, cwd: str | None) -> str | None:
    """`/proc/self/root/x` is `/x`, `/proc/self/cwd/x` is `cwd/x`; other processes' roots and
    working directories are unknown. Other /proc paths are themselves."""
    parts = path.split("/")
    if len(parts) < 4 or parts[3] not in ("root", "cwd", "task", "map_files", "fd", "exe"):
        return path
    if parts[2] not in ("self", "thread-self"):
        return None
    rest = "/".join(parts[4:])
    if parts[3] == "root":
        return "/" + rest
    if parts[3] == "cwd" and cwd is not None:
        return posixpath.join(cwd, rest) if rest else cwd
    return None


def _norm(p: str) -> str:
    n = posixpath.normpath(p)
    return "/" + n.lstrip("/") if n.startswith("//") else n


_CACHE: dict[int, tuple[weakref.ref[Any], tuple[str, str | None], str, Context]] = {}
_LOCK = threading.Lock()


def compile_policy(policy: Policy | LitePolicy, cwd: str, home: str,
                   base: str | None = None) -> Context:  # fmt: skip
    key = id(policy)
    where = (cwd, base)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0]() is policy and hit[1] == where and hit[2] == home:
            return hit[3]
    ctx = Context(policy, cwd, home, base)
    with _LOCK:
        if len(_CACHE) >= 64:
            _CACHE.clear()
        _CACHE[key] = (weakref.ref(policy), where, home, ctx)
    return ctx


def _as_policy(policy: object) -> Policy | LitePolicy:
    """The policy to check against; pydantic is only imported when it is really needed."""
    if isinstance(policy, LitePolicy):
        return policy
    model = sys.modules.get("bashflow.policy.model")
    if model is not None and isinstance(policy, model.Policy):
        return policy  # type: ignore[no-any-return]
    if policy is None:
        from bashflow.policy.profiles import DEFAULT_PROFILE, lite_profile

        return lite_profile(DEFAULT_PROFILE)
    from bashflow.policy.model import Policy

    if isinstance(policy, Mapping):
        from pydantic import ValidationError

        try:
            return Policy.model_validate(dict(policy))
        except ValidationError as err:
            e = err.errors()[0]
            where = ".".join(str(x) for x in e["loc"]) or "policy"
            raise PolicyError(f"{where}: {e['msg']}") from None
    raise PolicyError(
        f"a policy must be a bashflow.Policy or a mapping, not {type(policy).__name__}"
    )


def check(
    script: str | bytes,
    policy: Policy | LitePolicy | Mapping[str, Any] | None = None,
    *,
    cwd: str | None = None,
    home: str | None = None,
    filename: str = "<string>",
    base: str | None = None,
) -> Verdict:
    """Check a script against a policy (default: the `workspace` profile).

    `cwd` and `home` are what the checker may assume (default: this process's working
    directory and `$HOME`). The policy's relative paths (`.`) are taken from `base`
    (default: `cwd`); the run-time check gives the run's work dir, so a `cd` inside the
    script does not move them. Deny on any finding, definite or unknown.
    """
    pol = _as_policy(policy)
    cwd = _norm(cwd if cwd is not None else os.getcwd())
    home = _norm(home if home is not None else os.path.expanduser("~"))
    ctx = compile_policy(pol, cwd, home, _norm(base) if base is not None else None)
    if isinstance(script, bytes):
        source = Source.from_bytes(script, filename)
    elif isinstance(script, str):
        source = Source(script, filename)
    else:
        source = Source("", filename)
        return _verdict(
            source,
            [
                (
                    "BF100",
                    f"cannot check a {type(script).__name__}; pass the script text",
                    MISSING,
                    True,
                )
            ],
        )
    try:
        return _check(source, ctx)
    except RecursionError:
        return _verdict(source, [("BF100", "script nested too deeply to check", MISSING, True)])
    except PolicyError:
        raise
    except Exception as err:  # fail closed: an internal failure is a deny, never an allow
        return _verdict(
            source,
            [
                (
                    "BF115",
                    f"internal error while checking: {type(err).__name__}: {err}",
                    MISSING,
                    True,
                )
            ],
        )


Hit = tuple[str, str, Span, bool]
# what BF114 looks at: ASCII controls but tab, newline and CR, and every non-ASCII character
# (`suspicious` decides which of those are invisible); one regex scan, not a Python loop
_ODD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x80-\U0010ffff]")


def _check(source: Source, ctx: Context) -> Verdict:
    from bashflow.parser import parse_source
    from bashflow.policy.extract import BudgetExceeded, Walker
    from bashflow.policy.rules import run_rules
    from bashflow.policy.words import suspicious

    start = time.monotonic()
    if len(source.text) > MAX_SCRIPT_CHARS or source.text.count("\n") > MAX_SCRIPT_LINES:
        why = f"script larger than the check budget ({MAX_SCRIPT_CHARS} characters, {MAX_SCRIPT_LINES} lines)"
        return _verdict(source, [("BF100", why, Span(0, 0), True)])
    try:
        tree = parse_source(source)
    except ParseError as err:
        return _verdict(source, [("BF100", f"syntax error: {err.message}", err.span, True)])
    hits: list[Hit] = []
    for m in _ODD_CHAR.finditer(source.text):
        ch, i = m.group(), m.start()
        if ch.isascii():
            hits.append(
                ("BF114", f"control character U+{ord(ch):04X} in the script", Span(i, i + 1), True)
            )
            break
        if suspicious(ch):
            hits.append(
                (
                    "BF114",
                    f"invisible or control character U+{ord(ch):04X} in the script",
                    Span(i, i + 1),
                    True,
                )
            )
            break
    walker = Walker(source, home=ctx.home, deadline=start + TIME_BUDGET_SECONDS)
    st = State(cwd=ctx.cwd)
    try:
        walker.run_script(tree, st)
    except BudgetExceeded:
        hits.append(("BF100", "checking took longer than its time budget", Span(0, 0), True))
    hits.extend(run_rules(walker.effects, ctx))
    return _verdict(source, hits)


def _verdict(source: Source, hits: list[Hit] | Iterator[Hit]) -> Verdict:
    from bashflow.policy.rules import RULE_NAMES

    seen: set[tuple[str, str, Span]] = set()
    findings: list[Finding] = []
    for code, message, span, definite in hits:
        key = (code, message, span)
        if key in seen:
            continue
        seen.add(key)
        if span is MISSING or span.start < 0:
            line, col, construct = 0, 0, ""
        else:
            line, col = source.line_col(span.start)
            construct = source.slice(span).split("\n", 1)[0][:80]
        findings.append(
            Finding(code, message, line, col, construct, definite, span, RULE_NAMES.get(code, ""))
        )
    findings.sort(key=lambda f: (f.line, f.col, f.code, f.message))
    return Verdict(tuple(findings), source)
