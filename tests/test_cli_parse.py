"""`bashflow parse` and the CLI's general behaviour, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bashflow.cli import COMMANDS


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bashflow", *args], input=stdin, capture_output=True, check=False
    )


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.decode().startswith("bashflow ")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_on_every_command(command: str) -> None:
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    assert b"usage: bashflow " + command.encode() in r.stdout


def test_parse_file_prints_tree_with_spans(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_bytes("echo café | wc -c\n".encode())
    r = run("parse", str(script))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "bashflow.syntax" and doc["version"] == 1
    pipeline = doc["tree"]["body"]["items"][0]["command"]["first"]
    assert pipeline["kind"] == "Pipeline" and len(pipeline["commands"]) == 2
    wc = pipeline["commands"][1]
    # byte offsets count the two-byte é; columns count characters
    assert wc["span"]["start"] == {"line": 1, "col": 13, "offset": 13}
    word = pipeline["commands"][0]["words"][1]
    assert word["parts"][0] == {
        "kind": "Literal",
        "span": {
            "start": {"line": 1, "col": 6, "offset": 5},
            "end": {"line": 1, "col": 10, "offset": 10},
        },
        "text": "café",
    }


def test_parse_stdin_and_undecodable_bytes() -> None:
    r = run("parse", "-", stdin=b"echo \xff\n")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    lit = doc["tree"]["body"]["items"][0]["command"]["first"]["commands"][0]["words"][1]["parts"][0]
    assert lit["text"] == "\udcff" and lit["span"]["end"]["offset"] == 6


def test_syntax_error_is_located_with_caret_and_exit_2(tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("echo start\nwhile true; do\n  echo x\ndone done\n")
    r = run("parse", str(script))
    assert r.returncode == 2
    err = r.stderr.decode()
    lines = err.splitlines()
    assert lines[0].startswith(f"{script}:4:6: error: syntax error near unexpected token `done'")
    assert lines[1] == "done done"
    assert lines[2] == "     ^~~~"
    assert "Traceback" not in err and r.stdout == b""


def test_unterminated_quote_names_what_is_missing() -> None:
    r = run("parse", "-", stdin=b"echo 'abc\n")
    assert r.returncode == 2
    assert b"<stdin>:1:6: error: unexpected end of file while looking for matching `''" in r.stderr


def test_missing_file_is_a_clean_error() -> None:
    r = run("parse", "/nonexistent/x.sh")
    assert r.returncode == 2 and b"No such file" in r.stderr and b"Traceback" not in r.stderr


def test_no_command_prints_help_and_exits_2() -> None:
    r = run()
    assert r.returncode == 2 and b"usage: bashflow" in r.stderr
