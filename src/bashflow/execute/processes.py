"""execute/processes - bash's process model: pipelines (an OS pipe between forked elements),
subshells, command and process substitution, background jobs and coprocesses; each a
`os.fork()` of the single-threaded interpreter.
"""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from bashflow.execute.errors import (
    BreakLoop,
    ContinueLoop,
    ExitShell,
    ReturnFromFunction,
    ShellError,
)
from bashflow.execute.redirect import Saved, is_open
from bashflow.execute.runner import wait_status
from bashflow.parser import syntax as s

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


class Processes:
    cs_status: int | None
    shown_traps: dict[str, str] | None

    def run_multi(self: Interpreter, p: s.Pipeline) -> list[int]:
        cmds = p.commands
        pids: list[int] = []
        prev_read = -1
        n = len(cmds)
        lastpipe = self.state.shopt["lastpipe"] and not self.state.options["monitor"]
        for i, cmd in enumerate(cmds):
            if i < n - 1:
                r, w = os.pipe()
            else:
                r, w = -1, -1
            both = i < n - 1 and p.ops[i] == "|&"
            if lastpipe and i == n - 1:
                saved: Saved = []
                self.save_fd(0, saved)
                os.dup2(prev_read, 0)
                os.close(prev_read)
                try:
                    last = self.run_command(cmd)
                finally:
                    self.restore(saved)
                return [self.wait_pid(pid) for pid in pids] + [last]

            def child(
                cmd: s.Command = cmd,
                rin: int = prev_read,
                wout: int = w,
                rnext: int = r,
                both: bool = both,
            ) -> int:
                if rin >= 0:
                    os.dup2(rin, 0)
                    os.close(rin)
                if wout >= 0:
                    os.dup2(wout, 1)
                    if both:
                        os.dup2(wout, 2)
                    os.close(wout)
                if rnext >= 0:
                    os.close(rnext)
                return self.run_command(cmd)

            pid = self.fork(child)
            pids.append(pid)
            if prev_read >= 0:
                os.close(prev_read)
            if w >= 0:
                os.close(w)
            prev_read = r
        return [self.wait_pid(pid) for pid in pids]

    def fork(self: Interpreter, fn: Callable[[], int], *, background: bool = False) -> int:
        """Run `fn` in a forked copy of this shell (a subshell); returns the child's pid."""
        pid = os.fork()
        if pid != 0:
            return pid
        status = 1
        try:
            self.in_subshell = True
            self.state.subshell_level += 1
            self.jobs.clear()
            self.waited.clear()
            self.job_table.clear()
            st = self.state
            self.shown_traps = dict(st.traps)
            keep_err = st.options["errtrace"]
            for k, v in st.traps.items():
                # a trapped signal goes back to its default action in a subshell
                if v and k.startswith("SIG") and hasattr(signal, k):
                    signal.signal(getattr(signal, k), signal.SIG_DFL)
            st.traps = {
                k: v
                for k, v in st.traps.items()
                if (v == "" and k != "EXIT") or (keep_err and k == "ERR")
            }
            if background:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGQUIT, signal.SIG_IGN)
            try:
                status = fn()
            except ExitShell as e:
                status = e.status
            except ReturnFromFunction as r:
                status = r.status
            except (BreakLoop, ContinueLoop):
                status = 0
            except ShellError as err:
                self.error(err.message)
                status = err.status
            status = self.finish(status)
        except BrokenPipeError:
            os._exit(141)
        except BaseException:
            import traceback

            traceback.print_exc()
            status = 70
        os._exit(status & 255)

    def wait_pid(self: Interpreter, pid: int) -> int:
        try:
            return wait_status(pid)
        except ChildProcessError:
            return 127

    def command_sub(self: Interpreter, part: s.CommandSub) -> str:
        body = part.body
        fast = self.fast_file_read(body)
        if fast is not None:
            return fast
        r, w = os.pipe()

        def child() -> int:
            os.close(r)
            os.dup2(w, 1)
            os.close(w)
            self.cs_level += 1
            if not self.state.shopt["inherit_errexit"]:
                self.state.options["errexit"] = False
            return self.run_list(body)

        pid = self.fork(child)
        os.close(w)
        chunks = []
        while True:
            try:
                data = os.read(r, 65536)
            except InterruptedError:
                continue
            if not data:
                break
            chunks.append(data)
        os.close(r)
        status = self.wait_pid(pid)
        self.state.last_status = status
        self.cs_status = status
        raw = b"".join(chunks)
        if b"\0" in raw:
            self.error("warning: command substitution: ignored null byte in input")
            raw = raw.replace(b"\0", b"")
        return raw.decode("utf-8", "surrogateescape").rstrip("\n")

    def fast_file_read(self: Interpreter, body: s.CommandList) -> str | None:
        """`$(< file)`: read the file in this process, as bash does."""
        if len(body.items) != 1:
            return None
        ao = body.items[0].command
        if ao.rest or len(ao.first.commands) != 1 or ao.first.negated:
            return None
        cmd = ao.first.commands[0]
        if not isinstance(cmd, s.SimpleCommand) or cmd.words or cmd.assignments:
            return None
        if (
            len(cmd.redirects) != 1
            or cmd.redirects[0].op != "<"
            or cmd.redirects[0].fd not in (None, 0)
        ):
            return None
        self.state.lineno = self.line_of(cmd)
        path = self.redirect_target(cmd.redirects[0])
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as err:
            self.error(f"{path}: {os.strerror(err.errno or 2)}")
            self.state.last_status = self.cs_status = 1
            return ""
        self.state.last_status = self.cs_status = 0
        return data.decode("utf-8", "surrogateescape").rstrip("\n")

    def process_sub(self: Interpreter, part: s.ProcessSub) -> str:
        r, w = os.pipe()
        reading = part.direction == "<"

        def child() -> int:
            if reading:
                os.close(r)
                os.dup2(w, 1)
                os.close(w)
            else:
                os.close(w)
                os.dup2(r, 0)
                os.close(r)
            return self.run_list(part.body)

        pid = self.fork(child)
        self.jobs.append(pid)
        self.state.last_bg_pid = pid
        keep, other = (r, w) if reading else (w, r)
        os.close(other)
        # bash hands out /dev/fd/63, 62, ...: high numbers a script's own fds do not meet
        high = 63
        while high > 10 and is_open(high):
            high -= 1
        os.dup2(keep, high)
        os.close(keep)
        self.procsub_fds.append(high)
        return f"/dev/fd/{high}"

    def close_procsubs(self: Interpreter, mark: int) -> None:
        while len(self.procsub_fds) > mark:
            fd = self.procsub_fds.pop()
            with contextlib.suppress(OSError):
                os.close(fd)

    def run_background(self: Interpreter, ao: s.AndOr) -> int:
        def child() -> int:
            if not self.state.options["monitor"]:
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.close(devnull)
            return self.run_andor(ao)

        pid = self.fork(child, background=True)
        self.jobs.append(pid)
        self.job_table.append(pid)
        self.state.last_bg_pid = pid
        self.state.last_status = 0
        return 0

    def run_coproc(self: Interpreter, cmd: s.Coproc) -> int:
        name = cmd.name or "COPROC"
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def child() -> int:
            os.close(to_child_w)
            os.close(from_child_r)
            os.dup2(to_child_r, 0)
            os.dup2(from_child_w, 1)
            return self.run_command(cmd.body)

        pid = self.fork(child, background=True)
        os.close(to_child_r)
        os.close(from_child_w)
        os.set_inheritable(from_child_r, True)
        os.set_inheritable(to_child_w, True)
        self.state.set_array(name, [str(from_child_r), str(to_child_w)])
        self.state.set(f"{name}_PID", str(pid))
        self.jobs.append(pid)
        self.state.last_bg_pid = pid
        return 0
