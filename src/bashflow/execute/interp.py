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
from typing import TYPE_CHECKING, Any

from bashflow.execute.arith_eval import Evaluator
from bashflow.execute.builtins import Builtins
from bashflow.execute.cond_eval import CondEvaluator, _CondStatus
from bashflow.execute.errors import (
    BreakLoop,
    CommandError,
    ContinueLoop,
    ControlFlow,
    ExitShell,
    ExpansionError,
    FatalError,
    ReturnFromFunction,
    ShellError,
)
from bashflow.execute.expand import Expander
from bashflow.execute.params import ParamExpander
from bashflow.execute.processes import Processes
from bashflow.execute.quoting import quote_trace
from bashflow.execute.redirect import Redirector, Saved
from bashflow.execute.runner import Runner
from bashflow.execute.simple import SimpleCommands
from bashflow.execute.state import State, Var
from bashflow.execute.words import AssignMixin
from bashflow.parser import syntax as s
from bashflow.source import Source, Span

if TYPE_CHECKING:
    from bashflow.execute.events import Events
    from bashflow.execute.policy_hook import PolicyHook
    from bashflow.execute.schedule import ListRun, Scheduler

_COMPOUND_LEAF = (s.Subshell, s.ArithCommand, s.CondCommand)


class Interpreter(
    Expander,
    ParamExpander,
    CondEvaluator,
    Redirector,
    Builtins,
    AssignMixin,
    Processes,
    SimpleCommands,
):
    """One shell. `run_script` runs a parsed script and returns its exit status."""

    def __init__(self, source: Source, *, name: str = "bash", runner: Runner | None = None) -> None:
        self.state = State()
        self.arith = Evaluator(self.state)
        self.state.arith = self.arith.evaluate
        self.source: Source = source
        self.line_offset: int = 0
        self.error_name: str = name
        self.runner = runner or Runner()
        self.policy: PolicyHook | None = None
        self.suppress_errexit = 0
        self.internal_fds: set[int] = set()
        self.procsub_fds: list[int] = []
        self.jobs: list[int] = []
        # statuses of background jobs reaped by `wait PID` / `wait -n`: bash answers a later
        # `wait PID` from them, until a `wait` without operands forgets them
        self.waited: dict[int, int] = {}
        self.in_subshell = False
        self.decl_arrays: dict[int, tuple[str, s.ArrayLiteral]] = {}
        self.loop_depth: int = 0
        self.func_depth: int = 0
        self.source_depth: int = 0
        self.pending_signals: list[int] = []
        self.running_trap: bool = False
        self.cs_level: int = 0
        self.exported_functions: set[str] = set()
        self.local_options: list[dict[str, bool] | None] = []
        self.shown_traps: dict[str, str] | None = None
        self.builtin_name = ""
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
        # the run record and parallel runs (execute/events.py, execute/schedule.py)
        self.events: Events | None = None
        self.tracked: dict[int, int] = {}
        """Node id by `id()` of a pipeline: executions reported as events."""
        self.scheduler: Scheduler | None = None

    # ------------------------------------------------------------------ text and errors

    def source_text(self, span: Span) -> str:
        return self.source.text[span.start : span.end]

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
            who = f"{self.builtin_name}: " if self.builtin_name else ""
            self.error(f"{who}write error: {os.strerror(err.errno or 5)}")
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
        run = self.list_run(body)
        try:
            self._run_units(items, run)
        finally:
            if run is not None:
                run.abandon()
        return self.state.last_status

    def _run_units(self, items: tuple[s.ListItem, ...], run: ListRun | None) -> None:
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
                if run is None:
                    for item in unit:
                        self.run_item(item)
                else:
                    try:
                        for k in range(i - len(unit), i):
                            run.run(k)
                    except (ShellError, ControlFlow, OSError):
                        run.drop(i)  # the rest of the line is abandoned
                        raise
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

    def list_run(self, lst: s.CommandList) -> ListRun | None:
        """The scheduler's run of `lst`, when the compiled plan has one for it."""
        sched = self.scheduler
        if sched is None:
            return None
        plans = sched.items(lst)
        if plans is None:
            return None
        from bashflow.execute.schedule import ListRun

        return ListRun(sched, lst, plans)

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
        run = self.list_run(lst) if self.scheduler is not None else None
        if run is None:
            for item in lst.items:
                status = self.run_item(item)
            return status
        try:
            for k in range(len(lst.items)):
                status = run.run(k)
        finally:
            run.abandon()
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
        node = self.tracked.get(id(p)) if self.events is not None else None
        if node is None:
            return self.run_pipeline_here(p, checked)
        ev = self.events
        assert ev is not None
        start = ev.started(node)
        status = 1
        try:
            status = self.run_pipeline_here(p, checked)
        except ExitShell as e:
            status = e.status
            raise
        except ShellError as e:
            status = e.status
            raise
        except BaseException:
            status = self.state.last_status
            raise
        finally:
            ev.finished(node, status, start)
        return status

    def run_pipeline_here(self, p: s.Pipeline, checked: bool) -> int:
        if p.timed is not None:
            return self.run_timed(p, checked)
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

    def run_timed(self, p: s.Pipeline, checked: bool) -> int:
        """`time [-p] pipeline`: the pipeline, then real/user/sys on stderr as bash prints."""
        import time

        start = time.monotonic()
        before = os.times()
        try:
            return self.run_pipeline(
                s.Pipeline(p.span, p.commands, p.ops, p.negated, None), checked
            )
        finally:
            real = time.monotonic() - start
            after = os.times()
            user = after.user + after.children_user - before.user - before.children_user
            system = after.system + after.children_system - before.system - before.children_system
            if p.timed == "time -p":
                text = f"real {real:.2f}\nuser {user:.2f}\nsys {system:.2f}\n"
            else:
                text = "".join(
                    f"{label}\t{int(v // 60)}m{v % 60:.3f}s\n"
                    for label, v in (("\nreal", real), ("user", user), ("sys", system))
                )
            with contextlib.suppress(OSError):
                self.write(2, text)

    def on_failure(self, status: int) -> None:
        trap = self.state.traps.get("ERR")  # call_function hides it from functions (no -E)
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

    # ------------------------------------------------------------------ processes

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
                return self.run_compound_noted(cmd)
            finally:
                self.restore(saved)
                self.flush_job_note()
        status = self.run_compound_noted(cmd)
        self.flush_job_note()
        return status

    def run_compound(self, cmd: s.Command) -> int:
        self.state.lineno = self.line_of(cmd)
        if isinstance(cmd, s.BraceGroup):
            return self.run_list(cmd.body)
        if isinstance(cmd, s.Subshell):
            return self.run_subshell(cmd)
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
            return b.status, True
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
        word = self.expand_str(cmd.word, sep="")  # bash joins a quoted "$@" with nothing here
        if self.state.options["xtrace"]:
            self.trace(f"case {self.source_text(cmd.word.span)} in")
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

    # ------------------------------------------------------------------ simple commands


__all__ = ["Interpreter"]
