"""execute/builtins/flow - control and shell builtins: exit return break continue shift set
shopt eval source exec command builtin type hash let caller times trap getopts alias test."""

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
from bashflow.execute.quoting import single_quote
from bashflow.execute.state import LETTER_OPTIONS, SET_OPTIONS

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
            raise CommandError(f"{argv[0]}: {argv[1]}: loop count out of range")
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
        st.base_sources.insert(0, name)
        self.update_funcname()
        saved_line = st.lineno
        try:
            status = self.run_list(script.body)
        except ReturnFromFunction as r:
            status = r.status
        finally:
            self.source_depth -= 1
            self.cs_level -= 1
            st.base_sources.pop(0)
            self.update_funcname()
            self.source, self.line_offset, self.error_name = old
            st.lineno = saved_line
            if len(argv) > 2:
                st.positional = saved_pos
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
        if path is None:
            self.error(
                f"{args[0]}: not found"
                if "/" not in args[0]
                else f"{args[0]}: No such file or directory"
            )
            raise ExitShell(127)
        env = {} if clear else self.state.exported()
        if self.policy is not None:
            denied = self.policy.judge(args, path, self)
            if denied is not None:
                self.write(
                    2, f"bashflow: denied: {denied} ({self.source.filename}:{self.state.lineno})\n"
                )
                raise ExitShell(126)
        run_argv = [argv0 or args[0], *args[1:]]
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

        if name in self.state.aliases:
            return "alias", f"alias {name}={single_quote(self.state.aliases[name])}"
        if name in KEYWORDS:
            return "keyword", name
        if name in self.state.functions:
            return "function", name
        if name in TABLE and name not in self.disabled_builtins:
            return "builtin", name
        path = self.find_command(name)
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
            kind, where = self.describe(name)
            if mode == "P":
                path = self.find_command(name)
                if path:
                    self.out(path + "\n")
                else:
                    status = 1
                continue
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
                hashed = self.state.hash.get(name) == where and False
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
        args = argv[1:]
        if "-r" in args:
            self.state.hash.clear()
            return 0
        if not args:
            if not self.state.hash:
                return self.out("hash: hash table empty\n")
            lines = ["hits\tcommand"] + [f"   1\t{p}" for p in self.state.hash.values()]
            return self.out("\n".join(lines) + "\n")
        status = 0
        for name in args:
            if name.startswith("-"):
                continue
            if self.find_command(name) is None:
                self.error(f"hash: {name}: not found")
                status = 1
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

    def b_caller(self: Interpreter, argv: list[str]) -> int:
        st = self.state
        n = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 0
        if not st.funcnames:
            if len(argv) == 1:
                return self.out("0 NULL\n")
            return 1
        if n >= len(st.funcnames):
            return 1
        line = st.call_lines[n]
        caller = st.funcnames[n + 1] if n + 1 < len(st.funcnames) else "main"
        if len(argv) > 1:
            return self.out(f"{line} {caller} {self.source.filename}\n")
        return self.out(f"{line} {self.source.filename}\n")

    def b_times(self: Interpreter, argv: list[str]) -> int:
        t = os.times()

        def fmt(x: float) -> str:
            return f"{int(x // 60)}m{x % 60:.3f}s"

        return self.out(
            f"{fmt(t.user)} {fmt(t.system)}\n{fmt(t.children_user)} {fmt(t.children_system)}\n"
        )

    # ------------------------------------------------------------------ traps

    def b_trap(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        st = self.state
        if args and args[0] == "--":
            args = args[1:]
        if not args or args == ["-p"]:
            lines = [f"trap -- {single_quote(cmd)} {name}\n" for name, cmd in st.traps.items()]
            return self.out("".join(lines))
        if args[0] == "-l":
            return self.out(signal_table())
        if args[0] == "-p":
            out = []
            for spec in args[1:]:
                name = self.trap_name(spec)
                if name and name in st.traps:
                    out.append(f"trap -- {single_quote(st.traps[name])} {name}\n")
            return self.out("".join(out))
        action: str | None = args[0]
        specs = args[1:]
        if (signal_number(args[0]) is not None and not specs) or args[0] == "-":
            action = None
            specs = args[1:] if args[0] == "-" else args
        status = 0
        for spec in specs:
            name = self.trap_name(spec)
            if name is None:
                self.error(f"trap: {spec}: invalid signal specification")
                status = 1
                continue
            self.set_trap(name, action)
        return status

    def trap_name(self: Interpreter, spec: str) -> str | None:
        upper = spec.upper()
        if upper.startswith("SIG"):
            upper = upper[3:]
        if upper in ("EXIT", "ERR", "DEBUG", "RETURN"):
            return upper
        if spec == "0":
            return "EXIT"
        num = signal_number(spec)
        if num is None:
            return None
        if num == 0:
            return "EXIT"
        try:
            return signal.Signals(num).name
        except ValueError:
            return None

    def set_trap(self: Interpreter, name: str, action: str | None) -> None:
        st = self.state
        num = SIGNALS.get(name[3:]) if name.startswith("SIG") else None
        if action is None:
            st.traps.pop(name, None)
            if num is not None and num not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(num, signal.SIG_DFL)
            return
        st.traps[name] = action
        if name == "RETURN":
            self.return_trap_depth = self.func_depth
        if num is None or num in (signal.SIGKILL, signal.SIGSTOP):
            return
        if action == "":
            signal.signal(num, signal.SIG_IGN)
        else:
            signal.signal(num, self.on_signal)

    def on_signal(self: Interpreter, signum: int, frame: object) -> None:
        self.pending_signals.append(signum)

    # ------------------------------------------------------------------ getopts

    def b_getopts(self: Interpreter, argv: list[str]) -> int:
        if len(argv) < 3:
            raise CommandError("\0getopts: usage: getopts optstring name [arg ...]", 2)
        spec, var = argv[1], argv[2]
        st = self.state
        args = argv[3:] if len(argv) > 3 else list(st.positional)
        silent = spec.startswith(":")
        if silent:
            spec = spec[1:]
        try:
            optind = int(st.get("OPTIND") or "1")
        except ValueError:
            optind = 1
        if optind < 1:
            optind = 1
        sub = getattr(self, "_getopts_sub", 1)
        if getattr(self, "_getopts_ind", None) != optind:
            sub = 1
        st.unset("OPTARG") if st.find("OPTARG") is not None else None
        if optind > len(args):
            st.set(var, "?")
            return 1
        arg = args[optind - 1]
        if sub == 1 and (arg == "-" or not arg.startswith("-")):
            st.set(var, "?")
            return 1
        if sub == 1 and arg == "--":
            st.set("OPTIND", str(optind + 1))
            st.set(var, "?")
            return 1
        ch = arg[sub]
        sub += 1
        at_end = sub >= len(arg)
        idx = spec.find(ch) if ch != ":" else -1
        if idx < 0:
            if silent:
                st.set("OPTARG", ch)
            else:
                self.write(2, f"{st.arg0}: illegal option -- {ch}\n")
            st.set(var, "?")
        elif idx + 1 < len(spec) and spec[idx + 1] == ":":
            if not at_end:
                st.set("OPTARG", arg[sub:])
                at_end = True
            elif optind < len(args):
                st.set("OPTARG", args[optind])
                optind += 1
            else:
                if silent:
                    st.set("OPTARG", ch)
                    st.set(var, ":")
                else:
                    self.write(2, f"{st.arg0}: option requires an argument -- {ch}\n")
                    st.set(var, "?")
                st.set("OPTIND", str(optind + 1))
                self._getopts_sub = 1
                self._getopts_ind = optind + 1
                return 0
            st.set(var, ch)
        else:
            st.set(var, ch)
        if at_end:
            optind += 1
            sub = 1
        st.set("OPTIND", str(optind))
        self._getopts_sub = sub
        self._getopts_ind = optind
        return 0

    # ------------------------------------------------------------------ misc

    def b_alias(self: Interpreter, argv: list[str]) -> int:
        status = 0
        args = [a for a in argv[1:] if a != "-p"]
        if not args:
            return self.out(
                "".join(
                    f"alias {k}={single_quote(v)}\n" for k, v in sorted(self.state.aliases.items())
                )
            )
        for a in args:
            if "=" in a:
                k, _, v = a.partition("=")
                self.state.aliases[k] = v
            elif a in self.state.aliases:
                self.out(f"alias {a}={single_quote(self.state.aliases[a])}\n")
            else:
                self.error(f"alias: {a}: not found")
                status = 1
        return status

    def b_unalias(self: Interpreter, argv: list[str]) -> int:
        if "-a" in argv:
            self.state.aliases.clear()
            return 0
        status = 0
        for a in argv[1:]:
            if self.state.aliases.pop(a, None) is None:
                self.error(f"unalias: {a}: not found")
                status = 1
        return status

    def b_test(self: Interpreter, argv: list[str]) -> int:
        return self.run_test(argv[1:], "test")

    def b_bracket(self: Interpreter, argv: list[str]) -> int:
        return self.run_test(argv[1:], "[")

    def b_ulimit(self: Interpreter, argv: list[str]) -> int:
        import resource

        table = {"n": resource.RLIMIT_NOFILE, "u": resource.RLIMIT_NPROC, "s": resource.RLIMIT_STACK,
                 "v": resource.RLIMIT_AS, "f": resource.RLIMIT_FSIZE, "c": resource.RLIMIT_CORE,
                 "t": resource.RLIMIT_CPU, "d": resource.RLIMIT_DATA, "m": resource.RLIMIT_RSS,
                 "l": resource.RLIMIT_MEMLOCK}  # fmt: skip
        letter = "f"
        hard = False
        rest: list[str] = []
        for a in argv[1:]:
            if a.startswith("-") and len(a) > 1:
                for ch in a[1:]:
                    if ch == "H":
                        hard = True
                    elif ch in table:
                        letter = ch
                    elif ch not in "Sa":
                        raise CommandError(f"ulimit: -{ch}: invalid option", 2)
            else:
                rest.append(a)
        res = table[letter]
        scale = 1024 if letter in ("f", "c", "s", "v", "d", "m", "l") else 1
        soft_now, hard_now = resource.getrlimit(res)
        if rest:
            if rest[0] == "unlimited":
                value = resource.RLIM_INFINITY
            elif rest[0].isdigit():
                value = int(rest[0]) * scale
            else:
                raise CommandError(f"ulimit: {rest[0]}: invalid number")
            try:
                if hard:
                    resource.setrlimit(res, (min(soft_now, value), value))
                else:
                    resource.setrlimit(res, (value, hard_now))
            except (ValueError, OSError) as err:
                raise CommandError(f"ulimit: {rest[0]}: cannot modify limit: {err}") from None
            return 0
        current = hard_now if hard else soft_now
        if current == resource.RLIM_INFINITY:
            return self.out("unlimited\n")
        return self.out(f"{current // scale}\n")
