"""sandbox/spawner.py - start processes under a Plan: the containment function and the client.

`contain` is the one ordered function that runs between fork and exec (STYLE habit 10). It runs
in a child of the fork server (`sandbox/server.py`), a small single-threaded process forked before
the caller starts threads or grows, so every spawn forks a small process and never runs
`preexec_fn` in a large or threaded one.

`Spawner` is the caller's side: it starts the server, sends it spawn requests (the plan, argv,
environment and the caller's fds over SCM_RIGHTS), and returns a `SandboxProcess` per process,
which can wait, signal, stop/continue and kill the whole process tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import pickle
import resource
import signal
import socket
import struct
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, NoReturn

from bashflow.sandbox._sys import PR_SET_DUMPABLE, prctl
from bashflow.sandbox.cgroup import Cgroup
from bashflow.sandbox.plan import DEFAULT_PATH, Plan, SandboxError
from bashflow.sandbox.probe import Layer

if TYPE_CHECKING:
    import subprocess

_MSG = 1 << 16
SYS_CLOSE_RANGE = 436

FdLike = int | IO[bytes] | IO[str] | None


@dataclass(frozen=True)
class Job:
    """One process to start: argv, environment, cwd, and `targets`: the fd number in the child
    of each fd received with the request, in order."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str
    targets: tuple[int, ...]
    call: bytes = b""
    """A pickled (callable, args) to run instead of exec'ing argv (`Spawner.run_contained`)."""
    sys_path: tuple[str, ...] = ()
    """The caller's `sys.path`, so that the callable's modules import inside the sandbox."""
    pid: int = 0
    """Set by the server: the tree's pid as the caller sees it."""
    confirm: bool = False
    """Set by the server: the first fd received is the caller's reply socket, and the sandbox
    itself answers `("spawned", pid)` once the command has started (one hop fewer)."""
    errw: bool = False
    """Set by the server for a reused sandbox: before the reply socket comes this job's
    start-report pipe (the first job reports on the one the sandbox was forked with)."""


@dataclass(frozen=True)
class Prepared:
    """What the fork server derives once per plan: O_PATH fds for the Landlock rules (fd,
    access, is_dir), user namespace fds for idmapped writable trees, the mount masks and the uid
    to drop to. The ruleset itself is built in each child, because /proc is that child's own."""

    rules: tuple[tuple[int, int, bool], ...]
    proc_readable: bool
    write_dirs: tuple[tuple[str, int], ...]
    mask_dirs: tuple[str, ...]
    mask_files: tuple[str, ...]
    uid: int
    gid: int
    runtime: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """The plan's runtime directories, grouped by the mount point that makes them reachable
    (see `server._runtime_mounts`)."""
    userns: int = -1
    """Template namespaces of the plan (`namespaces.template`), -1 when not made: the user
    namespace (ordinary user), the mount namespace each sandbox copies, the empty network
    namespace the plan's sandboxes share when the network is off."""
    mntns: int = -1
    netns: int = -1

    def fds(self) -> list[int]:
        """The fds a child keeps until its Landlock step."""
        return [r[0] for r in self.rules] + [f for f in (self.userns, self.mntns, self.netns)
                                             if f >= 0]  # fmt: skip


@dataclass
class Outcome:
    """How a sandboxed process tree ended."""

    status: int
    """The raw wait status of the tree's first process."""
    limit: str | None = None
    """The policy field of the limit that stopped it (`memory_mib`, ...), if any."""
    value: str = ""
    reports: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The exit status, or 128 + N when killed by signal N."""
        if os.WIFSIGNALED(self.status):
            return 128 + os.WTERMSIG(self.status)
        return os.waitstatus_to_exitcode(self.status)

    @property
    def signal(self) -> int:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else 0


def drop_capabilities() -> None:
    """Empty this process's capability sets (an exec by a non-root uid would, but a callable
    run by `Spawner.run_contained` never execs)."""
    from bashflow.sandbox._sys import SYS_CAPSET, check, syscall

    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all empty
    check(syscall(SYS_CAPSET, header, data), "capset")


def mount_steps(plan: Plan, prep: Prepared) -> None:
    """The mount step's work inside a fresh mount namespace (`namespaces.setup_mounts`)."""
    from bashflow.sandbox import namespaces

    namespaces.setup_mounts(list(prep.write_dirs), list(prep.mask_dirs), list(prep.mask_files),
                            list(plan.noexec_dirs), list(plan.exec_files),
                            runtime=list(prep.runtime), deny_exec=list(plan.deny_exec))  # fmt: skip


def contain(plan: Plan, prep: Prepared, cgroup: Cgroup | None, jobsock: int, errw: int,
            pidw: int, statw: int, *, in_pidns: bool = False) -> NoReturn:  # fmt: skip
    """Apply the plan to this (forked) process, in DESIGN.md's layer order, then exec.

    cgroup → mount ns → rlimits → network ns → pid ns → uid / user ns → NO_NEW_PRIVS → Landlock
    → seccomp → exec. An ordinary user has to create its user namespace first, because that is
    what grants the right to create the others; root instead drops to an unprivileged uid at the
    uid step. The pid namespace step forks: this process (A) reports the pid of its child (B,
    pid 1 of the new namespace) on `pidw` and exits (as root the server saves that fork: it
    forks A into a new pid namespace, `in_pidns`, and A is B); B applies the remaining layers,
    then waits, fully contained, for its job on `jobsock`; it starts the command (C) and stays
    as the namespace's init, reporting C's wait status (and whether it retires) on `statw`,
    then waits for the plan's next job until the server closes `jobsock`. Any failure is
    written to `errw` (closed once the command has started; a later job brings its own) and
    exits 125 (126/127 when the program cannot be executed or found).
    """
    from bashflow.sandbox import landlock, namespaces, rlimits, seccomp

    layers = plan.layers
    step = "start"
    try:
        signal.set_wakeup_fd(-1)  # the server's; this process must not write to it
        gc.disable()  # short-lived until the command starts: no pass over inherited objects
        step = "cgroup"
        if cgroup is not None:
            cgroup.join()
        if not plan.root and Layer.USER in layers:
            step = "user namespace"
            if prep.userns >= 0:  # the plan's template (see below)
                namespaces.setns(prep.userns, namespaces.CLONE_NEWUSER)
            else:
                uid, gid = os.getuid(), os.getgid()
                namespaces.unshare(namespaces.CLONE_NEWUSER)
                namespaces.write_id_maps("self", f"{uid} {uid} 1\n", f"{gid} {gid} 1\n",
                                         deny_setgroups=True)  # fmt: skip
        if Layer.MOUNT in layers:
            step = "mount namespace"
            if prep.mntns >= 0:  # a copy of the plan's template, made by `mount_steps` once
                namespaces.setns(prep.mntns, namespaces.CLONE_NEWNS)
                namespaces.unshare(namespaces.CLONE_NEWNS | namespaces.CLONE_NEWIPC)
            else:
                namespaces.unshare(namespaces.CLONE_NEWNS | namespaces.CLONE_NEWIPC)
                mount_steps(plan, prep)
        step = "fds"  # not a layer: free the low numbers before open_files applies
        _close_except([jobsock, errw, pidw, statw, *prep.fds()])
        step = "rlimits"
        rlimits.apply_rlimits(plan.rlimits)
        if Layer.NETWORK in layers and not plan.network:
            step = "network namespace"
            if prep.netns >= 0:
                namespaces.setns(prep.netns, namespaces.CLONE_NEWNET)
            else:
                namespaces.unshare(namespaces.CLONE_NEWNET)
        if Layer.PID in layers:
            step = "pid namespace"
            if not in_pidns:  # (`in_pidns`: the server (root) forked us as pid 1 already)
                namespaces.unshare(namespaces.CLONE_NEWPID)
                child = os.fork()
                if child:
                    os.write(pidw, struct.pack("i", child))
                    os._exit(0)
            os.close(pidw)  # B lives on as init: it must not hold the server's pipe open
            if Layer.MOUNT in layers:
                namespaces.mount_proc()
        else:
            os.write(pidw, struct.pack("i", os.getpid()))
            os.close(pidw)
        if plan.root and Layer.USER in layers:
            step = "uid"
            os.setgroups([])
            os.setresgid(prep.gid, prep.gid, prep.gid)
            os.setresuid(prep.uid, prep.uid, prep.uid)
        elif Layer.USER in layers:  # the user namespace's capabilities did their work
            step = "capabilities"
            drop_capabilities()
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        step = "no_new_privs"
        seccomp.set_no_new_privs()
        if Layer.LANDLOCK in layers:
            step = "landlock"
            rs = landlock.create_ruleset(plan.landlock_abi, restrict_tcp=not plan.network)
            landlock.add_rules(rs, prep.rules, abi=plan.landlock_abi)
            if prep.proc_readable:
                landlock.add_path(rs, "/proc", landlock.READ, abi=plan.landlock_abi)
            landlock.restrict_self(rs)
            os.close(rs)
        _close_except([jobsock, errw, statw])  # the rule and namespace fds are done with
        if Layer.SECCOMP in layers:
            step = "seccomp"
            seccomp.load_filter(plan.seccomp_bpf)
        # B is the namespace's init (an init ignores SIGXFSZ, SIGXCPU, SIGTERM... from inside,
        # so the command must not be pid 1). For each job it starts the command (C) with
        # posix_spawn (no copy of this process to tear down at exec), or forks it for a
        # callable, then reaps everything; when the command has ended it kills what is left of
        # the tree, reaps it and reports the command's raw wait status on `statw`. Then it
        # waits for the next job of the same plan: the server reuses a sandbox whose command
        # ended normally instead of forking and containing a new one (it closes `jobsock`
        # when it does not, and this process exits).
        sock = socket.socket(fileno=jobsock)
        own = _own_state()
        while True:
            step = "job"  # not a layer: a warm sandbox waits here, fully contained, for its job
            job, fds = _receive_job(sock)
            if job.errw:
                errw = fds.pop(0)
            reply = fds.pop(0) if job.confirm else -1
            if Layer.PID not in layers:  # no init: this process becomes the command itself
                _become(job, fds, errw, statw, reply)
            step = "cwd"
            os.chdir(job.cwd)
            step = "exec"
            # (RLIMIT_AS, the weaker memory fallback, counts this process's size against the
            # vfork-style child's stack: fork then)
            forked = job.call or any(r.resource == resource.RLIMIT_AS for r in plan.rlimits)
            if forked:
                child = _fork_job(job, fds, errw, statw, reply)
            else:
                child = _spawn_command(job, fds)
                _confirm(reply, job.pid)
            del job, fds
            prctl(PR_SET_DUMPABLE, 0)  # our pipes to the server stay out of reach of /proc/1/fd
            os.close(errw)  # the server sees EOF: started
            errw = -1
            status = 0
            while True:
                pid, status = os.waitpid(-1, 0)
                if pid == child:
                    break
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)  # every other process of the namespace
            with contextlib.suppress(ChildProcessError):
                while True:
                    os.waitpid(-1, 0)
            # (told with the status, so no job is sent to a retiring init)
            spent = _spent() or _own_state() != own
            os.write(statw, struct.pack("ii", status, spent))
            if spent:
                os._exit(0)
    except _ExecFailed as e:
        _fail(errw, e.report, e.code)
    except BaseException as e:
        _fail(errw, f"{step}: {e}", 125)
    finally:
        os._exit(125)


def _fail(errw: int, report: str, code: int) -> NoReturn:
    """Report why the sandbox did not start its command on `errw` and exit with `code`."""
    with contextlib.suppress(OSError):
        os.write(errw, report.encode(errors="replace")[:4000])
    os._exit(code)


def _exec_status(err: int) -> int:
    """The status of a failed exec, as a shell gives it: 127 not found, 126 otherwise."""
    return 127 if err == errno.ENOENT else 126


def _exec_failure(report: str) -> tuple[int, str] | None:
    """(status, "NAME: REASON") of an `exec:ERRNO:NAME: REASON` report; None for another."""
    kind, num, rest = [*report.split(":", 2), "", ""][:3]
    if kind != "exec" or not num.isdigit():
        return None
    return _exec_status(int(num)), rest.strip()


class _ExecFailed(Exception):
    def __init__(self, name: str, err: OSError) -> None:
        super().__init__(name)
        self.report = f"exec:{err.errno}:{name}: {err.strerror}"
        self.code = _exec_status(err.errno or 0)


def _spawn_command(job: Job, fds: list[int]) -> int:
    """posix_spawn the job's program (PATH searched in the job's environment, as execvp does)
    with the received fds on their targets; returns its pid or raises `_ExecFailed`."""
    import fcntl

    top = max(job.targets, default=2)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, top + 1) for fd in fds]
    for fd in fds:
        os.close(fd)
    actions = [(os.POSIX_SPAWN_DUP2, h, t) for h, t in zip(high, job.targets, strict=True)]
    name = job.argv[0]
    if "/" in name:
        candidates = [name]
    else:
        search = job.env.get("PATH", DEFAULT_PATH).split(":")
        candidates = [os.path.join(d or ".", name) for d in search]
    denied: OSError | None = None
    last: OSError = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
    try:
        for path in candidates:
            try:
                os.stat(path)
                return os.posix_spawn(path, list(job.argv), job.env, file_actions=actions,
                                      setsid=True, setsigmask=())  # fmt: skip
            except OSError as e:
                last = e
                if e.errno == errno.EACCES:
                    denied = e
                elif e.errno not in (errno.ENOENT, errno.ENOTDIR):
                    break
        raise _ExecFailed(name, denied or last)
    finally:
        for fd in high:
            os.close(fd)


def _confirm(reply: int, pid: int) -> None:
    """Tell the caller directly that its command has started (`Job.confirm`)."""
    if reply < 0:
        return
    sock = socket.socket(fileno=reply)
    try:
        with contextlib.suppress(OSError):
            sock.send(pickle.dumps(("spawned", pid)))
    finally:
        sock.close()


def _fork_job(job: Job, fds: list[int], errw: int, statw: int, reply: int) -> int:
    """Fork the process that becomes the job: a callable (`Spawner.run_contained`), which
    confirms its own start, or a program (when posix_spawn cannot be used), whose exec we
    watch on a close-on-exec pipe before confirming it here."""
    watch_r, watch_w = (-1, -1) if job.call else os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        if job.call:
            _become(job, fds, errw, statw, reply)
        os.close(watch_r)
        _become(job, fds, watch_w, statw, -1)
    for fd in fds:
        os.close(fd)
    if job.call:
        if reply >= 0:
            os.close(reply)
        return pid
    os.close(watch_w)
    report = b""
    while chunk := os.read(watch_r, 4096):
        report += chunk
    os.close(watch_r)
    if report:  # the exec failed: pass its report on, exit with its status
        os.waitpid(pid, 0)
        text = report.decode(errors="replace")
        failure = _exec_failure(text)
        _fail(errw, text, 126 if failure is None else failure[0])
    _confirm(reply, job.pid)
    return pid


def _become(job: Job, fds: list[int], errw: int, statw: int, reply: int) -> NoReturn:
    """Turn this process into the job: its own session, the received fds on their targets,
    the job's directory and environment; then exec the program or call the callable."""
    try:
        os.close(statw)
        os.setsid()
        errw = _lift(errw, above=max(job.targets))
        if reply >= 0:
            reply = _lift(reply, above=max(job.targets))
        _install_fds(job.targets, fds, keep=[errw, reply])
        os.chdir(job.cwd)
        if not job.call:
            try:
                os.execvpe(job.argv[0], list(job.argv), job.env)
            except OSError as e:
                raise _ExecFailed(job.argv[0], e) from None
        import sys

        os.environ.clear()
        os.environ.update(job.env)
        sys.path[:] = job.sys_path
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as in any python3 process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        fn, args = pickle.loads(job.call)
    except _ExecFailed as e:
        _fail(errw, e.report, e.code)
    except BaseException as e:
        _fail(errw, f"call: {e!r}", 125)
    _confirm(reply, job.pid)
    os.close(errw)  # started
    gc.enable()  # a long-lived interpreter needs its collector
    os._exit(_call(fn, args))


def _call(fn: Callable[..., object], args: tuple[object, ...]) -> int:
    """Run `fn(*args)` as a process's main function: its return value (None is 0) or
    `SystemExit` code is the exit status; an exception prints its traceback and gives 1."""
    import sys

    code: object
    try:
        code = fn(*args)
    except SystemExit as e:
        code = e.code
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    with contextlib.suppress(Exception):
        print(code, file=sys.stderr, flush=True)
    return 1


_RLIMITS = tuple(sorted({getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")}))
SYS_IOPRIO_GET = 252
IOPRIO_WHO_PROCESS = 1


def _own_state() -> tuple[object, ...]:
    """What a process with this init's uid can change about it from inside the sandbox
    (`prlimit`, `setpriority`, `sched_setaffinity`/`sched_setscheduler`, `ioprio_set`) and the
    next command would inherit from it: an init whose state differs after a job retires
    instead of taking the plan's next one."""
    from bashflow.sandbox._sys import syscall

    return (tuple(resource.getrlimit(r) for r in _RLIMITS), os.getpriority(os.PRIO_PROCESS, 0),
            frozenset(os.sched_getaffinity(0)), os.sched_getscheduler(0),
            os.sched_getparam(0).sched_priority,
            syscall(SYS_IOPRIO_GET, IOPRIO_WHO_PROCESS, 0))  # fmt: skip


def _spent() -> bool:
    """Whether this init has used half of its own RLIMIT_CPU (each job costs it a little CPU:
    it retires before the limit could ever stop it instead of a command)."""
    soft = resource.getrlimit(resource.RLIMIT_CPU)[0]
    if soft == resource.RLIM_INFINITY:
        return False
    used = resource.getrusage(resource.RUSAGE_SELF)
    return (used.ru_utime + used.ru_stime) * 2 >= soft


def _receive_job(sock: socket.socket) -> tuple[Job, list[int]]:
    msg, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 64, socket.MSG_CMSG_CLOEXEC)
    if not msg:
        os._exit(0)  # the server went away or dropped this warm child
    job = pickle.loads(msg)
    if not isinstance(job, Job):
        raise TypeError("bad job")
    return job, fds


def _lift(fd: int, *, above: int) -> int:
    """Move one of our own fds above the caller's target fds so installing those cannot
    clobber it."""
    import fcntl

    if fd > above:
        return fd
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above + 1)
    os.close(fd)
    return new


def _close_except(keep: Sequence[int]) -> None:
    """Close every fd of this process but those in `keep`."""
    from bashflow.sandbox._sys import syscall

    lo = 0
    for k in sorted(set(keep)):
        if k > lo:
            syscall(SYS_CLOSE_RANGE, lo, k - 1, 0)
        lo = k + 1
    syscall(SYS_CLOSE_RANGE, lo, 0xFFFFFFFF, 0)


def _install_fds(targets: Sequence[int], fds: Sequence[int], *, keep: Sequence[int]) -> None:
    """dup2 the received fds onto their targets (through high numbers, so they cannot clobber
    each other) and close every other fd except `keep` (close-on-exec fds above the targets):
    a callable run by `run_contained` never execs, so close-on-exec alone would not do."""
    import fcntl

    top = max(targets, default=2)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, top + 1) for fd in fds]
    for target, fd in zip(targets, high, strict=True):
        os.dup2(fd, target, inheritable=True)
    _close_except([*targets, *(k for k in keep if k > top)])


def _package_root() -> str | None:
    """The directory holding the `bashflow` package, when a fresh interpreter run by this
    process can import it from there (None: fork this process for the server instead)."""
    import sys

    import bashflow

    root = os.path.dirname(os.path.dirname(os.path.abspath(bashflow.__file__)))
    exe = sys.executable
    if not exe or not os.access(exe, os.X_OK) or not os.access(root, os.R_OK | os.X_OK):
        return None
    return root


def _fileno(f: FdLike) -> int | None:
    if f is None:
        return None
    return f if isinstance(f, int) else f.fileno()


class ExecDenied(SandboxError):
    """The sandbox is up but the program could not be executed: not allowed (126) or not
    found (127)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


class SandboxProcess:
    """A sandboxed process tree. `pid` is its first process (pid 1 of its pid namespace)."""

    def __init__(self, pid: int, sock: socket.socket, argv: Sequence[str]) -> None:
        self.pid = pid
        self.argv = tuple(argv)
        self._sock = sock
        import threading  # not at the top: the fork server forks faster without it

        self._lock = threading.Lock()
        self.outcome: Outcome | None = None

    def fileno(self) -> int:
        """Readable when the tree has ended (for selectors)."""
        return self._sock.fileno()

    def _send(self, *msg: object) -> None:
        """Send a control request and wait for the server's acknowledgement (so a stop has
        taken effect when `stop()` returns); the tree may end meanwhile, which is recorded."""
        with self._lock:
            if self.outcome is not None:
                return
            try:
                self._sock.send(pickle.dumps(msg))
                data = self._sock.recv(_MSG)
            except OSError:
                return
            reply = pickle.loads(data) if data else None
            if reply and reply[0] == "exited":
                self._record(data)

    def _record(self, data: bytes) -> Outcome:
        if not data:
            self.outcome = Outcome(status=signal.SIGKILL, reports=["fork server went away"])
        else:
            _kind, status, limit, value, reports = pickle.loads(data)
            self.outcome = Outcome(status, limit, value, list(reports))
        self._sock.close()
        return self.outcome

    def send_signal(self, sig: int) -> None:
        """Send `sig` to every process of the tree."""
        self._send("signal", int(sig))

    def stop(self) -> None:
        """Stop the whole tree (cgroup freezer, else SIGSTOP to each process)."""
        self._send("stop")

    def cont(self) -> None:
        self._send("cont")

    def kill(self) -> None:
        """Kill the whole tree now."""
        self._send("kill")

    def poll(self) -> Outcome | None:
        return self.wait(timeout=0)

    def wait(self, timeout: float | None = None) -> Outcome | None:
        """Wait for the tree to end; None if `timeout` passed first."""
        with self._lock:
            if self.outcome is not None:
                return self.outcome
            self._sock.settimeout(timeout)
            try:
                data = self._sock.recv(_MSG)
            except (TimeoutError, BlockingIOError):
                return None
            finally:
                self._sock.settimeout(None)
            return self._record(data)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._sock.close()


class Spawner:
    """Owner of a fork server; start it before the process grows or starts threads.

    Use as a context manager, or call `start()` and `close()`. Closing (or the death of this
    process, even by SIGKILL) makes the server kill every tree it started and remove their
    cgroups.
    """

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._server_pid = 0
        import threading  # not at the top: the fork server forks faster without it

        self._lock = threading.Lock()
        self._sent: set[str] = set()
        """Keys of the plans the server has been sent (it keeps them until they are released)."""
        self._released: list[str] = []
        """Keys of sent plans that have died since the last request (appended by a
        `weakref.finalize`, which may run at any point; sent with the next request)."""
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Spawner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def server_pid(self) -> int:
        return self._server_pid

    def start(self) -> None:
        """Start the fork server: a fresh, small interpreter (`python3 -I -S`, only the sandbox's
        own modules: no pydantic), because every fork and exec in the server costs in proportion
        to its size. Falls back to forking this process when that interpreter cannot be run."""
        if self._sock is not None:
            return
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        root = _package_root()
        if root is not None:
            import subprocess
            import sys

            code = (f"import sys; sys.path[:0] = [{root!r}]; "
                    "from bashflow.sandbox.server import main; main()")  # fmt: skip
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", "-c", code, str(theirs.fileno())],
                stdin=subprocess.DEVNULL, pass_fds=[theirs.fileno()],
            )  # fmt: skip
            theirs.close()
            self._sock, self._server_pid = mine, self._proc.pid
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the server process
            code_ = 0
            try:
                mine.close()
                keep = theirs.fileno()
                os.closerange(3, keep)  # fds the caller opened are not ours to hold open
                os.closerange(keep + 1, 1 << 16)
                from bashflow.sandbox.server import serve

                serve(theirs)
            except BaseException:
                code_ = 1
            finally:
                os._exit(code_)
        theirs.close()
        self._sock, self._server_pid = mine, pid

    def close(self) -> None:
        if self._sock is None:
            return
        self._sock.close()
        self._sock = None
        if self._proc is not None:
            self._proc.wait()
            self._proc = None
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._server_pid, 0)

    def spawn(
        self,
        plan: Plan,
        argv: Sequence[str],
        *,
        stdin: FdLike = None,
        stdout: FdLike = None,
        stderr: FdLike = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        pass_fds: Sequence[int] = (),
    ) -> SandboxProcess:
        """Start `argv` under `plan`. stdin/stdout/stderr are fds or files (None: /dev/null for
        stdin, the caller's for the others, unless that is a terminal); `pass_fds` keep their
        numbers. `env` is the caller's environment, filtered by the plan."""
        if not argv:
            raise SandboxError("empty command")
        return self._start(plan, tuple(argv), b"", stdin, stdout, stderr, env, cwd, pass_fds)

    def run_contained(
        self,
        plan: Plan,
        fn: Callable[..., object],
        args: Sequence[object] = (),
        *,
        stdin: FdLike = None,
        stdout: FdLike = None,
        stderr: FdLike = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        pass_fds: Sequence[int] = (),
    ) -> SandboxProcess:
        """Run the Python function `fn(*args)` inside a sandbox of `plan`, as the process that
        would otherwise exec a program: every layer applies to it (cgroup, namespaces,
        rlimits, uid, NO_NEW_PRIVS, Landlock, seccomp), and every process it starts inherits
        them. For an interpreter that runs a whole script in one sandbox.

        `fn` and `args` must pickle (`fn` a module-level function): the sandbox is a child of
        the fork server, and imports `fn`'s module from the caller's `sys.path`, so the plan
        must come from `prepare(..., interpreter=True)` (the Python installation and the
        caller's import path readable, never writable). The return value of `fn` (None: 0),
        or its `SystemExit` code, is the exit status; an uncaught exception prints its
        traceback on the sandbox's stderr and gives 1. fds, `env` and `cwd` as in `spawn`
        (`os.environ` inside is the filtered environment). It starts with SIGPIPE and SIGXFSZ
        ignored, as a fresh python3 does."""
        import sys

        if not plan.runtime:
            raise SandboxError("run_contained needs a plan prepared with interpreter=True")
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
        if getattr(fn, "__module__", None) == "__main__":
            raise SandboxError(f"run_contained: {name} is defined in __main__, which the sandbox "
                               "does not have; define it in an importable module")  # fmt: skip
        try:
            call = pickle.dumps((fn, tuple(args)))
        except Exception as e:
            raise SandboxError(f"run_contained: cannot send {name} to the sandbox: {e}") from e
        path = tuple(p for p in sys.path if p)
        return self._start(plan, (name,), call, stdin, stdout, stderr, env, cwd, pass_fds,
                           sys_path=path)  # fmt: skip

    def _drain_released(self) -> tuple[str, ...]:
        """The keys of plans that died since the last request (caller holds `_lock`)."""
        out: list[str] = []
        while self._released:
            key = self._released.pop()
            self._sent.discard(key)
            out.append(key)
        return tuple(out)

    def server_state(self) -> dict[str, int]:
        """What the fork server holds: `plans`, `prepared` plans, `templates` made, `idle`
        sandboxes, running `trees`, and the sandboxes `forked` for the plans it still holds.
        For tests and diagnostics. Releases the plans that died here first."""
        self.start()
        assert self._sock is not None
        client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                payload = pickle.dumps(("state", self._drain_released()))
                socket.send_fds(self._sock, [payload], [server.fileno()])
        finally:
            server.close()
        with client:
            reply = client.recv(_MSG)
        if not reply:
            raise SandboxError("the sandbox fork server is gone")
        state: dict[str, int] = pickle.loads(reply)
        return state

    def _start(
        self,
        plan: Plan,
        argv: tuple[str, ...],
        call: bytes,
        stdin: FdLike,
        stdout: FdLike,
        stderr: FdLike,
        env: Mapping[str, str] | None,
        cwd: str | None,
        pass_fds: Sequence[int],
        *,
        sys_path: tuple[str, ...] = (),
    ) -> SandboxProcess:
        self.start()
        assert self._sock is not None
        devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            chosen = [_fileno(stdin), _fileno(stdout), _fileno(stderr)]
            if chosen[0] is None or os.isatty(chosen[0]):
                chosen[0] = devnull  # a terminal is never handed in
            for i in (1, 2):
                fd = chosen[i]
                if fd is None:
                    fd = chosen[i] = i
                if os.isatty(fd):
                    raise SandboxError("refusing to hand a terminal to a sandboxed process; "
                                       "give a pipe or a file")  # fmt: skip
            fds = [int(fd) for fd in chosen if fd is not None] + [int(f) for f in pass_fds]
            targets = (0, 1, 2, *pass_fds)
            job = Job(argv, plan.env_for(os.environ if env is None else env),
                      cwd or plan.workdir, targets, call=call, sys_path=sys_path)  # fmt: skip
            client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                with self._lock:
                    # the plan travels once per spawner; later requests name it by its key,
                    # and the server forgets it once the plan object has died here
                    known = plan.key in self._sent
                    if not known:
                        self._sent.add(plan.key)
                        weakref.finalize(plan, self._released.append, plan.key)
                    payload = pickle.dumps(("spawn", plan.key, None if known else plan, job,
                                            self._drain_released()))  # fmt: skip
                    try:
                        socket.send_fds(self._sock, [payload], [server.fileno(), *fds])
                    except (BrokenPipeError, ConnectionResetError):
                        client.close()
                        raise SandboxError("the sandbox fork server is gone") from None
            finally:
                server.close()
        finally:
            os.close(devnull)
        reply = client.recv(_MSG)
        if not reply:
            client.close()
            raise SandboxError("the sandbox fork server is gone")
        kind, value = [*pickle.loads(reply), ""][:2]
        if kind == "exited":  # (an idle sandbox killed from outside before it took the job)
            client.close()
            raise SandboxError("sandbox setup failed: the sandbox ended before its command started")
        if kind != "spawned":
            client.close()
            text = str(value)
            failure = _exec_failure(text)
            if failure is not None:
                raise ExecDenied(f"cannot execute {failure[1]}", failure[0])
            raise SandboxError(f"sandbox setup failed: {text}")
        return SandboxProcess(int(value), client, argv)
