"""bash started from inside a script (execute/nested.py) is a new shell of the interpreter, not
the real bash: its commands go through the same per-command policy check. (Its behaviour
against bash is in fixtures/spec/nested-shell.test.sh.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bashflow.sandbox.probe import Layer, probe

EXEC = [sys.executable, "-m", "bashflow", "exec"]
BASH = "/usr/bin/bash"


@pytest.fixture
def wd() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="bfnested."))
    d.chmod(0o755)  # the sandbox's unprivileged uid must reach it
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run(argv: list[str], wd: Path, script: str) -> subprocess.CompletedProcess[str]:
    (wd / "s.sh").write_text(script)
    return subprocess.run([*argv, "s.sh"], cwd=wd, capture_output=True, text=True, timeout=120)


def test_the_new_shell_is_the_interpreter(wd: Path) -> None:
    script = (
        '"$BASH" -c \'read -r name < /proc/$$/comm; echo "$name"\'\n'
        'exec "$BASH" -c \'read -r name < /proc/$$/comm; echo "$name"\'\n'
    )
    assert run([BASH], wd, script).stdout == "bash\nbash\n"  # the control: real bash
    r = run([*EXEC, "--no-sandbox", "-q"], wd, script)
    names = r.stdout.splitlines()
    assert len(names) == 2 and all(n.startswith("python") for n in names), (r.stdout, r.stderr)


def test_inner_commands_go_through_the_policy(wd: Path) -> None:
    script = (
        "printf '%s\\n' 'echo \"inner $1\"' 'cat /etc/shadow > /dev/null; echo \"cat=$?\"' > sub.sh\n"
        'bash sub.sh arg; echo "outer=$?"\n'
    )
    ref = run([BASH], wd, script)
    assert ref.stdout == "inner arg\ncat=0\nouter=0\n", ref.stderr  # bash (as root) reads it
    r = run([*EXEC, "--no-sandbox", "-q", "--profile", "workspace", "--no-precheck"], wd, script)
    assert r.stdout == "inner arg\ncat=126\nouter=0\n", r.stderr
    assert "bashflow: denied: `cat` would read /etc/shadow" in r.stderr
    assert "(sub.sh:2)" in r.stderr  # named after the inner script's file and line


@pytest.mark.slow
def test_sandboxed_nested_shell(wd: Path) -> None:
    probed = probe()
    for layer in (Layer.NETWORK, Layer.SECCOMP, Layer.LANDLOCK):
        if not probed.status(layer).available:
            pytest.skip(f"the {layer.value} layer is missing here")
    script = (
        "printf '%s\\n' 'echo \"inner $# $1 $SHLVL\"' 'cat /etc/shadow > /dev/null' > sub.sh\n"
        '"$BASH" sub.sh one; echo "outer=$?"\n'
    )
    r = run([*EXEC, "--no-precheck"], wd, script)
    assert r.stdout.startswith("inner 1 one "), r.stderr
    assert r.stdout.endswith("outer=126\n"), r.stderr
    assert "bashflow: denied: `cat` would read /etc/shadow" in r.stderr
