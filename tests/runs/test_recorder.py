"""runs/recorder: what the host records and streams for a run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.runs.helpers import ev, node_run, plan

from bashflow.runs.markers import begin_marker, end_marker
from bashflow.runs.recorder import Recorder, RecorderError
from bashflow.runs.store import Store

SECRET_ENV = {"DEPLOY_TOKEN": "s3cr3t-deploy-value"}


def start(tmp_path: Path, **kw: Any) -> Recorder:
    args: dict[str, Any] = {
        "key": "/w/s.sh",
        "name": "s.sh",
        "argv": ["s.sh", "x"],
        "cwd": "/w",
        "env": SECRET_ENV,
        "jobs": 4,
    }
    args.update(kw)
    return Recorder.start(str(tmp_path / "state"), **args)


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_nonce_and_run_id(tmp_path: Path) -> None:
    rec = start(tmp_path)
    assert len(rec.nonce) == 24 and rec.nonce.isalpha() and rec.nonce.isascii()
    assert rec.run_id.startswith("r-") and len(rec.run_id) == len("r-20261121-134501-ab12")
    rec.finish(0)
    rec.close()


def test_event_stream_every_kind_redacted(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"event":"earlier"}\n')  # appended to, not truncated
    rec = start(tmp_path, events=str(path))
    rec.feed_events(
        plan([(1, None, "curl -H 'X: s3cr3t-deploy-value' u"), (2, None, "ls")], [(1, 2)])
    )
    rec.feed_events(ev(event="node_queued", node=1, t=5.0))
    # a line split across chunks
    line = ev(event="node_started", node=1, attempt=1, t=5.1)
    rec.feed_events(line[:7])
    rec.feed_events(line[7:])
    rec.feed_events(
        ev(event="node_retrying", node=1, attempt=2, delay=0.1, exit=1, signal=None, t=5.2)
    )
    rec.feed_events(ev(event="node_started", node=1, attempt=2, t=5.3))
    rec.paused()
    rec.resumed()
    rec.feed_events(
        ev(
            event="node_finished",
            node=1,
            status="success",
            exit=0,
            signal=None,
            attempt=2,
            duration=0.4,
            t=5.7,
        )
    )
    rec.feed_events(b"not json\n")
    rec.finish(0)
    rec.close()
    events = events_of(path)
    assert events[0] == {"event": "earlier"}
    kinds = [e["event"] for e in events[1:]]
    assert kinds == [
        "run_started",
        "plan",
        "node_queued",
        "node_started",
        "node_retrying",
        "node_started",
        "paused",
        "resumed",
        "node_finished",
        "run_finished",
    ]
    for e in events[1:]:
        assert e["run"] == rec.run_id and isinstance(e["time"], float)
    assert events[1]["argv"] == ["s.sh", "x"] and events[1]["jobs"] == 4
    assert events[2]["nodes"][0]["text"] == "curl -H 'X: ***' u"
    assert "s3cr3t" not in path.read_text()
    assert events[-1]["status"] == "success" and events[-1]["exit"] == 0
    store = Store.open(str(tmp_path / "state"))
    n1 = store.nodes(rec.run_id)[0]
    assert n1["status"] == "success" and n1["attempts"] == 2 and n1["executions"] == 1
    assert n1["text"] == "curl -H 'X: ***' u"
    store.close()


def test_events_to_stdout() -> None:
    code = (
        "import os, tempfile\n"
        "from bashflow.runs.recorder import Recorder\n"
        "r = Recorder.start(tempfile.mkdtemp(), key='k', name='n', events='-')\n"
        "r.finish(3)\n"
        "r.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert [json.loads(line)["event"] for line in out.splitlines()] == [
        "run_started",
        "run_finished",
    ]
    assert json.loads(out.splitlines()[1])["status"] == "failed"


def test_unopenable_events_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecorderError, match="cannot open events file"):
        start(tmp_path, events=str(tmp_path / "no" / "such" / "dir" / "ev"))


def test_loop_node_output_and_node_fields(tmp_path: Path) -> None:
    rec = start(tmp_path, cap=16)
    rec.feed_events(plan([(1, None, "for i in 1 2 3"), (2, 1, "echo $i"), (3, None, "never")]))
    out = rec.output_filter(1)
    err = rec.output_filter(2)
    b, e = begin_marker, end_marker
    rec.feed_events(ev(event="node_started", node=1, attempt=1, t=100.0))
    visible = out.feed(b(rec.nonce, 1))
    for i in range(3):
        node_run(
            rec,
            2,
            "success" if i < 2 else "failed",
            t=100.0 + i,
            out=f"i={i}\n".encode(),
            exit=0 if i < 2 else 7,
        )
    visible += out.feed(b"tail s3cr3t-deploy-value end\n" + e(rec.nonce, 1))
    err.feed(b(rec.nonce, 1) + b"warning\n" + e(rec.nonce, 1))
    rec.feed_events(
        ev(
            event="node_finished",
            node=1,
            status="failed",
            exit=7,
            signal=None,
            attempt=1,
            duration=3.0,
            t=103.0,
        )
    )
    rec.finish(7)
    rec.close()
    assert visible == b"tail s3cr3t-deploy-value end\n"  # the user's output is never altered
    store = Store.open(str(tmp_path / "state"))
    run = store.get_run(rec.run_id)
    assert run is not None and run["status"] == "failed" and run["exit_status"] == 7
    nodes = {n["node_id"]: n for n in store.nodes(rec.run_id)}
    loop, body, never = nodes[1], nodes[2], nodes[3]
    assert body["executions"] == 3 and body["status"] == "failed" and body["exit"] == 7
    assert body["duration"] == pytest.approx(0.75)
    assert body["last_finish"] - body["first_start"] == pytest.approx(2.25)
    assert body["stdout"] == b"i=0\ni=1\ni=2\n" and body["stdout_dropped"] == 0
    # the loop's capture holds its body's output too; 16 bytes kept, tail first, redacted
    whole = b"i=0\ni=1\ni=2\ntail s3cr3t-deploy-value end\n"
    assert loop["stdout_dropped"] == len(whole) - 16
    # (redacted before the cut: no tail of the secret is left)
    assert loop["stdout"] == b"=2\ntail *** end\n"
    assert loop["stderr"] == b"warning\n"
    assert never["status"] == "skipped" and never["executions"] == 0
    store.close()


def test_secret_in_output_redacted_in_history(tmp_path: Path) -> None:
    rec = start(tmp_path)
    rec.feed_events(plan([(1, None, "env")]))
    node_run(
        rec, 1, "success", t=1.0, out=b"DEPLOY_TOKEN=s3cr3t-deploy-value\nAKIAQW7ERTY5UIOP3ASD\n"
    )
    rec.finish(0)
    rec.close()
    store = Store.open(str(tmp_path / "state"))
    assert store.nodes(rec.run_id)[0]["stdout"] == b"DEPLOY_TOKEN=***\n***\n"
    store.close()


def test_cancelled_run(tmp_path: Path) -> None:
    path = tmp_path / "ev"
    rec = start(tmp_path, events=str(path))
    rec.feed_events(plan([(1, None, "sleep 9"), (2, None, "b"), (3, None, "c")]))
    node_run(rec, 3, "success", t=1.0)
    rec.feed_events(ev(event="node_started", node=1, attempt=1, t=2.0))
    rec.feed_events(ev(event="node_queued", node=2, t=2.0))
    rec.finish(143, cancelled=True)
    rec.close()
    store = Store.open(str(tmp_path / "state"))
    run = store.get_run(rec.run_id)
    assert run is not None and (run["status"], run["exit_status"]) == ("cancelled", 143)
    assert [n["status"] for n in store.nodes(rec.run_id)] == ["cancelled", "cancelled", "success"]
    store.close()
    assert events_of(path)[-1]["status"] == "cancelled"


def test_limit_is_recorded(tmp_path: Path) -> None:
    rec = start(tmp_path)
    rec.finish(124, limit="wall_seconds")
    rec.close()
    store = Store.open(str(tmp_path / "state"))
    run = store.get_run(rec.run_id)
    assert run is not None and (run["status"], run["limit_name"]) == ("failed", "wall_seconds")
    store.close()


def test_status_change_is_committed_at_once(tmp_path: Path) -> None:
    rec = start(tmp_path)
    other = Store.open(str(tmp_path / "state"))
    rec.paused()
    assert other.get_run(rec.run_id)["status"] == "paused"  # type: ignore[index]
    rec.resumed()
    assert other.get_run(rec.run_id)["status"] == "running"  # type: ignore[index]
    rec.finish(0)
    assert other.get_run(rec.run_id)["status"] == "success"  # type: ignore[index]
    rec.close()
    other.close()


def test_close_without_finish_is_crashed(tmp_path: Path) -> None:
    rec = start(tmp_path)
    rec.feed_events(plan([(1, None, "a")]))
    rec.close()
    store = Store.open(str(tmp_path / "state"))
    assert store.get_run(rec.run_id)["status"] == "crashed"  # type: ignore[index]
    assert store.nodes(rec.run_id)[0]["status"] == "cancelled"
    store.close()


def test_plan_after_output_keeps_the_output(tmp_path: Path) -> None:
    rec = start(tmp_path)
    node_run(rec, 1, "success", t=1.0, out=b"early\n")
    rec.commit(force=True)
    rec.feed_events(plan([(1, None, "echo early")]))
    rec.finish(0)
    rec.close()
    store = Store.open(str(tmp_path / "state"))
    node = store.nodes(rec.run_id)[0]
    assert (node["text"], node["stdout"], node["status"]) == ("echo early", b"early\n", "success")
    store.close()


def run_with_broken_history(tmp_path: Path, state: str) -> tuple[list[str], list[dict[str, Any]]]:
    warnings: list[str] = []
    path = tmp_path / "ev"
    rec = Recorder.start(state, key="k", name="n", events=str(path), warn=warnings.append)
    rec.feed_events(plan([(1, None, "a")]))
    node_run(rec, 1, "success", t=1.0, out=b"x\n")
    rec.paused()
    rec.resumed()
    rec.finish(0)
    rec.close()
    return warnings, events_of(path)


def test_state_dir_that_is_a_file_is_one_warning(tmp_path: Path) -> None:
    state = tmp_path / "file"
    state.write_text("")
    warnings, events = run_with_broken_history(tmp_path, str(state))
    assert len(warnings) == 1 and warnings[0].startswith("bashflow: warning: run history not")
    assert "\n" not in warnings[0]
    assert events[-1]["event"] == "run_finished"


@pytest.mark.slow
def test_locked_database_is_one_warning(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    Store.open(str(state)).close()
    locker = sqlite3.connect(state / "history.sqlite3", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        warnings, events = run_with_broken_history(tmp_path, str(state))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(warnings) == 1 and "locked" in warnings[0]
    assert [e["event"] for e in events][-1] == "run_finished"


def test_corrupt_database_is_one_warning(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "history.sqlite3").write_bytes(os.urandom(8192))
    warnings, _ = run_with_broken_history(tmp_path, str(state))
    assert len(warnings) == 1 and "not a database" in warnings[0]


def test_unknown_events_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "ev"
    rec = start(tmp_path, events=str(path))
    rec.feed_events(ev(event="node_custom", node=9, detail="s3cr3t-deploy-value"))
    rec.feed_events(ev(no_event_field=1) + b"[1, 2]\n")
    rec.finish(0)
    rec.close()
    events = events_of(path)
    assert events[1] == {"event": "node_custom", "run": rec.run_id, "time": events[1]["time"],
                         "node": 9, "detail": "***"}  # fmt: skip
    assert len(events) == 3
    store = Store.open(str(tmp_path / "state"))
    assert store.nodes(rec.run_id) == []
    store.close()


@pytest.mark.slow
def test_history_locked_during_the_run_is_one_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    state = tmp_path / "state"
    path = tmp_path / "ev"
    rec = Recorder.start(str(state), key="k", name="n", events=str(path), warn=warnings.append)
    rec.feed_events(plan([(1, None, "a"), (2, None, "b")]))
    rec.commit(force=True)
    locker = sqlite3.connect(state / "history.sqlite3", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        node_run(rec, 1, "success", t=1.0, out=b"x\n")
        rec.paused()
        rec.resumed()
        node_run(rec, 2, "success", t=2.0)
        rec.finish(0)
        rec.close()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(warnings) == 1 and "database is locked" in warnings[0]
    assert [e["event"] for e in events_of(path)][-3:] == ["node_started", "node_finished",
                                                          "run_finished"]  # fmt: skip
    # what was committed before stays; the run is marked crashed once its host is gone
    store = Store.open(str(state))
    assert [n["status"] for n in store.nodes(rec.run_id)] == ["pending", "pending"]
    store.close()


def test_events_with_lone_surrogates_stay_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "ev"
    name = os.fsdecode(b"caf\xe9.sh")
    rec = start(tmp_path, events=str(path), name=name)
    rec.feed_events(b'{"event":"plan","nodes":[{"id":1,"text":"echo \\ud800"}],"edges":[]}\n')
    rec.finish(0)
    rec.close()
    events = events_of(path)
    assert events[0]["name"] == name and events[1]["nodes"][0]["text"] == "echo \ud800"


def test_malformed_events_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bashflow.runs import recorder

    monkeypatch.setattr(recorder, "MAX_PENDING", 1000)
    path = tmp_path / "ev"
    rec = start(tmp_path, events=str(path))
    rec.feed_events(ev(event="node_started", node=1e300, t=float("inf")))
    rec.feed_events(ev(event="node_started", node=2**70))
    rec.feed_events(b'{"event":"node_finished","node":3,"t":"x","duration":[1],"status":{}}\n')
    rec.feed_events(b'{"event":"plan","nodes":{"id":1},"edges":[[1],[1,"a"],7]}\n')
    rec.feed_events(b'{"event":"plan","nodes":[{"id":4,"parent":1e999,"line":"x"}]}\n')
    rec.feed_events(b'{"event":"node_started","node":5,"attempt":1e999}\n')
    rec.feed_events(b"x" * 600)
    rec.feed_events(b"y" * 600)  # an overlong line: dropped up to its newline
    rec.feed_events(b"zz\n" + ev(event="node_queued", node=6, t=1.0))
    rec.finish(0)
    rec.close()
    store = Store.open(str(tmp_path / "state"))
    nodes = {n["node_id"]: n for n in store.nodes(rec.run_id)}
    store.close()
    assert set(nodes) == {3, 4, 5, 6}
    assert nodes[3]["status"] == "failed" and nodes[3]["duration"] == 0
    assert nodes[4]["parent"] is None and nodes[4]["line"] is None
    assert nodes[6]["status"] == "cancelled"  # queued when the run ended
    assert events_of(path)[-2]["event"] == "node_queued"


def test_events_reader_gone_is_one_warning(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from bashflow.runs.recorder import Recorder\n"
        "from tests.runs.helpers import node_run, plan\n"
        "r = Recorder.start(sys.argv[1], key='k', name='n', events='-', env={})\n"
        "r.feed_events(plan([(1, None, 'a')]))\n"
        "for i in range(50):\n"
        "    node_run(r, 1, 'success', t=float(i))\n"
        "r.finish(0)\n"
        "r.close()\n"
        "sys.stderr.write('done\\n')\n"
    )
    r, w = os.pipe()
    os.close(r)  # the reader of --events - is gone before the run starts
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], stdout=w, stderr=subprocess.PIPE,
        text=True, check=False, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    os.close(w)
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == [
        "bashflow: warning: events not written: Broken pipe",
        "done",
    ]
    store = Store.open(str(tmp_path))
    assert store.list_runs(1)[0]["status"] == "success"
    store.close()


DISK_FULL = """
import json, sys
from bashflow.runs.recorder import Recorder
from tests.runs.helpers import node_run, plan
warnings = []
r = Recorder.start(sys.argv[1], key="k", name="n", events=sys.argv[2], env={},
                   warn=warnings.append)
r.feed_events(plan([(i, None, f"step {i}") for i in range(1, 101)]))
for i in range(1, 101):
    node_run(r, i, "success", t=float(i), out=bytes([65 + i % 26]) * 60000)
    r.commit(force=True)
r.finish(0)
r.close()
print(json.dumps(warnings))
"""


@pytest.mark.slow
def test_disk_full_is_one_warning(tmp_path: Path) -> None:
    """The state dir on a 512 KiB tmpfs (in a private mount namespace): 100 nodes of 60 KB
    output each fill it during the run."""
    import shutil

    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a private tmpfs")
    state = tmp_path / "state"
    state.mkdir()
    events = tmp_path / "ev"
    repo = Path(__file__).resolve().parents[2]
    script = (
        f"mount -t tmpfs -o size=512k tmpfs {state} || exit 99; "
        f'exec {sys.executable} -c "$0" {state} {events}'
    )
    proc = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script, DISK_FULL],
        capture_output=True, text=True, check=False, cwd=repo,
    )  # fmt: skip
    if proc.returncode == 99:
        pytest.skip("tmpfs cannot be mounted here")
    assert proc.returncode == 0, proc.stderr
    warnings = json.loads(proc.stdout)
    assert len(warnings) == 1 and "full" in warnings[0], warnings
    kinds = [e["event"] for e in events_of(events)]
    assert kinds.count("node_finished") == 100 and kinds[-1] == "run_finished"


READ_ONLY = """
import json, sys
from bashflow.runs.recorder import Recorder
from tests.runs.helpers import node_run, plan
warnings = []
r = Recorder.start(sys.argv[1], key="k", name="n", events=sys.argv[2], env={},
                   warn=warnings.append)
r.feed_events(plan([(1, None, "a")]))
node_run(r, 1, "success", t=1.0)
r.finish(0)
r.close()
print(json.dumps(warnings))
"""


@pytest.mark.slow
@pytest.mark.parametrize("existing", [False, True], ids=["empty", "with-history"])
def test_read_only_state_dir_is_one_warning(tmp_path: Path, existing: bool) -> None:
    """The state dir bind-mounted read-only (in a private mount namespace; root ignores
    file modes, not a read-only mount)."""
    import shutil

    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a read-only bind mount")
    state = tmp_path / "state"
    state.mkdir()
    if existing:
        Store.open(str(state)).close()
    events = tmp_path / "ev"
    repo = Path(__file__).resolve().parents[2]
    script = (
        f"mount --bind {state} {state} && mount -o remount,ro,bind {state} || exit 99; "
        f'exec {sys.executable} -c "$0" {state} {events}'
    )
    proc = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script, READ_ONLY],
        capture_output=True, text=True, check=False, cwd=repo,
    )  # fmt: skip
    if proc.returncode == 99:
        pytest.skip("no read-only bind mount here")
    assert proc.returncode == 0, proc.stderr
    warnings = json.loads(proc.stdout)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("bashflow: warning: run history not written: ")
    assert warnings[0].endswith(f"unable to open database file ({state} is not writable)")
    assert [e["event"] for e in events_of(events)][-1] == "run_finished"
