"""compile/graph.py - effects of compound nodes and function calls, then the edges.

A node's effects (`eff_reads` / `eff_writes`) are its own plus the union of its children's;
a subshell (`( )`, `$( )`, a pipeline element, `&`) keeps its changes to variables, functions
and the cwd to itself, and redirected standard input is not the script's. A call carries the
effects of the function's body (all definitions of that name; iterated to a fixed point for
calls inside functions). `exit` / `return` / `break` / `continue` make the node that contains
them a barrier up to the construct they leave.

Edges join siblings (same parent). For each body, in program order, a table per resource
keeps the last writer and the readers since that write (files in a path trie: a path
overlaps its ancestors and descendants, a glob its literal directory, an unknown path
everything), so each node is compared with what it conflicts with, not with every earlier
node. A barrier takes edges from every sink since the previous barrier and resets the
tables; every later node follows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bashflow.compile.model import (
    ANY,
    LOOP_KINDS,
    PATH_KINDS,
    QUIET_STREAMS,
    SHELL_STATE_KINDS,
    STDIN,
    CNode,
    Res,
    ResSet,
    res_text,
)

Edge = tuple[CNode, CNode, str, str]
Summary = tuple[ResSet, ResSet, set[str]]
MAX_ROUNDS = 8
GLOB_CHARS = frozenset("*?[")


# --------------------------------------------------------------------------- effects


def _strip_stdin(s: ResSet) -> ResSet:
    if STDIN in s:
        s = dict(s)
        del s[STDIN]
    return s


def effective(nodes: list[CNode], summaries: dict[str, Summary]) -> None:
    """Fill `eff_reads`, `eff_writes`, `eff_escapes` bottom-up (children come after their
    parent in `nodes`)."""
    for node in reversed(nodes):
        r: ResSet = dict(node.reads)
        w: ResSet = dict(node.writes)
        esc = set(node.escapes)
        for name in node.calls:
            s = summaries.get(name)
            if s is not None:
                r.update(s[0])
                w.update(s[1])
                esc |= s[2]
        if node.kind == "command" and node.stdin_redirected:
            r, w = _strip_stdin(r), _strip_stdin(w)
        if node.kind != "function":
            for c in node.children:
                r.update(c.eff_reads)
                w.update(c.eff_writes)
                esc |= c.eff_escapes
            if node.kind != "command" and node.stdin_redirected:
                r, w = _strip_stdin(r), _strip_stdin(w)
        if node.kind in LOOP_KINDS:
            esc.discard("break")
            esc.discard("continue")
        if node.inline:
            esc.discard("return")
        if node.boundary:
            w = {k: None for k in w if k[0] not in SHELL_STATE_KINDS}
            esc.discard("exit")
            esc.discard("return")
        if node.stdin_pipe:
            r, w = _strip_stdin(r), _strip_stdin(w)
        node.eff_reads, node.eff_writes, node.eff_escapes = r, w, esc


def function_summaries(nodes: list[CNode]) -> dict[str, Summary]:
    defs: dict[str, list[CNode]] = {}
    for n in nodes:
        if n.kind == "function" and n.name is not None:
            defs.setdefault(n.name, []).append(n)
    out: dict[str, Summary] = {}
    for name, dnodes in defs.items():
        r: ResSet = {}
        w: ResSet = {}
        esc: set[str] = set()
        for d in dnodes:
            for c in d.children:
                r.update(c.eff_reads)
                w.update(c.eff_writes)
                esc |= c.eff_escapes
        esc.discard("return")
        out[name] = (r, w, esc)
    return out


def resolve_effects(nodes: list[CNode]) -> None:
    """Effects of every node, with calls carrying their functions' effects (fixed point)."""
    summaries: dict[str, Summary] = {}
    effective(nodes, summaries)
    if not any(n.calls for n in nodes):
        return
    size = -1
    for _ in range(MAX_ROUNDS):
        summaries = function_summaries(nodes)
        new_size = sum(len(s[0]) + len(s[1]) + len(s[2]) for s in summaries.values())
        if new_size == size:
            return
        size = new_size
        effective(nodes, summaries)
    for n in nodes:  # recursion that did not settle: calls are barriers
        if n.calls:
            n.barrier("calls functions whose effects did not settle")
    effective(nodes, summaries)


def is_barrier(n: CNode) -> bool:
    return ANY in n.eff_writes or ANY in n.eff_reads or bool(n.eff_escapes)


def barrier_why(n: CNode) -> str:
    if n.eff_escapes:
        return "`" + "`, `".join(sorted(n.eff_escapes)) + "` may end what follows"
    return n.barrier_reason or _inner_reason(n) or "it may do anything"


def _inner_reason(n: CNode) -> str | None:
    stack = list(n.children)
    while stack:
        c = stack.pop(0)
        if c.barrier_reason is not None and ANY in c.eff_writes:
            return c.barrier_reason
        stack.extend(c.children)
    return None


# --------------------------------------------------------------------------- tables


class _Entry:
    """The last writer of one resource and the readers since."""

    __slots__ = ("readers", "writer")

    def __init__(self) -> None:
        self.writer: tuple[CNode, Res] | None = None
        self.readers: list[tuple[CNode, Res]] = []


class _TNode(_Entry):
    """A path component's entry in the path trie, with the components under it."""

    __slots__ = ("kids",)

    def __init__(self) -> None:
        super().__init__()
        self.kids: dict[str, _TNode] = {}


def _components(r: Res) -> list[str]:
    path = r[1]
    if path is None:
        return []
    parts = [p for p in path.split("/") if p]
    if r[0] == "glob":
        for i, p in enumerate(parts):
            if GLOB_CHARS & set(p):
                return parts[:i]
    return parts


def _family(r: Res) -> str | None:
    kind = r[0]
    if kind in PATH_KINDS:
        return "path"
    if kind == "stream" and r[2] in QUIET_STREAMS:
        return None
    return kind


def _key(r: Res) -> tuple[str, str | None] | None:
    kind = r[0]
    if kind == "stream":
        return None if r[2] in QUIET_STREAMS else ("stream", r[2])
    if kind == "cwd" or kind == "network":
        return (kind, "-")
    return (kind, r[2])


class Tables:
    """Last writer and readers since, per resource, for one body."""

    def __init__(self) -> None:
        self.root = _TNode()
        self.fam: dict[str, dict[str | None, _Entry]] = {}

    def _path_nodes(self, parts: list[str], make: bool) -> tuple[list[_TNode], _TNode | None]:
        t = self.root
        seen = [t]
        for p in parts:
            nxt = t.kids.get(p)
            if nxt is None:
                if not make:
                    return seen, None
                nxt = t.kids[p] = _TNode()
            t = nxt
            seen.append(t)
        return seen[:-1], t

    def conflicts(self, r: Res, write: bool) -> Iterable[tuple[CNode, Res, bool]]:
        """Earlier accesses `r` conflicts with: (node, its resource, it was a write)."""
        if r[0] in PATH_KINDS:
            ancestors, target = self._path_nodes(_components(r), False)
            for t in ancestors:
                yield from _entry_conflicts(t, write)
            if target is not None:
                stack = [target]
                while stack:
                    t = stack.pop()
                    yield from _entry_conflicts(t, write)
                    stack.extend(t.kids.values())
            return
        key = _key(r)
        if key is None:
            return
        fam = self.fam.get(key[0])
        if not fam:
            return
        entries = list(fam.values()) if key[1] is None else [fam.get(key[1]), fam.get(None)]
        for entry in entries:
            if entry is not None:
                yield from _entry_conflicts(entry, write)

    def record(self, node: CNode, r: Res, write: bool) -> None:
        if r[0] in PATH_KINDS:
            _, t = self._path_nodes(_components(r), True)
            assert t is not None
            if write:
                t.writer, t.readers, t.kids = (node, r), [], {}
            else:
                t.readers.append((node, r))
            return
        key = _key(r)
        if key is None:
            return
        fam = self.fam.get(key[0])
        if fam is None:
            fam = self.fam[key[0]] = {}
        if write and key[1] is None:
            fam.clear()
        e = fam.get(key[1])
        if e is None:
            e = fam[key[1]] = _Entry()
        if write:
            e.writer, e.readers = (node, r), []
        else:
            e.readers.append((node, r))


def _entry_conflicts(e: _Entry, write: bool) -> Iterable[tuple[CNode, Res, bool]]:
    if e.writer is not None:
        yield e.writer[0], e.writer[1], True
    if write:
        for n, r in e.readers:
            yield n, r, False


# --------------------------------------------------------------------------- edges


EDGE_KIND = {
    "file": "data",
    "tree": "data",
    "glob": "data",
    "stream": "data",
    "network": "data",
    "variable": "variable",
    "function": "variable",
    "cwd": "cwd",
    "process": "order",
    "any": "order",
}
_UID = re.compile(r"\{(\d+)\}")


def _conflict_reason(x: CNode, r: Res, write: bool, other: CNode, ores: Res, owrite: bool) -> str:
    what = res_text(r)
    if r[0] in PATH_KINDS and ores[0] in PATH_KINDS and ores[1] != r[1]:
        what += f" (overlaps {res_text(ores)})"
    if not write:
        return f"node {x.id} reads {what}, written by node {other.id}"
    if owrite:
        return f"node {x.id} writes {what}, also written by node {other.id}"
    return f"node {x.id} writes {what}, read by node {other.id}"


def _infallible(n: CNode) -> bool:
    if n.kind == "function":
        return True
    if n.kind == "command" and not n.children:
        return n.resolution == "assignment" or n.name in (":", "true")
    return False


def _effectful(n: CNode) -> bool:
    return any(not (r[0] == "stream" and r[2] in QUIET_STREAMS) for r in n.eff_writes)


def build_group(group: list[CNode], errexit: bool, by_uid: dict[int, CNode]) -> list[Edge]:
    """Edges between the nodes of one body, in program order."""
    edges: dict[tuple[int, int], Edge] = {}
    tables = Tables()
    last_barrier: CNode | None = None
    since: list[CNode] = []
    since_set: set[int] = set()
    has_out: set[int] = set()
    fallible: list[CNode] = []
    prev: CNode | None = None

    preds: set[int] = set()
    # reads only conflict with writes: a kind nobody in this body writes needs no table
    written = {_family(r) for x in group for r in x.eff_writes} - {None}

    def add(src: CNode, dst: CNode, kind: str, reason: str) -> None:
        if src is dst or src.hidden:
            return
        k = (src.uid, dst.uid)
        if k not in edges:
            edges[k] = (src, dst, kind, reason)
            has_out.add(src.uid)
            preds.add(src.uid)

    for x in group:
        preds = set()
        for src, why in x.ctrl:
            add(src, x, "control", _UID.sub(lambda m: str(by_uid[int(m.group(1))].id), why))
        if x.status_dep and prev is not None:
            add(prev, x, "control", f"node {x.id} reads the exit status of node {prev.id}")
        if errexit:
            if _effectful(x) or is_barrier(x):
                for f in fallible:
                    add(
                        f,
                        x,
                        "control",
                        f"with `set -e`, node {x.id} starts only after node {f.id} succeeded",
                    )
                fallible = [x]
            elif not _infallible(x):
                fallible.append(x)
        if is_barrier(x):
            why = barrier_why(x)
            kind = "control" if x.eff_escapes else "order"  # `exit` & co. are control
            for s in since:
                if s.uid not in has_out:
                    add(s, x, kind, f"node {x.id} is a barrier ({why}): it waits for node {s.id}")
            if last_barrier is not None and not since:
                add(last_barrier, x, kind, f"node {x.id} and node {last_barrier.id} are barriers")
            tables = Tables()
            last_barrier, since, since_set = x, [], set()
            prev = x
            continue
        reads = [r for r in x.eff_reads if _family(r) in written]
        writes = [r for r in x.eff_writes if _family(r) is not None]
        found: list[tuple[CNode, Res, bool, Res, bool]] = []
        for r in reads:
            for other, ores, owrite in tables.conflicts(r, False):
                found.append((other, ores, owrite, r, False))
        for r in writes:
            for other, ores, owrite in tables.conflicts(r, True):
                found.append((other, ores, owrite, r, True))
        for other, ores, owrite, r, write in found:
            k = (other.uid, x.uid)
            if k not in edges:
                kind = EDGE_KIND.get(r[0], "order")
                add(other, x, kind, _conflict_reason(x, r, write, other, ores, owrite))
        if last_barrier is not None and not (preds & since_set):
            add(
                last_barrier,
                x,
                "control" if last_barrier.eff_escapes else "order",
                f"node {x.id} follows barrier node {last_barrier.id} ({barrier_why(last_barrier)})",
            )
        for r in reads:
            tables.record(x, r, False)
        for r in writes:
            tables.record(x, r, True)
        since.append(x)
        since_set.add(x.uid)
        prev = x
    return list(edges.values())


def build_edges(nodes: list[CNode], errexit: bool) -> list[Edge]:
    """Edges of every body: the top level, and the children of every visible node except
    pipelines (their elements run at the same time, as in bash)."""
    by_uid = {n.uid: n for n in nodes}
    groups: dict[int, list[CNode]] = {-1: []}
    for n in nodes:
        if n.hidden:
            continue
        if n.parent is None:
            groups[-1].append(n)
        elif n.parent.kind != "pipeline":
            groups.setdefault(n.parent.uid, []).append(n)
    out: list[Edge] = []
    for group in groups.values():
        if len(group) > 1:
            out.extend(build_group(group, errexit, by_uid))
    out.sort(key=lambda e: (e[0].id, e[1].id))
    return out
