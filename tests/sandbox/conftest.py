"""Shared fixtures: one fork server for the session, a helper that runs argv under a policy."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bashflow.policy import Policy
from bashflow.sandbox.plan import Plan, prepare
from bashflow.sandbox.probe import Layer, Probe, probe
from bashflow.sandbox.relay import relay
from bashflow.sandbox.spawner import Outcome, SandboxProcess, Spawner

BASE: dict[str, Any] = {
    "commands": {"allow": ["@shell", "@coreutils", "@text", "python3"]},
    "paths": {"read": ["@system", "."], "write": [".", "@devnull"]},
    "env": {"pass": ["LANG"], "set": {"PATH": "/usr/bin:/bin"}},
    "limits": {"wall_seconds": 30, "disk_mib": None, "inodes": None},
}


def policy(**sections: Any) -> Policy:
    """BASE with some sections (or section keys) replaced."""
    data: dict[str, Any] = {k: dict(v) for k, v in BASE.items()}
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return Policy.model_validate(data)


@dataclass
class Ran:
    outcome: Outcome
    out: str
    err: str

    @property
    def code(self) -> int:
        return self.outcome.exit_code


@pytest.fixture(scope="session")
def probed() -> Probe:
    return probe()


@pytest.fixture(scope="session")
def spawner() -> Iterator[Spawner]:
    with Spawner() as sp:
        yield sp


def need(probed: Probe, *layers: Layer) -> None:
    for layer in layers:
        status = probed.status(layer)
        if not status.available:
            pytest.skip(f"kernel/host lacks the {layer.value} layer: {status.detail}")


@pytest.fixture
def full(probed: Probe) -> Probe:
    """Skip unless every layer is available (the tests then check real enforcement)."""
    need(probed, *Layer)
    return probed


def _searchable(path: Path) -> None:
    """Ancestors must be searchable by the sandbox's unprivileged uid (as with any other user)."""
    for parent in [path, *path.parents]:
        if parent != Path("/"):
            parent.chmod(parent.stat().st_mode | 0o711)


@pytest.fixture
def base() -> Iterator[Path]:
    """A private directory directly under /tmp, searchable by the sandbox's uid. Not pytest's
    tmp_path: a concurrent pytest run resets /tmp/pytest-of-<user> to mode 0700."""
    d = Path(tempfile.mkdtemp(prefix="bashflow-sandbox-test-", dir="/tmp"))
    d.chmod(0o711)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def workdir(base: Path) -> Path:
    wd = base / "work"
    wd.mkdir()
    _searchable(wd)
    return wd


@pytest.fixture
def outside(base: Path) -> Path:
    """A world-readable, world-writable directory outside the work dir, with a secret file."""
    d = base / "outside"
    d.mkdir()
    d.chmod(0o777)
    secret = d / "secret.txt"
    secret.write_text("TOPSECRET\n")
    secret.chmod(0o666)
    _searchable(d)
    return d


def run(
    spawner: Spawner,
    pol: Policy | Plan,
    argv: list[str],
    workdir: Path,
    *,
    stdin: int | None = None,
    env: dict[str, str] | None = None,
) -> Ran:
    plan = pol if isinstance(pol, Plan) else prepare(pol, workdir)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = spawner.spawn(plan, argv, stdin=stdin, stdout=out_w, stderr=err_w, env=env)
    finally:
        os.close(out_w)
        os.close(err_w)
    return collect(proc, plan, out_r, err_r)


def collect(proc: SandboxProcess, plan: Plan, out_r: int, err_r: int) -> Ran:
    """Relay the tree's stdout and stderr read ends (as `bashflow sandbox run` does) into
    pipes read back by threads (small outputs in tests), until the tree has ended."""
    o_r, o_w = os.pipe()
    e_r, e_w = os.pipe()
    got: dict[int, bytes] = {}

    def drain(fd: int) -> None:
        got[fd] = read_all(fd)

    threads = [threading.Thread(target=drain, args=(fd,)) for fd in (o_r, e_r)]
    for t in threads:
        t.start()
    # a safety net independent of the sandbox under test: never let a test run away
    guard = threading.Timer(60.0, proc.kill)
    guard.start()
    try:
        outcome, _ = relay(proc, {out_r: o_w, err_r: e_w}, limit_mib=plan.limits.output_mib)
    finally:
        guard.cancel()
        os.close(o_w)
        os.close(e_w)
        for t in threads:
            t.join()
    return Ran(outcome, got[o_r].decode(errors="replace"), got[e_r].decode(errors="replace"))


def read_all(fd: int) -> bytes:
    """What `fd` gives until EOF; closes it."""
    data = b""
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    finally:
        os.close(fd)
    return data


def sh(spawner: Spawner, pol: Policy | Plan, script: str, workdir: Path, **kw: Any) -> Ran:
    return run(spawner, pol, ["sh", "-c", script], workdir, **kw)


def unsandboxed(
    script: str, cwd: Path, *, as_uid: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The positive control: the same script without the sandbox (optionally as another uid)."""
    cmd = ["sh", "-c", script]
    if as_uid is not None and shutil.which("setpriv"):
        cmd = ["setpriv", f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
