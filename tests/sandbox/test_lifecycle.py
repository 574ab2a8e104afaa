"""Process trees: signal, stop/continue, kill, wall timeout, and clean-up even after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from tests.sandbox.conftest import policy

from bashflow.sandbox.plan import Plan, prepare
from bashflow.sandbox.probe import Probe
from bashflow.sandbox.spawner import Spawner

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _spawn_ready(spawner: Spawner, workdir: Path, script: str):  # type: ignore[no-untyped-def]
    """Start `script`, return (proc, stdout read end) once it printed its first line."""
    r, w = os.pipe()
    proc = spawner.spawn(prepare(policy(), workdir), ["sh", "-c", script], stdout=w)
    os.close(w)
    f = os.fdopen(r, "rb")
    assert f.readline().strip() == b"ready"
    return proc, f


def _tree(pid: int) -> list[psutil.Process]:
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def _running(*cmdlines: list[str]) -> list[psutil.Process]:
    """The processes with these command lines, once there is one of each or after 10 s: a
    shell prints "ready" before its background children have exec'd their programs."""
    deadline = time.monotonic() + 10
    while True:
        found = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] in cmdlines]
        if len(found) >= len(cmdlines) or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_signal_reaches_the_command(spawner: Spawner, full: Probe, workdir: Path) -> None:
    proc, out = _spawn_ready(spawner, workdir,
                             "trap 'echo got-term; exit 3' TERM; echo ready; while :; do :; done")  # fmt: skip
    proc.send_signal(signal.SIGTERM)
    o = proc.wait(timeout=20)
    assert o is not None and o.exit_code == 3
    assert out.read() == b"got-term\n"


def test_stop_continue_and_kill_whole_tree(spawner: Spawner, full: Probe, workdir: Path) -> None:
    proc, out = _spawn_ready(spawner, workdir,
                             "sleep 1000 & (sleep 1001 &) ; echo ready; wait")  # fmt: skip
    procs = _tree(proc.pid)
    sleeps = _running(["sleep", "1000"], ["sleep", "1001"])
    assert len(sleeps) >= 2
    proc.stop()
    assert proc.poll() is None
    proc.cont()
    proc.kill()
    o = proc.wait(timeout=20)
    assert o is not None and o.signal == signal.SIGKILL
    _gone, alive = psutil.wait_procs(procs + sleeps, timeout=10)
    assert not alive, "every process of the tree is gone, setsid'd ones too"
    out.close()


def test_stop_freezes(spawner: Spawner, full: Probe, workdir: Path) -> None:
    proc, out = _spawn_ready(spawner, workdir, "echo ready; while :; do :; done")
    tree = [p for p in _tree(proc.pid) if p.pid != proc.pid]
    assert tree, "the busy shell runs below the tree's init"
    proc.stop()
    before = sum(p.cpu_times().user for p in tree)
    frozen = [p.status() for p in tree]
    time.sleep(0.3)  # a busy loop that still ran would gain CPU time meanwhile
    after = sum(p.cpu_times().user for p in tree)
    proc.cont()
    proc.kill()
    proc.wait(timeout=20)
    out.close()
    assert all(s in (psutil.STATUS_STOPPED, psutil.STATUS_DISK_SLEEP, "frozen") for s in frozen), (
        frozen)  # fmt: skip
    assert after == before, "no CPU time while stopped"


def _cgroups_of(server_pid: int) -> list[str]:
    base = Path("/sys/fs/cgroup")
    return [str(p) for p in base.glob(f"*/bashflow/{server_pid}-*")] + [
        str(p) for p in base.glob(f"unified/bashflow/{server_pid}-*")]  # fmt: skip


def test_cleanup_after_normal_exit(full: Probe, workdir: Path) -> None:
    mounts = Path("/proc/self/mountinfo").read_text()
    with Spawner() as spawner:
        proc, out = _spawn_ready(spawner, workdir, "sleep 1000 & echo ready")
        server = spawner.server_pid
        proc.wait(timeout=20)
        out.close()
        assert not [p for p in psutil.process_iter(["cmdline"])
                    if p.info["cmdline"] == ["sleep", "1000"]]  # fmt: skip
    assert _cgroups_of(server) == []
    assert Path("/proc/self/mountinfo").read_text() == mounts


def test_cleanup_after_sigkill_of_bashflow(full: Probe, workdir: Path, tmp_path: Path) -> None:
    private_tmp = tmp_path / "tmp"  # bashflow's temporary files, if it made any, go here
    private_tmp.mkdir()
    mounts = Path("/proc/self/mountinfo").read_text()
    token = str(900000 + os.getpid() % 99999)
    cli = subprocess.Popen(
        [sys.executable, "-m", "bashflow", "sandbox", "run", "-p", "workspace",
         "-w", str(workdir), "--", "sh", "-c", f"sleep {token} & echo ready; wait"],
        stdout=subprocess.PIPE, cwd=REPO, env={**os.environ, "TMPDIR": str(private_tmp)},
    )  # fmt: skip
    assert cli.stdout is not None
    assert cli.stdout.readline().strip() == b"ready"
    server = psutil.Process(cli.pid).children()[0]
    victims = _running(["sleep", token])
    assert victims, "the sandboxed sleep runs"
    cli.kill()
    cli.wait()
    _gone, alive = psutil.wait_procs([server, *victims], timeout=15)
    assert not alive, "no process of the sandbox survives bashflow's SIGKILL"
    assert _cgroups_of(server.pid) == []
    assert Path("/proc/self/mountinfo").read_text() == mounts
    assert list(private_tmp.iterdir()) == [], "no temporary files or directories left"


def test_plans_are_forgotten_when_the_caller_drops_them(full: Probe, workdir: Path) -> None:
    """A long-lived spawner used with a new plan per command does not accumulate plans: the
    server forgets each plan (and its rule fds, template namespaces and idle sandbox) once
    the plan object is gone in the caller."""
    import gc

    with Spawner() as spawner:
        kept = prepare(policy(), workdir)
        assert spawner.spawn(kept, ["true"]).wait() is not None
        fds_before = len(os.listdir(f"/proc/{spawner.server_pid}/fd"))
        for _ in range(25):
            plan = prepare(policy(), workdir)
            o = spawner.spawn(plan, ["true"]).wait()
            assert o is not None and o.exit_code == 0
            del plan
            gc.collect()
        state = spawner.server_state()
        assert state["plans"] == 1 and state["prepared"] == 1, state
        # (a prepared plan holds an fd per Landlock rule, dozens: a sockets' worth of slack
        # for replies the server is closing as we look)
        assert len(os.listdir(f"/proc/{spawner.server_pid}/fd")) <= fds_before + 2
        o = spawner.spawn(kept, ["true"]).wait()  # the plan still held is still known
        assert o is not None and o.exit_code == 0
        del kept
        gc.collect()
        assert spawner.server_state()["plans"] == 0


def test_more_plans_than_are_kept_prepared(full: Probe, workdir: Path) -> None:
    """Beyond MAX_PREPARED plans in use, the least recently used one is let go (its rule fds,
    template and idle sandbox) and prepared again when used again; the others keep theirs."""
    from bashflow.sandbox.server import MAX_PREPARED

    with Spawner() as spawner:
        plans = [prepare(policy(), workdir) for _ in range(MAX_PREPARED + 1)]
        for plan in [*plans[:MAX_PREPARED], plans[0], plans[MAX_PREPARED]]:
            o = spawner.spawn(plan, ["true"]).wait(timeout=20)
            assert o is not None and o.exit_code == 0
        state = spawner.server_state()
        assert state["prepared"] == MAX_PREPARED and state["idle"] == MAX_PREPARED, state
        first = spawner.spawn(plans[0], ["true"])  # used again just before: still idle
        assert first.wait(timeout=20) is not None
        assert spawner.server_state()["forked"] == MAX_PREPARED + 1, "plans[0] was reused"
        outcome = spawner.spawn(plans[1], ["true"]).wait(timeout=20)  # let go: prepared again
        assert outcome is not None and outcome.exit_code == 0


def test_a_sandbox_is_reused_only_after_its_command_ended_by_itself(
    full: Probe, workdir: Path
) -> None:
    """The init of a tree whose command ended normally takes the plan's next command: the
    left-over background process is gone, and the next command sees only its init in its pid
    namespace. A tree that was killed is not reused (a new sandbox is forked)."""
    with Spawner() as spawner:
        plan = prepare(policy(), workdir)
        with open(os.devnull, "wb") as null:
            first = spawner.spawn(plan, ["sh", "-c", "sleep 1000 & echo started"], stdout=null)
        assert (o := first.wait(timeout=20)) is not None and o.exit_code == 0
        r, w = os.pipe()
        probe = "import os; print(*sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
        second = spawner.spawn(plan, ["python3", "-c", probe], stdout=w)
        os.close(w)
        assert (o := second.wait(timeout=20)) is not None and o.exit_code == 0
        with os.fdopen(r) as f:
            pids = [int(p) for p in f.read().split()]
        assert second.pid == first.pid, "the same sandbox (its init) ran the second command"
        assert len(pids) == 2 and pids[0] == 1, f"only the init and the command: {pids}"
        assert not [p for p in psutil.process_iter(["cmdline"])
                    if p.info["cmdline"] == ["sleep", "1000"]]  # fmt: skip
        killed = spawner.spawn(plan, ["sleep", "100"])
        killed.kill()
        assert (o := killed.wait(timeout=20)) is not None and o.signal == signal.SIGKILL
        after = spawner.spawn(plan, ["true"])
        assert (o := after.wait(timeout=20)) is not None and o.exit_code == 0
        assert after.pid != killed.pid, "a killed tree's sandbox is not reused"
        state = spawner.server_state()
        assert state["forked"] == 2 and state["idle"] == 1, state


def test_a_command_that_changes_its_init_ends_its_reuse(full: Probe, workdir: Path) -> None:
    """A command may lower the limits, priority or CPU affinity of its sandbox's init (same
    uid: prlimit, setpriority, sched_setaffinity); the next command of the plan must not
    inherit them, so that init retires and the next command gets a new sandbox."""
    show = ("import os, resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE),"
            " os.getpriority(os.PRIO_PROCESS, 0), sorted(os.sched_getaffinity(0)))")  # fmt: skip
    tamper = ("import os, resource\nresource.prlimit(1, resource.RLIMIT_NOFILE, (16, 16))\n"
              "os.setpriority(os.PRIO_PROCESS, 1, 15)\nos.sched_setaffinity(1, {0})\n"
              "print(resource.prlimit(1, resource.RLIMIT_NOFILE), os.getpriority(os.PRIO_PROCESS, 1))")  # fmt: skip

    def run_py(spawner: Spawner, plan: Plan, code: str) -> tuple[int, str]:
        r, w = os.pipe()
        proc = spawner.spawn(plan, ["python3", "-c", code], stdout=w)
        os.close(w)
        o = proc.wait(timeout=20)
        with os.fdopen(r) as f:
            out = f.read().strip()
        assert o is not None and o.exit_code == 0, out
        return proc.pid, out

    with Spawner() as spawner:
        plan = prepare(policy(), workdir)
        first_pid, before = run_py(spawner, plan, show)
        tamper_pid, changed = run_py(spawner, plan, tamper)
        assert tamper_pid == first_pid, "the second command ran in the reused sandbox"
        assert changed == "(16, 16) 15", "control: the init really was changed"
        after_pid, after = run_py(spawner, plan, show)
        assert after_pid != tamper_pid
        assert after == before


def test_a_plan_used_once_forks_one_sandbox_and_no_template(full: Probe, workdir: Path) -> None:
    """The template namespaces are made when a plan needs a second sandbox (two trees at
    once), not for a plan used once; no sandbox is forked ahead for a plan used once."""
    with Spawner() as spawner:
        plan = prepare(policy(), workdir)
        assert (o := spawner.spawn(plan, ["true"]).wait(timeout=20)) is not None
        assert o.exit_code == 0
        state = spawner.server_state()
        assert (state["forked"], state["templates"], state["idle"]) == (1, 0, 1), state
        a = spawner.spawn(plan, ["sleep", "0.5"])
        b = spawner.spawn(plan, ["sleep", "0.5"])
        assert a.pid != b.pid
        for proc in (a, b):
            assert (o := proc.wait(timeout=20)) is not None and o.exit_code == 0
        state = spawner.server_state()
        assert (state["forked"], state["templates"], state["idle"]) == (2, 1, 1), state


def test_a_reused_sandbox_counts_cpu_seconds_per_command(full: Probe, workdir: Path) -> None:
    """The cgroup of a reused sandbox has the CPU time of the commands before: a command killed
    from outside is not reported as `cpu_seconds` because the earlier ones used the budget."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.7: pass"
    with Spawner() as spawner:
        plan = prepare(policy(limits={"cpu_seconds": 1, "wall_seconds": 30}), workdir)
        pids = set()
        for _ in range(2):
            proc = spawner.spawn(plan, ["python3", "-c", burn])
            assert (o := proc.wait(timeout=30)) is not None and o.exit_code == 0, o
            pids.add(proc.pid)
        last = spawner.spawn(plan, ["sleep", "30"])
        pids.add(last.pid)
        assert len(pids) == 1, "one sandbox ran all three"
        last.kill()
        o = last.wait(timeout=20)
        assert o is not None and o.signal == signal.SIGKILL and o.limit is None, o


def test_a_dead_fork_server_is_a_sandbox_error(full: Probe, workdir: Path) -> None:
    from bashflow.sandbox.plan import SandboxError

    with Spawner() as spawner:
        plan = prepare(policy(), workdir)
        spawner.spawn(plan, ["true"]).wait()
        os.kill(spawner.server_pid, signal.SIGKILL)
        psutil.Process(spawner.server_pid).wait(timeout=10)
        with pytest.raises(SandboxError, match="fork server is gone"):
            spawner.spawn(plan, ["true"])
