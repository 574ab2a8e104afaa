"""policy/paths.py - path rules as value objects, resolved against cwd/home, in a component trie.

Readable = read + write - deny; writable = write - deny; a deny rule covers its whole subtree and
beats any allow. Paths compare by whole component: `/work/projX` is not under `/work/proj`.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bashflow.policy.groups import expand_paths
from bashflow.policy.records import field, record

if TYPE_CHECKING:  # annotations only: the checker's fast path runs without pydantic
    from bashflow.policy.model import Policy


class Access(enum.IntEnum):
    """What a path rule grants. Order matters: a larger value wins on the same path."""

    NONE = 0
    READ = 1
    WRITE = 2
    DENY = 3


def normalize(path: str, *, cwd: str, home: str) -> str:
    """Absolute, lexically normalised form of a policy path entry (`~` → home, relative → cwd).

    `..` is resolved lexically (as the policy author wrote it); symlinks are resolved later by
    the sandbox, which needs real paths for the kernel.
    """
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    elif not path.startswith("/"):
        path = os.path.join(cwd, path)
    norm = os.path.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm


def components(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.split("/") if p)


@record(order=True)
class PathRule:
    """One rule: an absolute normalised path and what it grants to its subtree."""

    path: str
    access: Access

    def __post_init__(self) -> None:
        p = self.path
        if not p.startswith("/") or p.startswith("//") or os.path.normpath(p) != p:
            raise ValueError(f"path rule needs an absolute normalised path: {p!r}")

    @property
    def parts(self) -> tuple[str, ...]:
        return components(self.path)

    def covers(self, path: str) -> bool:
        """True when `path` is this rule's path or below it, by whole component."""
        mine = self.parts
        return components(path)[: len(mine)] == mine


@record(frozen=False)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    access: Access = Access.NONE


class PathTrie:
    """Rules compiled into a trie of path components; lookups walk one component at a time."""

    __slots__ = ("_root", "rules")

    def __init__(self, rules: Iterable[PathRule]) -> None:
        self.rules = tuple(sorted(set(rules)))
        self._root = _Node()
        for rule in self.rules:
            node = self._root
            for part in rule.parts:
                node = node.children.setdefault(part, _Node())
            node.access = max(node.access, rule.access)

    def access(self, path: str) -> Access:
        """The access an absolute normalised `path` gets: deny anywhere on the way wins, else the
        strongest grant on the way (write implies read)."""
        node = self._root
        best = node.access
        if best is Access.DENY:
            return best
        for part in components(path):
            nxt = node.children.get(part)
            if nxt is None:
                break
            node = nxt
            if node.access is Access.DENY:
                return Access.DENY
            best = max(best, node.access)
        return best

    def readable(self, path: str) -> bool:
        return self.access(path) in (Access.READ, Access.WRITE)

    def writable(self, path: str) -> bool:
        return self.access(path) is Access.WRITE


@record
class ResolvedPaths:
    """A policy's path section resolved on this machine."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    deny: tuple[str, ...]
    skipped: tuple[str, ...]
    """Entries (after group expansion and resolution) that do not exist here."""

    def trie(self) -> PathTrie:
        return PathTrie(
            [PathRule(p, Access.READ) for p in self.read]
            + [PathRule(p, Access.WRITE) for p in self.write]
            + [PathRule(p, Access.DENY) for p in self.deny]
        )


def resolve_paths(policy: Policy, *, cwd: str, home: str, must_exist: bool = True) -> ResolvedPaths:
    """Expand groups, `~` and relative entries; with `must_exist`, skip (and report) entries that
    do not exist on this machine. Never raises for a missing path."""
    skipped: list[str] = []

    def resolve(entries: list[str]) -> tuple[str, ...]:
        out: list[str] = []
        for entry in expand_paths(entries):
            path = normalize(entry, cwd=cwd, home=home)
            if must_exist and not os.path.lexists(path):
                if path not in skipped:
                    skipped.append(path)
                continue
            if path not in out:
                out.append(path)
        return tuple(out)

    sec = policy.paths
    return ResolvedPaths(resolve(sec.read), resolve(sec.write), resolve(sec.deny), tuple(skipped))
