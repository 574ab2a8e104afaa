"""Run control and the run record of real `bashflow exec` runs (sandboxed): pause and resume
from another process, cancel, `kill -9` of bashflow itself, the script's own timeout - each
leaves no process behind and a consistent history (`bashflow runs` / `show`).

Waits poll with generous deadlines (a loaded machine is slow); no assertion is about speed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

BASHFLOW = [sys.executable, "-m", "bashflow"]


@pytest.fixture
def wd() -> Iterator[Path]:
    # as root the sandbox's uid must reach the work dir: mkdtemp makes it 0700
    d = Path(tempfile.mkdtemp(prefix="bfctl."))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def env_for(wd: Path) -> dict[str, str]:
    return {**os.environ, "BASHFLOW_STATE_DIR": str(wd.parent / f"{wd.name}.state")}


def start(wd: Path, script: str, *extra: str) -> subprocess.Popen[bytes]:
    (wd / "s.sh").write_text(script)
    return subprocess.Popen([*BASHFLOW, "exec", "--workdir", str(wd), *extra, "s.sh"],
                            cwd=wd, env=env_for(wd), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def cli(wd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BASHFLOW, *args], cwd=wd, env=env_for(wd), capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def until(what: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if what():
            return True
        time.sleep(0.05)
    return False


def runs(wd: Path) -> list[dict[str, object]]:
    proc = cli(wd, "runs", "--json")
    if proc.returncode != 0:
        return []
    data: list[dict[str, object]] = json.loads(proc.stdout)
    return data


def show(wd: Path, run: str) -> dict[str, object]:
    proc = cli(wd, "show", run, "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def running(wd: Path) -> str:
    """The id of the run once it is recorded running with a node started."""
    found: list[str] = []

    def check() -> bool:
        for r in runs(wd):
            if r["status"] == "running":
                nodes = show(wd, str(r["id"]))["nodes"]
                assert isinstance(nodes, list)
                if any(n["status"] == "running" for n in nodes):
                    found.append(str(r["id"]))
                    return True
        return False

    assert until(check), runs(wd)
    return found[0]


def sleepers() -> list[psutil.Process]:
    """Live `sleep 300` processes (the scripts' own; nothing else here sleeps that long)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        if p.info["cmdline"] == ["sleep", "300"] and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p)
    return found


def skip_without_sandbox(proc: subprocess.Popen[bytes]) -> None:
    try:
        code = proc.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        return
    if code == 125:
        pytest.skip(f"no sandbox here: {proc.stderr.read().decode() if proc.stderr else ''}")


def test_pause_holds_the_run_and_resume_continues_it(wd: Path) -> None:
    # the sleep is sure to outlast the time it takes to ask for the pause; frozen, it cannot end
    proc = start(wd, "sleep 4\ntouch done\necho finished\n", "-j1")
    skip_without_sandbox(proc)
    run = running(wd)
    assert cli(wd, "pause", run).returncode == 0
    assert until(lambda: show(wd, run)["run"]["status"] == "paused")  # type: ignore[index]
    time.sleep(6)
    assert not (wd / "done").exists()
    assert proc.poll() is None
    assert cli(wd, "resume", run).returncode == 0
    out, err = proc.communicate(timeout=60)
    assert (out, proc.returncode) == (b"finished\n", 0), err
    assert (wd / "done").exists()
    record = show(wd, run)
    assert record["run"]["status"] == "success"  # type: ignore[index]


@pytest.mark.parametrize("how", [["-j1"], ["-j4"], ["--no-sandbox", "-q", "-j4"]])
def test_cancel_kills_the_run_and_records_it(wd: Path, how: list[str]) -> None:
    # at -j4 the second sleep has started early in a fork of the shell (a process group of
    # its own): a cancel must reach it too, sandboxed or not
    proc = start(wd, "sleep 300\nsleep 300\necho never\n", *how)
    skip_without_sandbox(proc)
    run = running(wd)
    assert cli(wd, "cancel", run).returncode == 0
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM and out == b""
    record = show(wd, run)
    assert record["run"]["status"] == "cancelled"  # type: ignore[index]
    nodes = record["nodes"]
    assert isinstance(nodes, list)
    assert {n["status"] for n in nodes} <= {"cancelled", "success"}
    assert any(n["status"] == "cancelled" for n in nodes)
    assert until(lambda: not sleepers(), 15), sleepers()


def test_kill_9_of_bashflow_leaves_nothing_and_is_marked_crashed(wd: Path) -> None:
    proc = start(wd, "sleep 300\n")
    skip_without_sandbox(proc)
    run = running(wd)
    assert until(lambda: bool(sleepers()))
    proc.kill()
    proc.wait(timeout=30)
    assert until(lambda: not sleepers(), 15), sleepers()
    record = show(wd, run)  # opening the history marks it
    assert record["run"]["status"] == "crashed"  # type: ignore[index]


def test_the_scripts_wall_timeout_is_recorded(wd: Path) -> None:
    policy = wd.parent / f"{wd.name}.policy.toml"
    policy.write_text(
        '[commands]\nallow = ["@coreutils", "@shell"]\n[paths]\nread = ["@system", "."]\n'
        'write = [".", "@devnull"]\n[env]\nset = { PATH = "/usr/bin:/bin" }\n'
        "[limits]\nwall_seconds = 1\n"
    )
    proc = start(wd, "echo started\nsleep 300\n", "--policy", str(policy))
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 125:
        pytest.skip(f"no sandbox here: {err.decode()}")
    assert (out, proc.returncode) == (b"started\n", 124), err
    assert b"bashflow: limit exceeded: wall_seconds (1)" in err
    latest = runs(wd)[0]
    record = show(wd, str(latest["id"]))
    assert record["run"]["status"] == "failed"  # type: ignore[index]
    assert record["run"]["exit_status"] == 124  # type: ignore[index]
    assert record["run"]["limit_name"] == "wall_seconds"  # type: ignore[index]
    nodes = {n["text"]: n for n in record["nodes"]}  # type: ignore[union-attr]
    assert nodes["echo started"]["stdout"] == "started\n"
    assert nodes["sleep 300"]["status"] == "cancelled"
