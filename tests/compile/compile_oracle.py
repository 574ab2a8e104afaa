"""An independent check of a workflow document's soundness, written apart from the graph builder.

It reads only the JSON document (never `bashflow.compile` internals) and compares effect sets
pairwise, the plain quadratic way: for every two siblings (same parent; pipeline elements
excepted, they run together as in bash) with no path of edges between them, their effects
must not conflict, and a node marked `barrier` must be ordered against every sibling.

Overlap rules (docs/compile.md): a path overlaps itself, the paths under it and the paths above
it; a glob overlaps, component by component, the names it may match (`fnmatch`); an unknown
path overlaps every path; stdout and stderr never conflict; an unknown variable, function or
process name overlaps every one of its kind; `any` overlaps everything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

Node = dict[str, Any]
PATHS = frozenset({"file", "tree", "glob"})


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _is_pattern(part: str) -> bool:
    return any(c in part for c in "*?[")


def paths_overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["path"] is None or b["path"] is None:
        return True
    pa, pb = _parts(a["path"]), _parts(b["path"])
    for x, y in zip(pa, pb, strict=False):
        gx = a["kind"] == "glob" and _is_pattern(x)
        gy = b["kind"] == "glob" and _is_pattern(y)
        if gx and gy:
            continue  # two patterns: assume they may match a common name
        if gx:
            if not fnmatch.fnmatchcase(y, x):
                return False
        elif gy:
            if not fnmatch.fnmatchcase(x, y):
                return False
        elif x != y:
            return False
    return True  # equal, or one is above the other


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["kind"] == "any" or b["kind"] == "any":
        return True
    if a["kind"] in PATHS and b["kind"] in PATHS:
        return paths_overlap(a, b)
    if a["kind"] != b["kind"]:
        return False
    kind = a["kind"]
    if kind in ("cwd", "network"):
        return True
    if kind == "stream":
        return a["name"] == b["name"] and a["name"] not in ("stdout", "stderr")
    return a["name"] is None or b["name"] is None or a["name"] == b["name"]


def conflicts(a: Node, b: Node) -> list[str]:
    """Why two nodes' effects conflict (empty: they do not)."""
    out: list[str] = []
    for w in a["writes"]:
        for r in b["reads"] + b["writes"]:
            if overlap(w, r):
                out.append(f"node {a['id']} writes {w}, node {b['id']} uses {r}")
    for w in b["writes"]:
        for r in a["reads"]:
            if overlap(w, r):
                out.append(f"node {b['id']} writes {w}, node {a['id']} reads {r}")
    return out


def sibling_groups(doc: dict[str, Any]) -> dict[int | None, list[Node]]:
    by_id = {n["id"]: n for n in doc["nodes"]}
    groups: dict[int | None, list[Node]] = {}
    for n in doc["nodes"]:
        parent = n["parent"]
        if parent is not None and by_id[parent]["kind"] == "pipeline":
            continue
        groups.setdefault(parent, []).append(n)
    return groups


def reachability(doc: dict[str, Any]) -> dict[int, set[int]]:
    succ: dict[int, list[int]] = {}
    for e in doc["edges"]:
        succ.setdefault(e["from"], []).append(e["to"])
    reach: dict[int, set[int]] = {}
    for n in sorted((n["id"] for n in doc["nodes"]), reverse=True):
        seen: set[int] = set()
        for s in succ.get(n, []):
            seen.add(s)
            seen |= reach.get(s, set())
        reach[n] = seen
    return reach


def unordered_pairs(doc: dict[str, Any]) -> Iterator[tuple[Node, Node]]:
    """Every two siblings with no path between them, in either direction."""
    reach = reachability(doc)
    for group in sibling_groups(doc).values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if b["id"] not in reach[a["id"]] and a["id"] not in reach[b["id"]]:
                    yield a, b


def problems(doc: dict[str, Any]) -> list[str]:
    """Every soundness problem of a document (empty when sound)."""
    out: list[str] = []
    for a, b in unordered_pairs(doc):
        why = conflicts(a, b)
        if why:
            out.append(f"nodes {a['id']} `{a['label']}` and {b['id']} `{b['label']}`: {why[0]}")
        for x, y in ((a, b), (b, a)):
            if x["barrier"]:
                out.append(f"barrier node {x['id']} is not ordered against node {y['id']}")
    return out
