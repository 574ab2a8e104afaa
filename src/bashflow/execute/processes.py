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
from bashflow.execute.runner import exit_status, killed_by, wait_raw, wait_status
from bashflow.parser import syntax as s

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


def tail_command(lst: s.CommandList) -> s.SimpleCommand | None:
    """The simple command bash runs in place of a subshell (exec, no fork) when it is the
    last thing the subshell's list does: a plain last item, not negated, not timed."""
    if not lst.items:
        return None
    item = lst.items[-1]
    ao = item.command
    if item.terminator == "&" or ao.rest:
        return None
    p = ao.first
    if len(p.commands) != 1 or p.negated or p.timed is not None:
        return None
    cmd = p.commands[0]
    return cmd if type(cmd) is s.SimpleCommand else None


def _status_text(status: int, signum: int) -> str:
    if signum:
        return strsignal(signum)
    return "Done" if status == 0 else f"Exit {status}"


def strsignal(signum: int) -> str:
    try:
        return signal.strsignal(signum) or f"Signal {signum}"
    except ValueError:
        return f"Signal {signum}"


class Processes:
    cs_status: int | None
    shown_traps: dict[str, str] | None
    # the simple command this forked shell runs last, which bash would exec in its place
    exec_last: s.SimpleCommand | None = None
    # bash's note on a foreground job a signal ended, printed once redirections are undone
    job_note: str | None = None
    # a command substitution's shell notes no jobs
    quiet_jobs = False
    # the line of the top-level compound command or function running (see note_line)
    top_line: int | None = None

    def note_job(self: Interpreter, procs: list[tuple[int, int, int, str]], line: int) -> None:
        """bash's note on a foreground job, `procs` its processes as (pid, status, signal,
        command text): nothing unless a signal other than SIGINT/SIGPIPE ended it (the last
        process, or under pipefail the last that failed); for SIGTERM or a signal the shell
        traps only the signal's name, else `NAME: line N:` and the job listed as bash lists
        it (pid, status, command)."""
        if self.quiet_jobs or not procs:
            return
        decisive = procs[-1]
        if self.state.options["pipefail"]:
            for proc in reversed(procs):
                if proc[1]:
                    decisive = proc
                    break
        signum = decisive[2]
        if not signum or signum in (signal.SIGINT, signal.SIGPIPE):
            return
        try:
            trapped = signal.Signals(signum).name in self.state.traps
        except ValueError:
            trapped = False
        if signum == signal.SIGTERM or trapped:
            self.job_note = strsignal(signum) + "\n"
            return
        lines = []
        last = ""
        for i, (pid, status, sig, text) in enumerate(procs):
            what = _status_text(status, sig)
            if i == 0:
                lines.append(f"{pid:5d} {what:<24}{text}")
            else:
                shown = "" if what == last else what
                pad = 24 - (len(shown) or 2)  # bash pads a blank status as if it were "| "
                lines.append(f"     {pid:5d} {shown}{' ' * pad}| {text}")
            last = what
        self.job_note = f"{self.error_name}: line {line}: " + "\n".join(lines) + "\n"

    def reaped_job(self: Interpreter, pid: int, ws: int) -> int:
        """A background job `wait` reaped: bash notes one a signal ended (not SIGINT, SIGTERM
        or SIGPIPE, nor a signal the shell traps) as `NAME: line N: PID Killed  TEXT`."""
        status = exit_status(ws)
        signum = killed_by(ws)
        text = self.state.job_texts.pop(pid, "")
        if signum and signum not in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            try:
                trapped = signal.Signals(signum).name in self.state.traps
            except ValueError:
                trapped = False
            if not trapped:
                line = self.top_line if self.top_line is not None else self.state.lineno
                self.note_job([(pid, status, signum, text)], line)
                self.flush_job_note()
        return status

    def flush_job_note(self: Interpreter) -> None:
        note, self.job_note = self.job_note, None
        if note:
            with contextlib.suppress(OSError):
                self.write(2, note)

    def end_line(self: Interpreter, node: s.Command) -> int:
        line: int = self.source.line_col(max(node.span.end - 1, node.span.start))[0]
        return line + self.line_offset

    def note_line(self: Interpreter, node: s.Command) -> int:
        """The line bash names in a job note: bash's line of the top-level command (where
        the parser finished it; `for` and `case` keep their first line) or of the function
        being run, not the line of the command inside them."""
        return self.top_line if self.top_line is not None else self.end_line(node)

    def run_compound_noted(self: Interpreter, cmd: s.Command) -> int:
        if self.top_line is not None:
            return self.run_compound(cmd)
        start = isinstance(cmd, (s.For, s.Case, s.Select))
        self.top_line = self.line_of(cmd) if start else self.end_line(cmd)
        try:
            return self.run_compound(cmd)
        finally:
            self.top_line = None

    def command_text(self: Interpreter, cmd: s.Command) -> str:
        """A command as bash shows it in a job listing."""
        from bashflow.parser.printer import format_command

        try:
            return format_command(cmd, self.source.text).rstrip("\n")
        except Exception:
            return self.source_text(cmd.span)

    def die_like(self: Interpreter, signum: int) -> None:
        """End this forked shell by `signum`, as the program bash would have exec'd in its
        place died (so the parent sees a death by signal, not an exit status)."""
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, signal.SIG_DFL)  # (not for SIGKILL, which needs none)
        with contextlib.suppress(OSError, ValueError):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        with contextlib.suppress(OSError):
            os.kill(os.getpid(), signum)
        os._exit(128 + signum)

    def run_subshell(self: Interpreter, cmd: s.Subshell) -> int:
        body = cmd.body

        def child() -> int:
            self.exec_last = tail_command(body)
            return self.run_list(body)

        pid = self.fork(child)
        ws = self.wait_raw_pid(pid)
        status = exit_status(ws) if ws >= 0 else 127
        signum = killed_by(ws) if ws >= 0 else 0
        if signum:
            self.note_job([(pid, status, signum, self.command_text(cmd))], self.note_line(cmd))
        self.state.last_status = status
        return status

    def wait_raw_pid(self: Interpreter, pid: int) -> int:
        try:
            return wait_raw(pid)
        except ChildProcessError:
            return -1

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
                # bash runs a simple command in place of the element (exec), and a `( )`
                # element's list in the element itself
                if type(cmd) is s.SimpleCommand:
                    self.exec_last = cmd
                elif type(cmd) is s.Subshell and not cmd.redirects:
                    self.state.lineno = self.line_of(cmd)
                    self.exec_last = tail_command(cmd.body)
                    return self.run_list(cmd.body)
                return self.run_command(cmd)

            pid = self.fork(child)
            pids.append(pid)
            if prev_read >= 0:
                os.close(prev_read)
            if w >= 0:
                os.close(w)
            prev_read = r
        procs = []
        for pid in pids:
            ws = self.wait_raw_pid(pid)
            procs.append(
                (pid, exit_status(ws) if ws >= 0 else 127, killed_by(ws) if ws >= 0 else 0)
            )
        if any(sig for _, _, sig in procs):
            self.note_job(
                [
                    (pid, st, sig, self.command_text(c))
                    for (pid, st, sig), c in zip(procs, cmds, strict=True)
                ],
                self.note_line(cmds[-1]),
            )
            self.flush_job_note()
        return [st for _, st, _ in procs]

    def fork(self: Interpreter, fn: Callable[[], int], *, background: bool = False) -> int:
        """Run `fn` in a forked copy of this shell (a subshell); returns the child's pid."""
        pid = os.fork()
        if pid != 0:
            return pid
        status = 1
        try:
            self.in_subshell = True
            self.exec_last = None
            self.quiet_jobs = False
            self.job_note = None
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
            self.quiet_jobs = True
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
        only = ao.first.commands[0] if not ao.rest and len(ao.first.commands) == 1 else None
        if only is not None and (ao.first.negated or ao.first.timed is not None):
            only = None

        def child() -> int:
            if not self.state.options["monitor"]:
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.close(devnull)
            if type(only) is s.SimpleCommand:
                self.exec_last = only  # bash execs it in place of the job's shell
            return self.run_andor(ao)

        pid = self.fork(child, background=True)
        self.jobs.append(pid)
        self.job_table.append(pid)
        self.state.job_texts[pid] = (
            self.command_text(only) if only is not None else self.source_text(ao.span)
        )
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
