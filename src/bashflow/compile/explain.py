"""compile/explain.py - `bashflow compile --explain`: why nodes that could run together will not.

For every body (the top level, and the children of each compound), nodes are taken in program
order. A node B is *held back* from an earlier sibling A when a path of edges leads from A to B
although A and B do not conflict themselves (neither is a barrier, their own effects do not
overlap, no control edge joins them). Listing every such pair would be quadratic noise, so the
pairs are grouped by the edge that carries them: "node 9 does not conflict with nodes 2, 4 but
waits for node 7 (reason), which comes after them". Following the reasons of node 7 in turn
gives the whole path. Each body also gets its depth: how many steps its nodes need at best.
Pairs are looked for among the 64 nearest earlier siblings of each node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bashflow.compile.graph import is_barrier
from bashflow.compile.model import PATH_KINDS, QUIET_STREAMS, CNode, Res

if TYPE_CHECKING:
    from bashflow.compile.serialize import Workflow

MAX_LISTED = 12
WINDOW = 64
"""How far back (in siblings) held-back pairs are looked for: beyond that the answer is the
same chain of edges, and a long body would make this quadratic."""


def _overlap(a: Res, b: Res) -> bool:
    if a[0] in PATH_KINDS and b[0] in PATH_KINDS:
        pa, pb = a[1], b[1]
        if pa is None or pb is None:
            return True
        if a[0] == "glob" or b[0] == "glob":
            pa, pb = _literal_dir(a), _literal_dir(b)
        return (
            pa == pb or pa.startswith(pb.rstrip("/") + "/") or pb.startswith(pa.rstrip("/") + "/")
        )
    if a[0] != b[0]:
        return False
    if a[0] == "stream" and (a[2] in QUIET_STREAMS or b[2] in QUIET_STREAMS):
        return False
    return a[2] is None or b[2] is None or a[2] == b[2] or a[0] in ("cwd", "network")


def _literal_dir(r: Res) -> str:
    path = r[1] or "/"
    if r[0] != "glob":
        return path
    out: list[str] = []
    for part in path.split("/"):
        if any(c in part for c in "*?["):
            break
        out.append(part)
    return "/".join(out) or "/"


def conflict(a: CNode, b: CNode) -> bool:
    """Whether the two nodes' own effects conflict (a write against a read or write)."""
    for wa in a.eff_writes:
        for rb in list(b.eff_reads) + list(b.eff_writes):
            if _overlap(wa, rb):
                return True
    return any(_overlap(wb, ra) for wb in b.eff_writes for ra in a.eff_reads)


def _ids(nodes: list[CNode]) -> str:
    ids = [str(n.id) for n in nodes]
    if len(ids) > MAX_LISTED:
        ids = [*ids[:MAX_LISTED], f"… ({len(nodes) - MAX_LISTED} more)"]
    return ", ".join(ids)


def _name(n: CNode) -> str:
    from bashflow.compile.render import shorten

    return f"node {n.id} `{shorten(n.text)}`"


def explain(wf: Workflow) -> str:
    groups: dict[int, list[CNode]] = {0: []}
    for n in wf.nodes:
        parent = n.parent
        if parent is not None and parent.kind == "pipeline":
            continue
        groups.setdefault(parent.id if parent is not None else 0, []).append(n)
    preds: dict[int, list[tuple[CNode, str]]] = {}
    for a, b, _kind, reason in wf.edges:
        preds.setdefault(b.id, []).append((a, reason))
    lines: list[str] = []
    for pid, group in groups.items():
        if len(group) < 2:
            continue
        where = "top level" if pid == 0 else f"body of {_name(wf.node(pid))}"
        lines.extend(_explain_group(where, group, preds))
    if not lines:
        return "nothing to explain: no two nodes of one body are held back from each other\n"
    return "\n".join(lines) + "\n"


def _explain_group(
    where: str, group: list[CNode], preds: dict[int, list[tuple[CNode, str]]]
) -> list[str]:
    index = {n.id: i for i, n in enumerate(group)}
    anc: list[int] = [0] * len(group)
    depth: list[int] = [1] * len(group)
    for i, n in enumerate(group):
        for p, _ in preds.get(n.id, []):
            j = index.get(p.id)
            if j is not None:
                anc[i] |= anc[j] | (1 << j)
                depth[i] = max(depth[i], depth[j] + 1)
    out = [f"{where}: {len(group)} nodes, {max(depth)} steps at best"]
    for i, b in enumerate(group):
        if is_barrier(b) or not anc[i]:
            continue
        direct = {index[p.id] for p, _ in preds.get(b.id, []) if p.id in index}
        held: dict[int, list[CNode]] = {}
        bits = anc[i]
        order = sorted(direct, reverse=True)
        for j in range(i - 1, max(-1, i - 1 - WINDOW), -1):  # the nearest earlier siblings
            if not (bits >> j) & 1 or j in direct:
                continue
            a = group[j]
            if not is_barrier(a) and not conflict(a, b):
                via = next((k for k in order if k > j and (anc[k] >> j) & 1), None)
                if via is not None:
                    held.setdefault(via, []).append(a)
        for k, nodes in sorted(held.items()):
            nodes.sort(key=lambda n: n.id)
            p = group[k]
            reason = next(r for q, r in preds[b.id] if q is p)
            out.append(
                f"  {_name(b)} does not conflict with node{'s' if len(nodes) > 1 else ''}"
                f" {_ids(nodes)} but waits for node {p.id} ({reason}), which comes after them"
            )
    return out
