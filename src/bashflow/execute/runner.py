"""execute/runner - the seam that starts external programs.

`Runner` is the plain one: `os.posix_spawn` (clone+exec in glibc: no copy of this
process's memory) and `waitpid`. The descriptors the interpreter set up with its
redirections are inherited as they are. A sandboxed runner replaces this class; so does
a sandbox that contains the whole interpreter, in which case this plain one is right.
"""

from __future__ import annotations

import errno
import os


def wait_raw(pid: int) -> int:
    """The wait status of `pid` (os.waitpid's, retried on EINTR)."""
    while True:
        try:
            _, ws = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        return ws


def wait_status(pid: int) -> int:
    return exit_status(wait_raw(pid))


def killed_by(ws: int) -> int:
    """The signal that ended a process with wait status `ws`, or 0."""
    return os.WTERMSIG(ws) if os.WIFSIGNALED(ws) else 0


def exit_status(ws: int) -> int:
    """`$?` for a wait status: the exit code, or 128+N for death by signal N."""
    code = os.waitstatus_to_exitcode(ws)
    return 128 - code if code < 0 else code


def exec_error(path: str, err: OSError) -> str:
    """bash's wording for a program that could not be started."""
    if err.errno in (errno.EACCES, errno.EISDIR) and os.path.isdir(path):
        return "Is a directory"
    if err.errno == errno.ENOENT and os.path.exists(path):
        return "cannot execute: required file not found"
    return os.strerror(err.errno or errno.EIO)


class Runner:
    """Starts a program and waits for it."""

    last_pid = 0
    last_signal = 0
    """The signal that ended the last program `run` waited for (0: it exited)."""

    def run(self, path: str, argv: list[str], env: dict[str, str]) -> int | str | None:
        """The exit status; a message when it could not start; None for ENOEXEC (a
        script without `#!`, which the shell runs itself)."""
        try:
            pid = os.posix_spawn(path, argv, env)
        except OSError as err:
            if err.errno == errno.ENOEXEC:
                return None
            return exec_error(path, err)
        self.last_pid = pid
        ws = wait_raw(pid)
        self.last_signal = killed_by(ws)
        return exit_status(ws)

    def replace(self, path: str, argv: list[str], env: dict[str, str]) -> str | None:
        """`exec`: replace this process; returns a message only if that failed."""
        try:
            os.execve(path, argv, env)
        except OSError as err:
            return exec_error(path, err)
        return None  # pragma: no cover - execve does not return
