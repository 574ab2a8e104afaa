"""runs/store: schema, retention, crash sweep, one transaction per write."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tests.runs.helpers import make_run

from bashflow.runs.paths import state_dir
from bashflow.runs.store import (
    SCHEMA_VERSION,
    Store,
    StoreError,
    proc_start_time,
)


def test_state_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASHFLOW_STATE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "x"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert state_dir(str(tmp_path / "e")) == str(tmp_path / "e")
    assert state_dir() == str(tmp_path / "a")
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700
    monkeypatch.delenv("BASHFLOW_STATE_DIR")
    assert state_dir() == str(tmp_path / "x" / "bashflow")
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    assert state_dir(create=False) == str(tmp_path / "home" / ".local" / "state" / "bashflow")
    assert not (tmp_path / "home").exists()


def test_schema_wal_and_version(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path))
    store.close()
    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indices = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs_started", "runs_key", "runs_live"} <= indices
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    assert stat.S_IMODE(os.stat(tmp_path / "history.sqlite3").st_mode) == 0o600
    with pytest.raises(StoreError, match="newer than this bashflow"):
        Store.open(str(tmp_path))


def test_corrupt_database_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as info:
        Store.open(str(tmp_path))
    assert "\n" not in str(info.value) and "not a database" in str(info.value)


def test_missing_history_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no runs recorded"):
        Store.open(str(tmp_path), create=False)
    assert not (tmp_path / "history.sqlite3").exists()


def test_retention_keeps_last_n_per_key(tmp_path: Path) -> None:
    d = str(tmp_path)
    a = [make_run(d, key="/w/a.sh", keep=3) for _ in range(5)]
    b = [make_run(d, key="/w/b.sh", keep=3) for _ in range(2)]
    store = Store.open(d)
    ids = {r["id"] for r in store.list_runs(100)}
    assert ids == set(a[-3:]) | set(b)
    # the deleted runs' nodes and edges went with them
    orphans = store.conn.execute(
        "SELECT count(*) FROM nodes WHERE run_id NOT IN (SELECT id FROM runs)"
    ).fetchone()[0]
    assert orphans == 0
    assert store.conn.execute("SELECT count(*) FROM nodes").fetchone()[0] == 5 * 2
    store.close()
    # keep=1: only the newest stays
    last = make_run(d, key="/w/a.sh", keep=1)
    store = Store.open(d)
    assert [r["id"] for r in store.list_runs(100) if r["key"] == "/w/a.sh"] == [last]
    store.close()


def insert_live_run(store: Store, run_id: str, pid: int, start: int | None) -> None:
    store.insert_run(
        {
            "id": run_id,
            "key": "k",
            "name": "n",
            "status": "running",
            "started": 1.0,
            "host_pid": pid,
            "host_pid_start": start,
            "argv": [],
        }
    )
    store.write(
        run_id,
        plan=[
            {
                "node_id": 1,
                "status": "running",
                "duration": 0,
                "executions": 1,
                "attempts": 1,
                "stdout_dropped": 0,
                "stderr_dropped": 0,
            },
            {
                "node_id": 2,
                "status": "success",
                "duration": 0,
                "executions": 1,
                "attempts": 1,
                "stdout_dropped": 0,
                "stderr_dropped": 0,
            },
            {
                "node_id": 3,
                "status": "pending",
                "duration": 0,
                "executions": 0,
                "attempts": 0,
                "stdout_dropped": 0,
                "stderr_dropped": 0,
            },
        ],
    )


def test_crash_sweep_marks_dead_and_reused_pids(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = proc_start_time(alive.pid)
        assert start is not None
        store = Store.open(str(tmp_path))
        insert_live_run(store, "r-dead", dead.pid, 12345)
        insert_live_run(store, "r-alive", alive.pid, start)
        insert_live_run(store, "r-reused", alive.pid, start + 1)  # pid reused by another process
        store.close()
        store = Store.open(str(tmp_path))
        status = {r["id"]: r["status"] for r in store.list_runs(10)}
        assert status == {"r-dead": "crashed", "r-alive": "running", "r-reused": "crashed"}
        nodes = {n["node_id"]: n["status"] for n in store.nodes("r-dead")}
        assert nodes == {1: "cancelled", 2: "success", 3: "cancelled"}
        assert {n["status"] for n in store.nodes("r-alive")} == {"running", "success", "pending"}
        assert store.get_run("r-dead")["finished"] is not None  # type: ignore[index]
        store.close()
    finally:
        alive.kill()
        alive.wait()
    store = Store.open(str(tmp_path))
    assert store.get_run("r-alive")["status"] == "crashed"  # type: ignore[index]
    store.close()


def test_retention_never_deletes_a_live_run(tmp_path: Path) -> None:
    d = str(tmp_path)
    store = Store.open(d)
    insert_live_run(store, "r-0-live", os.getpid(), proc_start_time(os.getpid()))
    store.conn.execute("UPDATE runs SET key = '/w/a.sh'")
    store.close()
    for _ in range(3):
        make_run(d, key="/w/a.sh", keep=1)
    store = Store.open(d)
    ids = [r["id"] for r in store.list_runs(10)]
    assert "r-0-live" in ids and len(ids) == 2
    store.close()


def test_prefix_lookup_is_literal(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path))
    for run_id in ("r-1_a", "r-1xa", "r-2"):
        store.insert_run(
            {
                "id": run_id,
                "key": run_id,
                "name": "n",
                "status": "success",
                "started": 1.0,
                "argv": [],
            }
        )
    assert store.ids_with_prefix("r-1_") == ["r-1_a"]
    assert store.ids_with_prefix("r-1") == ["r-1_a", "r-1xa"]
    assert store.ids_with_prefix("r-3") == []
    store.close()


WRITER = """
import sys
from bashflow.runs.recorder import Recorder
warnings = []
for i in range(5):
    r = Recorder.start(sys.argv[1], key=f"/w/{sys.argv[2]}.sh", name="n", env={},
                       warn=warnings.append, keep=3)
    r.feed_events(b'{"event":"plan","nodes":[{"id":1,"text":"a"}],"edges":[]}\\n')
    r.finish(0)
    r.close()
print(len(warnings))
"""


@pytest.mark.slow
def test_concurrent_writers_on_a_fresh_history(tmp_path: Path) -> None:
    state = tmp_path / "state"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(state), str(i)], stdout=subprocess.PIPE)
        for i in range(6)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6
    assert outs == [b"0\n"] * 6  # every run recorded: no warnings
    store = Store.open(str(state))
    runs = store.list_runs(100)
    store.close()
    assert len(runs) == 6 * 3 and {r["status"] for r in runs} == {"success"}
    assert all(r["nodes"] == 1 for r in runs)
