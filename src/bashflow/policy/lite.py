"""policy/lite.py - a policy without pydantic, for a fast cold `bashflow check` and `exec`.

Importing pydantic and building the `Policy` model costs a fresh process more than the whole
check. `load_lite(path)` reads the TOML/JSON with the standard library and accepts it only
when it is *plainly* valid under the one schema (`model.py`): known keys, exact types,
non-empty entries, positive limits. Anything else — and every error — goes through
`Policy.load`, so the errors, their `P:line:col` and the accepted language stay the model's.
`LitePolicy` has every section of `Policy` with the model's defaults, under the same names
(duck-typed: the checker and `sandbox.prepare` read either), and `to_data()` equals the
model's. Tests check that whatever the lite path accepts, the model accepts with equal data.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bashflow.policy.records import field, record

if TYPE_CHECKING:
    from pathlib import Path

    from bashflow.policy.model import Policy


@record
class LiteCommands:
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)


@record
class LitePaths:
    read: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)


@record
class LiteNetwork:
    allow: bool = False


@record
class LiteEnv:
    pass_: list[str] = field(default_factory=list)
    set: dict[str, str] = field(default_factory=dict)


@record
class LiteLimits:
    """`model.LimitsSection`'s fields and defaults (`None`: no limit)."""

    cpu_seconds: int | None = 60
    wall_seconds: float | None = 600.0
    memory_mib: int | None = 1024
    file_size_mib: int | None = 256
    processes: int | None = 256
    open_files: int | None = 1024
    disk_mib: int | None = 1024
    inodes: int | None = 100_000
    output_mib: int | None = 64


LIMIT_NAMES: tuple[str, ...] = LiteLimits.__match_args__  # the fields, in order


@record(weakref_slot=True)
class LitePolicy:
    """A policy shaped like `Policy` (duck-typed), built without pydantic."""

    commands: LiteCommands = field(default_factory=LiteCommands)
    paths: LitePaths = field(default_factory=LitePaths)
    network: LiteNetwork = field(default_factory=LiteNetwork)
    env: LiteEnv = field(default_factory=LiteEnv)
    limits: LiteLimits = field(default_factory=LiteLimits)

    def to_data(self) -> dict[str, Any]:
        """The policy as plain data, equal to `Policy.to_data()` of the same policy."""
        c, pa, lim = self.commands, self.paths, self.limits
        limits: dict[str, Any] = {name: getattr(lim, name) for name in LIMIT_NAMES}
        if limits["wall_seconds"] is not None:
            limits["wall_seconds"] = float(limits["wall_seconds"])
        return {
            "commands": {"allow": list(c.allow), "deny": list(c.deny)},
            "paths": {"read": list(pa.read), "write": list(pa.write), "deny": list(pa.deny)},
            "network": {"allow": self.network.allow},
            "env": {"pass": list(self.env.pass_), "set": dict(self.env.set)},
            "limits": limits,
        }

    def with_readable(self, paths: list[str]) -> LitePolicy:
        """This policy with `paths` added to `paths.read` (those not there already)."""
        extra = [p for p in paths if p not in self.paths.read]
        if not extra:
            return self
        pa = LitePaths([*self.paths.read, *extra], list(self.paths.write), list(self.paths.deny))
        return LitePolicy(self.commands, pa, self.network, self.env, self.limits)


def lite_from_data(data: dict[str, Any]) -> LitePolicy:
    """A `LitePolicy` from data already known to be valid: plainly valid (see below) or
    dumped by the model (`Policy.to_data()`). Missing sections and keys take the defaults."""
    c, pa, n = data.get("commands", {}), data.get("paths", {}), data.get("network", {})
    env, lim = data.get("env", {}), data.get("limits", {})
    wall = lim.get("wall_seconds", 600.0)
    return LitePolicy(
        LiteCommands(list(c.get("allow", [])), list(c.get("deny", []))),
        LitePaths(list(pa.get("read", [])), list(pa.get("write", [])), list(pa.get("deny", []))),
        LiteNetwork(bool(n.get("allow", False))),
        LiteEnv(list(env.get("pass", [])), dict(env.get("set", {}))),
        LiteLimits(
            **{name: lim[name] for name in LIMIT_NAMES if name in lim and name != "wall_seconds"},
            wall_seconds=float(wall) if wall is not None else None,
        ),
    )


def lite_from_model(policy: Policy) -> LitePolicy:
    """The same policy as a `LitePolicy` (to hand to a process that does not load pydantic)."""
    return lite_from_data(policy.to_data())


_SECTIONS: dict[str, dict[str, str]] = {
    "commands": {"allow": "entries", "deny": "entries"},
    "paths": {"read": "entries", "write": "entries", "deny": "entries"},
    "network": {"allow": "bool"},
    "env": {"pass": "patterns", "set": "table"},
    "limits": {name: "number" if name == "wall_seconds" else "int" for name in LIMIT_NAMES},
}


def _ok(kind: str, v: Any) -> bool:
    if kind == "entries":
        return isinstance(v, list) and all(
            isinstance(s, str) and s.strip() and "\x00" not in s for s in v
        )
    if kind == "patterns":
        return isinstance(v, list) and all(
            isinstance(s, str) and s and "=" not in s and "\x00" not in s for s in v
        )
    if kind == "table":
        return isinstance(v, dict) and all(
            isinstance(k, str)
            and isinstance(x, str)
            and k
            and "=" not in k
            and "\x00" not in k
            and "\x00" not in x
            for k, x in v.items()
        )
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return type(v) is int and v > 0
    if kind == "number":
        return type(v) in (int, float) and v > 0
    return False


def plainly_valid(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    for name, section in data.items():
        keys = _SECTIONS.get(name)
        if keys is None or not isinstance(section, dict):
            return False
        for key, value in section.items():
            kind = keys.get(key)
            if kind is None or not _ok(kind, value):
                return False
    return True


def load_lite(path: str | Path) -> Any:
    """A `LitePolicy` when the file is plainly valid, else `Policy.load(path)` (which raises
    `PolicyError` at `P:line:col` for a bad one)."""
    # os.path and open() rather than pathlib, and json only for .json: both cost a cold start.
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        if os.path.splitext(path)[1].lower() == ".json":
            import json

            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (OSError, ValueError):
        data = None
    if data is not None and plainly_valid(data):
        return lite_from_data(data)
    from bashflow.policy.model import Policy

    return Policy.load(path)
