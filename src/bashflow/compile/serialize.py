"""compile/serialize.py - the workflow document (`bashflow.workflow` version 1) and `Workflow`.

The shape is the compiler contract's (docs/compile.md): nodes in program order (pre-order,
ids 1..n), edges between siblings, each node with its span, text, words, effects, spec,
barrier, verdict and editable settings.
"""

from __future__ import annotations

import re
from typing import Any

from bashflow.compile.graph import Edge, barrier_why, is_barrier
from bashflow.compile.model import CNode, Res, default_settings
from bashflow.parser.tojson import span_json
from bashflow.source import Source

SCHEMA = "bashflow.workflow"
VERSION = 1
_JOB = re.compile(r"^job:(\d+)$")


class Workflow:
    """A compiled script: `nodes` (visible, program order), `edges`, and `to_json()`."""

    def __init__(
        self,
        source: Source,
        data: bytes,
        nodes: list[CNode],
        edges: list[Edge],
        cwd: str | None,
        policy: dict[str, str] | None,
    ) -> None:
        self.source = source
        self.data = data
        self.nodes = nodes
        self.edges = edges
        self.cwd = cwd
        self.policy = policy
        self._sha256: str | None = None
        self._json: dict[str, Any] | None = None

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the source bytes (hashlib is loaded only when asked)."""
        if self._sha256 is None:
            import hashlib

            self._sha256 = hashlib.sha256(self.data).hexdigest()
        return self._sha256

    @property
    def id(self) -> str:
        return "wf-" + self.sha256[:16]

    def node(self, id: int) -> CNode:
        return self.nodes[id - 1]

    def to_json(self) -> dict[str, Any]:
        if self._json is None:
            by_uid = {n.uid: n for n in self.nodes}
            self._json = {
                "schema": SCHEMA,
                "version": VERSION,
                "id": self.id,
                "source": {
                    "filename": self.source.filename,
                    "sha256": self.sha256,
                    "text": self.source.text,
                },
                "cwd": self.cwd,
                "policy": self.policy,
                "defaults": default_settings(),
                "pools": {},
                "nodes": [node_json(n, self.source, by_uid) for n in self.nodes],
                "edges": [
                    {"from": a.id, "to": b.id, "kind": kind, "reason": reason}
                    for a, b, kind, reason in self.edges
                ],
            }
        return self._json


def _res(r: Res, by_uid: dict[int, CNode]) -> dict[str, Any]:
    name = r[2]
    if r[0] == "process" and name is not None:
        m = _JOB.match(name)
        if m:
            owner = by_uid.get(int(m.group(1)))
            name = f"job {owner.id}" if owner is not None and owner.id else "job"
    return {"kind": r[0], "path": r[1], "name": name}


def node_json(n: CNode, source: Source, by_uid: dict[int, CNode]) -> dict[str, Any]:
    from bashflow.compile.render import (
        shorten,
    )  # the pictures' label rule (loaded with the document)

    verdict = None
    if n.decision is not None:
        verdict = {"decision": n.decision, "findings": n.findings}
    barrier = is_barrier(n)
    return {
        "id": n.id,
        "kind": n.kind,
        "parent": n.parent.id if n.parent is not None else None,
        "role": n.role,
        "span": span_json(source, n.span),
        "text": n.text,
        "label": shorten(n.text),
        "words": n.words,
        "name": n.name,
        "resolution": n.resolution,
        "reads": [_res(r, by_uid) for r in n.eff_reads],
        "writes": [_res(r, by_uid) for r in n.eff_writes],
        "spec": n.spec,
        "barrier": barrier,
        "barrier_reason": barrier_why(n) if barrier else None,
        "background": n.background,
        "verdict": verdict,
        "settings": default_settings(),
    }
