"""sandbox/relay.py - copy a sandboxed tree's stdout/stderr pipes to the caller, counting bytes.

`output_mib` is enforced here, on the bytes the tree writes to its output pipes: when the total
passes the limit the tree is killed and the outcome names `output_mib`. Output bound for a
terminal can be passed through `TerminalEscaper` (DESIGN.md, "Output").
"""

from __future__ import annotations

import os
import re
import selectors
import time
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from bashflow.sandbox.spawner import Outcome, SandboxProcess

MIB = 1024 * 1024


_SHOWN = re.compile(rb"\x1b\[[0-9;:]*m|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\x1b|\xc2[\x80-\x9f]")
"""An SGR colour sequence (kept), or a control byte / C1 control (shown escaped)."""
_PARTIAL = re.compile(rb"(\x1b(\[[0-9;:]*)?|\xc2)\Z")
"""A possible start of an SGR sequence or of a C1 control at the end of a chunk."""


class TerminalEscaper:
    """Make a byte stream safe to show on a terminal: newline, tab, carriage return and SGR
    colour sequences pass; every other control byte, escape sequence introducer and C1
    control is shown as text (`\\x1b`, `\\x07`, `\\u009b`), so a program cannot retitle,
    clear, or write the clipboard of the user's terminal. Stateful across chunks."""

    def __init__(self) -> None:
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        data = self._held + data
        self._held = b""
        tail = _PARTIAL.search(data)
        if tail is not None and len(data) - tail.start() < 64:
            data, self._held = data[: tail.start()], data[tail.start() :]
        return _SHOWN.sub(_show, data)

    def flush(self) -> bytes:
        data, self._held = self._held, b""
        return _SHOWN.sub(_show, data)


def _show(m: re.Match[bytes]) -> bytes:
    seq = m.group()
    if seq.startswith(b"\x1b["):
        return seq  # SGR (the pattern only matches complete ones)
    if seq.startswith(b"\xc2"):
        return b"\\u%04x" % seq[1]
    return b"\\x%02x" % seq[0]


class Filter(Protocol):
    """Rewrites one relayed stream (e.g. takes out the run record's markers)."""

    def feed(self, chunk: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class Hooks(Protocol):
    """What the caller does while output flows: clear and redraw a status display around
    writes to a terminal, and a periodic tick."""

    def clear_screen(self) -> None: ...

    def draw_screen(self) -> None: ...

    def tick(self) -> None: ...


TICK_S = 0.05
"""How often `hooks.tick` runs: a status change reaches the live view within it."""


def relay(
    proc: SandboxProcess,
    pipes: dict[int, int],
    *,
    limit_mib: int | None,
    escape: Collection[int] = (),
    close_gone: bool = False,
    filters: Mapping[int, Filter] | None = None,
    extra: Mapping[int, Callable[[bytes], None]] | None = None,
    hooks: Hooks | None = None,
) -> tuple[Outcome, int]:
    """Copy each read end in `pipes` (read fd → destination fd) until EOF, then wait. Output
    for a destination in `escape` goes through a `TerminalEscaper`.

    A destination that is gone (EPIPE: the reader of `bashflow ... | head -1` exited) raises
    `BrokenPipeError`, unless `close_gone`: then its read end is closed, so the tree gets
    SIGPIPE (or EPIPE) on its next write, as it would writing to that pipe itself, and the
    other pipes go on.

    `filters` (by read fd) rewrite a stream before it is escaped and written; `extra` read
    fds are read as they become readable and handed to their callback, and once more when
    the output has ended (they are not closed here); `hooks` are told around each write to
    a terminal and every `TICK_S`.

    Returns the outcome and the number of bytes copied (as the tree wrote them); closes the
    read ends, also when interrupted (an exception from a signal handler).
    """
    escapers = {fd: TerminalEscaper() for fd, dest in pipes.items() if dest in escape}
    limit = limit_mib * MIB if limit_mib is not None else None
    total = 0
    exceeded = False
    sel = selectors.DefaultSelector()
    filters = filters or {}
    extra = dict(extra or {})
    for fd in pipes:
        sel.register(fd, selectors.EVENT_READ)
    for fd in extra:
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(pipes)
    ttys = {dest for dest in set(pipes.values()) if hooks is not None and os.isatty(dest)}

    def done(fd: int) -> None:
        sel.unregister(fd)
        os.close(fd)
        open_fds.discard(fd)

    def put(fd: int, data: bytes) -> bool:
        dest = pipes[fd]
        if not data:
            return True
        if dest in ttys:
            assert hooks is not None
            hooks.clear_screen()
            try:
                return _write_all(dest, data, close_gone)
            finally:
                hooks.draw_screen()
        return _write_all(dest, data, close_gone)

    next_tick = time.monotonic() + TICK_S
    try:
        while open_fds:
            timeout = max(0.0, next_tick - time.monotonic()) if hooks is not None else None
            for key, _ in sel.select(timeout):
                fd = int(key.fd)
                if fd in extra:
                    data = os.read(fd, 65536)
                    if data:
                        extra[fd](data)
                    else:
                        sel.unregister(fd)
                        del extra[fd]
                    continue
                data = os.read(fd, 65536)
                if not data:
                    tail = filters[fd].flush() if fd in filters else b""
                    if fd in escapers:
                        tail = escapers[fd].feed(tail) + escapers[fd].flush()
                    put(fd, tail)
                    done(fd)
                    continue
                if exceeded:
                    continue
                if limit is not None and total + len(data) > limit:
                    data = data[: limit - total]
                    exceeded = True
                    proc.kill()
                total += len(data)
                if fd in filters:
                    data = filters[fd].feed(data)
                if fd in escapers:
                    data = escapers[fd].feed(data)
                if not put(fd, data):
                    done(fd)
            if hooks is not None and time.monotonic() >= next_tick:
                hooks.tick()
                next_tick = time.monotonic() + TICK_S
        for fd, take in extra.items():  # what was written before the output ended
            os.set_blocking(fd, False)
            try:
                while data := os.read(fd, 65536):
                    take(data)
            except BlockingIOError:
                pass
            finally:
                os.set_blocking(fd, True)
    finally:
        for fd in open_fds:
            os.close(fd)
        for fd in extra:
            sel.unregister(fd)
        sel.close()
    outcome = proc.wait()
    assert outcome is not None
    if exceeded and outcome.limit is None:
        outcome.limit, outcome.value = "output_mib", str(limit_mib)
    return outcome, total


def _write_all(fd: int, data: bytes, close_gone: bool) -> bool:
    """False when the destination is gone (EPIPE) and `close_gone`."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BrokenPipeError:
            if close_gone:
                return False
            raise
        view = view[n:]
    return True
