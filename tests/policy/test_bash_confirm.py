"""The tricks in fixtures/check/bash_confirm.toml really reach `rm` in bash 5.2 (a stub logs its
argv), and the checker denies every one of them."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from bashflow import Policy, check

ROOT = Path(__file__).resolve().parents[2]
CASES = tomllib.loads((ROOT / "fixtures" / "check" / "bash_confirm.toml").read_text())["cases"]
POLICY = ROOT / "fixtures" / "check" / "policies" / "agent.toml"
BASH = "/usr/bin/bash"


@pytest.mark.skipif(not os.path.exists(BASH), reason="needs bash")
@pytest.mark.parametrize(("script", "runs"), CASES, ids=[c[0][:40] for c in CASES])
def test_bash_runs_it_and_check_denies_it(script: str, runs: str, tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log = tmp_path / "log"
    stub = stubs / "rm"
    stub.write_text('#!/bin/sh\necho "rm $*" >> "$LOG"\n')
    stub.chmod(0o755)
    work = tmp_path / "work"
    (work / "victim").mkdir(parents=True)
    (work / "sub").mkdir()
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "LOG": str(log), "HOME": str(tmp_path)}
    subprocess.run([BASH, "-c", script], cwd=work, env=env, capture_output=True, timeout=10)
    logged = log.read_text().splitlines() if log.exists() else []
    assert runs in logged, f"bash did not run {runs!r}: {logged}"
    assert (work / "victim").exists()  # the stub, not the real rm, ran
    v = check(script, Policy.load(POLICY), cwd="/work/proj", home="/home/agent")
    assert not v.allowed, "the checker allows a script that runs rm -rf"
