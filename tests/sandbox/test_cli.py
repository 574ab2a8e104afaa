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
