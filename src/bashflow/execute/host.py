"""execute/host.py - the `bashflow exec` process's side of the run record (docs/runs.md).

The host makes the run's `Recorder` (history, --events, live view) and reads the events the
interpreter writes into a pipe. Sandboxed (`contained.py`) the interpreter is inside the
sandbox and the host relays its output too (with the markers that attribute each byte to a
node). With `--no-sandbox` (`run_plain`) the interpreter is a forked child writing straight
to the caller's stdout and stderr (a terminal stays a terminal), so the record has the nodes'
statuses and times but not their output.

Pause (SIGUSR1, `bashflow pause RUN`) and resume (SIGUSR2) reach the host through a pipe
written by the signal handlers; cancel is SIGTERM (or SIGINT): the run's processes are
killed and the run is recorded `cancelled`, status 128+N.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bashflow.errors import EXIT_USAGE

if TYPE_CHECKING:
    from bashflow.cli.exec_cmd import ExecOptions
    from bashflow.runs.recorder import Recorder


def run_key(text: str) -> str:
    """The history's name for a script given as text (`-c`, stdin): `wf-` and 16 hex digits
    of its sha256, as `bashflow compile` names a workflow."""
    import hashlib

    return "wf-" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def script_key(o: ExecOptions, workdir: str, text: str) -> str:
    """A script file's (or workflow document's) real path, else `run_key` of the text."""
    if o.command is None and o.file is not None:
        return os.path.realpath(os.path.join(workdir, o.workflow_path or o.file))
    return run_key(text)


def start_recorder(o: ExecOptions, key: str, name: str, cwd: str,
                   text: str | None = None) -> Recorder | None:  # fmt: skip
    """The run record, or None with `--no-history` and no --events (then nothing of the
    history is imported). Raises RecorderError (a ValueError) when --events cannot be
    opened."""
    if not o.history and o.events_path is None:
        return None
    import hashlib

    from bashflow.runs.recorder import Recorder

    live = 2 if not o.quiet and os.isatty(2) else None
    # `rerun --failed` refuses a script that changed since: its node numbers may differ
    sha = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest() if text else None
    return Recorder.start(o.state_dir, key=key, name=name, argv=o.invocation, cwd=cwd,
                          env=os.environ, jobs=o.jobs, keep=o.keep_runs, events=o.events_path,
                          live_fd=live, host_pid=os.getpid(), history=o.history,
                          script_sha=sha)  # fmt: skip


class Control:
    """Pause / resume requests (SIGUSR1 / SIGUSR2) as bytes in a pipe, read by the host's
    loop; cancel (SIGTERM, SIGINT) raises `Cancelled` from the handler."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.old: dict[int, object] = {}

    def __enter__(self) -> Control:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.old[sig] = signal.signal(sig, _cancel)
        for sig in (signal.SIGUSR1, signal.SIGUSR2):
            self.old[sig] = signal.signal(sig, self._poke)
        return self

    def _poke(self, signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.write(self.w, bytes([signum]))

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        os.close(self.r)
        os.close(self.w)

    def taker(self, stop: Callable[[], None], cont: Callable[[], None],
              rec: Recorder | None) -> Callable[[bytes], None]:  # fmt: skip
        def take(data: bytes) -> None:
            for signum in data:
                if signum == signal.SIGUSR1:
                    stop()
                    if rec is not None:
                        rec.paused()
                elif signum == signal.SIGUSR2:
                    cont()
                    if rec is not None:
                        rec.resumed()

        return take


class Cancelled(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _cancel(signum: int, _frame: object) -> None:
    raise Cancelled(signum)


def run_plain(o: ExecOptions) -> int:
    """`--no-sandbox`: the interpreter in a forked child, recorded from here."""
    from bashflow.execute.main import run_exec

    cwd = os.getcwd()
    text = o.command if o.command is not None else (o.script_text or "")
    name = o.name or "bashflow" if o.command is not None else o.file or "bashflow"
    try:
        rec = start_recorder(o, script_key(o, cwd, text), name, cwd, _script_text(o, text))
    except ValueError as err:  # RecorderError: --events cannot be opened
        sys.stderr.write(f"bashflow exec: {err}\n")
        return EXIT_USAGE
    if rec is None:
        return run_exec(o)
    ev_r, ev_w = os.pipe2(os.O_CLOEXEC)
    o.events_fd, o.nonce = ev_w, b""
    sys.stdout.flush()
    sys.stderr.flush()
    status, cancelled = 1, False
    pid = -1
    try:
        with Control() as ctl:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                _child(o, ev_r, ctl)
            os.close(ev_w)
            try:
                status = _watch(pid, ev_r, ctl, rec)
            except Cancelled as e:
                _kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                status, cancelled = 128 + e.signum, True
    finally:
        os.close(ev_r)
        rec.finish(status, cancelled=cancelled)
        rec.close()
    return status


def _script_text(o: ExecOptions, text: str) -> str | None:
    """The script's text for its hash: `-c` or a workflow's; a FILE read here (None when
    it cannot be read: the shell reports that)."""
    if text or o.file is None:
        return text or None
    try:
        with open(o.file, "rb") as fh:
            return fh.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _child(o: ExecOptions, ev_r: int, ctl: Control) -> None:
    from bashflow.execute.main import run_exec

    code = 1
    try:
        os.close(ev_r)
        # nothing of the host's (the history database!) may stay open in the shell: a script
        # that writes to an fd it never opened must get EBADF, as under bash
        keep = sorted({0, 1, 2, o.events_fd})
        for low, high in zip(keep, [*keep[1:], os.sysconf("SC_OPEN_MAX")], strict=True):
            os.closerange(low + 1, high)
        for sig, handler in ctl.old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        code = run_exec(o)
        sys.stdout.flush()
        sys.stderr.flush()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    os._exit(code & 255)


def _kill(pid: int, sig: int) -> None:
    """`sig` to the shell and every process under it (its early-started items have process
    groups of their own, so a group is not enough): stopped first, so none can fork away."""
    tree = descendants(pid)
    if sig == signal.SIGKILL:
        for p in tree:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGSTOP)
        tree = descendants(pid)
    for p in tree:
        with contextlib.suppress(OSError):
            os.kill(p, sig)


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it, from /proc."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def _watch(pid: int, ev_r: int, ctl: Control, rec: Recorder) -> int:
    """Read events until the child has exited and the pipe is drained; its status."""
    from bashflow.execute.runner import exit_status

    take = ctl.taker(lambda: _kill(pid, signal.SIGSTOP), lambda: _kill(pid, signal.SIGCONT), rec)
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    for fd in (ev_r, ctl.r, pidfd):
        poller.register(fd, select.POLLIN)
    events_open = True
    try:
        while True:
            try:
                ready = poller.poll(100)
            except InterruptedError:
                continue
            exited = False
            for fd, _ev in ready:
                if fd == pidfd:
                    exited = True
                elif fd == ctl.r:
                    with contextlib.suppress(BlockingIOError):
                        take(os.read(ctl.r, 64))
                elif events_open:
                    data = os.read(ev_r, 65536)
                    if data:
                        rec.feed_events(data)
                    else:
                        poller.unregister(ev_r)
                        events_open = False
            rec.tick()
            if exited:
                break
        # what the interpreter wrote before it exited (its forks may still hold the pipe)
        os.set_blocking(ev_r, False)
        with contextlib.suppress(BlockingIOError):
            while events_open and (data := os.read(ev_r, 65536)):
                rec.feed_events(data)
    finally:
        os.close(pidfd)
    while True:
        try:
            _, ws = os.waitpid(pid, 0)
            return exit_status(ws)
        except InterruptedError:
            continue
