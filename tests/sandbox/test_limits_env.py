"""Environment filtering and every resource limit, each exceeded for real and reported by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.sandbox.conftest import Ran, collect, policy, run, sh, unsandboxed

from bashflow.sandbox.plan import prepare
from bashflow.sandbox.probe import Probe
from bashflow.sandbox.spawner import Spawner

pytestmark = pytest.mark.slow


def test_only_policy_env_passes(spawner: Spawner, full: Probe, workdir: Path) -> None:
    caller = {
        "LANG": "C.UTF-8", "CI_JOB": "7", "SECRET_TOKEN": "hunter2", "LD_PRELOAD": "/tmp/evil.so",
        "LD_LIBRARY_PATH": "/tmp", "BASH_ENV": "/tmp/evil.sh", "PYTHONPATH": "/tmp",
        "BASH_FUNC_ls%%": "() { echo pwned; }", "PATH": "/tmp/evil:/usr/bin",
    }  # fmt: skip
    pol = policy(env={"pass": ["LANG", "CI_*", "LD_*", "BASH_*", "*PATH"],
                      "set": {"PATH": "/usr/bin:/bin", "FOO": "bar"}})  # fmt: skip
    r = run(spawner, pol, ["env"], workdir, env=caller)
    got = dict(line.split("=", 1) for line in r.out.splitlines())
    assert got == {"LANG": "C.UTF-8", "CI_JOB": "7", "PATH": "/usr/bin:/bin", "FOO": "bar"}
    pol = policy(env={"pass": [], "set": {"LD_PRELOAD": "", "PATH": "/usr/bin"}})
    r = run(spawner, pol, ["env"], workdir, env=caller)
    assert sorted(r.out.splitlines()) == ["LD_PRELOAD=", "PATH=/usr/bin"]


def _limits(**values: int | float | None) -> dict[str, int | float | None]:
    return {"wall_seconds": 30, "disk_mib": None, "inodes": None, **values}


def test_wall_seconds(spawner: Spawner, full: Probe, workdir: Path) -> None:
    r = sh(spawner, policy(limits=_limits(wall_seconds=0.3)), "sleep 20 & sleep 20; echo no",
           workdir)  # fmt: skip
    assert (r.outcome.limit, r.outcome.value) == ("wall_seconds", "0.3")
    assert r.code == 137 and r.out == ""


def test_cpu_seconds(spawner: Spawner, full: Probe, workdir: Path) -> None:
    r = sh(spawner, policy(limits=_limits(cpu_seconds=1, wall_seconds=20)),
           "while :; do :; done", workdir)  # fmt: skip
    assert r.outcome.limit == "cpu_seconds"
    assert r.code in (128 + 24, 137)


def test_cpu_seconds_hard_limit(spawner: Spawner, full: Probe, workdir: Path) -> None:
    """A command that ignores SIGXCPU dies of SIGKILL one CPU second later: still reported
    as `cpu_seconds` (the tree's CPU time, from the cgroup, tells it from other kills)."""
    r = sh(spawner, policy(limits=_limits(cpu_seconds=1, wall_seconds=20)),
           "trap '' XCPU; while :; do :; done", workdir)  # fmt: skip
    assert (r.code, r.outcome.limit, r.outcome.value) == (137, "cpu_seconds", "1")


def test_a_tree_killed_by_the_caller_is_not_a_cpu_limit(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    """cpu_seconds is per process: two processes of 0.7 s each stay within 1 s, although the
    tree's CPU time passes it. Killed by the caller afterwards, the tree reports no limit (its
    SIGKILL is the caller's, not the hard CPU limit's)."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.7: pass"
    script = f"python3 -c '{burn}' && python3 -c '{burn}' && echo burnt && exec sleep 30"
    plan = prepare(policy(limits=_limits(cpu_seconds=1, wall_seconds=30)), workdir)
    r, w = os.pipe()
    proc = spawner.spawn(plan, ["sh", "-c", script], stdout=w)
    os.close(w)
    with os.fdopen(r) as out:
        assert out.readline() == "burnt\n", "each process stayed within its own CPU limit"
        proc.kill()
        o = proc.wait(timeout=20)
    assert o is not None and o.signal == 9 and o.limit is None, o


def test_memory_bomb(spawner: Spawner, full: Probe, workdir: Path) -> None:
    bomb = "x = []\nfor _ in range(128):\n    x.append(bytearray(16 << 20))\n"  # 2 GiB at most
    r = run(spawner, policy(limits=_limits(memory_mib=64)), ["python3", "-c", bomb], workdir)
    assert r.outcome.limit == "memory_mib", (r.code, r.err[-300:])
    assert r.code == 137


def test_fork_bomb(spawner: Spawner, full: Probe, workdir: Path) -> None:
    bomb = "b() { [ $1 -lt 10 ] && { b $(($1+1)) | b $(($1+1)) & }; }; b 0; sleep 1; echo done"
    r = run(spawner, policy(limits=_limits(processes=16, wall_seconds=3)), ["bash", "-c", bomb],
            workdir)  # fmt: skip
    assert r.outcome.limit in ("processes", "wall_seconds")
    assert r.outcome.limit == "processes" or "fork" in r.err


def test_file_size(spawner: Spawner, full: Probe, workdir: Path) -> None:
    pol = policy(limits=_limits(file_size_mib=1))
    r = sh(spawner, pol, "exec head -c 4000000 /dev/zero > big", workdir)
    assert (r.outcome.limit, r.code) == ("file_size_mib", 128 + 25)  # SIGXFSZ
    assert (workdir / "big").stat().st_size == 1 << 20
    code = ("import os\nfd = os.open('b2', os.O_CREAT | os.O_WRONLY)\n"
            "try:\n    while True: os.write(fd, bytes(1 << 19))\n"
            "except OSError as e: print(e.errno)")  # fmt: skip
    r = run(spawner, pol, ["python3", "-c", code], workdir)  # python ignores SIGXFSZ: EFBIG
    assert r.out.strip() == "27" and (workdir / "b2").stat().st_size == 1 << 20


def test_open_files(spawner: Spawner, full: Probe, workdir: Path) -> None:
    code = ("import os\nfds = []\ntry:\n    while True: fds.append(os.open('/dev/null', 0))\n"
            "except OSError as e: print(len(fds), e.errno)")  # fmt: skip
    r = run(spawner, policy(limits=_limits(open_files=32)), ["python3", "-c", code], workdir)
    count, err = r.out.split()
    assert int(count) < 32 and err == "24"  # EMFILE


def test_disk_fill(spawner: Spawner, full: Probe, workdir: Path) -> None:
    # bounded (200 MB at most) so that a broken watcher fails the test instead of the disk
    fill = (
        "i=0; while [ $i -lt 200 ]; do head -c 1000000 /dev/zero > f$i || exit 9; i=$((i+1)); done"
    )
    r = sh(spawner, policy(limits=_limits(disk_mib=8, file_size_mib=4)), fill, workdir)
    assert (r.outcome.limit, r.outcome.value) == ("disk_mib", "8")
    used = sum(p.stat().st_size for p in workdir.iterdir())
    assert used < 200 << 20, "stopped long before harming the host"


def test_inodes(spawner: Spawner, full: Probe, workdir: Path) -> None:
    r = sh(spawner, policy(limits=_limits(inodes=200)),
           "i=0; while [ $i -lt 20000 ]; do : > n$i; i=$((i+1)); done", workdir)  # fmt: skip
    assert (r.outcome.limit, r.outcome.value) == ("inodes", "200")
    assert len(os.listdir(workdir)) < 100_000


def test_output_mib(spawner: Spawner, full: Probe, workdir: Path) -> None:
    r = sh(spawner, policy(limits=_limits(output_mib=1)), "yes | head -c 50000000", workdir)
    assert (r.outcome.limit, r.outcome.value) == ("output_mib", "1")
    assert len(r.out) == 1 << 20


def test_host_unaffected(spawner: Spawner, full: Probe, workdir: Path) -> None:
    """While a fork bomb runs the host (this process) can still fork and allocate."""
    # (`exec sleep` forks nothing: the tree stays until the wall limit however the bomb went)
    bomb = "b() { [ $1 -lt 10 ] && { b $(($1+1)) | b $(($1+1)) & }; }; b 0; wait; exec sleep 30"
    plan = prepare(policy(limits=_limits(processes=8, wall_seconds=2)), workdir)
    with open(os.devnull, "wb") as null:
        proc = spawner.spawn(plan, ["bash", "-c", bomb], stdout=null, stderr=null)
    try:
        ballast = bytearray(64 << 20)
        ballast[::4096] = b"\1" * len(ballast[::4096])  # touched: really allocated
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
        assert proc.poll() is None, "the bomb's tree was still there meanwhile"
    finally:
        outcome = proc.wait(timeout=20)
    assert outcome is not None and outcome.limit in ("processes", "wall_seconds")


def test_open_files_reported(spawner: Spawner, full: Probe, workdir: Path) -> None:
    code = ("import os, sys, time\nfds = []\ntry:\n    while len(fds) < int(sys.argv[1]):\n"
            "        fds.append(os.open('/dev/null', 0))\nexcept OSError as e:\n"
            "    print('EMFILE' if e.errno == 24 else e)\ntime.sleep(0.6)\nprint(len(fds))")  # fmt: skip
    pol = policy(limits=_limits(open_files=32))
    r = run(spawner, pol, ["python3", "-c", code, "1000"], workdir)
    assert r.out.split()[0] == "EMFILE" and r.code == 0
    assert (r.outcome.limit, r.outcome.value) == ("open_files", "32")
    r = run(spawner, pol, ["python3", "-c", code, "8"], workdir)  # well within the limit
    assert (r.out.split(), r.outcome.limit) == (["8"], None)


def test_rlimit_signal_of_any_process_is_reported(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    if not full.root:
        pytest.skip("following every process of a tree needs the proc connector (root)")
    script = "head -c 3000000 /dev/zero > big; echo after $?"
    assert unsandboxed(script, workdir).stdout == "after 0\n", "control: no limit, no signal"
    (workdir / "big").unlink()
    r = sh(spawner, policy(limits=_limits(file_size_mib=1)), script, workdir)
    assert r.out == "after 153\n" and r.code == 0, "the shell survives its child's SIGXFSZ"
    assert (r.outcome.limit, r.outcome.value) == ("file_size_mib", "1")
    r = sh(spawner, policy(limits=_limits(cpu_seconds=1, wall_seconds=20)),
           "(while :; do :; done); echo after $?", workdir)  # fmt: skip
    assert r.out == "after 152\n" and r.code == 0
    assert (r.outcome.limit, r.outcome.value) == ("cpu_seconds", "1")
    r = sh(spawner, policy(limits=_limits(cpu_seconds=1, file_size_mib=1)), "echo fine", workdir)
    assert (r.out, r.outcome.limit) == ("fine\n", None)


def test_limits_are_reported_in_a_reused_sandbox(full: Probe, workdir: Path) -> None:
    """A sandbox reused for the plan's next command reports limits as a new one does: a
    child's SIGXFSZ (as root: the process events follow the reused init again), the memory
    cgroup's OOM kill, SIGXCPU. A limit ends the sandbox's reuse, so a clean command runs
    before each one, in the sandbox the limited command then reuses (the same init)."""
    limits = _limits(file_size_mib=1, memory_mib=64, cpu_seconds=1, wall_seconds=20)
    bomb = "x = []\nfor _ in range(128):\n    x.append(bytearray(16 << 20))\n"
    cases = [
        (["python3", "-c", bomb], "memory_mib", "64"),
        (["sh", "-c", "(while :; do :; done); echo after $?"], "cpu_seconds", "1"),
    ]
    if full.root:
        cases.insert(0, (["sh", "-c", "head -c 3000000 /dev/zero > big; echo after $?"],
                         "file_size_mib", "1"))  # fmt: skip

    def start(argv: list[str]) -> tuple[int, Ran]:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            proc = spawner.spawn(plan, argv, stdout=out_w, stderr=err_w)
        finally:
            os.close(out_w)
            os.close(err_w)
        return proc.pid, collect(proc, plan, out_r, err_r)

    with Spawner() as spawner:
        plan = prepare(policy(limits=limits), workdir)
        for argv, field, value in cases:
            clean_pid, clean = start(["echo", "fine"])
            assert (clean.out, clean.outcome.limit) == ("fine\n", None)
            pid, r = start(argv)
            assert pid == clean_pid, "the limited command ran in the reused sandbox"
            assert (r.outcome.limit, r.outcome.value) == (field, value), (r.code, r.err[-300:])
