"""execute/simple - simple commands: expansion of the words, assignments (kept, or
temporary for one command), tracing (`set -x` with PS4), dispatch to a function, a builtin
or a program (with the run-time policy check), function calls and PATH lookup.
"""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import contextlib
import os
import signal
from typing import TYPE_CHECKING

from bashflow.execute.builtins import SPECIAL as SPECIAL_BUILTINS
from bashflow.execute.errors import (
    CommandError,
    ExitShell,
    ExpansionError,
    FatalError,
    ReturnFromFunction,
    ShellError,
)
from bashflow.execute.quoting import quote_trace
from bashflow.execute.redirect import Saved
from bashflow.execute.state import ARRAY, EXPORT, Var
from bashflow.parser import syntax as s
from bashflow.source import Source

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

_DECL = frozenset(("declare", "typeset", "local", "export", "readonly"))


class SimpleCommands:
    current_cmd: s.SimpleCommand | None
    cs_status: int | None

    def trace(self: Interpreter, text: str) -> None:
        ps4 = self.state.get("PS4")
        if ps4 is None:
            ps4 = ""  # unset PS4: traces without a prefix
        if ps4 and any(c in ps4 for c in "$`\\"):
            ps4 = self.expand_prompt(ps4)
        prefix = ps4[:1] * (1 + self.cs_level) + ps4[1:] if ps4 else ""
        fd = 2
        xfd = self.state.get("BASH_XTRACEFD")
        if xfd and xfd.isdigit():
            fd = int(xfd)
        with contextlib.suppress(OSError):
            self.write(fd, prefix + text + "\n")

    def expand_prompt(self: Interpreter, text: str) -> str:
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

    def run_simple(self: Interpreter, cmd: s.SimpleCommand) -> int:
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

    def run_assignments_only(self: Interpreter, cmd: s.SimpleCommand) -> int:
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

    def dispatch(self: Interpreter, cmd: s.SimpleCommand, argv: list[str]) -> int:
        st = self.state
        name = argv[0]
        func = st.functions.get(name)
        builtin = None if func is not None else self.builtin_for(name)
        temp: dict[str, Var] = {}
        env_extra = None
        if cmd.assignments:
            values = self.temp_values(cmd.assignments)
            if func is None and builtin is None:
                env_extra = values
            else:
                temp = {name: Var(value, EXPORT) for name, value in values.items()}
        if st.options["xtrace"] and not (self.decl_arrays and name in _DECL):
            self.trace(" ".join(quote_trace(w) for w in argv))
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
                    self.builtin_name = name
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
            st.last_arg = argv[-1]  # `$_` changes when the command is done
        st.last_status = status
        return status

    def call_function(
        self: Interpreter, name: str, func: tuple[s.FunctionDef, Source, int], argv: list[str]
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
        old_source, old_offset, old_name = self.source, self.line_offset, self.error_name
        self.source, self.line_offset = source, offset
        if source is not old_source and source.filename != old_source.filename:
            self.error_name = source.filename  # bash names the file the function came from
        self.func_depth += 1
        saved_loops, self.loop_depth = self.loop_depth, 0
        self.local_options.append(None)
        # without errtrace a function does not inherit the ERR trap: bash clears it for the
        # call and puts it back afterwards unless the function set one of its own
        saved_err = None if st.options["errtrace"] else st.traps.pop("ERR", None)
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
            if saved_err is not None:
                st.traps.setdefault("ERR", saved_err)
            self.func_depth -= 1
            self.loop_depth = saved_loops
            saved_options = self.local_options.pop()
            if saved_options is not None:
                st.options.update(saved_options)
            self.source, self.line_offset, self.error_name = old_source, old_offset, old_name
            st.scopes.pop()
            st.funcnames.pop(0)
            st.call_lines.pop(0)
            st.sources.pop(0)
            st.positional = saved_pos
            self.update_funcname()
        return status

    def update_funcname(self: Interpreter) -> None:
        st = self.state
        g = st.scopes[0]
        if st.funcnames:
            g["FUNCNAME"] = Var({i: n for i, n in enumerate([*st.funcnames, "main"])}, ARRAY)
            lines = [*st.call_lines, 0]
            g["BASH_LINENO"] = Var({i: str(n) for i, n in enumerate(lines)}, ARRAY)
        else:
            g.pop("FUNCNAME", None)
            g["BASH_LINENO"] = Var({}, ARRAY)
        g["BASH_SOURCE"] = Var(dict(enumerate(st.sources + st.base_sources)), ARRAY)

    def run_external(self: Interpreter, argv: list[str], env_extra: dict[str, str] | None) -> int:
        st = self.state
        env = self.child_env()
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
        if result > 128 and result - 128 not in (signal.SIGINT, signal.SIGPIPE):
            self.report_signal(result - 128, pid=self.runner.last_pid)
        return result

    def child_env(self: Interpreter) -> dict[str, str]:
        """The environment of a program: exported variables and exported functions (in
        bash's `BASH_FUNC_name%%=() {...}` form, which a child bash imports)."""
        st = self.state
        env = st.exported()
        for fname in self.exported_functions:
            if fname in st.functions:
                text = self.function_text(fname)
                env[f"BASH_FUNC_{fname}%%"] = "() " + text.split("\n", 1)[-1]
        return env

    def report_signal(self: Interpreter, signum: int, pid: int) -> None:
        """bash's note on a foreground program killed by a signal:
        `NAME: line N: PID Killed                  COMMAND`."""
        try:
            name = signal.strsignal(signum) or f"Signal {signum}"
        except ValueError:
            name = f"Signal {signum}"
        text = self.source_text(self.current_cmd.span) if self.current_cmd is not None else ""
        with contextlib.suppress(OSError):
            self.error(f"{pid:5d} {name:<24}{text}")

    def run_file_in_subshell(self: Interpreter, path: str, argv: list[str]) -> int:
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

    def find_command(self: Interpreter, name: str) -> str | None:
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

    def run_pending_traps(self: Interpreter) -> None:
        pending = list(self.pending_signals)
        self.pending_signals.clear()
        for signum in pending:
            name = signal.Signals(signum).name
            text = self.state.traps.get(name)
            if text:
                status = self.state.last_status
                self.run_trap_text(text, status)
