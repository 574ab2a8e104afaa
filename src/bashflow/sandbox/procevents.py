"""sandbox/procevents.py - the kernel's process events (netlink proc connector), as root.

The fork server follows every fork from a tree's first process down, so that when any process
of a tree is killed by SIGXFSZ or SIGXCPU (an rlimit: `file_size_mib`, `cpu_seconds`), the
tree's outcome names the limit, not only when the command process itself was. Subscribing
needs CAP_NET_ADMIN in the initial user namespace; without it `ProcEvents.open` returns None
and only the command's own status is looked at.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import struct

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
PROC_EVENT_FORK = 0x00000001
PROC_EVENT_EXIT = 0x80000000
NLMSG_DONE = 3
_NLMSGHDR = struct.Struct("=IHHII")
_CN_MSG = struct.Struct("=IIIIHH")
_EVENT = struct.Struct("=IIQ")
_FOUR = struct.Struct("=IIII")

WATCHED = frozenset({signal.SIGXFSZ, signal.SIGXCPU})


class ProcEvents:
    """Fork and exit events of the processes of the trees being followed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.owner: dict[int, int] = {}
        """tgid → the serial of the tree it belongs to."""
        self.killed: dict[int, set[int]] = {}
        """serial → the watched signals that killed a process of that tree."""
        self.lost = False
        """Events were dropped (receive buffer overrun): the report may be incomplete."""
        self.listening = False

    @classmethod
    def open(cls) -> ProcEvents | None:
        """A subscription, or None when this process may not have one. It starts quiet:
        `listen(True)` while trees run (every fork and exit on the machine is an event)."""
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                                 | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)  # fmt: skip
        except OSError:
            return None
        events = cls(sock)
        try:
            sock.bind((0, CN_IDX_PROC))
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            events.listen(True)
            events.listen(False)
        except OSError:
            sock.close()
            return None
        return events

    def listen(self, on: bool) -> None:
        """Ask the kernel to send events (it counts listeners) or to stop."""
        if on == self.listening:
            return
        op = struct.pack("=I", PROC_CN_MCAST_LISTEN if on else PROC_CN_MCAST_IGNORE)
        cn = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
        self.sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(cn), NLMSG_DONE, 0, 0, os.getpid())
                       + cn)  # fmt: skip
        self.listening = on
        if on:
            self.read()  # whatever queued meanwhile (other listeners' events) is stale

    def fileno(self) -> int:
        return self.sock.fileno()

    def follow(self, pid: int, serial: int) -> None:
        """Follow `pid` (a tree's first process) and everything it forks."""
        self.owner[pid] = serial

    def forget(self, serial: int) -> set[int]:
        """Stop following a tree; the watched signals that killed any of its processes."""
        self.read()
        for pid in [p for p, s in self.owner.items() if s == serial]:
            del self.owner[pid]
        return self.killed.pop(serial, set())

    def read(self) -> None:
        """Process every queued event (non-blocking)."""
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    self.lost = True
                    continue
                return
            self._parse(data)

    def _parse(self, data: bytes) -> None:
        off = 0
        while off + _NLMSGHDR.size <= len(data):
            length = _NLMSGHDR.unpack_from(data, off)[0]
            if length < _NLMSGHDR.size:
                return
            ev = off + _NLMSGHDR.size + _CN_MSG.size
            if ev + _EVENT.size + _FOUR.size <= off + length:
                what = _EVENT.unpack_from(data, ev)[0]
                a, b, c, d = _FOUR.unpack_from(data, ev + _EVENT.size)
                if what == PROC_EVENT_FORK:  # parent pid, tgid, child pid, tgid
                    serial = self.owner.get(b)
                    if serial is not None and c == d:  # a new process, not a thread
                        self.owner[d] = serial
                elif what == PROC_EVENT_EXIT and a == b:  # pid, tgid, exit code, signal
                    serial = self.owner.pop(b, None)
                    sig = c & 0x7F
                    if serial is not None and c & 0xFF00 == 0 and sig in WATCHED:
                        self.killed.setdefault(serial, set()).add(sig)
            off += (length + 3) & ~3
