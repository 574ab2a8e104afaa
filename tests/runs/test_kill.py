"""SIGKILL of a process writing a run through Recorder, at random moments: the database stays
consistent and the run shows as crashed when the history is opened again."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bashflow.runs.store import Store

WRITER = r"""
import json, sys
from bashflow.runs.markers import begin_marker, end_marker
from bashflow.runs.recorder import Recorder

N = 200
rec = Recorder.start(sys.argv[1], key="/w/loop.sh", name="loop.sh", argv=["loop.sh"], env={})
out = rec.output_filter(1)
nodes = [{"id": i, "parent": None, "kind": "command", "line": i, "text": f"step {i}"}
         for i in range(1, N + 1)]
edges = [[i, i + 1] for i in range(1, N)]
rec.feed_events((json.dumps({"event": "plan", "nodes": nodes, "edges": edges}) + "\n").encode())
print(rec.run_id, flush=True)
runs = [0] * (N + 1)
t = 0.0
i = 0
while True:
    node = i % N + 1
    runs[node] += 1
    t += 0.001
    rec.feed_events(json.dumps({"event": "node_started", "node": node, "attempt": 1, "t": t}).encode() + b"\n")
    out.feed(begin_marker(rec.nonce, node) + f"{node}:{runs[node]}\n".encode() + end_marker(rec.nonce, node))
    rec.feed_events(json.dumps({"event": "node_finished", "node": node, "status": "success",
                                "exit": 0, "signal": None, "attempt": 1, "duration": 0.001,
                                "t": t}).encode() + b"\n")
    if i % 7 == 0:
        rec.commit(force=True)
    i += 1
"""


def check_consistent(state: Path, run_id: str) -> int:
    """Returns how many executions the run recorded."""
    conn = sqlite3.connect(state / "history.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = Store.open(str(state))  # sweeps: the killed writer's run is crashed now
    run = store.get_run(run_id)
    assert run is not None and run["status"] == "crashed" and run["finished"] is not None
    nodes = store.nodes(run_id)
    edges = store.edges(run_id)
    # the plan is one transaction: all of it or none of it
    assert len(nodes) in (0, 200) and len(edges) == (199 if nodes else 0)
    for n in nodes:
        assert n["status"] in ("success", "cancelled")
        # a node's output and its execution count are written in the same transaction
        lines = (n["stdout"] or b"").decode().splitlines()
        assert lines == [f"{n['node_id']}:{j}" for j in range(1, n["executions"] + 1)]
        assert (n["status"] == "success") == (n["executions"] > 0)
    orphans = store.conn.execute(
        "SELECT count(*) FROM nodes WHERE run_id NOT IN (SELECT id FROM runs)"
    ).fetchone()[0]
    assert orphans == 0
    store.close()
    return sum(n["executions"] for n in nodes)


@pytest.mark.slow
def test_sigkill_of_the_writer_leaves_a_consistent_history(tmp_path: Path) -> None:
    state = tmp_path / "state"
    rng = random.Random(7)
    run_ids = []
    recorded = 0
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        run_id = proc.stdout.readline().strip()
        assert run_id.startswith("r-")
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        recorded += check_consistent(state, run_id)
        run_ids.append(run_id)
    # retention (5 per key) kept the newest five
    store = Store.open(str(state))
    assert [r["id"] for r in store.list_runs(10)] == run_ids[::-1][:5]
    store.close()
    assert recorded > 0  # the writers were killed while they were writing, not before
