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
import re
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
from bashflow.execute.nested import is_bash, lower_shell_level, run_bash
from bashflow.execute.quoting import quote_trace
from bashflow.execute.redirect import Saved
from bashflow.execute.state import ARRAY, BASH_PATH, EXPORT, Var
from bashflow.parser import syntax as s
from bashflow.source import Source

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

_DECL = frozenset(("declare", "typeset", "local", "export", "readonly"))
_COMMENTS = re.compile(r"(?m)(?:^|(?<=[\s;]))#.*$")
_LEAD_WORD = re.compile(r"(\s*)([A-Za-z0-9_.!%,@:+-]+)(?=\s|$)")
_NEGATED = re.compile(r"(?:^|[\s;&|])!\s*$")


class SimpleCommands:
    current_cmd: s.SimpleCommand | None
    cs_status: int | None
    top_line: int | None
    _fatal_status = 0

    @property
    def fatal_status(self: Interpreter) -> int:
        """The status a fatal expansion error (`set -u`, `${x:?}`) ends the shell with when
        not its own: `bash -c` exits 127, unless errexit is on (then the error's, 1)."""
        return 0 if self.state.options["errexit"] else self._fatal_status

    @fatal_status.setter
    def fatal_status(self: Interpreter, value: int) -> None:
        self._fatal_status = value

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
                    return self.run_string(self.alias_text(cmd) + "\n", "alias")
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

    def alias_text(self: Interpreter, cmd: s.SimpleCommand) -> str:
        """The command with its first word's alias expanded; while an alias's value ends in
        a blank, the next word is expanded too, as bash does."""
        st = self.state
        words = cmd.words
        out = []
        k = 0
        end = cmd.span.start  # assignments before the word stay
        while k < len(words):
            parts = words[k].parts
            first = parts[0] if len(parts) == 1 else None
            name = first.text if isinstance(first, s.Literal) else None
            if name is None or name not in st.aliases:
                break
            value = st.aliases[name]
            if k:  # a word after a blank-ended alias: its value's first word is one too
                value = self.alias_lead(value, {name})
            out.append(self.source.text[end : words[k].span.start] + value)
            end = words[k].span.end
            k += 1
            if not value or value[-1] not in " \t":
                break
        return "".join(out) + self.source.text[end : cmd.span.end]

    def alias_lead(self: Interpreter, value: str, used: set[str]) -> str:
        """`value` with its first word alias-expanded (recursively, each alias once)."""
        m = _LEAD_WORD.match(value)
        if m is None or m.group(2) not in self.state.aliases or m.group(2) in used:
            return value
        used.add(m.group(2))
        inner = self.alias_lead(self.state.aliases[m.group(2)], used)
        return m.group(1) + inner + value[m.end() :]

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
            if self.job_note:
                self.flush_job_note()  # after the redirections, as bash prints it
        st.last_status = status
        return status

    def call_function(
        self: Interpreter, name: str, func: tuple[s.FunctionDef, Source, int], argv: list[str]
    ) -> int:
        fdef, source, offset = func
        st = self.state
        nest = st.get("FUNCNEST")
        if nest and nest.isdigit() and 0 < int(nest) <= self.func_depth:
            raise ExpansionError(f"{name}: maximum function nesting level exceeded ({nest})")
        saved_pos = st.positional
        st.positional = argv[1:]
        st.scopes.append({})
        defined_in = self.definition_source(source)
        st.frames.insert(0, (name, defined_in, st.lineno))
        self.func_depth += 1
        self.update_funcname()
        old_source, old_offset, old_name = self.source, self.line_offset, self.error_name
        self.source, self.line_offset = source, offset
        self.error_name = defined_in  # bash names errors after BASH_SOURCE[0]
        saved_loops, self.loop_depth = self.loop_depth, 0
        saved_top, self.top_line = self.top_line, source.line_col(fdef.span.start)[0] + offset
        self.local_options.append(None)
        # without errtrace a function does not inherit the ERR trap: bash clears it for the
        # call and puts it back afterwards unless the function set one of its own
        saved_err = None if st.options["errtrace"] else st.traps.pop("ERR", None)
        try:
            try:
                status = self.run_command(fdef.body)
            except ReturnFromFunction as r:
                status = r.status
            except (ExpansionError, FatalError) as err:
                # reported where it unwinds to, but named as bash names it here
                if not err.message.startswith("\0"):
                    err.message = f"\0{self.error_name}: line {st.lineno}: {err.message}"
                raise
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
            self.top_line = saved_top
            saved_options = self.local_options.pop()
            if saved_options is not None:
                st.options.update(saved_options)
            self.source, self.line_offset, self.error_name = old_source, old_offset, old_name
            st.scopes.pop()
            st.lineno = st.frames.pop(0)[2]  # back on the caller's line (an ERR trap's LINENO)
            st.positional = saved_pos
            self.update_funcname()
        return status

    def update_funcname(self: Interpreter) -> None:
        """FUNCNAME, BASH_SOURCE and BASH_LINENO from the call stack (`state.frames` and the
        script's own frame). FUNCNAME has a value only while a function runs."""
        st = self.state
        g = st.scopes[0]
        frames = st.frames
        main = [("main", st.base_sources[0], 0)] if st.base_sources else []
        if self.func_depth:
            names = [f[0] for f in frames] + [f[0] for f in main]
            g["FUNCNAME"] = Var(dict(enumerate(names)), ARRAY)
        else:
            g["FUNCNAME"] = Var(None, ARRAY)
        g["BASH_LINENO"] = Var({i: str(f[2]) for i, f in enumerate(frames + main)}, ARRAY)
        g["BASH_SOURCE"] = Var({i: f[1] for i, f in enumerate(frames + main)}, ARRAY)

    def frame_lists(self: Interpreter) -> tuple[list[str], list[str], list[str]]:
        """The whole call stack as bash keeps it (FUNCNAME, BASH_SOURCE, BASH_LINENO), also
        where FUNCNAME shows no value (`caller` reads it)."""
        st = self.state
        frames = st.frames + ([("main", st.base_sources[0], 0)] if st.base_sources else [])
        return [f[0] for f in frames], [f[1] for f in frames], [str(f[2]) for f in frames]

    def definition_source(self: Interpreter, source: Source) -> str:
        """A function's BASH_SOURCE: the file its text came from; for the text of `bash -c`
        or of a script on stdin (no file) bash records "environment" / "main"."""
        st = self.state
        if st.base_sources or source.filename != st.arg0:
            return source.filename
        return "environment" if "c" in st.extra_flags else "main"

    def run_external(self: Interpreter, argv: list[str], env_extra: dict[str, str] | None) -> int:
        st = self.state
        env = self.child_env()
        if env_extra:
            env.update(env_extra)
        path = self.find_command(argv[0])
        if path is None and argv[0] == BASH_PATH:
            path = BASH_PATH  # `"$BASH"` where bash itself is not installed
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
        if is_bash(path):
            # bash itself runs as a new shell of this interpreter (execute/nested.py)
            if self.is_last_act():
                lower_shell_level(env)
            result: int | str | None = run_bash(self, argv, env)
        else:
            result = self.runner.run(path, argv, env)
        if isinstance(result, str):
            self.error(result if result.startswith(argv[0]) else f"{argv[0]}: {result}")
            return 127 if "No such file" in result or "required file" in result else 126
        if result is None:
            # ENOEXEC: a script without #!; bash runs it in a subshell of itself
            return self.run_file_in_subshell(path, argv)
        signum = self.runner.last_signal
        if signum:
            cmd = self.current_cmd
            if (
                self.in_subshell
                and cmd is not None
                and cmd is self.exec_last
                and not self.state.traps.get("EXIT")
            ):
                self.die_like(signum)  # bash would have exec'd it: the subshell dies so
            text = self.command_text(cmd) if cmd is not None else argv[0]
            line = self.note_line(cmd) if cmd is not None else st.lineno
            self.note_job([(self.runner.last_pid, result, signum, text)], line)
        return result

    def is_last_act(self: Interpreter) -> bool:
        """Whether the command running is the last of a `bash -c` string, at its top level,
        plain (no redirections, not negated): bash then execs it in place of itself (no
        fork) and, like `exec`, lowers SHLVL first."""
        cmd = self.current_cmd
        if (
            cmd is None
            or cmd.redirects
            or "c" not in self.state.extra_flags
            or self.in_subshell
            or self.func_depth
            or self.source_depth
            or self.cs_level
            or self.state.traps.get("EXIT")
        ):
            return False
        text = self.source.text
        after = _COMMENTS.sub("", text[cmd.span.end :])
        return not after.strip(" \t\n;") and not _NEGATED.search(text[: cmd.span.start])

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

    def find_command(self: Interpreter, name: str, *, remember: bool = True) -> str | None:
        """A program's path: its hashed path (one more hit), else the first executable
        `name` on PATH, which is then hashed with one hit unless `remember` is false
        (`type`, `command -v` look without hashing)."""
        if "/" in name:
            return name if os.path.exists(name) else None
        st = self.state
        cached = st.hash.get(name) if self.path_override is None else None
        if cached is not None and os.path.exists(cached):
            st.hash_hits[name] = st.hash_hits.get(name, 0) + 1
            return cached
        full = self.search_path(name)
        if (
            full is not None
            and remember
            and self.path_override is None
            and os.access(full, os.X_OK)
        ):
            st.hash.pop(name, None)  # re-hashed: now the newest entry
            st.hash[name] = full
            st.hash_hits[name] = 1
        return full

    def search_path(self: Interpreter, name: str) -> str | None:
        """The first executable `name` on PATH (else the first such file at all)."""
        path = self.path_override or self.state.get("PATH")
        if path is None:
            path = "/usr/local/bin:/usr/bin:/bin"
        found_noexec = None
        for d in path.split(":"):
            full = os.path.join(d or ".", name)
            if os.path.isfile(full):
                if os.access(full, os.X_OK):
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
