"""execute/interp - commands, lists, compound commands, functions, pipelines, subshells and
background jobs, with bash's process model.

Subshells, every element of a multi-command pipeline, command and process substitutions
and background jobs are `os.fork()` of this (single-threaded) interpreter, joined by real
OS pipes; external programs start through `runner`. Errors are printed as bash prints them
for a script: `NAME: line N: message`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bashflow.execute.arith_eval import Evaluator
from bashflow.execute.builtins import SPECIAL as SPECIAL_BUILTINS
from bashflow.execute.builtins import Builtins
from bashflow.execute.cond_eval import CondEvaluator, _CondStatus
from bashflow.execute.errors import (
    BreakLoop,
    CommandError,
    ContinueLoop,
    ExitShell,
    ExpansionError,
    FatalError,
    ReturnFromFunction,
    ShellError,
)
from bashflow.execute.expand import Expander
from bashflow.execute.params import ParamExpander
from bashflow.execute.quoting import quote_trace
from bashflow.execute.redirect import Redirector, Saved
from bashflow.execute.runner import Runner
from bashflow.execute.state import EXPORT, State, Var
from bashflow.execute.words import AssignMixin
from bashflow.parser import syntax as s
from bashflow.source import Source

if TYPE_CHECKING:
    from bashflow.execute.policy_hook import PolicyHook

_COMPOUND_LEAF = (s.Subshell, s.ArithCommand, s.CondCommand)


class Interpreter(Expander, ParamExpander, CondEvaluator, Redirector, Builtins, AssignMixin):
    """One shell. `run_script` runs a parsed script and returns its exit status."""

    def __init__(self, source: Source, *, name: str = "bash", runner: Runner | None = None) -> None:
        self.state = State()
        self.arith = Evaluator(self.state)
        self.state.arith = self._arith_for_state
        self.source: Source = source
        self.line_offset: int = 0
        self.error_name: str = name
        self.runner = runner or Runner()
        self.policy: PolicyHook | None = None
        self.suppress_errexit = 0
        self.internal_fds: set[int] = set()
        self.procsub_fds: list[int] = []
        self.jobs: list[int] = []
        self.job_status: dict[int, int] = {}
        self.in_subshell = False
        self.decl_arrays: dict[int, tuple[str, s.ArrayLiteral]] = {}
        self.loop_depth = 0
        self.func_depth: int = 0
        self.source_depth: int = 0
        self.pending_signals: list[int] = []
        self.running_trap = False
        self.cs_level: int = 0
        self.job_table: list[int] = []
        self.fatal_status = 0  # `bash -c` exits 127 (not 1) on a fatal expansion error
        self.arith_pure: dict[int, tuple[s.Arith, bool]] = {}
        self.path_override: str | None = None
        self.cs_status: int | None = None
        self.return_trap_depth = -1
        self.readonly_functions: set[str] = set()
        self.disabled_builtins: set[str] = set()
        self.current_cmd: s.SimpleCommand | None = None
        self.prompt_cache: dict[str, s.Word] = {}

    def _arith_for_state(self, text: str) -> int:
        return self.arith.evaluate(text)

    # ------------------------------------------------------------------ text and errors

    @property
    def current_source_text(self) -> str:
        return self.source.text

    def source_text(self, span: object) -> str:
        return self.source.text[span.start : span.end]  # type: ignore[attr-defined]

    def line_of(self, node: Any) -> int:
        line: int = self.source.line_col(node.span.start)[0]
        return line + self.line_offset

    def encode(self, text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    def write(self, fd: int, text: str) -> None:
        data = self.encode(text)
        while data:
            try:
                n = os.write(fd, data)
            except InterruptedError:
                continue
            data = data[n:]

    def out(self, text: str) -> int:
        """Write to stdout as a builtin does: 0, or 1 with bash's message on error."""
        try:
            self.write(1, text)
        except BrokenPipeError:
            raise
        except OSError as err:
            self.error(f"write error: {os.strerror(err.errno or 5)}")
            return 1
        return 0

    def error(self, message: str) -> None:
        """`NAME: line N: message` on stderr."""
        prefix = f"{self.error_name}: line {self.state.lineno}: "
        if message.startswith("\0"):
            prefix, message = "", message[1:]
        with contextlib.suppress(OSError):
            self.write(2, prefix + message + "\n")

    # ------------------------------------------------------------------ scripts

    def run_script(self, script: s.Script) -> int:
        """Run a whole script (top-level units as bash reads them) and the EXIT trap."""
        status = 0
        try:
            status = self.run_toplevel(script.body)
        except ExitShell as e:
            status = e.status
        return self.finish(status)

    def finish(self, status: int) -> int:
        trap = self.state.traps.get("EXIT")
        if trap:
            self.state.traps.pop("EXIT", None)
            self.state.last_status = status
            try:
                self.run_string(trap, "trap")
            except ExitShell as e:
                status = e.status
            except ShellError:
                pass
        return status & 255

    def run_toplevel(self, body: s.CommandList) -> int:
        """Run a list the way bash runs a file: one line's commands at a time, so an
        expansion error abandons the rest of its line and the script goes on."""
        items = body.items
        i = 0
        n = len(items)
        while i < n:
            j = i
            while j < n and items[j].terminator not in ("\n", ""):
                j += 1
            unit = items[i : j + 1]
            i = j + 1
            if self.state.options["verbose"]:
                self.echo_input(unit)
            try:
                for item in unit:
                    self.run_item(item)
            except ExpansionError as err:
                self.error(err.message)
                self.state.last_status = err.status
                if self.state.options["errexit"]:
                    raise ExitShell(err.status) from None
            except FatalError as err:
                self.error(err.message)
                raise ExitShell(self.fatal_status or err.status) from None
            except (BreakLoop, ContinueLoop):
                pass
            except OSError as err:
                # a system call the interpreter made failed: the command fails, as in bash
                self.error(os.strerror(err.errno) if err.errno else str(err))
                self.state.last_status = 1
            except ReturnFromFunction as r:
                if self.source_depth == 0:
                    self.error("return: can only `return' from a function or sourced script")
                    self.state.last_status = 1
                else:
                    raise ExitShell(r.status) from None
        return self.state.last_status

    def echo_input(self, unit: tuple[s.ListItem, ...]) -> None:
        text = self.source.text
        start = text.rfind("\n", 0, unit[0].span.start) + 1
        end = text.find("\n", unit[-1].span.end)
        end = len(text) if end < 0 else end + 1
        self.write(2, text[start:end])

    def run_string(self, text: str, what: str) -> int:
        """`eval`, traps: parse `text` and run it in this shell."""
        from bashflow.errors import ParseError
        from bashflow.parser import parse_source

        src = Source(text, self.source.filename)
        try:
            script = parse_source(src)
        except ParseError as err:
            self.report_parse_error(err, src, what)
            self.state.last_status = 2
            return 2
        old_source, old_offset = self.source, self.line_offset
        self.source = src
        self.line_offset = self.state.lineno - 1
        if what == "eval":
            self.cs_level += 1
        try:
            return self.run_list(script.body)
        finally:
            self.source, self.line_offset = old_source, old_offset
            if what == "eval":
                self.cs_level -= 1

    def report_parse_error(self, err: object, src: Source, what: str) -> None:
        from bashflow.execute.syntax_errors import bash_message

        for line in bash_message(err, src, self.error_name, what, self.state.lineno):  # type: ignore[arg-type]
            with contextlib.suppress(OSError):
                self.write(2, line + "\n")

    # ------------------------------------------------------------------ lists

    def run_list(self, lst: s.CommandList) -> int:
        status = self.state.last_status
        for item in lst.items:
            status = self.run_item(item)
        return status

    def run_item(self, item: s.ListItem) -> int:
        if self.state.options["noexec"]:
            return 0
        if item.terminator == "&":
            return self.run_background(item.command)
        status = self.run_andor(item.command)
        if self.pending_signals:
            self.run_pending_traps()
        return status

    def run_andor(self, ao: s.AndOr) -> int:
        rest = ao.rest
        if not rest:
            return self.run_pipeline(ao.first, True)
        self.suppress_errexit += 1
        try:
            status = self.run_pipeline(ao.first, False)
        finally:
            self.suppress_errexit -= 1
        last = len(rest) - 1
        for i, (op, pipe) in enumerate(rest):
            if (op == "&&") != (status == 0):
                continue
            if i == last:
                status = self.run_pipeline(pipe, True)
            else:
                self.suppress_errexit += 1
                try:
                    status = self.run_pipeline(pipe, False)
                finally:
                    self.suppress_errexit -= 1
        return status

    def run_pipeline(self, p: s.Pipeline, checked: bool) -> int:
        cmds = p.commands
        if p.negated:
            self.suppress_errexit += 1
        try:
            if len(cmds) == 1:
                cmd = cmds[0]
                status = self.run_command(cmd)
                if type(cmd) is s.SimpleCommand or isinstance(cmd, _COMPOUND_LEAF):
                    self.set_pipestatus([status])
                leaf = type(cmd) is s.SimpleCommand or isinstance(cmd, _COMPOUND_LEAF)
            else:
                statuses = self.run_multi(p)
                self.set_pipestatus(statuses)
                status = statuses[-1]
                if self.state.options["pipefail"]:
                    for st in reversed(statuses):
                        if st:
                            status = st
                            break
                leaf = True
        finally:
            if p.negated:
                self.suppress_errexit -= 1
        if p.negated:
            status = 0 if status else 1
        self.state.last_status = status
        if status and checked and leaf and not p.negated and self.suppress_errexit == 0:
            self.on_failure(status)
        return status

    def on_failure(self, status: int) -> None:
        trap = self.state.traps.get("ERR")
        if self.func_depth and not self.state.options["errtrace"]:
            trap = None
        if trap and not self.running_trap:
            self.run_trap_text(trap, status)
            self.state.last_status = status
        if self.state.options["errexit"]:
            raise ExitShell(status)

    def run_trap_text(self, text: str, status: int) -> None:
        self.running_trap = True
        try:
            self.run_string(text, "trap")
        finally:
            self.running_trap = False
            self.state.last_status = status

    def set_pipestatus(self, statuses: list[int]) -> None:
        self.state.pipestatus = statuses
        v = self.state.scopes[0].get("PIPESTATUS")
        if v is None:
            v = Var()
            self.state.scopes[0]["PIPESTATUS"] = v
        v.flags |= 1
        v.value = {i: str(x) for i, x in enumerate(statuses)}

    def run_multi(self, p: s.Pipeline) -> list[int]:
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

    # ------------------------------------------------------------------ processes

    def fork(self, fn: Callable[[], int], *, background: bool = False) -> int:
        """Run `fn` in a forked copy of this shell (a subshell); returns the child's pid."""
        pid = os.fork()
        if pid != 0:
            return pid
        status = 1
        try:
            self.in_subshell = True
            self.state.subshell_level += 1
            self.jobs = []
            self.job_table = []
            st = self.state
            st.traps = {k: v for k, v in st.traps.items() if v == "" and k != "EXIT"}
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

    def wait_pid(self, pid: int) -> int:
        while True:
            try:
                _, ws = os.waitpid(pid, 0)
            except InterruptedError:
                continue
            except ChildProcessError:
                return self.job_status.pop(pid, 127)
            break
        return self.status_of(ws)

    @staticmethod
    def status_of(ws: int) -> int:
        code = os.waitstatus_to_exitcode(ws)
        return 128 - code if code < 0 else code

    def command_sub(self, part: s.CommandSub) -> str:
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

    def fast_file_read(self, body: s.CommandList) -> str | None:
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

    def process_sub(self, part: s.ProcessSub) -> str:
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
        os.set_inheritable(keep, True)
        self.procsub_fds.append(keep)
        return f"/dev/fd/{keep}"

    def close_procsubs(self, mark: int) -> None:
        while len(self.procsub_fds) > mark:
            fd = self.procsub_fds.pop()
            with contextlib.suppress(OSError):
                os.close(fd)

    def run_background(self, ao: s.AndOr) -> int:
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

    def reap_jobs(self) -> None:
        for pid in list(self.jobs):
            try:
                got, ws = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if got:
                self.job_status[pid] = self.status_of(ws)

    # ------------------------------------------------------------------ commands

    def run_command(self, cmd: s.Command) -> int:
        kind = type(cmd)
        if kind is s.SimpleCommand:
            return self.run_simple(cmd)  # type: ignore[arg-type]
        redirects = cmd.redirects if kind is not s.FunctionDef and kind is not s.Coproc else ()  # type: ignore[union-attr]
        if redirects:
            self.state.lineno = self.line_of(cmd)
            saved: Saved = []
            try:
                try:
                    self.apply_redirects(redirects, saved)
                except CommandError as err:
                    self.error(err.message)
                    self.state.last_status = 1
                    return 1
                return self.run_compound(cmd)
            finally:
                self.restore(saved)
        return self.run_compound(cmd)

    def run_compound(self, cmd: s.Command) -> int:
        self.state.lineno = self.line_of(cmd)
        if isinstance(cmd, s.BraceGroup):
            return self.run_list(cmd.body)
        if isinstance(cmd, s.Subshell):
            body = cmd.body
            pid = self.fork(lambda: self.run_list(body))
            status = self.wait_pid(pid)
            self.state.last_status = status
            return status
        if isinstance(cmd, s.If):
            return self.run_if(cmd)
        if isinstance(cmd, s.While):
            return self.run_while(cmd)
        if isinstance(cmd, s.For):
            return self.run_for(cmd)
        if isinstance(cmd, s.ArithFor):
            return self.run_arith_for(cmd)
        if isinstance(cmd, s.Case):
            return self.run_case(cmd)
        if isinstance(cmd, s.CondCommand):
            return self.run_cond(cmd)
        if isinstance(cmd, s.ArithCommand):
            return self.run_arith_command(cmd)
        if isinstance(cmd, s.FunctionDef):
            if cmd.name in self.readonly_functions:
                self.error(f"{cmd.name}: readonly function")
                self.state.last_status = 1
                return 1
            self.state.functions[cmd.name] = (cmd, self.source, self.line_offset)
            self.state.last_status = 0
            return 0
        if isinstance(cmd, s.Select):
            return self.run_select(cmd)
        if isinstance(cmd, s.Coproc):
            return self.run_coproc(cmd)
        raise ShellError(f"unsupported command {type(cmd).__name__}")  # pragma: no cover

    def run_condition(self, lst: s.CommandList) -> int:
        self.suppress_errexit += 1
        try:
            return self.run_list(lst)
        finally:
            self.suppress_errexit -= 1

    def run_if(self, cmd: s.If) -> int:
        for clause in cmd.clauses:
            if self.run_condition(clause.condition) == 0:
                return self.run_list(clause.body)
        if cmd.else_body is not None:
            return self.run_list(cmd.else_body)
        self.state.last_status = 0
        return 0

    def loop_body(self, body: s.CommandList) -> tuple[int, bool]:
        """Run a loop body: (status, whether to leave the loop)."""
        try:
            return self.run_list(body), False
        except BreakLoop as b:
            if b.count > 1:
                b.count -= 1
                raise
            return 0, True
        except ContinueLoop as c:
            if c.count > 1:
                c.count -= 1
                raise
            return 0, False

    def run_while(self, cmd: s.While) -> int:
        status = 0
        self.loop_depth += 1
        try:
            while True:
                cond = self.run_condition(cmd.condition)
                if (cond == 0) == cmd.until:
                    break
                status, leave = self.loop_body(cmd.body)
                if leave:
                    break
        finally:
            self.loop_depth -= 1
        self.state.last_status = status
        return status

    def run_for(self, cmd: s.For) -> int:
        self.state.lineno = self.line_of(cmd)
        items = list(self.state.positional) if cmd.words is None else self.expand_words(cmd.words)
        status = 0
        self.loop_depth += 1
        try:
            for item in items:
                if self.state.options["xtrace"]:
                    self.trace(f"for {cmd.name} in {' '.join(quote_trace(w) for w in items)}")
                self.set_var(cmd.name, item)
                status, leave = self.loop_body(cmd.body)
                if leave:
                    break
        finally:
            self.loop_depth -= 1
        self.state.last_status = status
        return status

    def run_arith_for(self, cmd: s.ArithFor) -> int:
        self.state.lineno = self.line_of(cmd)
        status = 0
        self.loop_depth += 1
        try:
            if cmd.init is not None:
                self.arith_for_part(cmd.init)
            while True:
                if cmd.condition is not None and self.arith_for_part(cmd.condition) == 0:
                    break
                status, leave = self.loop_body(cmd.body)
                if leave:
                    break
                if cmd.step is not None:
                    self.arith_for_part(cmd.step)
        finally:
            self.loop_depth -= 1
        self.state.last_status = status
        return status

    def arith_for_part(self, arith: s.Arith) -> int:
        text = self.arith_text(arith)
        if self.state.options["xtrace"]:
            self.trace(f"(( {text.strip()} ))")
        return self.arith.evaluate(text, "((")

    def run_case(self, cmd: s.Case) -> int:
        from bashflow.execute import pattern

        self.state.lineno = self.line_of(cmd)
        word = self.expand_str(cmd.word)
        if self.state.options["xtrace"]:
            self.trace(f"case {word} in")
        status = 0
        items = cmd.items
        i = 0
        nocase = self.state.shopt["nocasematch"]
        ext = self.state.shopt["extglob"]
        while i < len(items):
            item = items[i]
            if any(
                pattern.match(self.expand_pattern(p), word, extglob=ext, nocase=nocase)
                for p in item.patterns
            ):
                while True:
                    status = self.run_list(item.body) if item.body is not None else 0
                    if item.terminator == ";&" and i + 1 < len(items):
                        i += 1
                        item = items[i]
                        continue
                    break
                if item.terminator != ";;&":
                    break
            i += 1
        self.state.last_status = status
        return status

    def run_cond(self, cmd: s.CondCommand) -> int:
        self.state.lineno = self.line_of(cmd)
        try:
            status = 0 if self.eval_cond(cmd.expr) else 1
        except _CondStatus as c:
            status = c.status
        except CommandError as err:
            self.error(err.message)
            status = 2
        self.state.last_status = status
        return status

    def run_arith_command(self, cmd: s.ArithCommand) -> int:
        self.state.lineno = self.line_of(cmd)
        text = self.arith_text(cmd.arith)
        if self.state.options["xtrace"]:
            self.trace(f"(( {text} ))")
        try:
            value = self.arith.evaluate(text, "((")
        except ExpansionError as err:
            self.error(err.message)
            self.state.last_status = 1
            return 1
        status = 0 if value else 1
        self.state.last_status = status
        return status

    def run_select(self, cmd: s.Select) -> int:
        items = (
            self.expand_words(cmd.words) if cmd.words is not None else list(self.state.positional)
        )
        status = 0
        show = True
        self.loop_depth += 1
        try:
            while True:
                if show:
                    for i, item in enumerate(items, 1):
                        self.write(2, f"{i}) {item}\n")
                self.write(2, self.state.get("PS3") or "#? ")
                line = self.read_line(0)
                if line is None:
                    self.write(1, "\n")
                    status = 1
                    break
                self.state.set("REPLY", line.rstrip("\n"))
                reply = line.strip()
                if not reply:
                    show = True
                    continue
                show = False
                choice = (
                    items[int(reply) - 1]
                    if reply.isdigit() and 0 < int(reply) <= len(items)
                    else ""
                )
                self.set_var(cmd.name, choice)
                status, leave = self.loop_body(cmd.body)
                if leave:
                    break
        finally:
            self.loop_depth -= 1
        self.state.last_status = status
        return status

    def run_coproc(self, cmd: s.Coproc) -> int:
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

    # ------------------------------------------------------------------ simple commands

    def trace(self, text: str) -> None:
        ps4 = self.state.get("PS4")
        if ps4 is None:
            ps4 = "+ "
        if ps4 and any(c in ps4 for c in "$`\\"):
            ps4 = self.expand_prompt(ps4)
        prefix = ps4[:1] * (1 + self.cs_level) + ps4[1:] if ps4 else ""
        fd = 2
        xfd = self.state.get("BASH_XTRACEFD")
        if xfd and xfd.isdigit():
            fd = int(xfd)
        with contextlib.suppress(OSError):
            self.write(fd, prefix + text + "\n")

    def expand_prompt(self, text: str) -> str:
        """PS4's expansions (as in a here-document), never traced themselves."""
        from bashflow.errors import ParseError
        from bashflow.parser import parse

        body = self.prompt_cache.get(text)
        if body is None:
            try:
                script = parse(f"cat <<__BASHFLOW_PS__\n{text}\n__BASHFLOW_PS__\n")
                cmd = script.body.items[0].command.first.commands[0]
                doc = cmd.redirects[0].target  # type: ignore[union-attr]
                assert isinstance(doc, s.HereDoc)
                body = doc.body
            except (ParseError, AssertionError, IndexError):
                return text
            self.prompt_cache[text] = body
        xtrace = self.state.options["xtrace"]
        self.state.options["xtrace"] = False
        old = self.source
        self.source = Source(f"cat <<__BASHFLOW_PS__\n{text}\n__BASHFLOW_PS__\n", old.filename)
        try:
            return self.expand_str(body)[:-1]
        except ShellError:
            return text
        finally:
            self.source = old
            self.state.options["xtrace"] = xtrace

    def run_simple(self, cmd: s.SimpleCommand) -> int:
        st = self.state
        st.lineno = self.line_of(cmd)
        self.current_cmd = cmd
        if st.traps and not self.running_trap:
            st.set("BASH_COMMAND", self.source_text(cmd.span))
            debug = st.traps.get("DEBUG")
            if debug:
                self.run_trap_text(debug, st.last_status)
                st.lineno = self.line_of(cmd)
        mark = len(self.procsub_fds)
        try:
            words = cmd.words
            if st.aliases and words and st.shopt["expand_aliases"]:
                first = words[0].parts
                if len(first) == 1 and type(first[0]) is s.Literal and first[0].text in st.aliases:
                    rest = self.source.text[words[0].span.end : cmd.span.end]
                    return self.run_string(st.aliases[first[0].text] + rest + "\n", "alias")
            if words:
                first = words[0].parts
                if len(first) == 1 and type(first[0]) is s.Literal and first[0].text in _DECL:
                    argv = self.expand_decl_args(words)
                else:
                    self.decl_arrays.clear()
                    argv = self.expand_words(words) if words else []
            else:
                argv = []
            if not argv:
                return self.run_assignments_only(cmd)
            return self.dispatch(cmd, argv)
        finally:
            if len(self.procsub_fds) > mark:
                self.close_procsubs(mark)

    def run_assignments_only(self, cmd: s.SimpleCommand) -> int:
        st = self.state
        self.cs_status = None
        for a in cmd.assignments:
            try:
                self.assign(a, trace=st.options["xtrace"])
            except ShellError as err:
                if isinstance(err, (FatalError, ExpansionError)):
                    raise
                self.error(err.message)
                st.last_status = 1
                return 1
        st.last_arg = ""
        status = self.cs_status if self.cs_status is not None else 0
        if cmd.redirects:
            saved: Saved = []
            try:
                self.apply_redirects(cmd.redirects, saved)
            except CommandError as err:
                self.error(err.message)
                status = 1
            finally:
                self.restore(saved)
        st.last_status = status
        return status

    def dispatch(self, cmd: s.SimpleCommand, argv: list[str]) -> int:
        st = self.state
        name = argv[0]
        func = st.functions.get(name)
        builtin = None if func is not None else self.builtin_for(name)
        temp: dict[str, Var] = {}
        if cmd.assignments:
            if func is None and builtin is None:
                env_extra = self.temp_env(cmd.assignments)
            else:
                env_extra = None
                temp = self.temp_scope(cmd.assignments)
        else:
            env_extra = None
        if st.options["xtrace"]:
            self.trace(" ".join(quote_trace(w) for w in argv))
        st.last_arg = argv[-1]
        if name == "exec" and len(argv) == 1 and func is None:
            try:
                self.apply_redirects(cmd.redirects, None)
            except CommandError as err:
                self.error(err.message)
                st.last_status = 1
                return 1
            st.last_status = 0
            return 0
        saved: Saved = []
        pushed = False
        try:
            if cmd.redirects:
                try:
                    self.apply_redirects(cmd.redirects, saved)
                except CommandError as err:
                    self.error(err.message)
                    st.last_status = 1
                    return 1
            if temp:
                st.scopes.append(temp)
                pushed = True
            if func is not None:
                status = self.call_function(name, func, argv)
            elif builtin is not None:
                try:
                    status = builtin(argv)
                except CommandError as err:
                    self.error(err.message)
                    status = err.status
                    if st.options["posix"] and name in SPECIAL_BUILTINS:
                        raise ExitShell(status) from None
            else:
                status = self.run_external(argv, env_extra)
        finally:
            if pushed:
                st.scopes.remove(temp)
            if saved:
                self.restore(saved)
        st.last_status = status
        return status

    def call_function(
        self, name: str, func: tuple[s.FunctionDef, Source, int], argv: list[str]
    ) -> int:
        fdef, source, offset = func
        st = self.state
        saved_pos = st.positional
        st.positional = argv[1:]
        st.scopes.append({})
        st.funcnames.insert(0, name)
        st.call_lines.insert(0, st.lineno)
        st.sources.insert(0, source.filename)
        self.update_funcname()
        old_source, old_offset = self.source, self.line_offset
        self.source, self.line_offset = source, offset
        self.func_depth += 1
        saved_loops, self.loop_depth = self.loop_depth, 0
        try:
            try:
                status = self.run_command(fdef.body)
            except ReturnFromFunction as r:
                status = r.status
            trap = st.traps.get("RETURN")
            if not st.options["functrace"] and self.return_trap_depth != self.func_depth:
                trap = None
            if trap and not self.running_trap:
                self.run_trap_text(trap, status)
        finally:
            self.func_depth -= 1
            self.loop_depth = saved_loops
            self.source, self.line_offset = old_source, old_offset
            st.scopes.pop()
            st.funcnames.pop(0)
            st.call_lines.pop(0)
            st.sources.pop(0)
            st.positional = saved_pos
            self.update_funcname()
        return status

    def update_funcname(self) -> None:
        st = self.state
        g = st.scopes[0]
        if st.funcnames:
            g["FUNCNAME"] = Var({i: n for i, n in enumerate([*st.funcnames, "main"])}, 1)
            lines = [*st.call_lines, 0]
            g["BASH_LINENO"] = Var({i: str(n) for i, n in enumerate(lines)}, 1)
        else:
            g.pop("FUNCNAME", None)
            g["BASH_LINENO"] = Var({}, 1)
        g["BASH_SOURCE"] = Var(dict(enumerate(st.sources + st.base_sources)), 1)

    def run_external(self, argv: list[str], env_extra: dict[str, str] | None) -> int:
        st = self.state
        env = st.exported()
        if env_extra:
            env.update(env_extra)
        path = self.find_command(argv[0])
        if path is None:
            if "/" in argv[0]:
                self.error(f"{argv[0]}: No such file or directory")
            else:
                self.error(f"{argv[0]}: command not found")
            return 127
        if self.policy is not None:
            denied = self.policy.judge(argv, path, self)
            if denied is not None:
                self.write(2, f"bashflow: denied: {denied} ({self.source.filename}:{st.lineno})\n")
                return 126
        env["_"] = path
        result = self.runner.run(path, argv, env)
        if isinstance(result, str):
            self.error(result if result.startswith(argv[0]) else f"{argv[0]}: {result}")
            return 127 if "No such file" in result or "required file" in result else 126
        if result is None:
            # ENOEXEC: a script without #!; bash runs it in a subshell of itself
            return self.run_file_in_subshell(path, argv)
        return result

    def run_file_in_subshell(self, path: str, argv: list[str]) -> int:
        from bashflow.parser import parse

        def child() -> int:
            with open(path, "rb") as fh:
                data = fh.read()
            script = parse(data, argv[0])
            self.source = Source(data.decode("utf-8", "surrogateescape"), argv[0])
            self.line_offset = 0
            self.error_name = argv[0]
            st = self.state
            st.arg0 = argv[0]
            st.positional = argv[1:]
            st.functions = {}
            st.scopes = [{k: v.copy() for k, v in st.scopes[0].items() if v.flags & EXPORT}]
            return self.run_toplevel(script.body)

        pid = self.fork(child)
        return self.wait_pid(pid)

    def find_command(self, name: str) -> str | None:
        if "/" in name:
            return name if os.path.exists(name) else None
        cached = self.state.hash.get(name) if self.path_override is None else None
        if cached is not None and os.path.exists(cached):
            return cached
        path = self.path_override or self.state.get("PATH")
        if path is None:
            path = "/usr/local/bin:/usr/bin:/bin"
        found_noexec = None
        for d in path.split(":"):
            full = os.path.join(d or ".", name)
            if os.path.isfile(full):
                if os.access(full, os.X_OK):
                    self.state.hash[name] = full
                    return full
                if found_noexec is None:
                    found_noexec = full
        return found_noexec

    def run_pending_traps(self) -> None:
        pending, self.pending_signals = self.pending_signals, []
        for signum in pending:
            name = signal.Signals(signum).name
            text = self.state.traps.get(name)
            if text:
                status = self.state.last_status
                self.run_trap_text(text, status)


_DECL = frozenset(("declare", "typeset", "local", "export", "readonly"))

__all__ = ["Interpreter", "sys"]
