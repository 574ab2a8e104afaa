"""`bashflow exec -j N` and workflow settings: independent commands really run at the same time,
and the script still behaves as bash (output order, `$?`, variables, `set -e`).

Concurrency is shown by order, not speed: two independent one-second groups each write
their start and end times to files of their own; they overlapped if the second started
before the first ended. Run in order (-j1) they cannot: the positive control.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BASHFLOW = [sys.executable, "-m", "bashflow", "exec"]

OVERLAP = """\
{ date +%s%N > a.start; sleep 1; date +%s%N > a.end; }
{ date +%s%N > b.start; sleep 1; date +%s%N > b.end; }
echo end
"""


def overlapped(cwd: Path) -> bool:
    stamp = {name: int((cwd / name).read_text()) for name in ("a.start", "a.end", "b.start")}
    for name in ("a.start", "a.end", "b.start", "b.end"):
        (cwd / name).unlink()
    return stamp["b.start"] < stamp["a.end"]


def run(args: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BASHFLOW_STATE_DIR": str(cwd / ".state")}
    return subprocess.run([*BASHFLOW, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env, **kw)  # type: ignore[call-overload]  # fmt: skip


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/usr/bin/bash", "-c", script], cwd=cwd, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_independent_commands_overlap(tmp_path: Path) -> None:
    (tmp_path / "r.sh").write_text(OVERLAP)
    serial = run(["--no-sandbox", "-q", "-j1", "r.sh"], tmp_path)
    assert serial.stdout == "end\n", serial.stderr
    assert not overlapped(tmp_path)
    parallel = run(["--no-sandbox", "-q", "-j2", "r.sh"], tmp_path)
    assert parallel.stdout == "end\n", parallel.stderr
    assert overlapped(tmp_path)


def test_sandboxed_runs_ahead_too() -> None:
    # as root the sandbox's uid must reach the work dir: mkdtemp makes it 0700
    wd = Path(tempfile.mkdtemp(prefix="bfsched."))
    try:
        wd.chmod(0o755)
        (wd / "r.sh").write_text(OVERLAP)
        proc = run(["--workdir", str(wd), "-j2", "r.sh"], wd)
        if proc.returncode == 125:
            pytest.skip(f"no sandbox here: {proc.stderr.strip()}")
        assert proc.stdout == "end\n", proc.stderr
        assert overlapped(wd)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


OUTCOMES = """\
slow() { sleep 0.2; }
echo first
sleep 0.1; echo "status $?"
(exit 3)
echo "after subshell $?"
ls /nonexistent-dir 2>&1 | sed 's/.*cannot.*/ls failed/'; echo "pipestatus ${PIPESTATUS[*]}"
for f in one two three; do echo "item $f"; done
echo "loop var $f"
out=$(echo captured; echo err >&2)
echo "out=$out"
printf '%s\\n' "$_"
false | true
echo "pipe $? ${PIPESTATUS[*]}"
echo to-stderr >&2
echo last
"""


@pytest.mark.parametrize("jobs", ["-j1", "-j2", "-j8"])
def test_outcomes_come_back_as_in_bash(tmp_path: Path, jobs: str) -> None:
    """$?, PIPESTATUS, `$_`, a loop's variable and a substitution's variable set in an item
    that ran ahead are the shell's afterwards, and output is in program order."""
    (tmp_path / "o.sh").write_text(OUTCOMES)
    theirs = subprocess.run(["/usr/bin/bash", "o.sh"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    ours = run(["--no-sandbox", "-q", jobs, "o.sh"], tmp_path)
    assert (ours.stdout, ours.stderr, ours.returncode) == (
        theirs.stdout,
        theirs.stderr.replace("/usr/bin/bash", "bashflow"),
        theirs.returncode,
    )


@pytest.mark.parametrize("jobs", ["-j1", "-j4"])
@pytest.mark.parametrize("how", ["set -e in the script", "exec -e"])
def test_set_e_stops_before_later_side_effects(tmp_path: Path, jobs: str, how: str) -> None:
    body = "echo before\nfalse\necho never\ntouch made\n"
    script = "set -e\n" + body if how == "set -e in the script" else body
    flags = ["-e"] if how == "exec -e" else []
    (tmp_path / "e.sh").write_text(script)
    events = tmp_path / "ev.jsonl"
    proc = run(["--no-sandbox", "-q", jobs, "--events", str(events), *flags, "e.sh"], tmp_path)
    assert (proc.stdout, proc.returncode) == ("before\n", 1)
    assert not (tmp_path / "made").exists()
    # `echo never` may have started early (no side effect); it is then recorded cancelled
    last: dict[int, str] = {}
    for line in events.read_text().splitlines():
        e = json.loads(line)
        if e["event"] == "node_finished":
            last[e["node"]] = e["status"]
    assert last.get(len(script.splitlines()) - 1, "cancelled") == "cancelled", last


def test_items_that_change_the_shell_run_in_it(tmp_path: Path) -> None:
    """cd, functions and option changes are not forked: what follows sees them."""
    script = (
        "mkdir -p d\ncd d\npwd > ../where\nf() { echo f; }\nf\nshopt -s nullglob\n"
        "echo none*\nx=1\nreadonly x\nx=2 2>/dev/null; echo x=$x\n"
    )
    (tmp_path / "s.sh").write_text(script)
    theirs = subprocess.run(["/usr/bin/bash", "s.sh"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    (tmp_path / "where").unlink()
    ours = run(["--no-sandbox", "-q", "-j4", "s.sh"], tmp_path)
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)
    assert (tmp_path / "where").read_text() == f"{tmp_path}/d\n"


def compile_doc(tmp_path: Path, script: str) -> dict[str, object]:
    (tmp_path / "w.sh").write_text(script)
    subprocess.run([sys.executable, "-m", "bashflow", "compile", "w.sh", "-o", "w.json"],
                   cwd=tmp_path, check=True, timeout=60)  # fmt: skip
    doc: dict[str, object] = json.loads((tmp_path / "w.json").read_text())
    return doc


def node_by_text(doc: dict[str, object], text: str) -> dict[str, object]:
    nodes = doc["nodes"]
    assert isinstance(nodes, list)
    found = [n for n in nodes if n["text"] == text]
    assert len(found) == 1, [n["text"] for n in nodes]
    node: dict[str, object] = found[0]
    return node


def settings(node: dict[str, object]) -> dict[str, object]:
    s = node["settings"]
    assert isinstance(s, dict)
    return s


def test_workflow_timeout_and_retry(tmp_path: Path) -> None:
    script = (
        "echo start\n"
        '{ echo x >> count; n=$(wc -l < count); echo "attempt $n"; [ "$n" -ge 3 ]; }\n'
        'echo "after $?"\nsleep 30\necho "timed $?"\n'
    )
    doc = compile_doc(tmp_path, script)
    retry = settings(node_by_text(doc, script.splitlines()[1]))["retry"]
    assert isinstance(retry, dict)
    retry.update(max_attempts=4, initial_delay_seconds=0.05)
    settings(node_by_text(doc, "sleep 30"))["timeout_seconds"] = 0.3
    (tmp_path / "w.json").write_text(json.dumps(doc))
    events = tmp_path / "ev.jsonl"
    proc = run(["--no-sandbox", "-q", "--events", str(events), "w.json"], tmp_path)
    # only the last attempt's output; the timeout is 124 for the script, which goes on
    assert proc.stdout == "start\nattempt 3\nafter 0\ntimed 124\n", proc.stderr
    assert proc.returncode == 0
    seen = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["attempt"] for e in seen if e["event"] == "node_retrying"] == [2, 3]
    timed = [e for e in seen if e["event"] == "node_finished" and e["status"] == "timed_out"]
    assert len(timed) == 1 and timed[0]["exit"] == 124


def test_workflow_pool_caps_what_runs_at_once(tmp_path: Path) -> None:
    """Two independent items that run together wait for each other when they share a pool
    of one slot."""
    lines = OVERLAP.splitlines()
    doc = compile_doc(tmp_path, OVERLAP)
    proc = run(["--no-sandbox", "-q", "-j4", "w.json"], tmp_path)
    assert proc.stdout == "end\n"
    assert overlapped(tmp_path)  # no pool: together
    for text in lines[:2]:
        settings(node_by_text(doc, text))["pool"] = "one"
    doc["pools"] = {"one": 1}
    (tmp_path / "w.json").write_text(json.dumps(doc))
    proc = run(["--no-sandbox", "-q", "-j4", "w.json"], tmp_path)
    assert proc.stdout == "end\n", proc.stderr
    assert not overlapped(tmp_path)


def test_workflow_priority_orders_starts(tmp_path: Path) -> None:
    script = "sleep 0.3\necho a > a\necho b > b\necho c > c\n"
    doc = compile_doc(tmp_path, script)
    settings(node_by_text(doc, "echo c > c"))["priority"] = 9
    settings(node_by_text(doc, "echo a > a"))["priority"] = 1
    (tmp_path / "w.json").write_text(json.dumps(doc))
    events = tmp_path / "ev.jsonl"
    # one slot beside the shell's own command: the three compete for it
    proc = run(["--no-sandbox", "-q", "-j2", "--events", str(events), "w.json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = [json.loads(line) for line in events.read_text().splitlines()]
    starts = [e["node"] for e in seen if e["event"] == "node_started"]
    assert starts[:2] in ([1, 4], [4, 1]), starts  # the shell's own, and the urgent one


def test_a_stale_workflow_is_run_without_its_settings(tmp_path: Path) -> None:
    doc = compile_doc(tmp_path, "echo a\necho b\n")
    source = doc["source"]
    assert isinstance(source, dict)
    (tmp_path / "w.json").write_text(json.dumps(doc).replace("echo b", "echo c"))
    proc = run(["--no-sandbox", "-q", "w.json"], tmp_path)
    assert proc.returncode == 2  # the document's own check: the text no longer hashes
    assert "w.json:" in proc.stderr


def test_skip_nodes_keeps_earlier_successes(tmp_path: Path) -> None:
    script = "echo one >> log\necho two >> other\necho three\n"
    (tmp_path / "k.sh").write_text(script)
    proc = run(["--no-sandbox", "-q", "--skip-nodes", "1", "k.sh"], tmp_path)
    assert proc.stdout == "three\n"
    assert not (tmp_path / "log").exists() and (tmp_path / "other").read_text() == "two\n"
