"""runs/control and `bashflow cancel|pause|resume`: against a real child process that stands
in for the host (it records the signals it receives), and real dead pids."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.runs.helpers import bashflow, make_run

from bashflow.runs.control import ControlError, find_run, nodes_to_keep, signal_run
from bashflow.runs.store import Store, proc_start_time

HOST = r"""
import os, signal, sys, time
log = sys.argv[1]
def note(sig, frame):
    with open(log, "a") as f:
        f.write(signal.Signals(sig).name + "\n")
for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, note)
with open(log + ".ready", "w"):
    pass
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = tmp_path / "signals.log"
    proc = subprocess.Popen([sys.executable, "-c", HOST, str(log)])
    deadline = time.monotonic() + 20
    while not Path(str(log) + ".ready").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    try:
        yield proc, log
    finally:
        proc.kill()
        proc.wait()


def wait_for_lines(log: Path, n: int) -> list[str]:
    deadline = time.monotonic() + 20
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= n or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def live_run(state: str, run_id: str, pid: int, start: int | None, status: str = "running") -> None:
    store = Store.open(state)
    store.insert_run(
        {
            "id": run_id,
            "key": "/w/s.sh",
            "name": "s.sh",
            "status": status,
            "started": time.time(),
            "host_pid": pid,
            "host_pid_start": start,
            "argv": ["s.sh"],
        }
    )
    store.close()


@pytest.mark.slow
def test_pause_resume_cancel_signal_the_host(
    tmp_path: Path, host: tuple[subprocess.Popen[bytes], Path]
) -> None:
    proc, log = host
    state = str(tmp_path / "state")
    os.makedirs(state)
    live_run(state, "r-20261121-120000-aaaa", proc.pid, proc_start_time(proc.pid))
    r = bashflow("pause", "r-20261121-120000", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert f"pausing run r-20261121-120000-aaaa (pid {proc.pid})" in r.stderr
    assert wait_for_lines(log, 1) == ["SIGUSR1"]
    # the host records `paused` itself (Recorder.paused); the test plays its part
    store = Store.open(state)
    store.write("r-20261121-120000-aaaa", run={"status": "paused"})
    store.close()
    r = bashflow("pause", "last", "--state-dir", state)
    assert r.returncode == 1 and "already paused" in r.stderr
    r = bashflow("resume", "last", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert wait_for_lines(log, 2) == ["SIGUSR1", "SIGUSR2"]
    r = bashflow("cancel", "20261121-120000-aaaa", "--state-dir", state)
    assert r.returncode == 0, r.stderr
    assert wait_for_lines(log, 3) == ["SIGUSR1", "SIGUSR2", "SIGTERM"]


def test_reused_pid_is_not_signalled(
    tmp_path: Path, host: tuple[subprocess.Popen[bytes], Path]
) -> None:
    proc, log = host
    state = str(tmp_path)
    start = proc_start_time(proc.pid)
    assert start is not None
    # the run's host had this pid but started at another time: another process now
    live_run(state, "r-1", proc.pid, start - 1)
    store = Store.open(state, sweep=False)
    with pytest.raises(ControlError, match=r"not running \(its bashflow is gone"):
        signal_run(store, find_run(store, "r-1"), "cancel")
    assert store.get_run("r-1")["status"] == "crashed"  # type: ignore[index]
    store.close()
    time.sleep(0.2)
    assert not log.exists()
    assert proc.poll() is None


def test_dead_host_is_marked_crashed_not_signalled(tmp_path: Path) -> None:
    state = str(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live_run(state, "r-2", dead.pid, 5)
    # every bashflow command that opens the history sweeps it first
    r = bashflow("cancel", "r-2", "--state-dir", state)
    assert r.returncode == 1
    assert r.stderr == "bashflow: run r-2 is not running (it is crashed)\n"


def test_finished_run_cannot_be_controlled(tmp_path: Path) -> None:
    run_id = make_run(str(tmp_path))
    for action in ("cancel", "pause", "resume"):
        r = bashflow(action, run_id, "--state-dir", str(tmp_path))
        assert r.returncode == 1
        assert r.stderr == f"bashflow: run {run_id} is not running (it is success)\n"


def test_find_run_references(tmp_path: Path) -> None:
    state = str(tmp_path)
    store = Store.open(state)
    for run_id, started in (
        ("r-20261121-100000-ab12", 1.0),
        ("r-20261121-100000-ab34", 2.0),
        ("r-20261121-110000-cd56", 3.0),
    ):
        store.insert_run(
            {
                "id": run_id,
                "key": run_id,
                "name": "n",
                "status": "success",
                "started": started,
                "argv": [],
            }
        )
    assert find_run(store, "last")["id"] == "r-20261121-110000-cd56"
    assert find_run(store, "r-20261121-100000-ab12")["id"] == "r-20261121-100000-ab12"
    assert find_run(store, "r-20261121-11")["id"] == "r-20261121-110000-cd56"
    assert find_run(store, "20261121-100000-ab3")["id"] == "r-20261121-100000-ab34"
    with pytest.raises(ControlError, match="ambiguous: it matches r-20261121-100000-ab12"):
        find_run(store, "r-20261121-10")
    with pytest.raises(ControlError, match="no run matches 'r-2025'"):
        find_run(store, "r-2025")
    store.close()
    empty = tmp_path / "empty"
    empty.mkdir()
    store = Store.open(str(empty))
    with pytest.raises(ControlError, match="no runs recorded"):
        find_run(store, "last")
    store.close()


def node(n: int, status: str, parent: int | None = None) -> dict[str, object]:
    return {"node_id": n, "status": status, "parent": parent}


def test_nodes_to_keep() -> None:
    # 1 -> 3, 2 -> 3, 3 -> 4; 5 independent; 6 a group holding 7 and 8 (7 -> 8)
    nodes = [
        node(1, "success"),
        node(2, "failed"),
        node(3, "success"),
        node(4, "success"),
        node(5, "success"),
        node(6, "success"),
        node(7, "success", 6),
        node(8, "timed_out", 6),
        node(9, "skipped"),
        node(10, "pending"),
    ]
    edges = [(1, 3), (2, 3), (3, 4), (7, 8)]
    assert nodes_to_keep(nodes, edges) == [1, 5, 6, 7]
    # a node in a tainted group is run again with it
    nodes[5] = node(6, "failed")
    assert nodes_to_keep(nodes, edges) == [1, 5]
    # skipped because an earlier rerun kept it: still kept
    assert nodes_to_keep(nodes, edges, kept_before={9}) == [1, 5, 9]
    # cancelled taints like failed
    assert nodes_to_keep([node(1, "cancelled"), node(2, "success")], [(1, 2)]) == []
