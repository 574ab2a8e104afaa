"""The README's two commands: the first, run as written on a fresh install, runs the main job on
the bundled example (`bashflow exec ../build.sh` in `examples/project`) and gives what bash
gives; CI runs the second."""

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
def test_first_command_as_written_on_a_fresh_install() -> None:
    """The README's first command, verbatim, in a fresh venv (no extras, nothing from this
    environment) and a copy of the checkout: what it prints is what bash prints for the
    example. Not under pytest's tmp_path: its root is mode 0700, and as root the sandbox's uid
    must pass through every ancestor of the work dir."""
    first = readme_commands()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bashflow-readme-"))
    try:
        tmp.chmod(0o755)
        checkout = tmp / "bashflow"
        tracked = (
            subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
            .stdout.decode()
            .split("\0")
        )
        for name in filter(None, tracked):
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, checkout / name)
        subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
        env = {**os.environ, "PATH": f"{tmp / 'venv' / 'bin'}:{os.environ['PATH']}"}
        env.pop("PYTHONPATH", None)
        ours = subprocess.run(
            ["/usr/bin/bash", "-c", first], cwd=checkout, env=env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if ours.returncode == 125:
            pytest.skip(f"no sandbox on this machine: {ours.stderr.strip()}")
        assert ours.returncode == 0, ours.stderr
        project = checkout / "examples" / "project"
        built = sorted(os.listdir(project / "build"))
        shutil.rmtree(project / "build")
        script = first.split("bashflow exec ", 1)[1].split()
        theirs = subprocess.run(
            ["/usr/bin/bash", *script], cwd=project, capture_output=True, text=True, timeout=60
        )
        assert theirs.returncode == 0, theirs.stderr
        # pip prints its own progress on both streams before the script runs: the script's
        # output is what ends them
        assert ours.stdout.endswith(theirs.stdout) and theirs.stdout == "built 2 files\n"
        assert "Traceback" not in ours.stderr and ours.stderr.endswith(theirs.stderr)
        assert built == sorted(os.listdir(project / "build")) == ["notes.upper", "readme.upper"]
    finally:
        shutil.rmtree(tmp)
