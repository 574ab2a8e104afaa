"""`bashflow runs`, `show` and `rerun` as real processes over histories the tests wrote."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from tests.runs.helpers import bashflow, ev, make_run, node_run, plan

from bashflow.cli.runs_cmd import split_skip
from bashflow.runs.markers import begin_marker, end_marker
from bashflow.runs.recorder import Recorder
from bashflow.runs.store import Store


def test_runs_lists_newest_first(tmp_path: Path) -> None:
    d = str(tmp_path)
    first = make_run(d, name="one.sh", key="/w/one.sh")
    second = make_run(
        d, name="two.sh", key="/w/two.sh", statuses=("success", "failed", "pending"), exit_status=1
    )
    r = bashflow("runs", "--state-dir", d)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == [
        "RUN", "STATUS", "EXIT", "STARTED", "DURATION", "NODES", "ok/failed/all", "NAME"
    ]  # fmt: skip
    row2, row1 = lines[1].split(), lines[2].split()
    assert row2[0] == second and row2[1:3] == ["failed", "1"] and row2[-2:] == ["1/1/3", "two.sh"]
    assert row1[0] == first and row1[1:3] == ["success", "0"] and row1[-2:] == ["2/0/2", "one.sh"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", row1[3]) and re.fullmatch(r"\d+\.\ds", row1[5])
    r = bashflow("runs", "--state-dir", d, "-n", "1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [x["id"] for x in doc] == [second]
    assert doc[0]["nodes"] == 3 and doc[0]["nodes_ok"] == 1 and doc[0]["nodes_failed"] == 1
    assert doc[0]["status"] == "failed" and doc[0]["exit_status"] == 1
    assert doc[0]["duration"] >= 0 and doc[0]["name"] == "two.sh"


def test_runs_without_history(tmp_path: Path) -> None:
    r = bashflow("runs", "--state-dir", str(tmp_path / "none"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "no runs recorded\n")
    r = bashflow("runs", "--state-dir", str(tmp_path / "none"), "--json")
    assert json.loads(r.stdout) == []
    assert not (tmp_path / "none").exists()


def recorded_run(state: str) -> str:
    """A run with every kind of node line: output, a signal, a retry, a loop, a secret."""
    rec = Recorder.start(
        state,
        key="/w/deploy.sh",
        name="deploy.sh",
        argv=["deploy.sh", "--token", "tok-1234-abcd"],
        cwd="/w",
        env={"API_TOKEN": "tok-1234-abcd"},
        jobs=3,
    )
    rec.feed_events(
        plan(
            [(1, None, "echo hi"), (2, None, "kill -9 $$"), (3, None, "for f in *"),
             (4, 3, "wc -l \"$f\""), (5, None, "never reached")],
            [(1, 2)],
        )
    )  # fmt: skip
    t0 = time.monotonic()
    node_run(rec, 1, "success", t=t0, out=b"hi\n\x1b[31mred\x1b[0m tok-1234-abcd\n")
    rec.feed_events(ev(event="node_started", node=2, attempt=1, t=t0 + 1))
    rec.feed_events(ev(event="node_retrying", node=2, attempt=2, delay=0.1, exit=None, signal=9,
                       t=t0 + 1.1))  # fmt: skip
    rec.feed_events(ev(event="node_started", node=2, attempt=2, t=t0 + 1.2))
    rec.feed_events(ev(event="node_finished", node=2, status="failed", exit=None, signal=9,
                       attempt=2, duration=0.5, t=t0 + 1.5))  # fmt: skip
    rec.feed_events(ev(event="node_started", node=3, attempt=1, t=t0 + 2))
    rec.output_filter(1).feed(begin_marker(rec.nonce, 3))
    for k in range(3):
        node_run(rec, 4, "success", t=t0 + 2 + k, out=f"{k} file{k}\n".encode())
    rec.output_filter(1).feed(end_marker(rec.nonce, 3))
    rec.feed_events(ev(event="node_finished", node=3, status="success", exit=0, signal=None,
                       attempt=1, duration=3.0, t=t0 + 5))  # fmt: skip
    rec.finish(137)
    rec.close()
    return rec.run_id


def test_show_text(tmp_path: Path) -> None:
    d = str(tmp_path)
    run_id = recorded_run(d)
    r = bashflow("show", "last", "--state-dir", d)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "tok-1234" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == f"run       {run_id}"
    assert lines[1] == "name      deploy.sh"
    assert lines[2] == "status    failed  exit 137"
    assert lines[4] == "command   bashflow exec deploy.sh --token '***'"
    assert lines[5] == "cwd       /w"
    assert lines[6] == f"host      pid {os.getpid()}  jobs 3"
    assert lines[7] == "nodes     5: 1 failed, 1 skipped, 3 success"
    table = lines[9:]
    assert table[0].split() == [
        "NODE", "STATUS", "START", "DURATION", "EXIT", "ATTEMPTS", "RUNS", "LINE", "TEXT"
    ]  # fmt: skip
    rows = {int(line.split()[0]): line.split() for line in table[1:] if line[:4].strip().isdigit()}
    assert rows[1][1:2] + rows[1][3:] == ["success", "0.250s", "0", "1", "1", "1", "echo", "hi"]
    assert re.fullmatch(r"\+\d+\.\d{3}s", rows[1][2])
    assert rows[2][1] == "failed" and rows[2][4:7] == ["SIGKILL", "2", "1"]
    assert rows[4][1] == "success" and rows[4][3] == "0.750s" and rows[4][6] == "3"
    assert next(x for x in table if x.split()[:1] == ["4"]).endswith('  4    wc -l "$f"')
    assert rows[5][1:] == ["skipped", "-", "-", "-", "0", "0", "5", "never", "reached"]
    # captured output, indented under its node, redacted and escaped
    i = table.index(next(x for x in table if x.split()[:2] == ["1", "success"]))
    assert table[i + 1 : i + 4] == ["      stdout:", "        hi", "        \\e[31mred\\e[0m ***"]
    j = table.index(next(x for x in table if x.split()[:2] == ["3", "success"]))
    assert table[j + 1 : j + 5] == [
        "      stdout:", "        0 file0", "        1 file1", "        2 file2"
    ]  # fmt: skip
    r = bashflow("show", run_id, "--state-dir", d, "--no-output")
    assert r.returncode == 0 and "stdout:" not in r.stdout and "file0" not in r.stdout


def test_show_json(tmp_path: Path) -> None:
    d = str(tmp_path)
    run_id = recorded_run(d)
    r = bashflow("show", run_id[:-2], "--state-dir", d, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["run"]["id"] == run_id and doc["run"]["status"] == "failed"
    assert doc["run"]["argv"] == ["deploy.sh", "--token", "***"]
    assert doc["edges"] == [[1, 2]]
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes[1]["stdout"] == "hi\n\x1b[31mred\x1b[0m ***\n" and nodes[1]["stderr"] is None
    assert nodes[2]["signal"] == 9 and nodes[2]["signal_name"] == "SIGKILL"
    assert nodes[2]["attempts"] == 2 and nodes[4]["parent"] == 3 and nodes[4]["executions"] == 3
    assert 0 <= nodes[1]["start"] < nodes[2]["start"]
    r = bashflow("show", run_id, "--state-dir", d, "--json", "--no-output")
    assert "stdout" not in json.loads(r.stdout)["nodes"][0]


def test_show_redacts_what_was_stored_unredacted(tmp_path: Path) -> None:
    d = str(tmp_path)
    run_id = make_run(d, statuses=("success",))
    store = Store.open(d)  # as an older bashflow, or another tool, may have left it
    store.write(run_id, progress=[{"node_id": 1, "stdout": b"key AKIAQW7ERTY5UIOP3ASD\n"}])
    store.conn.execute(
        "UPDATE nodes SET text = 'export T=ghp_Zq8rT2mW9xLk4Vb7Nc1Hd5Fj3Gs6Pa0Ye2Ru'"
    )
    store.close()
    r = bashflow("show", run_id, "--state-dir", d)
    assert "key ***" in r.stdout and "export T=***" in r.stdout and "AKIA" not in r.stdout


@pytest.mark.slow
def test_errors(tmp_path: Path) -> None:
    d = str(tmp_path)
    r = bashflow("show", "nope", "--state-dir", d)
    assert (r.returncode, r.stderr) == (1, "bashflow: no run matches 'nope'\n")
    make_run(d)
    r = bashflow("show", "nope", "--state-dir", d)
    assert (r.returncode, r.stderr) == (1, "bashflow: no run matches 'nope'\n")
    r = bashflow("show", "--state-dir", d)
    assert r.returncode == 2 and "usage: bashflow show" in r.stderr
    r = bashflow("runs", "-n", "0", "--state-dir", d)
    assert r.returncode == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "history.sqlite3").write_bytes(b"garbage" * 1000)
    for argv in (["runs"], ["show", "last"], ["cancel", "last"], ["rerun", "last"]):
        r = bashflow(*argv, "--state-dir", str(bad))
        assert r.returncode == 1, argv
        assert r.stderr.startswith("bashflow: history: ") and r.stderr.count("\n") == 1
        assert "Traceback" not in r.stderr


def test_split_skip() -> None:
    assert split_skip(["-j", "2", "x.sh"]) == (set(), ["-j", "2", "x.sh"])
    assert split_skip(["--state-dir", "/s", "--skip-nodes", "3,4", "-j2", "x.sh"]) == (
        {3, 4},
        ["--state-dir", "/s", "-j2", "x.sh"],
    )
    assert split_skip(["--skip-nodes=9", "x.sh", "--skip-nodes", "1"]) == (
        {9},
        ["x.sh", "--skip-nodes", "1"],
    )


def test_rerun_runs_the_same_invocation_in_its_cwd(tmp_path: Path) -> None:
    d = str(tmp_path / "state")
    work = tmp_path / "work"
    work.mkdir()
    rec = Recorder.start(
        d, key="wf-0123456789abcdef", name="-c", argv=["--no-sandbox", "-c", "pwd; exit 3"],
        cwd=str(work), env={},
    )  # fmt: skip
    rec.finish(3)
    rec.close()
    r = bashflow("rerun", rec.run_id, "--state-dir", d, cwd=str(tmp_path))
    assert (r.returncode, r.stdout) == (3, f"{work}\n"), r.stderr


def test_rerun_failed(tmp_path: Path) -> None:
    d = str(tmp_path / "state")
    ok = make_run(d, statuses=("success", "success"), argv=["--no-sandbox", "-c", "true"])
    r = bashflow("rerun", ok, "--failed", "--state-dir", d)
    assert (r.returncode, r.stderr) == (0, f"bashflow: run {ok} has nothing to rerun\n")
    script = tmp_path / "s.sh"
    script.write_text("echo one\nfalse\n")
    rec = Recorder.start(
        d, key=str(script), name="s.sh", argv=["--no-sandbox", str(script)], cwd=str(tmp_path),
        env={}, script_sha="0" * 64,
    )  # fmt: skip
    rec.feed_events(plan([(1, None, "echo one"), (2, None, "false")], [(1, 2)]))
    node_run(rec, 1, "success", t=1.0)
    node_run(rec, 2, "failed", t=2.0, exit=1)
    rec.finish(1)
    rec.close()
    # the script's text is not the one that ran: node ids may not match
    r = bashflow("rerun", rec.run_id, "--failed", "--state-dir", d)
    assert r.returncode == 1
    assert r.stderr == (
        f"bashflow: {script} changed since run {rec.run_id}; its node ids may differ"
        " (rerun without --failed)\n"
    )


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_running_run_cannot_be_rerun(tmp_path: Path) -> None:
    d = str(tmp_path)
    rec = Recorder.start(d, key="k", name="n", argv=["x.sh"], env={})
    r = bashflow("rerun", rec.run_id, "--state-dir", d)
    assert (r.returncode, r.stderr) == (1, f"bashflow: run {rec.run_id} is still running\n")
    rec.finish(0)
    rec.close()


@pytest.mark.slow
def test_reading_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    d = str(tmp_path)
    run_id = make_run(d)
    locker = sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None)
    # a run whose host is gone, which the sweep cannot mark while the lock is held
    locker.execute("UPDATE runs SET status = 'running', host_pid = 1, host_pid_start = 1")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        r = bashflow("runs", "--state-dir", d)
        assert r.returncode == 0 and run_id in r.stdout and "running" in r.stdout
        r = bashflow("show", run_id, "--state-dir", d)
        assert r.returncode == 0 and "step 1" in r.stdout
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    r = bashflow("runs", "--state-dir", d)
    assert r.returncode == 0 and "crashed" in r.stdout


def test_undecodable_names_and_arguments(tmp_path: Path) -> None:
    d = str(tmp_path)
    arg = os.fsdecode(b"caf\xe9.sh")  # a file name that is not UTF-8
    rec = Recorder.start(
        d, key=os.fsdecode(b"/w/caf\xe9.sh"), name=arg, argv=["--no-sandbox", arg],
        cwd=os.fsdecode(b"/w/d\xe9"), env={},
    )  # fmt: skip
    rec.feed_events(ev(event="plan", nodes=[{"id": 1, "parent": None, "kind": "command",
                                             "line": 1, "text": "echo \ud800 " + arg}], edges=[]))  # fmt: skip
    rec.finish(0)
    rec.close()
    r = bashflow("show", "last", "--state-dir", d)
    assert r.returncode == 0, r.stderr
    assert "command   bashflow exec --no-sandbox 'caf\\xe9.sh'" in r.stdout
    r = bashflow("show", "last", "--state-dir", d, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    # the arguments come back exactly (rerun runs them); names are for reading
    assert doc["run"]["argv"] == ["--no-sandbox", arg]
    assert doc["run"]["cwd"] == "/w/d\ufffd" and doc["nodes"][0]["text"].startswith("echo \ufffd")
    assert bashflow("runs", "--state-dir", d, "--json").returncode == 0
    assert bashflow("runs", "--state-dir", d).returncode == 0
