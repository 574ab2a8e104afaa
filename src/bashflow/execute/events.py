"""execute/events.py - the interpreter's side of the run record (docs/runs.md).

`Events` writes one JSON object a line to the events pipe the host handed in (node queued,
started, retrying, finished; the plan first) and, around each node's execution, markers into
the stdout / stderr streams the host relays, so the host can attribute every output byte to
the nodes that were running, with no race between the two channels. Markers go only into a
stream that is still the relayed one (not into a file or pipe of the script's own); the host
strips them before the user sees the bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

_MAX_LINE = 4000
"""Lines shorter than PIPE_BUF are written atomically by each of the shell's processes."""


def lift(fd: int) -> int:
    """Move the events pipe out of the script's way (bash keeps its own fds at 255 and
    below 10 belongs to scripts); close-on-exec, so no program inherits it."""
    import fcntl
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    low = 200 if soft == resource.RLIM_INFINITY or soft > 256 else max(10, soft - 16)
    try:
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
    except OSError:
        return fd
    os.close(fd)
    return high


def _ident(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def same_file(a: int, b: int) -> bool:
    """fds `a` and `b` are open on the same file or pipe (stdout and stderr as one stream)."""
    ia = _ident(a)
    return ia is not None and ia == _ident(b)


class Events:
    """The events pipe `fd` and the marker `nonce` (empty: no markers)."""

    def __init__(self, fd: int, nonce: bytes) -> None:
        self.fd = fd
        self.nonce = nonce
        self.streams: tuple[tuple[int, int] | None, tuple[int, int] | None] = (None, None)
        self.mark_streams()

    def mark_streams(self, which: tuple[bool, bool] = (True, True)) -> None:
        """The current fds 1 and 2 (those of `which`) are relayed streams: at start; in an
        early-started item, its capture pipes stand for the shell's fds 1 and 2 that were
        relayed (`relayed()` before they were replaced), since the shell copies them there."""
        if self.nonce:
            self.streams = (_ident(1) if which[0] else None, _ident(2) if which[1] else None)

    def relayed(self) -> tuple[bool, bool]:
        """Whether fds 1 and 2 are, right now, streams the host relays."""
        out, err = self.streams
        return (out is not None and _ident(1) == out, err is not None and _ident(2) == err)

    def emit(self, event: dict[str, object], *, whole: bool = False) -> None:
        """One line; longer than PIPE_BUF only when `whole` (the plan, written before any
        other process of the shell exists)."""
        line = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        if len(line) >= _MAX_LINE and not whole:
            return
        data = (line + "\n").encode("utf-8", "surrogateescape")
        with contextlib.suppress(OSError):
            os.write(self.fd, data)

    def marker(self, kind: bytes, node: int) -> None:
        if not self.nonce:
            return
        out, err = self.streams
        mark = b"\x1e" + self.nonce + kind + str(node).encode() + b"\x1f"
        wrote = None
        if out is not None and _ident(1) == out:
            if not _write_quiet(1, mark):
                self.streams = (None, None if err == out else err)
            wrote = out
        if err is not None and err != wrote and _ident(2) == err and not _write_quiet(2, mark):
            self.streams = (self.streams[0], None)

    def started(self, node: int, attempt: int = 1) -> float:
        t = time.monotonic()
        self.marker(b"B", node)
        self.emit({"event": "node_started", "node": node, "attempt": attempt, "t": t})
        return t

    def finished(self, node: int, status: int, start: float, *, attempt: int = 1,
                 state: str | None = None, signal: int | None = None) -> None:  # fmt: skip
        t = time.monotonic()
        if state is None:
            state = "success" if status == 0 else "failed"
        self.emit({"event": "node_finished", "node": node, "status": state, "exit": status,
                   "signal": signal, "attempt": attempt, "duration": round(t - start, 6),
                   "t": t})  # fmt: skip
        self.marker(b"E", node)


def _write_quiet(fd: int, data: bytes) -> bool:
    """Write a marker; False when the stream is gone. A reader that went away must not kill
    the shell with SIGPIPE for a write bash would not have made (the script's own writes
    still get it): the signal is held while writing and taken back if it came."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE})
    try:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    except BrokenPipeError:
        signal.sigtimedwait([signal.SIGPIPE], 0)
        return False
    except OSError:
        return False
    finally:
        if signal.SIGPIPE not in held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGPIPE})
    return True
