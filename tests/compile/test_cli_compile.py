"""`bashflow compile`, run as a real process (one process per test: marked slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run(
    *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bashflow", "compile", *args],
        input=stdin,
        capture_output=True,
        check=False,
        cwd=cwd,
    )


def test_json_from_stdin_resolves_against_the_current_directory(tmp_path: Path) -> None:
    r = run("-", "--indent", "2", stdin=b"echo hi > a.txt\ncat a.txt\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["source"]["filename"] == "<stdin>"
    assert doc["cwd"] == str(tmp_path.resolve())
    assert (
        doc["edges"][0]["reason"] == f"node 2 reads {tmp_path.resolve()}/a.txt, written by node 1"
    )
    assert b'\n  "schema"' in r.stdout  # indented


def test_output_file_and_explicit_cwd(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_text("sort in > out\n")
    out = tmp_path / "wf.json"
    r = run(str(script), "-o", str(out), "--cwd", "/data")
    assert r.returncode == 0 and r.stdout == b""
    doc = json.loads(out.read_text())
    assert {"kind": "file", "path": "/data/out", "name": None} in doc["nodes"][0]["writes"]


def test_syntax_error_is_located_and_exits_2(tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("echo ok\nif then\n")
    r = run(str(script))
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"{script}:2:4: ")
    assert r.stdout == b""


def test_missing_file_and_bad_policy_exit_2(tmp_path: Path) -> None:
    r = run(str(tmp_path / "nope.sh"))
    assert r.returncode == 2 and b"nope.sh" in r.stderr
    r = run("-", "--policy", str(tmp_path / "missing.toml"), stdin=b"ls\n")
    assert r.returncode == 2 and b"missing.toml" in r.stderr


def test_an_unknown_format_exits_2() -> None:
    r = run("-", "--format", "svg", stdin=b"ls\n")
    assert r.returncode == 2 and b"svg" in r.stderr and r.stdout == b""


def test_policy_verdicts(tmp_path: Path) -> None:
    r = run("-", "--policy", "workspace", stdin=b"ls\nrm -rf /\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["policy"] == {"name": "workspace", "decision": "deny"}
    assert [n["verdict"]["decision"] for n in doc["nodes"]] == ["allow", "deny"]


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_pictures_come_from_the_render_module(fmt: str) -> None:
    r = run("-", "--format", fmt, stdin=b"echo hi > a\ncat a | wc -l\n")
    assert r.returncode == 0, r.stderr
    head = r.stdout.decode().lstrip()
    assert (
        head.startswith("digraph")
        if fmt == "dot"
        else head.startswith(("flowchart", "graph", "%%"))
    )


def test_explain_prints_the_explanation_and_keeps_the_document_for_o(tmp_path: Path) -> None:
    out = tmp_path / "wf.json"
    r = run(
        "-",
        "--explain",
        "-o",
        str(out),
        "--cwd",
        "/w",
        stdin=b"sort a > b\ncat c > d\ncat b d > e\nwc -l e\n",
    )
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert "node 4 `wc -l e` does not conflict with nodes 1, 2 but waits for node 3" in text
    assert json.loads(out.read_text())["schema"] == "bashflow.workflow"
