"""`bashflow sandbox run` and `bashflow doctor`: exit codes and the stable report wording."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bashflow.sandbox.probe import Probe

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def bf(*args: str, cwd: Path = REPO, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bashflow", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_doctor_table(probed: Probe) -> None:
    r = bf("doctor")
    for layer in ("cgroup", "mount", "rlimits", "network", "pid", "user", "no_new_privs",
                  "landlock", "seccomp"):  # fmt: skip
        assert f"\n{layer} " in r.stdout
    assert r.returncode == (1 if probed.missing() else 0)


def test_sandbox_run_status_and_reports(full: Probe, workdir: Path, tmp_path: Path) -> None:
    pol = tmp_path / "p.toml"
    pol.write_text('[commands]\nallow = ["@shell", "@coreutils"]\n[paths]\n'
                   'read = ["@system", "."]\nwrite = ["."]\n[limits]\nwall_seconds = 0.5\n'
                   "output_mib = 1\n")  # fmt: skip
    w = str(workdir)
    r = bf("sandbox", "run", "--policy", str(pol), "--workdir", w, "--", "sh", "-c",
           "cat; echo out; echo err >&2; exit 7", stdin="piped\n")  # fmt: skip
    assert (r.returncode, r.stdout, r.stderr) == (7, "piped\nout\n", "err\n")
    r = bf("sandbox", "run", "-p", str(pol), "-w", w, "--", "sleep", "30")
    assert r.returncode == 137
    assert r.stderr.strip().splitlines()[-1] == "bashflow: limit exceeded: wall_seconds (0.5)"
    r = bf("sandbox", "run", "-p", str(pol), "-w", w, "--", "yes")
    assert r.stderr.strip().splitlines()[-1] == "bashflow: limit exceeded: output_mib (1)"
    assert len(r.stdout) == 1 << 20
    r = bf("sandbox", "run", "-p", str(pol), "-w", w, "--", "perl", "-e", "1")
    assert r.returncode == 126 and r.stderr.startswith("bashflow: denied: ")
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmemory_mib = -1\n")
    r = bf("sandbox", "run", "-p", str(bad), "--", "true")
    assert r.returncode == 2 and f"{bad}:2:1:" in r.stderr
    r = bf("sandbox", "run", "-p", str(pol), "--accept-weaker", "bogus", "--", "true")
    assert r.returncode == 2


def _on_terminal(*args: str) -> bytes:
    """Run `bashflow ARGS` with stdout and stderr on a pseudo-terminal; what the terminal got."""
    import os
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "bashflow", *args], cwd=REPO,
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)  # fmt: skip
        os.close(slave)
        data = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            data += chunk
        proc.wait(timeout=60)
    finally:
        os.close(master)
    return data


def test_terminal_output_is_escaped(full: Probe, workdir: Path) -> None:
    hostile = r"printf '\033]0;pwned\007\033[31mred\033[0m\n\033]52;c;ZXZpbA==\007\033[2Jend\n'"
    run = ("sandbox", "run", "-p", "workspace", "-w", str(workdir), "--", "sh", "-c", hostile)
    piped = bf(*run)
    assert piped.stdout == "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\n\x1b]52;c;ZXZpbA==\x07\x1b[2Jend\n"
    shown = _on_terminal(*run)
    assert b"\x1b]" not in shown and b"\x07" not in shown and b"\x1b[2J" not in shown
    assert b"\x1b[31mred\x1b[0m" in shown, "SGR colours pass"
    assert b"\\x1b]0;pwned\\x07" in shown and b"\\x1b[2Jend" in shown
    raw = _on_terminal(*run[:2], "--raw-tty", *run[2:])
    assert b"\x1b]0;pwned\x07" in raw and b"\x1b[2J" in raw, "--raw-tty passes them"
