"""sandbox/server.py - the fork server: a small single-threaded process that starts and owns trees.

It receives spawn requests from its `Spawner`, forks each process (see `spawner.contain`),
reaps it as a child subreaper, enforces wall time and work-dir disk/inode growth, answers
signal/stop/continue/kill requests for whole trees, and reports how each tree ended. When the
caller goes away — closes the spawner, or dies, even by SIGKILL — it kills every tree, removes
their cgroups and exits. Nothing here runs in the caller's process.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import resource
import selectors
import signal
import socket
import stat
import struct
import time
from dataclasses import dataclass, field, replace

from bashflow.sandbox import cgroup as cg
from bashflow.sandbox import landlock, namespaces, rlimits, seccomp  # noqa: F401 - the children use them
from bashflow.sandbox._sys import PR_SET_CHILD_SUBREAPER, prctl
from bashflow.sandbox.plan import Plan, disk_usage, within
from bashflow.sandbox.probe import Layer
from bashflow.sandbox.procevents import ProcEvents
from bashflow.sandbox.spawner import Job, Prepared, contain, mount_steps

_MSG = 1 << 20
SANDBOX_UID_BASE = 1_000_000_000
MAX_PREPARED = 16
"""Plans kept prepared at once (their rule fds, template, idle sandbox); the least recently
used one is let go beyond that, and prepared again if it is used again."""
TICK_SECONDS = 0.02
"""How often the watched limits are checked while trees run. Each tick compares the file
system's used blocks and inodes (statvfs, O(1)) with those at the work dir's last full scan:
only when the work dir could have passed `disk_mib`/`inodes` is it walked again at once."""
FD_SAMPLE_SECONDS = 0.1
"""How often the processes' fd tables are sampled for `open_files`."""
SCAN_SHARE = 0.05
"""Besides, a full scan of the work dir runs as often as costs at most this share of one CPU
(never more often than every 0.1 s), for what statvfs cannot see (space freed elsewhere on
the same file system while the tree writes)."""


@dataclass
class _DiskState:
    """The work dir at its last full scan: its usage, the file system's, when, how long."""

    used: int
    inodes: int
    fs_used: int
    fs_inodes: int
    at: float
    cost: float


def _fs_usage(path: str) -> tuple[int, int]:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_files - st.f_ffree


@dataclass
class _Launch:
    pid: int
    sock: socket.socket
    errr: int
    pidr: int
    statr: int
    cgroup: cg.Cgroup | None
    in_pidns: bool = False
    """Forked straight into its own pid namespace (`pid` is the tree's init)."""
    serial: int = 0
    reused: bool = False
    """The init of a tree that ended normally, waiting for its next job (`pid` is that init;
    no pid report, and each job brings its own start-report pipe)."""


@dataclass
class _Tree:
    pid: int
    sock: socket.socket
    plan: Plan
    cgroup: cg.Cgroup | None
    deadline: float | None
    statr: int
    """Read end where the tree's init reports the command's wait status."""
    limit: str | None = None
    value: str = ""
    reports: list[str] = field(default_factory=list)
    errr: int = -1
    """Read end of the start report, while the init has not confirmed the start yet."""
    serial: int = 0
    jobsock: socket.socket | None = None
    """The init's job socket (pid namespace layer): kept so that the init can take the next
    job of the plan once this one has ended normally (`Server.finish`)."""
    in_pidns: bool = False
    clean: bool = True
    """No control request (signal, stop, kill) reached the tree: its init is in the state it
    was created in."""
    base_cpu: float = 0.0
    """The cgroup's CPU time when the tree started (a reused sandbox's cgroup has some)."""
    killed: bool = False
    """The caller killed it (kill, SIGKILL, or dropping its handle): a SIGKILL is then not a
    limit's."""


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sel = selectors.DefaultSelector()
        self.trees: dict[int, _Tree] = {}
        self.prepared: dict[str, Prepared] = {}
        self.warm: dict[str, _Launch] = {}
        self.plans: dict[str, Plan] = {}
        self.launches: dict[str, int] = {}
        """Sandboxes forked per plan: the second one makes the plan's template first."""
        self.templated: set[str] = set()
        """Plans whose template was made (or failed) since they were prepared."""
        self.userns: dict[tuple[int, int], int] = {}
        self.dying: dict[int, cg.Cgroup | None] = {}
        """Inits whose tree was reported but that are not reaped yet (their cgroup goes then)."""
        self.counter = 0
        self.root = os.geteuid() == 0
        self.uid = SANDBOX_UID_BASE + os.getpid() % 1_000_000 if self.root else os.getuid()
        self.gid = self.uid if self.root else os.getgid()
        self.hierarchy = cg.detect() if self.root else None
        self.pidns = -1
        """As root: this process's pid namespace, to return to after forking a child into a
        new one (one fork per sandbox instead of two)."""
        if self.root:
            with contextlib.suppress(OSError):
                self.pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        if self.hierarchy is not None:
            cg.sweep_stale(self.hierarchy)
        self.last_tick = 0.0
        self.last_fds = 0.0
        self.disk: dict[str, _DiskState] = {}
        self.events = ProcEvents.open() if self.root else None
        """Fork/exit events (root): a SIGXFSZ/SIGXCPU of any process of a tree is seen."""

    # -- per plan, once -------------------------------------------------------------------
    def prepare(self, plan: Plan) -> Prepared:
        prep = self.prepared.pop(plan.key, None)
        if prep is not None:
            self.prepared[plan.key] = prep  # the most recently used last
            return prep
        rules: list[tuple[int, int, bool]] = []
        proc_readable = False
        floor = _fd_floor(plan)
        if Layer.LANDLOCK in plan.layers:
            extra = landlock.EXECUTE if plan.exec_all else 0
            grants = [(p, landlock.READ | extra) for p in plan.read]
            grants += [(p, landlock.READ | landlock.WRITE) for p in plan.write]
            grants += [(p, landlock.EXECUTE | landlock.READ_FILE) for p in plan.executables]
            grants += [(p, landlock.READ) for p in plan.runtime]
            for path, access in grants:
                if path == "/proc" or path.startswith("/proc/"):
                    proc_readable = True  # the child's own /proc: its rule is added there
                    continue
                fd = _high_fd(path, floor)
                if fd >= 0:
                    rules.append((fd, access, stat.S_ISDIR(os.fstat(fd).st_mode)))
        write_dirs: list[tuple[str, int]] = []
        for p in plan.write:
            if not os.path.isdir(p):
                continue
            fd = -1
            if self.root:
                st = os.stat(p)
                fd = self._userns(st.st_uid, st.st_gid)
            write_dirs.append((p, fd))
        allowed = plan.read + plan.write
        under = [d for d in plan.deny if any(within(d, a) for a in allowed)]
        mask_dirs = tuple(d for d in under if os.path.isdir(d))
        mask_files = tuple(d for d in under if os.path.exists(d) and not os.path.isdir(d))
        if len(self.prepared) >= MAX_PREPARED:  # keep the fd table small
            self.unprepare(next(iter(self.prepared)))  # the least recently used plan
        prep = Prepared(tuple(rules), proc_readable, tuple(write_dirs), mask_dirs, mask_files,
                        self.uid, self.gid, runtime=_runtime_mounts(plan))  # fmt: skip
        self.prepared[plan.key] = prep
        return prep

    def template(self, plan: Plan, prep: Prepared) -> Prepared:
        """The plan's template namespaces (see `namespaces.template`); without them (an error)
        each sandbox does its mount step in full."""
        userns = not plan.root and Layer.USER in plan.layers
        net = Layer.NETWORK in plan.layers and not plan.network
        try:
            u, m, n = namespaces.template(lambda: mount_steps(plan, prep), userns=userns,
                                          net=net, keep_above=_fd_floor(plan))  # fmt: skip
        except OSError:
            return prep
        return replace(prep, userns=u, mntns=m, netns=n)

    def _userns(self, owner_uid: int, owner_gid: int) -> int:
        key = (owner_uid, owner_gid)
        if key not in self.userns:
            from bashflow.sandbox.namespaces import idmap_userns

            try:
                self.userns[key] = idmap_userns(owner_uid, owner_gid, self.uid, self.gid)
            except OSError:
                self.userns[key] = -1
        return self.userns[key]

    # -- spawning -------------------------------------------------------------------------
    def launch(self, plan: Plan, prep: Prepared) -> _Launch:
        """Fork a child that applies the plan, up to the point where it needs the job, and
        then waits for it. The first sandbox of a plan does its mount step itself; the second
        one makes the plan's template namespaces first (`template`), which every later one
        joins (a plan used once never pays for a template it would not use again)."""
        used = self.launches.get(plan.key, 0)
        self.launches[plan.key] = used + 1
        if used and Layer.MOUNT in plan.layers and plan.key not in self.templated:
            self.templated.add(plan.key)  # (once: without a template, the full mount step)
            prep = self.prepared[plan.key] = self.template(plan, prep)
        group: cg.Cgroup | None = None
        self.counter += 1
        if self.hierarchy is not None and Layer.CGROUP in plan.layers:
            group = cg.Cgroup(self.hierarchy, f"{os.getpid()}-{self.counter}")
            try:
                group.create(plan.limits)
            except OSError:
                group.remove()
                raise
        errr, errw = os.pipe2(os.O_CLOEXEC)
        pidr, pidw = os.pipe2(os.O_CLOEXEC)
        statr, statw = os.pipe2(os.O_CLOEXEC)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        in_pidns = self.pidns >= 0 and Layer.PID in plan.layers
        if in_pidns:
            namespaces.unshare(namespaces.CLONE_NEWPID)
        try:
            a = os.fork()
        except BaseException:
            if in_pidns:
                namespaces.setns(self.pidns, namespaces.CLONE_NEWPID)
            raise
        if a and in_pidns:  # our own next children: back in our namespace
            namespaces.setns(self.pidns, namespaces.CLONE_NEWPID)
        if a and self.events is not None:
            self.events.follow(a, self.counter)
        if a == 0:  # pragma: no cover - child
            os.close(errr)
            os.close(pidr)
            os.close(statr)
            mine.close()
            for other in self.warm.values():  # their EOF must reach them, not stop at us
                other.sock.close()
            for tree in self.trees.values():
                tree.sock.close()
            contain(plan, prep, group, theirs.detach(), errw, pidw, statw, in_pidns=in_pidns)
        theirs.close()
        os.close(errw)
        os.close(pidw)
        os.close(statw)
        return _Launch(a, mine, errr, pidr, statr, group, in_pidns, self.counter)

    def spawn(self, plan: Plan, job: Job, reply: socket.socket, fds: list[int]) -> None:
        """Start `job` (owning `fds`, which are closed here before anything else is forked)."""
        try:
            prep = self.prepare(plan)
            launch = self.warm.pop(plan.key, None) or self.launch(plan, prep)
        except OSError as e:
            _close_all(fds)
            reply.send(pickle.dumps(("error", f"prepare: {e}")))
            return
        group = launch.cgroup
        direct = Layer.PID in plan.layers  # the tree's init confirms the start to the caller
        errr, errw, serial, base_cpu = launch.errr, -1, launch.serial, 0.0
        if launch.reused:  # the init of an earlier tree: a start-report pipe for this job
            pid = launch.pid
            errr, errw = os.pipe2(os.O_CLOEXEC)
            job = replace(job, errw=True)
            self.counter += 1
            serial = self.counter
            if self.events is not None:
                self.events.follow(pid, serial)
            if group is not None and plan.limits.cpu_seconds is not None:
                base_cpu = group.cpu_seconds()
        elif launch.in_pidns:
            pid = launch.pid
            os.close(launch.pidr)
        else:  # A reports B's pid (or fails first: EOF)
            data = _read_exactly(launch.pidr, 4)
            os.close(launch.pidr)
            pid = struct.unpack("i", data[:4])[0] if len(data) >= 4 else 0
            if pid != launch.pid:  # A only forked the tree's init (pid namespace) and exited
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(launch.pid, 0)
        sent = list(fds)
        if pid and direct:
            job = replace(job, pid=pid, confirm=True)
            sent.insert(0, reply.fileno())
        if errw >= 0:
            sent.insert(0, errw)
        if self.events is not None:  # from now on this tree's forks and exits count
            if not self.events.listening:
                self.events.listen(True)
                self.sel.register(self.events.fileno(), selectors.EVENT_READ, ("events", 0))
            if pid and pid != launch.pid:
                self.events.follow(pid, serial)
        with contextlib.suppress(OSError):  # if the child died early, its error is on errr
            socket.send_fds(launch.sock, [pickle.dumps(job)], sent)
        _close_all(fds)
        if errw >= 0:
            os.close(errw)
        jobsock: socket.socket | None = launch.sock
        if not direct:  # no init: the process became the command
            launch.sock.close()
            jobsock = None
        err = "" if pid and direct else _read_all(errr).decode(errors="replace")
        if err or not pid:
            os.close(errr)
            if jobsock is not None:
                jobsock.close()
            self.abandon(pid, group, launch.statr, serial)
            reply.send(pickle.dumps(("error", err or "the sandboxed process did not start")))
            return
        wall = plan.limits.wall_seconds
        deadline = time.monotonic() + wall if wall else None
        tree = _Tree(pid, reply, plan, group, deadline, launch.statr, serial=serial,
                     jobsock=jobsock, in_pidns=launch.in_pidns, base_cpu=base_cpu)  # fmt: skip
        self.trees[pid] = tree
        self.sel.register(reply, selectors.EVENT_READ, ("tree", pid))
        self.sel.register(launch.statr, selectors.EVENT_READ, ("status", pid))
        if direct:  # the init answers "spawned"; a failure to start arrives on errr
            tree.errr = errr
            self.sel.register(errr, selectors.EVENT_READ, ("started", pid))
        else:
            os.close(errr)
            reply.send(pickle.dumps(("spawned", pid)))

    def abandon(self, pid: int, group: cg.Cgroup | None, statr: int, serial: int) -> None:
        """Clean up after a sandbox that did not start its command."""
        if self.events is not None:
            self.events.forget(serial)
        if pid:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        if group is not None:
            group.remove()
        os.close(statr)

    def started(self, pid: int) -> None:
        """errr of a tree whose init confirms its start itself: EOF when the command has
        started, or the reason it did not (then the caller gets that instead)."""
        tree = self.trees[pid]
        err = self.start_error(tree)
        if err:
            del self.trees[pid]
            self.unregister(tree.sock, tree.statr)
            if tree.jobsock is not None:
                tree.jobsock.close()
            self.abandon(pid, tree.cgroup, tree.statr, tree.serial)
            with contextlib.suppress(OSError):
                tree.sock.send(pickle.dumps(("error", err)))
            tree.sock.close()

    def unregister(self, *files: socket.socket | int) -> None:
        """Stop watching `files` (those not watched are skipped)."""
        for f in files:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(f)

    def start_error(self, tree: _Tree) -> str:
        """The start failure reported on the tree's errr ('' once it has started)."""
        if tree.errr < 0:
            return ""
        self.unregister(tree.errr)
        err = _read_all(tree.errr).decode(errors="replace")  # the writers exit or exec soon
        os.close(tree.errr)
        tree.errr = -1
        return err

    def drop_warm(self) -> None:
        for launch in self.warm.values():
            self.drop_launch(launch)
        self.warm.clear()

    def drop_launch(self, launch: _Launch) -> None:
        """End a sandbox that waits for a job."""
        launch.sock.close()  # the waiting child sees EOF and exits
        for fd in (launch.errr, launch.pidr, launch.statr):
            if fd >= 0:
                os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(launch.pid, 0)
        if launch.cgroup is not None:
            launch.cgroup.remove()
        if self.events is not None:
            self.events.forget(launch.serial)

    # -- control ----------------------------------------------------------------------------
    def control(self, tree: _Tree, msg: tuple[object, ...]) -> None:
        kind = msg[0]
        tree.clean = False
        if kind == "kill":
            tree.killed = True
            self.kill(tree)
        elif kind == "signal":
            sig = int(str(msg[1]))
            tree.killed = tree.killed or sig == signal.SIGKILL
            self.signal_tree(tree, sig)
        elif kind == "stop":
            if tree.cgroup is None or not tree.cgroup.freeze(True):
                self.signal_tree(tree, signal.SIGSTOP)
        elif kind == "cont" and (tree.cgroup is None or not tree.cgroup.freeze(False)):
            self.signal_tree(tree, signal.SIGCONT)

    def members(self, tree: _Tree) -> list[int]:
        if tree.cgroup is not None:
            pids = tree.cgroup.pids()
            if pids:
                return pids
        return _pid_ns_members(tree.pid)

    def signal_tree(self, tree: _Tree, sig: int) -> None:
        for pid in self.members(tree):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def kill(self, tree: _Tree) -> None:
        tree.clean = False
        if tree.cgroup is not None:
            tree.cgroup.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(tree.pid, signal.SIGKILL)  # pid 1 of its namespace: takes the rest along
        if tree.cgroup is None:
            self.signal_tree(tree, signal.SIGKILL)

    def limit(self, tree: _Tree, name: str, value: str) -> None:
        if tree.limit is None:
            tree.limit, tree.value = name, value
        self.kill(tree)

    def status(self, pid: int) -> None:
        """The tree's init reported the command's status (the rest of the tree is gone):
        answer now, before the init and its namespaces are torn down; EOF means the init died
        without reporting (killed), and its reaping answers instead."""
        tree = self.trees[pid]
        self.unregister(tree.statr)
        data = b""
        with contextlib.suppress(OSError):
            data = os.read(tree.statr, 8)
        if len(data) == 8:
            status, spent = struct.unpack("ii", data)
            if spent:  # the init exits now (`spawner._spent`): not to be reused
                tree.clean = False
            self.finish(pid, status, reaped=False)

    def finish(self, pid: int, status: int, *, reaped: bool = True) -> None:
        if self.trees[pid].errr >= 0:  # its start report first: it may not have started
            self.started(pid)
            if pid not in self.trees:
                return
        tree = self.trees.pop(pid)
        self.unregister(tree.statr)
        if reaped:  # the init's own status, unless it reported the command's first
            with contextlib.suppress(OSError):
                os.set_blocking(tree.statr, False)
                reported = os.read(tree.statr, 8)
                if len(reported) == 8:
                    status = struct.unpack("ii", reported)[0]
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        lim = tree.plan.limits
        events = tree.cgroup.events() if tree.cgroup is not None else {}
        killed = self.events.forget(tree.serial) if self.events is not None else set()
        if tree.limit in (None, "open_files"):  # a limit that stopped a process comes first:
            # the command's own signal, or that of any process of the tree
            if signal.SIGXCPU in (sig, *killed) or (
                sig == signal.SIGKILL
                and not tree.killed
                and lim.cpu_seconds is not None
                and tree.cgroup is not None
                and tree.cgroup.cpu_seconds() - tree.base_cpu >= lim.cpu_seconds
            ):
                tree.limit, tree.value = "cpu_seconds", str(lim.cpu_seconds)
            elif signal.SIGXFSZ in (sig, *killed):
                field = next((r.field for r in tree.plan.rlimits if r.field in (
                    "file_size_mib", "disk_mib")), "file_size_mib")  # fmt: skip
                tree.limit, tree.value = field, str(getattr(lim, field))
            elif events.get("memory_mib"):
                tree.limit, tree.value = "memory_mib", str(lim.memory_mib)
            elif events.get("processes"):
                tree.limit, tree.value = "processes", str(lim.processes)
        self.scan(tree, final=True)
        self.unregister(tree.sock)
        with contextlib.suppress(OSError):
            tree.sock.send(pickle.dumps(("exited", status, tree.limit, tree.value, tree.reports)))
        tree.sock.close()
        if self.events is not None and not self.trees and self.events.listening:
            self.unregister(self.events.fileno())
            self.events.listen(False)  # no tree runs: no need to hear of every fork
        key = tree.plan.key
        if (not reaped and tree.jobsock is not None and tree.clean and tree.limit is None
                and not any(events.values()) and not killed and key in self.prepared
                and key not in self.warm):  # fmt: skip
            # the command ended by itself and the rest of its tree is gone: its init, still
            # fully contained and alone in its cgroup and namespaces, takes the plan's next job
            self.warm[key] = _Launch(pid, tree.jobsock, -1, -1, tree.statr, tree.cgroup,
                                     tree.in_pidns, reused=True)  # fmt: skip
            return
        if tree.jobsock is not None:
            tree.jobsock.close()  # not reused: the init sees EOF and exits
        os.close(tree.statr)
        if reaped:
            if tree.cgroup is not None:  # after the reply: the caller need not wait for it
                tree.cgroup.remove()
        else:
            self.dying[pid] = tree.cgroup
        self.refill(tree.plan)

    def refill(self, plan: Plan) -> None:
        """Prepare the next sandbox for `plan` while the caller is busy elsewhere, once the
        plan has been used more than once (a plan used once is not paid for twice)."""
        prep = self.prepared.get(plan.key)
        if prep is not None and plan.key not in self.warm and self.launches.get(plan.key, 0) > 1:
            with contextlib.suppress(OSError):
                self.warm[plan.key] = self.launch(plan, prep)

    def scan(self, tree: _Tree, *, final: bool = False, fds: bool = False) -> None:
        """The watched limits: the work dir's growth (`disk_mib`, `inodes`: the tree is
        stopped; see TICK_SECONDS), and, with `fds`, a process holding every fd number below
        `open_files` (reported: the kernel already refuses the next one with EMFILE; the
        program decides what to do)."""
        lim = tree.plan.limits
        if fds and lim.open_files is not None and tree.limit is None:
            for pid in self.members(tree):
                if pid == tree.pid and Layer.PID in tree.plan.layers:
                    continue  # the init: ours, and while it sets up it holds our fds
                with contextlib.suppress(OSError):  # every number below the limit taken
                    names = os.listdir(f"/proc/{pid}/fd")
                    if sum(int(n) < lim.open_files for n in names) >= lim.open_files:
                        tree.limit, tree.value = "open_files", str(lim.open_files)
                        break
        if lim.disk_mib is None and lim.inodes is None:
            return
        plan = tree.plan
        base_used, base_inodes = plan.disk_baseline
        max_used = base_used + lim.disk_mib * 1024 * 1024 if lim.disk_mib is not None else None
        max_inodes = base_inodes + lim.inodes if lim.inodes is not None else None
        state = self.disk.get(plan.workdir)
        if state is None and plan.disk_scan[2]:  # start from the plan's baseline walk
            fs_used0, fs_inodes0, at, cost = plan.disk_scan
            state = _DiskState(base_used, base_inodes, fs_used0, fs_inodes0, at, cost)
            self.disk[plan.workdir] = state
        now = time.monotonic()
        fs_used, fs_inodes = 0, 0
        with contextlib.suppress(OSError):
            fs_used, fs_inodes = _fs_usage(plan.workdir)
        if state is not None:
            could_use = state.used + max(0, fs_used - state.fs_used)
            could_have = state.inodes + max(0, fs_inodes - state.fs_inodes)
            suspect = (max_used is not None and could_use > max_used) or (
                max_inodes is not None and could_have > max_inodes)  # fmt: skip
            since = now - state.at
            due = since >= max(0.1, state.cost / SCAN_SHARE)
            # (a suspicion is checked at once, unless others fill the same file system so
            # fast that rescanning would take more than a fifth of a CPU)
            if not (suspect and since >= state.cost * 5) and not (due and not final):
                return
        used, inodes = disk_usage(plan.workdir)
        done = time.monotonic()
        self.disk[plan.workdir] = _DiskState(used, inodes, fs_used, fs_inodes, done, done - now)
        if max_used is not None and used > max_used:
            name, value = "disk_mib", str(lim.disk_mib)
        elif max_inodes is not None and inodes > max_inodes:
            name, value = "inodes", str(lim.inodes)
        else:
            return
        if tree.limit in (None, "open_files"):
            tree.limit, tree.value = name, value
        if not final:
            self.kill(tree)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.trees:
                self.finish(pid, status)
            elif pid in self.dying:
                group = self.dying.pop(pid)
                if group is not None:
                    group.remove()
            else:  # an idle init that retired (`spawner._spent`) or was killed
                for key, launch in list(self.warm.items()):
                    if launch.reused and launch.pid == pid:
                        del self.warm[key]
                        launch.sock.close()
                        os.close(launch.statr)
                        if launch.cgroup is not None:
                            launch.cgroup.remove()

    def shutdown(self) -> None:
        if self.events is not None:
            with contextlib.suppress(OSError):
                self.events.listen(False)
        self.drop_warm()
        for tree in list(self.trees.values()):
            self.kill(tree)
            if tree.cgroup is not None:
                tree.cgroup.remove()
        for pid in [*self.trees, *self.dying]:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for group in self.dying.values():
            if group is not None:
                group.remove()

    def run(self) -> None:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel.register(self.sock, selectors.EVENT_READ, ("main", 0))
        self.sel.register(wake_r, selectors.EVENT_READ, ("wake", 0))
        try:
            while True:
                now = time.monotonic()
                deadlines = [t.deadline for t in self.trees.values() if t.deadline is not None]
                timeout = max(0.0, min(deadlines) - now) if deadlines else None
                if any(_watched(t.plan) for t in self.trees.values()):
                    left = max(0.0, self.last_tick + TICK_SECONDS - now)
                    timeout = min(timeout if timeout is not None else 1.0, left)
                for key, _ in self.sel.select(timeout):
                    kind, pid = key.data
                    if kind == "wake":
                        with contextlib.suppress(BlockingIOError):
                            os.read(wake_r, 4096)
                        self.reap()
                    elif kind == "events" and self.events is not None:
                        self.events.read()
                    elif kind == "status" and pid in self.trees:
                        self.status(pid)
                    elif kind == "started" and pid in self.trees:
                        self.started(pid)
                    elif kind == "main":
                        if not self.handle_request():
                            return
                    elif kind == "tree" and pid in self.trees:
                        tree = self.trees[pid]
                        try:
                            data = tree.sock.recv(_MSG)
                        except OSError:
                            data = b""
                        if not data:  # the caller dropped its handle: the tree goes too
                            self.unregister(tree.sock)
                            tree.killed = True
                            self.kill(tree)
                        else:
                            msg = pickle.loads(data)
                            self.control(tree, msg)
                            if pid in self.trees:
                                with contextlib.suppress(OSError):
                                    tree.sock.send(pickle.dumps(("ack", msg[0])))
                now = time.monotonic()
                for tree in list(self.trees.values()):
                    if tree.deadline is not None and now >= tree.deadline:
                        tree.deadline = None
                        self.limit(tree, "wall_seconds", f"{tree.plan.limits.wall_seconds:g}")
                if now - self.last_tick >= TICK_SECONDS:
                    self.last_tick = now
                    fds = now - self.last_fds >= FD_SAMPLE_SECONDS
                    if fds:
                        self.last_fds = now
                    for tree in list(self.trees.values()):
                        self.scan(tree, fds=fds)
                self.reap()
        finally:
            self.shutdown()

    def handle_request(self) -> bool:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(self.sock, _MSG, 64)
        except OSError:
            return False
        if not msg:
            return False
        reply = socket.socket(fileno=fds[0])
        request = pickle.loads(msg)
        for dead in request[-1]:  # plans the caller no longer holds
            self.forget(dead)
        if request[0] == "state":
            with contextlib.suppress(OSError):
                reply.send(pickle.dumps({
                    "plans": len(self.plans), "prepared": len(self.prepared),
                    "idle": len(self.warm), "trees": len(self.trees),
                    "forked": sum(self.launches.values()),
                    "templates": sum(p.mntns >= 0 for p in self.prepared.values()),
                }))  # fmt: skip
            reply.close()
            return True
        _kind, key, plan, job, _released = request
        if plan is not None:
            self.plans[key] = plan
        self.spawn(self.plans[key], job, reply, fds[1:])
        return True

    def forget(self, key: str) -> None:
        """Drop what is kept for a plan the caller has let go of: the plan, its idle sandbox,
        its rule and template fds (trees still running under it keep their own copy)."""
        self.plans.pop(key, None)
        self.launches.pop(key, None)
        self.unprepare(key)

    def unprepare(self, key: str) -> None:
        """Close what was prepared for a plan (rule fds, template) and end its idle sandbox;
        it is prepared again if used again."""
        launch = self.warm.pop(key, None)
        if launch is not None:
            self.drop_launch(launch)
        self.templated.discard(key)
        prep = self.prepared.pop(key, None)
        if prep is not None:
            for fd in prep.fds():
                os.close(fd)


def _high_fd(path: str, floor: int) -> int:
    """An O_PATH fd for `path`, moved to `floor` or above (`_fd_floor`); -1 when it cannot be
    opened."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return -1
    with contextlib.suppress(OSError):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)
        os.close(fd)
        return high
    return fd


def _watched(plan: Plan) -> bool:
    lim = plan.limits
    return lim.disk_mib is not None or lim.inodes is not None or lim.open_files is not None


def _fd_floor(plan: Plan) -> int:
    """Where the fds a sandbox keeps until its Landlock step go (rule paths, template
    namespaces): above the numbers its open_files limit leaves usable, but no higher (the fd
    table is copied at every fork)."""
    return max(plan.limits.open_files or 0, 64) + 16


def _runtime_mounts(plan: Plan) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The plan's runtime directories grouped under the mount point that makes them reachable:
    as root (the sandbox runs as another uid), the topmost ancestor others cannot search
    (`/root`, mode 0700) is replaced by a read-only tmpfs that holds only these directories;
    otherwise ("") each is only bound read-only over itself."""
    groups: dict[str, list[str]] = {}
    for p in plan.runtime:
        anchor = ""
        if plan.root:
            parts = p.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/" + "/".join(parts[:i])
                with contextlib.suppress(OSError):
                    if not os.stat(d).st_mode & stat.S_IXOTH:
                        anchor = d
                        break
        groups.setdefault(anchor, []).append(p)
    return tuple((a, tuple(ps)) for a, ps in groups.items())


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


def _read_exactly(fd: int, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _read_all(fd: int) -> bytes:
    out = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        out += chunk


def _pid_ns_members(pid: int) -> list[int]:
    try:
        ns = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return [pid]
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{name}/ns/pid") == ns:
                    out.append(int(name))
    return out or [pid]


def main() -> None:
    """Entry point of the exec'd (lean) server: `python3 -I -S -B -c ... FD`."""
    import sys

    serve(socket.socket(fileno=int(sys.argv[1])))


def serve(sock: socket.socket) -> None:
    """Run the server on `sock` until its peer goes away."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else min(hard, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(want, 65536)), hard))
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller decides; ^C reaches it, not us
    # No collector passes over the objects every child inherits: a pass in a forked child
    # writes to all of them, and each page written is copied (copy-on-write).
    gc.collect()
    gc.freeze()
    Server(sock).run()
