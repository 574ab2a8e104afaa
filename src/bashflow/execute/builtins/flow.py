"""execute/builtins/flow - control and shell builtins: exit return break continue shift set
shopt eval source exec command builtin type hash let test."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

from bashflow.execute.errors import (
    BreakLoop,
    CommandError,
    ContinueLoop,
    ExitShell,
    ExpansionError,
    ReturnFromFunction,
)
from bashflow.execute.nested import become_bash, is_bash, lower_shell_level
from bashflow.execute.quoting import single_quote
from bashflow.execute.state import BASH_PATH, LETTER_OPTIONS, SET_OPTIONS, assoc_order

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

SIGNALS = {
    s.name[3:]: int(s) for s in signal.Signals if s.name.startswith("SIG") and "_" not in s.name
}


def signal_number(spec: str) -> int | None:
    """A signal given by number or name (`TERM`, `SIGTERM`, `term`); 0 is EXIT."""
    if spec.isdigit():
        return int(spec)
    name = spec.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name == "EXIT":
        return 0
    return SIGNALS.get(name)


def signal_table() -> str:
    """`trap -l` / `kill -l`: five `NN) SIGNAME` to a line, tab-separated."""
    names = sorted(SIGNALS.items(), key=lambda kv: kv[1])
    cells = [f"{n:2d}) SIG{name}" for name, n in names]
    rows = ["\t".join(cells[i : i + 5]) for i in range(0, len(cells), 5)]
    return "\n".join(rows) + "\n"


def _numeric(text: str) -> int | None:
    t = text.strip()
    body = t[1:] if t[:1] in "+-" else t
    if not body.isdigit():
        return None
    return int(t)


class FlowBuiltins:
    path_override: str | None = None
    # ------------------------------------------------------------------ exit & loops

    def b_exit(self: Interpreter, argv: list[str]) -> int:
        if len(argv) > 2:
            raise CommandError("exit: too many arguments")
        if len(argv) == 1:
            raise ExitShell(self.state.last_status)
        n = _numeric(argv[1])
        if n is None:
            self.error(f"exit: {argv[1]}: numeric argument required")
            raise ExitShell(2)
        raise ExitShell(n & 255)

    def b_return(self: Interpreter, argv: list[str]) -> int:
        if self.func_depth == 0 and self.source_depth == 0:
            raise CommandError("return: can only `return' from a function or sourced script", 2)
        if len(argv) > 2:
            raise CommandError("return: too many arguments")
        if len(argv) == 1:
            raise ReturnFromFunction(self.state.last_status)
        n = _numeric(argv[1])
        if n is None:
            self.error(f"return: {argv[1]}: numeric argument required")
            raise ReturnFromFunction(2)
        raise ReturnFromFunction(n & 255)

    def _loop_count(self: Interpreter, argv: list[str]) -> int:
        if len(argv) < 2:
            return 1
        n = _numeric(argv[1])
        if n is None:
            self.error(f"{argv[0]}: {argv[1]}: numeric argument required")
            raise ExitShell(128)
        if n < 1:
            message = f"{argv[0]}: {argv[1]}: loop count out of range"
            if self.loop_depth:
                self.error(message)
                raise BreakLoop(1, 1)
            raise CommandError(message)
        return n

    def b_break(self: Interpreter, argv: list[str]) -> int:
        n = self._loop_count(argv)
        if self.loop_depth == 0:
            self.error("break: only meaningful in a `for', `while', or `until' loop")
            return 0
        raise BreakLoop(min(n, self.loop_depth))

    def b_continue(self: Interpreter, argv: list[str]) -> int:
        n = self._loop_count(argv)
        if self.loop_depth == 0:
            self.error("continue: only meaningful in a `for', `while', or `until' loop")
            return 0
        raise ContinueLoop(min(n, self.loop_depth))

    def b_shift(self: Interpreter, argv: list[str]) -> int:
        n = 1
        if len(argv) > 1:
            v = _numeric(argv[1])
            if v is None:
                raise CommandError(f"shift: {argv[1]}: numeric argument required")
            n = v
        if n < 0:
            raise CommandError(f"shift: {argv[1]}: shift count out of range")
        if n > len(self.state.positional):
            if self.state.shopt["shift_verbose"]:
                raise CommandError(f"shift: {n}: shift count out of range")
            return 1
        self.state.positional = self.state.positional[n:]
        return 0

    # ------------------------------------------------------------------ options

    def b_set(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        st = self.state
        if not args:
            return self.print_variables()
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("--", "-"):
                st.positional = args[i + 1 :]
                if a == "-":
                    st.options["xtrace"] = False
                    st.options["verbose"] = False
                return 0
            if a[:1] not in "-+" or len(a) < 2:
                st.positional = args[i:]
                return 0
            on = a[0] == "-"
            if a[1:] == "o":
                if i + 1 >= len(args):
                    return self.print_options(on)
                name = args[i + 1]
                if name not in SET_OPTIONS:
                    raise CommandError(f"set: {name}: invalid option name", 2)
                st.options[name] = on
                i += 2
                continue
            consumed = 0
            for ch in a[1:]:
                if ch == "o":
                    consumed += 1
                    if i + consumed >= len(args):
                        return self.print_options(on)
                    oname = args[i + consumed]
                    if oname not in SET_OPTIONS:
                        raise CommandError(f"set: {oname}: invalid option name", 2)
                    st.options[oname] = on
                    continue
                letter_name = LETTER_OPTIONS.get(ch)
                if letter_name is None:
                    raise CommandError(
                        f"set: {a[0]}{ch}: invalid option\nset: usage: set [-abefhkmnptuvxBCEHPT] [-o option-name] [--] [-] [arg ...]",
                        2,
                    )
                st.options[letter_name] = on
            i += 1 + consumed
        return 0

    def print_options(self: Interpreter, on: bool) -> int:
        lines = []
        for name in sorted(SET_OPTIONS):
            value = self.state.options.get(name, False)
            if on:
                lines.append(f"{name:<15}\t{'on' if value else 'off'}")
            else:
                lines.append(f"set {'-' if value else '+'}o {name}")
        return self.out("\n".join(lines) + "\n")

    def print_variables(self: Interpreter) -> int:
        from bashflow.execute.quoting import quote_trace

        lines = []
        for name in sorted(self.state.iter_names()):
            v = self.state.lookup(name)
            if v is None or v.value is None:
                continue
            if isinstance(v.value, str):
                lines.append(f"{name}={quote_trace(v.value)}")
            else:
                items = self.state.array_items(name)
                body = " ".join(f"[{k}]={quote_trace(val)}" for k, val in items)
                lines.append(f"{name}=({body})")
        return self.out("".join(line + "\n" for line in lines))

    def b_shopt(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        mode = ""
        quiet = False
        use_o = False
        while args and args[0].startswith("-") and len(args[0]) > 1:
            for ch in args[0][1:]:
                if ch in "su":
                    mode = ch
                elif ch == "q":
                    quiet = True
                elif ch == "p":
                    mode = mode or "p"
                elif ch == "o":
                    use_o = True
                else:
                    raise CommandError(
                        f"shopt: -{ch}: invalid option\nshopt: usage: shopt [-pqsu] [-o] [optname ...]",
                        2,
                    )
            args.pop(0)
        table = self.state.options if use_o else self.state.shopt
        status = 0
        if mode in ("s", "u"):
            if not args:
                names = [n for n, v in sorted(table.items()) if v == (mode == "s")]
                return (
                    self.out(
                        "".join(self._shopt_line(n, table[n], mode == "p", use_o) for n in names)
                    )
                    if not quiet
                    else 0
                )
            for name in args:
                if name not in table:
                    self.error(f"shopt: {name}: invalid shell option name")
                    status = 1
                    continue
                table[name] = mode == "s"
            return status
        names = args or sorted(table)
        out = []
        for name in names:
            if name not in table:
                self.error(f"shopt: {name}: invalid shell option name")
                status = 1
                continue
            if not table[name]:
                status = 1
            if not quiet:
                out.append(self._shopt_line(name, table[name], mode == "p", use_o))
        if out:
            self.out("".join(out))
        return status

    def _shopt_line(self: Interpreter, name: str, value: bool, as_cmd: bool, use_o: bool) -> str:
        if as_cmd:
            if use_o:
                return f"set {'-' if value else '+'}o {name}\n"
            return f"shopt {'-s' if value else '-u'} {name}\n"
        return f"{name:<15}\t{'on' if value else 'off'}\n"

    # ------------------------------------------------------------------ running code

    def b_eval(self: Interpreter, argv: list[str]) -> int:
        text = " ".join(argv[1:])
        if not text.strip():
            return 0
        st = self.state
        saved = st.lineno
        if self.current_cmd is not None:
            st.lineno = self.source.line_col(self.current_cmd.span.end)[0] + self.line_offset
        try:
            return self.run_string(text if text.endswith("\n") else text + "\n", "eval")
        finally:
            st.lineno = saved

    def b_source(self: Interpreter, argv: list[str]) -> int:
        from bashflow.errors import ParseError
        from bashflow.parser import parse_source
        from bashflow.source import Source

        if len(argv) < 2:
            self.error(f"{argv[0]}: filename argument required")
            self.write(2, f"{argv[0]}: usage: {argv[0]} filename [arguments]\n")
            return 2
        name = argv[1]
        path = name
        if "/" not in name and self.state.shopt["sourcepath"]:
            for d in (self.state.get("PATH") or "").split(":"):
                cand = os.path.join(d or ".", name)
                if os.path.isfile(cand):
                    path = cand
                    break
        if os.path.isdir(path):
            raise CommandError(f"{argv[0]}: {name}: is a directory")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as err:
            raise CommandError(f"{name}: {os.strerror(err.errno or 2)}") from None
        src = Source(data.decode("utf-8", "surrogateescape"), name)
        try:
            script = parse_source(src)
        except ParseError as err:
            from bashflow.execute.syntax_errors import bash_message

            for line in bash_message(err, src, name, "file", 0):
                self.write(2, line + "\n")
            return 2
        st = self.state
        saved_pos = st.positional
        if len(argv) > 2:
            st.positional = argv[2:]
        old = (self.source, self.line_offset, self.error_name)
        self.source, self.line_offset, self.error_name = src, 0, name
        self.source_depth += 1
        self.cs_level += 1
        st.frames.insert(0, ("source", name, st.lineno))
        self.update_funcname()
        saved_line = st.lineno
        try:
            status = self.run_list(script.body)
        except ReturnFromFunction as r:
            status = r.status
        finally:
            self.source_depth -= 1
            self.cs_level -= 1
            st.frames.pop(0)
            self.update_funcname()
            self.source, self.line_offset, self.error_name = old
            st.lineno = saved_line
            if len(argv) > 2:
                st.positional = saved_pos
        trap = st.traps.get("RETURN")
        if trap and (st.options["functrace"] or self.return_trap_depth == self.func_depth):
            self.run_trap_text(trap, status)
        return status

    def b_exec(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        argv0 = None
        clear = False
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            if a == "-a" and args:
                argv0 = args.pop(0)
            elif a == "-c":
                clear = True
            elif a == "-l":
                pass
            else:
                raise CommandError(f"exec: {a}: invalid option", 2)
        if not args:
            return 0
        path = self.find_command(args[0])
        if path is None and args[0] == BASH_PATH:
            path = BASH_PATH
        if path is None:
            self.error(
                f"exec: {args[0]}: not found"
                if "/" not in args[0]
                else f"{args[0]}: No such file or directory"
            )
            raise ExitShell(127)
        env = {} if clear else self.child_env()
        if self.policy is not None:
            denied = self.policy.judge(args, path, self)
            if denied is not None:
                self.write(
                    2, f"bashflow: denied: {denied} ({self.source.filename}:{self.state.lineno})\n"
                )
                raise ExitShell(126)
        run_argv = [argv0 or args[0], *args[1:]]
        if is_bash(path):
            env["_"] = path
            if not clear and not self.in_subshell:
                lower_shell_level(env)  # as bash's `exec` does, so the new shell shows the same
            become_bash(self, run_argv, env)  # a new shell of this interpreter, in place
        msg = self.runner.replace(path, run_argv, env)
        self.error(f"{args[0]}: {msg}")
        raise ExitShell(126)

    def exec_argv(self: Interpreter, argv: list[str], functions: bool = False) -> int:
        b = self.builtin_for(argv[0])
        if b is not None:
            try:
                return b(argv)
            except CommandError as err:
                self.error(err.message)
                return err.status
        return self.run_external(argv, None)

    def b_command(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        verbose = ""
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            for ch in a[1:]:
                if ch in "vV":
                    verbose = ch
                elif ch != "p":
                    raise CommandError(
                        f"command: -{ch}: invalid option\ncommand: usage: command [-pVv] command [arg ...]",
                        2,
                    )
        if not args:
            return 0
        if verbose == "v":
            status = 1
            for name in args:
                kind, where = self.describe(name)
                if kind == "file":
                    self.out(where + "\n")
                    status = 0
                elif kind:
                    self.out((where if kind == "alias" else name) + "\n")
                    status = 0
            return status if len(args) == 1 else (0 if status == 0 else 1)
        if verbose == "V":
            return self.b_type(["type", *args])
        if "p" in "".join(a for a in argv[1:] if a.startswith("-")):
            self.path_override = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
            try:
                return self.exec_argv(args)
            finally:
                self.path_override = None
        return self.exec_argv(args)

    def b_builtin(self: Interpreter, argv: list[str]) -> int:
        if len(argv) < 2:
            return 0
        if self.builtin_for(argv[1]) is None:
            raise CommandError(f"builtin: {argv[1]}: not a shell builtin")
        return self.exec_argv(argv[1:])

    def describe(self: Interpreter, name: str) -> tuple[str, str]:
        from bashflow.execute.builtins import KEYWORDS, TABLE

        if name in self.state.aliases and self.state.shopt["expand_aliases"]:
            return "alias", f"alias {name}={single_quote(self.state.aliases[name])}"
        if name in KEYWORDS:
            return "keyword", name
        if name in self.state.functions:
            return "function", name
        if name in TABLE and name not in self.disabled_builtins:
            return "builtin", name
        path = self.find_command(name, remember=False)
        if path is not None and os.access(path, os.X_OK) and not os.path.isdir(path):
            return "file", path
        return "", ""

    def b_type(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        mode = ""
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            for ch in a[1:]:
                if ch in "tpPaf":
                    mode = mode or ch
        status = 0
        if mode == "a":
            return self.type_all(args)
        for name in args:
            if mode == "P":
                path = self.find_command(name, remember=False)
                if path:
                    self.out(path + "\n")
                else:
                    status = 1
                continue
            kind, where = self.describe(name)
            if not kind:
                if mode not in ("t", "p"):
                    self.error(f"type: {name}: not found")
                status = 1
                continue
            if mode == "t":
                self.out(kind + "\n")
            elif mode == "p":
                if kind == "file":
                    self.out(where + "\n")
            elif kind == "alias":
                self.out(f"{name} is aliased to `{self.state.aliases[name]}'\n")
            elif kind == "keyword":
                self.out(f"{name} is a shell keyword\n")
            elif kind == "function":
                self.out(f"{name} is a function\n" + self.function_text(name) + "\n")
            elif kind == "builtin":
                self.out(f"{name} is a shell builtin\n")
            else:
                hashed = self.state.hash.get(name) == where
                self.out(f"{name} is {'hashed (' + where + ')' if hashed else where}\n")
        return status

    def type_all(self: Interpreter, names: list[str]) -> int:
        from bashflow.execute.builtins import KEYWORDS, TABLE

        status = 0
        for name in names:
            found = False
            if name in self.state.aliases:
                self.out(f"{name} is aliased to `{self.state.aliases[name]}'\n")
                found = True
            if name in KEYWORDS:
                self.out(f"{name} is a shell keyword\n")
                found = True
            if name in self.state.functions:
                self.out(f"{name} is a function\n" + self.function_text(name) + "\n")
                found = True
            if name in TABLE:
                self.out(f"{name} is a shell builtin\n")
                found = True
            for d in (self.state.get("PATH") or "").split(":"):
                full = os.path.join(d or ".", name)
                if os.path.isfile(full) and os.access(full, os.X_OK):
                    self.out(f"{name} is {full}\n")
                    found = True
            if not found:
                self.error(f"type: {name}: not found")
                status = 1
        return status

    def function_text(self: Interpreter, name: str) -> str:
        from bashflow.parser import syntax as s
        from bashflow.parser.printer import format_function

        fdef, source, _ = self.state.functions[name]
        body = fdef.body
        if isinstance(body, s.BraceGroup) and not body.redirects:
            return format_function(name, body.body, source.text)
        text = source.text[body.span.start : body.span.end]
        return f"{name} () \n{text}"

    def b_hash(self: Interpreter, argv: list[str]) -> int:
        """bash's table of hashed commands: `hash` (hits and paths, in bash's table order),
        `hash NAME` (hashed afresh, 0 hits), `-p PATH NAME`, `-d`, `-r`, `-t`, `-l`."""
        st = self.state
        args = argv[1:]
        flags = ""
        path_for = None
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            for k, ch in enumerate(a[1:]):
                if ch not in "dlprt":
                    raise CommandError(
                        f"hash: -{ch}: invalid option\n"
                        "hash: usage: hash [-lr] [-p pathname] [-dt] [name ...]",
                        2,
                    )
                flags += ch
                if ch == "p":
                    rest = a[k + 2 :]
                    if rest:
                        path_for = rest
                    elif args:
                        path_for = args.pop(0)
                    else:
                        raise CommandError(
                            "hash: -p: option requires an argument\n"
                            "hash: usage: hash [-lr] [-p pathname] [-dt] [name ...]",
                            2,
                        )
                    break
        if not args and ("d" in flags or "t" in flags):
            self.error(f"hash: -{'d' if 'd' in flags else 't'}: option requires an argument")
            return 1
        if "r" in flags:
            st.hash.clear()
            st.hash_hits.clear()
        if not args:
            if "r" in flags and "l" not in flags:
                return 0
            order = assoc_order(list(st.hash), 256)
            if "l" in flags:
                return self.out("".join(f"builtin hash -p {st.hash[n]} {n}\n" for n in order))
            if not order:
                return self.out("hash: hash table empty\n")
            rows = "".join(f"{st.hash_hits.get(n, 0):4d}\t{st.hash[n]}\n" for n in order)
            return self.out("hits\tcommand\n" + rows)
        status = 0
        for name in args:
            if "t" in flags:
                path = st.hash.get(name)
                if path is None:
                    self.error(f"hash: {name}: not found")
                    status = 1
                    continue
                st.hash_hits[name] = st.hash_hits.get(name, 0) + 1  # a lookup, as in bash
                if "l" in flags:
                    self.out(f"builtin hash -p {path} {name}\n")
                else:
                    self.out(f"{name}\t{path}\n" if len(args) > 1 else path + "\n")
            elif "d" in flags:
                if st.hash.pop(name, None) is None:
                    self.error(f"hash: {name}: not found")
                    status = 1
            elif path_for is not None:
                st.hash.pop(name, None)
                st.hash[name] = path_for
                st.hash_hits[name] = 0
            elif "/" in name or self.builtin_for(name) is not None or name in st.functions:
                continue
            else:
                full = self.search_path(name)
                if full is None or not os.access(full, os.X_OK):
                    self.error(f"hash: {name}: not found")
                    status = 1
                    continue
                st.hash.pop(name, None)
                st.hash[name] = full
                st.hash_hits[name] = 0
        return status

    def b_let(self: Interpreter, argv: list[str]) -> int:
        if len(argv) < 2:
            raise CommandError("let: expression expected")
        value = 0
        for expr in argv[1:]:
            try:
                value = self.arith.evaluate(expr, "let")
            except ExpansionError as err:
                self.error(err.message)
                return 1
        return 0 if value else 1

    # ------------------------------------------------------------------ traps

    # ------------------------------------------------------------------ getopts

    # ------------------------------------------------------------------ misc

    def b_test(self: Interpreter, argv: list[str]) -> int:
        return self.run_test(argv[1:], "test")

    def b_bracket(self: Interpreter, argv: list[str]) -> int:
        return self.run_test(argv[1:], "[")
