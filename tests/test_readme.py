"""The README's first command runs the main job on the bundled example: `bashflow exec
../build.sh` in `examples/project` gives what bash gives (run on a copy, so the checkout keeps
no build output)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## The two commands", 1)[1]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_readme_gives_two_commands_and_ci_runs_the_second() -> None:
    first, second = readme_commands()[:2]
    assert first.startswith("python3 -m pip install . && ")
    assert second in (REPO / ".ci" / "run").read_text().replace(" -q ", " ")


@pytest.mark.slow
def test_first_command_runs_the_example_as_bash_does() -> None:
    # not under pytest's tmp_path: its root is mode 0700, and as root the sandbox's uid must
    # pass through every ancestor of the work dir
    tmp_path = Path(tempfile.mkdtemp(prefix="bashflow-readme-"))
    try:
        check_example(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def check_example(tmp_path: Path) -> None:
    first = readme_commands()[0]
    steps = first.split(" && ")[1:]  # after the install: cd DIR && bashflow exec SCRIPT
    assert steps[0].startswith("cd ") and steps[1].startswith("bashflow exec ")
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "examples", examples)
    tmp_path.chmod(0o755)
    workdir = tmp_path / steps[0][3:]
    args = steps[1].split()[2:]
    ours = subprocess.run(
        [sys.executable, "-m", "bashflow", "exec", *args],
        cwd=workdir, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if ours.returncode == 125:
        pytest.skip(f"no sandbox on this machine: {ours.stderr.strip()}")
    built = sorted(os.listdir(workdir / "build"))
    shutil.rmtree(workdir / "build")
    theirs = subprocess.run(
        ["/usr/bin/bash", *args], cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert (ours.stdout, ours.stderr, ours.returncode) == (
        theirs.stdout,
        theirs.stderr,
        theirs.returncode,
    )
    assert ours.stdout == "built 2 files\n"
    assert built == sorted(os.listdir(workdir / "build")) == ["notes.upper", "readme.upper"]
