"""execute/schedule.py - run independent commands at the same time: run-ahead with in-order
commit.

The shell still walks every list in program order; what changes is that, when it reaches an
item, later items of the same list whose predecessors in the compiled graph have all finished
(`compile/runplan.py`: `after` < the current item) and that may run in a fork (`fork`) are
started early in a forked copy of the shell, up to `-j` at once (the shell's own command
counts as one). Each such run-ahead item writes its stdout and stderr into pipes of its own
(one pipe when the two are the same stream, so their interleaving is kept) and its outcome
(status, PIPESTATUS, `$_`, LINENO, the variables it set, an `exit` or an error) into a
memfd. When the shell reaches the item it *commits* it: copies what is in the pipes to its
own stdout / stderr (streaming while the item still runs), waits, takes the outcome in as if
the item had run here, and re-raises an `exit` or error - so output, `$?`, `set -e`, and
what follows are bash's. Output of an item started early but never reached (an earlier
command ended the script) is dropped, and the item is killed; the graph starts early only
commands without side effects in that case (`set -e` edges, docs/compile.md).

A workflow's per-node settings (`bashflow exec workflow.json`) apply to items that may be
forked: such an item always runs in a fork (at once when it is reached), so its
`timeout_seconds` can kill it (124, `timed_out`), `retry` can start it again (the output of
a failed attempt is dropped), `priority` orders the start of ready items and `pool` caps how
many of a pool's items run at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import random
import select
import signal
import stat
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bashflow.execute.errors import ExitShell, ShellError
from bashflow.execute.events import same_file
from bashflow.execute.runner import exit_status
from bashflow.execute.state import NAMEREF, Var

if TYPE_CHECKING:
    from bashflow.compile.runplan import ItemPlan, RunPlan
    from bashflow.execute.interp import Interpreter
    from bashflow.parser import syntax as s

F_SETPIPE_SZ = 1031
PIPE_SIZE = 1 << 20
"""Output an item started early may write before it waits for its turn."""


class NodeSettings:
    """A node's `settings` from a workflow document (defaults filled in)."""

    __slots__ = ("delay", "jitter", "max_attempts", "max_delay", "multiplier", "pool",
                 "priority", "retry_codes", "retry_signals", "retry_timeout", "timeout")  # fmt: skip

    def __init__(self, data: dict[str, Any]) -> None:
        self.timeout: float | None = data.get("timeout_seconds")
        retry = data.get("retry") or {}
        self.max_attempts = int(retry.get("max_attempts", 1))
        self.delay = float(retry.get("initial_delay_seconds", 1.0))
        self.multiplier = float(retry.get("multiplier", 2.0))
        self.max_delay = float(retry.get("max_delay_seconds", 60.0))
        self.jitter = float(retry.get("jitter", 0.1))
        on = retry.get("retry_on") or {}
        self.retry_codes: list[int] = list(on.get("exit_codes", []))
        self.retry_signals: list[int] = [_signum(x) for x in on.get("signals", [])]
        self.retry_timeout = bool(on.get("timeout", False))
        self.priority = int(data.get("priority", 5))
        self.pool: str | None = data.get("pool")

    @property
    def special(self) -> bool:
        """Needs a fork of its own even at -j1 (a timeout or retries)."""
        return self.timeout is not None or self.max_attempts > 1

    def retries(self, status: int, sig: int | None, timed_out: bool) -> bool:
        if not (self.retry_codes or self.retry_signals or self.retry_timeout):
            return True  # an empty retry_on retries every failure (docs/workflow.md)
        if timed_out:
            return self.retry_timeout
        if sig is not None:
            return sig in self.retry_signals
        return status in self.retry_codes

    def backoff(self, attempt: int) -> float:
        """Delay before attempt `attempt + 1` (exponential, capped, with jitter)."""
        base = min(self.delay * self.multiplier ** (attempt - 1), self.max_delay)
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))


def _signum(x: object) -> int:
    if isinstance(x, int):
        return x
    name = str(x).upper()
    return int(getattr(signal, name if name.startswith("SIG") else "SIG" + name))


class Ahead:
    """An item started in a fork: its pid, output pipes and outcome memfd."""

    __slots__ = ("attempt", "deadline", "err_r", "index", "item", "out_r", "pid", "pidfd",
                 "plan", "result", "settings", "started", "timed_out")  # fmt: skip

    def __init__(self, index: int, item: s.ListItem, plan: ItemPlan) -> None:
        self.index = index
        self.item = item
        self.plan = plan
        self.pid = 0
        self.pidfd = -1
        self.out_r = -1
        self.err_r = -1
        self.result = -1
        self.attempt = 1
        self.started = 0.0
        self.deadline: float | None = None
        self.timed_out = False
        self.settings: NodeSettings | None = None


class Scheduler:
    """One per shell process; `jobs` is -j. `settings` by node id (a workflow document);
    `skip`: nodes a `rerun --failed` keeps from the earlier run."""

    def __init__(self, interp: Interpreter, plan: RunPlan, jobs: int, *,
                 settings: dict[int, NodeSettings] | None = None,
                 pools: dict[str, int] | None = None, skip: Sequence[int] = ()) -> None:  # fmt: skip
        self.interp = interp
        self.plan = plan
        self.jobs = max(1, jobs)
        self.settings = settings or {}
        self.pools = pools or {}
        self.pool_use: dict[str, int] = {}
        self.skip = frozenset(skip)
        self.running = 0
        self.child = False
        self.timed: set[Ahead] = set()
        """Running items with a deadline (killed when it passes, even before their turn)."""

    # ------------------------------------------------------------------ a list's run

    def items(self, lst: s.CommandList) -> list[ItemPlan] | None:
        return self.plan.lists.get(id(lst))

    def enforce_deadlines(self, now: float) -> float | None:
        """Kill the items whose timeout has passed; the next deadline, if any."""
        soonest: float | None = None
        for a in self.timed:
            if a.deadline is None:
                continue
            if now >= a.deadline:
                a.timed_out = True
                a.deadline = None
                _kill_group(a.pid)
            elif soonest is None or a.deadline < soonest:
                soonest = a.deadline
        return soonest

    def node_settings(self, plan: ItemPlan) -> NodeSettings | None:
        for n in plan.nodes:
            found = self.settings.get(n)
            if found is not None:
                return found
        return None


class ListRun:
    """One execution of a planned list: what started early, committed when reached."""

    __slots__ = ("ahead", "items", "lst", "next", "plans", "sched")

    def __init__(self, sched: Scheduler, lst: s.CommandList, plans: list[ItemPlan]) -> None:
        self.sched = sched
        self.lst = lst
        self.items = lst.items
        self.plans = plans
        self.ahead: dict[int, Ahead] = {}
        self.next = 0
        """Items before this one were considered and need not be looked at again."""

    def run(self, i: int) -> int:
        """Run item `i` (everything before it has finished): commit it if it started early,
        start it in a fork if its settings ask for one, else run it here."""
        sched = self.sched
        interp = sched.interp
        plan = self.plans[i]
        if sched.timed:
            sched.enforce_deadlines(time.monotonic())
        if sched.skip and plan.fork and set(plan.nodes) <= sched.skip:
            return self.skipped(plan)
        if sched.jobs > 1 and not sched.child and not sched.plan.serial:
            self.launch_ready(i)
        a = self.ahead.pop(i, None)
        if a is None:
            settings = sched.node_settings(plan) if sched.settings else None
            if settings is not None and settings.special and plan.fork and self.may_fork(plan):
                a = self.start(i, settings)
        if a is None:
            return interp.run_item(self.items[i])
        return self.commit(a)

    def skipped(self, plan: ItemPlan) -> int:
        ev = self.sched.interp.events
        if ev is not None:
            now = time.monotonic()
            for n in plan.nodes:
                ev.emit({"event": "node_finished", "node": n, "status": "skipped", "exit": 0,
                         "signal": None, "attempt": 0, "duration": 0.0, "t": now})  # fmt: skip
        self.sched.interp.state.last_status = 0
        return 0

    def may_fork(self, plan: ItemPlan) -> bool:
        """What only the running shell knows: a trap that runs on a failure or a return,
        or a variable it must hand back that is a reference to another."""
        st = self.sched.interp.state
        traps = st.traps
        if traps and (traps.get("ERR") or traps.get("DEBUG") or traps.get("RETURN")):
            return False
        if st.shopt["lastpipe"]:  # a pipeline's last element sets the shell's variables
            return False
        # a reference reads or sets a variable the graph knows by another name
        return not any(v.flags & NAMEREF for scope in st.scopes for v in scope.values())

    def launch_ready(self, i: int) -> None:
        sched = self.sched
        free = sched.jobs - 1 - sched.running
        if free <= 0:
            return
        if not (_is_pipe(1) and _is_pipe(2)):
            # an early-started item writes into a pipe: a program that looks at its output
            # (a terminal for ls or grep --color=auto, `cat log >&2` into that same log after
            # `exec 2>log`) must see what it would see at its turn - so only while the
            # shell's own are pipes (sandboxed output is relayed through pipes)
            return
        plans = self.plans
        ready: list[int] = []
        start = max(self.next, i + 1)
        for j in range(start, len(plans)):
            p = plans[j]
            if p.after >= i:
                continue
            if j in self.ahead or not p.fork:
                continue
            ready.append(j)
        # items before `i` are done; anything found not ready now may be later
        self.next = i + 1
        if not ready:
            return
        if sched.settings:
            ready.sort(key=lambda j: -self._priority(j))
        for j in ready:
            if free <= 0:
                break
            p = plans[j]
            if sched.skip and set(p.nodes) <= sched.skip:
                continue
            settings = sched.node_settings(p) if sched.settings else None
            if settings is not None and settings.pool is not None:
                cap = sched.pools.get(settings.pool, 1)
                if sched.pool_use.get(settings.pool, 0) >= cap:
                    continue
                if self.pool_waits(settings.pool, i, j):
                    continue
            if not self.may_fork(p):
                continue
            self.ahead[j] = self.start(j, settings)
            free -= 1

    def pool_waits(self, pool: str, i: int, j: int) -> bool:
        """An item of `pool` from `i` (the shell's own) up to `j` has not started: it goes
        first, so the shell never reaches an item whose pool later items have filled."""
        sched = self.sched
        for k in range(i, j):
            if k in self.ahead:
                continue
            s_ = sched.node_settings(self.plans[k])
            if s_ is not None and s_.pool == pool:
                return True
        return False

    def _priority(self, j: int) -> int:
        s = self.sched.node_settings(self.plans[j])
        return s.priority if s is not None else 5

    # ------------------------------------------------------------------ the fork

    def start(self, j: int, settings: NodeSettings | None, attempt: int = 1) -> Ahead:
        sched = self.sched
        a = Ahead(j, self.items[j], self.plans[j])
        a.settings = settings
        a.attempt = attempt
        merged = same_file(1, 2)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        with contextlib.suppress(OSError):
            fcntl.fcntl(out_w, F_SETPIPE_SZ, PIPE_SIZE)
        if merged:
            err_r, err_w = -1, out_w
        else:
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            with contextlib.suppress(OSError):
                fcntl.fcntl(err_w, F_SETPIPE_SZ, PIPE_SIZE)
        result = os.memfd_create("bashflow-item", os.MFD_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(sched, a, out_r, out_w, err_r, err_w, result)
        os.close(out_w)
        if not merged:
            os.close(err_w)
        a.pid, a.out_r, a.err_r, a.result = pid, out_r, err_r, result
        a.pidfd = os.pidfd_open(pid)
        a.started = time.monotonic()
        if settings is not None:
            if settings.timeout is not None:
                a.deadline = a.started + settings.timeout
            if settings.pool is not None:
                sched.pool_use[settings.pool] = sched.pool_use.get(settings.pool, 0) + 1
        sched.running += 1
        if a.deadline is not None:
            sched.timed.add(a)
        return a

    # ------------------------------------------------------------------ commit

    def commit(self, a: Ahead) -> int:
        """Copy its output while it runs, wait, take its outcome in; retry per settings."""
        sched = self.sched
        interp = sched.interp
        while True:
            # an attempt that may be retried keeps its output until it is known to be the
            # last one (a failed attempt's output is dropped)
            held: list[tuple[int, bytes]] | None = (
                [] if a.settings is not None and a.attempt < a.settings.max_attempts else None
            )
            ws = self.drain(a, held)
            self.release(a)
            status = exit_status(ws)
            sig = os.WTERMSIG(ws) if os.WIFSIGNALED(ws) else None
            s_ = a.settings
            outcome = self.outcome(a)
            failed = a.timed_out or (outcome is not None and _failed(outcome))
            if (s_ is not None and failed and a.attempt < s_.max_attempts
                    and s_.retries(outcome[1] if outcome else status, sig, a.timed_out)):  # fmt: skip
                delay = s_.backoff(a.attempt)
                ev = interp.events
                if ev is not None:
                    for n in a.plan.nodes:
                        ev.emit({"event": "node_retrying", "node": n, "attempt": a.attempt + 1,
                                 "delay": round(delay, 3), "exit": status, "signal": sig,
                                 "t": time.monotonic()})  # fmt: skip
                time.sleep(delay)
                a = self.start(a.index, s_, a.attempt + 1)
                a.settings = s_
                continue
            for dest, data in held or ():
                _write_all(dest, data)
            break
        if a.timed_out:
            ev = interp.events
            if ev is not None:
                now = time.monotonic()
                for n in a.plan.nodes:
                    ev.emit({"event": "node_finished", "node": n, "status": "timed_out",
                             "exit": 124, "signal": sig, "attempt": a.attempt,
                             "duration": round(now - a.started, 6), "t": now})  # fmt: skip
            interp.state.last_status = 124
            interp.set_pipestatus([124])
            if interp.suppress_errexit == 0:
                interp.on_failure(124)
            return 124
        if outcome is None:
            # the fork died before it could say how it ended (killed by a signal)
            interp.state.last_status = status
            interp.set_pipestatus([status])
            return status
        return self.take(outcome)

    def drain(self, a: Ahead, held: list[tuple[int, bytes]] | None = None) -> int:
        """Copy the item's pipes to this shell's stdout / stderr (or into `held`) until it
        exits; its wait status. A destination that is gone closes the pipe, so the item
        gets SIGPIPE."""
        dests = {a.out_r: 1}
        if a.err_r >= 0:
            dests[a.err_r] = 2
        poller = select.poll()
        for fd in dests:
            poller.register(fd, select.POLLIN)
        poller.register(a.pidfd, select.POLLIN)
        exited = False
        while not exited:
            timeout = -1
            soonest = self.sched.enforce_deadlines(time.monotonic()) if self.sched.timed else None
            if soonest is not None:  # this item's deadline or another running item's
                timeout = max(0, int((soonest - time.monotonic()) * 1000) + 1)
            try:
                ready = poller.poll(timeout)
            except InterruptedError:
                continue
            for fd, _ev in ready:
                if fd == a.pidfd:
                    exited = True
                    continue
                if fd in dests and not _copy(fd, dests[fd], a.timed_out, held):
                    poller.unregister(fd)
                    os.close(fd)
                    del dests[fd]
                    if a.out_r == fd:
                        a.out_r = -1
                    else:
                        a.err_r = -1
        for fd, dest in list(dests.items()):
            os.set_blocking(fd, False)
            while _copy(fd, dest, a.timed_out, held):
                pass
        while True:
            try:
                _, ws = os.waitpid(a.pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                ws = 0x7F00  # not ours any more: treat as status 127
                break
        # the item's process group: what it left behind is not waited for by bash either,
        # but nothing of an early-started item may outlive its turn unseen
        return ws

    def release(self, a: Ahead) -> None:
        for fd in (a.out_r, a.err_r, a.pidfd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        a.out_r = a.err_r = a.pidfd = -1
        sched = self.sched
        sched.running -= 1
        sched.timed.discard(a)
        if a.settings is not None and a.settings.pool is not None:
            sched.pool_use[a.settings.pool] -= 1

    def outcome(self, a: Ahead) -> tuple[Any, ...] | None:
        try:
            os.lseek(a.result, 0, os.SEEK_SET)
            chunks = []
            while True:
                data = os.read(a.result, 65536)
                if not data:
                    break
                chunks.append(data)
        finally:
            os.close(a.result)
            a.result = -1
        if not chunks:
            return None
        try:
            value = pickle.loads(b"".join(chunks))
        except Exception:
            return None
        return value if isinstance(value, tuple) else None

    def take(self, outcome: tuple[Any, ...]) -> int:
        """The item's outcome, as if it had run in this shell."""
        interp = self.sched.interp
        st = interp.state
        (how, status, pipestatus, last_arg, lineno, delta, hashed, error) = outcome
        for name, where in delta:
            for scope in st.scopes:
                scope.pop(name, None)
            for level, var in where:
                if level < len(st.scopes):
                    st.scopes[level][name] = var
        st.hash.update(hashed)
        if last_arg is not None:
            st.last_arg = last_arg
        st.lineno = lineno
        st.last_status = status
        interp.set_pipestatus(list(pipestatus))
        if how == "exit":
            raise ExitShell(status)
        if how == "error":
            cls, message, err_status = error
            raise cls(message, err_status)
        return int(status)

    def drop(self, end: int) -> None:
        """Items before `end` that started early will not be reached (the rest of their
        line was abandoned): kill them."""
        for j in [j for j in self.ahead if j < end]:
            self.kill(self.ahead.pop(j))

    def kill(self, a: Ahead) -> None:
        """An early-started item that will not be reached: killed, its output dropped, and
        its nodes recorded `cancelled` (bash would not have run it; whatever it reported
        before is overridden)."""
        _kill_group(a.pid)
        with contextlib.suppress(ChildProcessError, InterruptedError):
            os.waitpid(a.pid, 0)
        if a.result >= 0:
            os.close(a.result)
            a.result = -1
        self.release(a)
        ev = self.sched.interp.events
        if ev is not None:
            now = time.monotonic()
            for n in a.plan.nodes:
                ev.emit({"event": "node_finished", "node": n, "status": "cancelled",
                         "exit": None, "signal": None, "attempt": a.attempt,
                         "duration": round(now - a.started, 6), "t": now})  # fmt: skip

    def abandon(self) -> None:
        """The list was left early (an exit, an error): kill what started early, unseen."""
        for a in self.ahead.values():
            self.kill(a)
        self.ahead.clear()


def _failed(outcome: tuple[Any, ...]) -> bool:
    return bool(outcome[0] in ("exit", "error") or outcome[1] != 0)


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _copy(fd: int, dest: int, discard: bool, held: list[tuple[int, bytes]] | None) -> bool:
    """Copy one chunk (or keep it in `held`); False at EOF, when nothing is left (a
    non-blocking fd), or when the destination is gone."""
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return False
    except InterruptedError:
        return True
    if not data:
        return False
    if discard:
        return True
    if held is not None:
        held.append((dest, data))
        return True
    return _write_all(dest, data)


def _write_all(dest: int, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        try:
            n = os.write(dest, view)
        except InterruptedError:
            continue
        except OSError:
            return False  # a closed reader: the item gets SIGPIPE, as it would in bash
        view = view[n:]
    return True


def _child(sched: Scheduler, a: Ahead, out_r: int, out_w: int, err_r: int, err_w: int,
           result: int) -> None:  # fmt: skip
    """The forked copy of the shell that runs one item and says how it ended."""
    code = 0
    try:
        interp = sched.interp
        relayed = interp.events.relayed() if interp.events is not None else (False, False)
        os.setpgid(0, 0)
        os.close(out_r)
        if err_r >= 0:
            os.close(err_r)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.close(out_w)
        if err_w != out_w:
            os.close(err_w)
        sched.child = True
        if interp.events is not None:
            interp.events.mark_streams(relayed)
        st = interp.state
        how, error = "done", None
        st.last_arg = _UNSET  # `$_` is handed back only when the item set it
        try:
            interp.run_item(a.item)
        except ExitShell as e:
            how = "exit"
            st.last_status = e.status
        except ShellError as e:
            how, error = "error", (type(e), e.message, e.status)
        delta = []
        for name in a.plan.delta:
            delta.append((name, [(lvl, _plain(sc[name])) for lvl, sc in enumerate(st.scopes)
                                 if name in sc]))  # fmt: skip
        last_arg = None if st.last_arg is _UNSET else st.last_arg
        outcome = (how, st.last_status, tuple(st.pipestatus), last_arg, st.lineno, delta,
                   dict(st.hash), error)  # fmt: skip
        os.write(result, pickle.dumps(outcome))
    except BrokenPipeError:
        code = 141
    except BaseException:
        import traceback

        with contextlib.suppress(Exception):
            traceback.print_exc()
        code = 70
    os._exit(code)


_UNSET = "\0bashflow: $_ not set by this item"


def _plain(v: Var) -> Var:
    return v.copy()
