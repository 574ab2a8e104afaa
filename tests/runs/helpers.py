"""Helpers: write runs through the real Recorder (events as the interpreter sends them)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from bashflow.runs.markers import begin_marker, end_marker
from bashflow.runs.recorder import Recorder


def ev(**fields: Any) -> bytes:
    return (json.dumps(fields) + "\n").encode()


def plan(
    nodes: Sequence[tuple[int, int | None, str]], edges: Sequence[tuple[int, int]] = ()
) -> bytes:
    """nodes: (id, parent, text)"""
    return ev(
        event="plan",
        nodes=[
            {"id": i, "parent": p, "kind": "command", "line": i, "text": t} for i, p, t in nodes
        ],
        edges=[list(e) for e in edges],
    )


def node_run(
    rec: Recorder, node: int, status: str, *, t: float, out: bytes = b"", exit: int = 0
) -> None:
    """One execution of `node`: started, its output on stdout (with markers), finished."""
    rec.feed_events(ev(event="node_started", node=node, attempt=1, t=t))
    f = rec.output_filter(1)
    f.feed(begin_marker(rec.nonce, node) + out + end_marker(rec.nonce, node))
    rec.feed_events(
        ev(
            event="node_finished",
            node=node,
            status=status,
            exit=exit,
            signal=None,
            attempt=1,
            duration=0.25,
            t=t + 0.25,
        )
    )


def make_run(
    state: str,
    *,
    key: str = "/w/build.sh",
    name: str = "build.sh",
    statuses: Sequence[str] = ("success", "success"),
    exit_status: int = 0,
    keep: int = 5,
    argv: Sequence[str] = ("build.sh",),
    edges: Sequence[tuple[int, int]] = (),
    parents: dict[int, int] | None = None,
) -> str:
    """A finished run with one node per status (ids 1..n); returns its id."""
    rec = Recorder.start(
        state, key=key, name=name, argv=list(argv), cwd="/", env={}, jobs=2, keep=keep
    )
    parents = parents or {}
    n = len(statuses)
    rec.feed_events(plan([(i, parents.get(i), f"step {i}") for i in range(1, n + 1)], edges))
    base = 1000.0
    for i, status in enumerate(statuses, 1):
        if status in ("success", "failed", "timed_out", "cancelled"):
            node_run(
                rec,
                i,
                status,
                t=base + i,
                out=f"out {i}\n".encode(),
                exit=0 if status == "success" else 1,
            )
    rec.finish(exit_status)
    rec.close()
    return rec.run_id


def bashflow(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bashflow", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
