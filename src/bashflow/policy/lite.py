"""policy/lite.py - load a policy file without pydantic, for a fast cold `bashflow check`.

Importing pydantic and building the `Policy` model costs a fresh process more than the whole
check. `load_lite(path)` reads the TOML/JSON with the standard library and accepts it only
when it is *plainly* valid under the one schema (`model.py`): known keys, exact types,
non-empty entries, positive limits. Anything else — and every error — goes through
`Policy.load`, so the errors, their `P:line:col` and the accepted language stay the model's.
A test checks that whatever the lite path accepts, the model accepts with equal data.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bashflow.policy.records import field, record

if TYPE_CHECKING:
    from pathlib import Path


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


@record(weakref_slot=True)
class LitePolicy:
    """The parts of a policy the checker reads, shaped like `Policy` (duck-typed)."""

    commands: LiteCommands
    paths: LitePaths
    network: LiteNetwork
    data: dict[str, Any]


_SECTIONS: dict[str, dict[str, str]] = {
    "commands": {"allow": "entries", "deny": "entries"},
    "paths": {"read": "entries", "write": "entries", "deny": "entries"},
    "network": {"allow": "bool"},
    "env": {"pass": "patterns", "set": "table"},
    "limits": {
        "cpu_seconds": "int",
        "wall_seconds": "number",
        "memory_mib": "int",
        "file_size_mib": "int",
        "processes": "int",
        "open_files": "int",
        "disk_mib": "int",
        "inodes": "int",
        "output_mib": "int",
    },
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
        c, pa, n = data.get("commands", {}), data.get("paths", {}), data.get("network", {})
        return LitePolicy(
            LiteCommands(list(c.get("allow", [])), list(c.get("deny", []))),
            LitePaths(
                list(pa.get("read", [])), list(pa.get("write", [])), list(pa.get("deny", []))
            ),
            LiteNetwork(bool(n.get("allow", False))),
            data,
        )
    from bashflow.policy.model import Policy

    return Policy.load(path)
