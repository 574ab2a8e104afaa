"""`Spawner.run_contained`: a Python function (an interpreter) running inside one sandbox."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import psutil
import pytest
from tests.sandbox import contained_fns
from tests.sandbox.conftest import collect, policy, read_all

from bashflow.policy import Policy
from bashflow.sandbox.plan import SandboxError, prepare
from bashflow.sandbox.probe import Probe
from bashflow.sandbox.spawner import Outcome, Spawner

pytestmark = pytest.mark.slow


def _contained(
    spawner: Spawner, pol: Policy, workdir: Path, fn: object, *args: object
) -> tuple[Outcome, str, str]:
    plan = prepare(pol, workdir, interpreter=True)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    assert callable(fn)
    try:
        proc = spawner.run_contained(plan, fn, args, stdout=out_w, stderr=err_w)
    finally:
        os.close(out_w)
        os.close(err_w)
    ran = collect(proc, plan, out_r, err_r)
    return ran.outcome, ran.out, ran.err


def test_exit_status_comes_back(spawner: Spawner, full: Probe, workdir: Path) -> None:
    for kind, code in (("return", 7), ("exit", 3), ("none", 0), ("raise", 1)):
        outcome, _out, err = _contained(spawner, policy(), workdir, contained_fns.status, kind)
        assert outcome.exit_code == code, (kind, err)
        assert ("boom inside" in err) == (kind == "raise")


def test_one_plan_runs_functions_one_after_another(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    """A plan's sandbox, reused, runs one function after another with each one's status and
    stderr (an exception's traceback belongs to its own run only)."""
    plan = prepare(policy(), workdir, interpreter=True)
    pids = set()
    for kind, code in (("return", 7), ("raise", 1), ("exit", 3), ("none", 0)):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            proc = spawner.run_contained(plan, contained_fns.status, (kind,), stdout=out_w,
                                         stderr=err_w)  # fmt: skip
        finally:
            os.close(out_w)
            os.close(err_w)
        ran = collect(proc, plan, out_r, err_r)
        assert ran.outcome.exit_code == code, (kind, ran.err)
        assert ("boom inside" in ran.err) == (kind == "raise")
        pids.add(proc.pid)
    assert len(pids) == 1, "the same sandbox ran all four"


def test_needs_an_interpreter_plan(spawner: Spawner, full: Probe, workdir: Path) -> None:
    with pytest.raises(SandboxError, match="interpreter=True"):
        spawner.run_contained(prepare(policy(), workdir), contained_fns.status, ("return",))
    plan = prepare(policy(), workdir, interpreter=True)
    with pytest.raises(SandboxError, match="cannot send"):
        spawner.run_contained(plan, lambda: 0)  # a lambda does not pickle
    import __main__

    def main_fn() -> None:
        pass

    main_fn.__module__ = "__main__"
    __main__.main_fn = main_fn  # type: ignore[attr-defined]
    try:
        with pytest.raises(SandboxError, match="__main__"):
            spawner.run_contained(plan, main_fn)
    finally:
        del __main__.main_fn  # type: ignore[attr-defined]


def test_contained_function_and_its_children(
    spawner: Spawner, full: Probe, workdir: Path, outside: Path
) -> None:
    pol = policy(env={"pass": ["LANG"], "set": {"PATH": "/usr/bin:/bin", "FOO": "1"}})
    # control: the same function, unsandboxed, reaches everything it tries
    os.environ["SECRET_TOKEN"] = "x"
    try:
        control = _run_unsandboxed(outside, workdir)
        outcome, out, err = _contained(spawner, pol, workdir, contained_fns.escapes,
                                       str(outside), str(workdir))  # fmt: skip
    finally:
        del os.environ["SECRET_TOKEN"]
    assert "read_outside ok" in control and "write_outside ok" in control
    (outside / "new").unlink()
    assert outcome.exit_code == 0, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["read_outside"].startswith("denied")
    assert lines["write_outside"].startswith("denied") and not (outside / "new").exists()
    assert lines["write_runtime"] in ("denied 30", "denied 13"), "its own modules: read-only"
    assert lines["exec_perl"] == "denied 13", "only allowed programs execute"
    assert lines["write_work"] == "ok" and (workdir / "mine").read_text() == "x"
    assert lines["lazy_import"] == "ok", "the Python installation is readable"
    assert lines["pipeline"] == "['a', 'b'] 0"
    child = lines["child"]
    assert "TOPSECRET" not in child and "NoNewPrivs: 1" in child and "Seccomp: 2" in child
    assert lines["fds"] == "0 1 2 3", "its stdio only (3: the listing itself)"
    inh, prm, eff, _bnd, amb = lines["caps"].split()
    assert {inh, prm, eff, amb} == {"0000000000000000"}, "the interpreter holds no capability"
    uid, env = lines["uid"].split(" env ")
    assert int(uid) != 0
    assert ast.literal_eval(env) == ["FOO", "LANG", "PATH"], "only the policy's environment"


def _run_unsandboxed(outside: Path, workdir: Path) -> str:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.dup2(w, 1)
        code = 1
        try:
            code = contained_fns.escapes(str(outside), str(workdir))
        finally:
            os._exit(code)
    os.close(w)
    data = read_all(r)
    os.waitpid(pid, 0)
    (workdir / "mine").unlink(missing_ok=True)
    for planted in Path(contained_fns.__file__).parent.glob("planted.py"):
        planted.unlink()
    return data.decode()


def test_limits_and_cleanup(spawner: Spawner, full: Probe, workdir: Path) -> None:
    limits = {"wall_seconds": 1, "disk_mib": None, "inodes": None}
    outcome, out, _err = _contained(spawner, policy(limits=limits), workdir,
                                    contained_fns.linger, str(workdir))  # fmt: skip
    assert out == "ready\n"
    assert (outcome.limit, outcome.exit_code) == ("wall_seconds", 137)
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "1000"]]
    _gone, alive = psutil.wait_procs(left, timeout=10)
    assert not alive, "the background child of the contained function is gone too"
    limits = {"memory_mib": 64, "wall_seconds": 30, "disk_mib": None, "inodes": None}
    outcome, _out, err = _contained(spawner, policy(limits=limits), workdir,
                                    contained_fns.hog, 1024)  # fmt: skip
    assert outcome.limit == "memory_mib", err[-300:]
