"""policy/load.py - read a policy from TOML or JSON; every error points at `P:line:col`.

tomllib and json give values without positions, so a validation error's location (a tuple of
keys like `("limits", "memory_mib")`) is mapped back to the text by `locate`, a small scanner
that understands table headers, dotted/quoted keys and JSON object nesting well enough to find
the offending key. When it cannot, the error points at the start of the file (never nowhere).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bashflow.errors import PolicyError
from bashflow.policy.model import Policy
from bashflow.source import Source, Span

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|=)")


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read policy {str(p)!r}: {e.strerror}") from None
    fmt = "json" if p.suffix.lower() == ".json" else "toml"
    return loads_policy(data.decode("utf-8", "surrogateescape"), str(p), fmt=fmt)


def loads_policy(text: str, filename: str = "<policy>", *, fmt: str = "toml") -> Policy:
    source = Source(text, filename)
    if fmt == "json":
        data = _parse_json(source)
    elif fmt == "toml":
        data = _parse_toml(source)
    else:
        raise PolicyError(f"unknown policy format {fmt!r} (expected toml or json)")
    if not isinstance(data, dict):
        raise PolicyError("a policy must be a table/object", source=source, span=Span(0, 0))
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        where = ".".join(str(part) for part in loc) or "policy"
        offset = locate(source, loc, json_text=fmt == "json")
        raise PolicyError(
            f"{where}: {_message(err)}", source=source, span=Span(offset, offset + 1)
        ) from None


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    return str(err.get("msg", "invalid value"))


def _offset(source: Source, line: int, col: int) -> int:
    text = source.text
    pos = 0
    for _ in range(line - 1):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return min(pos + max(col - 1, 0), len(text))


def _parse_toml(source: Source) -> Any:
    try:
        return tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_POS.search(msg)
        off = _offset(source, int(m.group(1)), int(m.group(2))) if m else 0
        plain = _TOML_POS.sub("", msg).strip()
        raise PolicyError(
            f"invalid TOML: {plain}", source=source, span=Span(off, off + 1)
        ) from None


def _parse_json(source: Source) -> Any:
    try:
        return json.loads(source.text)
    except json.JSONDecodeError as e:
        off = _offset(source, e.lineno, e.colno)
        raise PolicyError(
            f"invalid JSON: {e.msg}", source=source, span=Span(off, off + 1)
        ) from None


def locate(source: Source, loc: Sequence[str | int], *, json_text: bool) -> int:
    """Best character offset of the key path `loc` in the policy text (0 when not found)."""
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if keys and keys[-1] == "pass_":
        keys[-1] = "pass"
    keys = ["pass" if k == "pass_" else k for k in keys]
    if not keys:
        return 0
    return _locate_json(source.text, keys) if json_text else _locate_toml(source.text, keys)


def _locate_json(text: str, keys: list[str]) -> int:
    pos = 0
    found = 0
    for key in keys:
        i = text.find(json.dumps(key) + "", pos)
        while i >= 0 and not re.match(r"\s*:", text[i + len(json.dumps(key)) :]):
            i = text.find(json.dumps(key), i + 1)
        if i < 0:
            return found
        found = pos = i
    return found


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "\"'" and key[-1:] == key[:1] else key


def _locate_toml(text: str, keys: list[str]) -> int:
    table: list[str] = []
    offset = 0
    best = 0
    best_len = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        header = _TOML_HEADER.match(line)
        if header and not stripped.startswith("[["):
            table = [_unquote(p.strip()) for p in header.group(1).split(".")]
            if table == keys[: len(table)] and len(table) > best_len:
                best, best_len = offset + line.index("[") + 1, len(table)
        else:
            m = _TOML_KEY.match(line)
            if m:
                name = _unquote(m.group(1))
                path = [*table, name]
                rest = line[m.end(1) :].lstrip()
                if rest.startswith("."):
                    # dotted key: `limits.memory_mib = 1`
                    dotted = line.split("=", 1)[0]
                    path = [*table, *(_unquote(p.strip()) for p in dotted.split("."))]
                n = 0
                while n < min(len(path), len(keys)) and path[n] == keys[n]:
                    n += 1
                if n == len(path) and n > best_len:
                    best, best_len = offset + m.start(1), n
        offset += len(line)
    return best


def dump_toml(policy: Policy) -> str:
    """Serialise a policy as TOML (limits that are `None` are left out, i.e. unlimited is not
    expressible in TOML other than by JSON; use JSON `null` for that)."""
    data = policy.to_data()
    out: list[str] = []
    for section, values in data.items():
        out.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, dict):
                inner = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())
                out.append(f"{key} = {{ {inner} }}" if inner else f"{key} = {{}}")
            elif isinstance(value, bool):
                out.append(f"{key} = {'true' if value else 'false'}")
            else:
                out.append(f"{key} = {json.dumps(value)}")
        out.append("")
    return "\n".join(out)
