"""execute/builtins/vars - `declare`/`typeset`, `local`, `export`, `readonly`, `unset` with
their flags, and `declare -p` output in bash's format."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bashflow.execute.errors import CommandError, ShellError
from bashflow.execute.quoting import ansi_c_quote, quote_q, quote_trace
from bashflow.execute.state import (
    ARRAY,
    ASSOC,
    EXPORT,
    FLAG_LETTERS,
    LETTER_FLAGS,
    NAMEREF,
    READONLY,
    Var,
)

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[(.*)\])?(\+?=)(.*)\Z", re.S)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def dq(value: str) -> str:
    if _CONTROL.search(value):
        return ansi_c_quote(value)
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    return f'"{out}"'


def flag_string(flags: int) -> str:
    return "".join(ch for bit, ch in FLAG_LETTERS if flags & bit)


def _take_options(args: list[str]) -> tuple[str, int]:
    """Removes the leading option words from `args` (through `--`): their letters, and how
    many words they were."""
    opts = ""
    consumed = 0
    while args and args[0].startswith("-") and len(args[0]) > 1:
        consumed += 1
        if args[0] == "--":
            args.pop(0)
            break
        opts += args.pop(0)[1:]
    return opts, consumed


class VarBuiltins:
    def declare_line(self: Interpreter, name: str, v: Var, who: str = "declare") -> str:
        flags = flag_string(v.flags) or "-"
        head = f"declare -{flags} {name}"
        value = v.value
        if value is None:
            return head
        if isinstance(value, str):
            return f"{head}={dq(value)}"
        items = (
            self.state.array_items(name)
            if self.state.lookup(name) is v
            else [(str(k), val) for k, val in value.items()]
        )
        if v.flags & ASSOC:
            body = "".join(f"[{_key(k)}]={dq(val)} " for k, val in items)
            return f"{head}=({body})"
        body = " ".join(f"[{k}]={dq(val)}" for k, val in items)
        return f"{head}=({body})"

    def b_declare(self: Interpreter, argv: list[str]) -> int:
        return self.declare(argv, "declare" if argv[0] != "typeset" else "typeset")

    def b_local(self: Interpreter, argv: list[str]) -> int:
        if self.func_depth == 0:
            raise CommandError("local: can only be used in a function")
        return self.declare(argv, "local")

    def b_export(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        opts, consumed = _take_options(args)
        if not args or "p" in opts:
            return self.list_flagged(EXPORT)
        fake = ["export", "-x" if "n" not in opts else "+x"]
        if self.state.options["xtrace"]:
            for a in args:
                name, eq, value = a.partition("=")
                if eq:
                    self.trace(f"{name}={quote_trace(value)}")
        if "f" in opts:
            status = 0
            for name in args:
                if name not in self.state.functions:
                    self.error(f"export: {name}: not a function")
                    status = 1
                elif "n" in opts:
                    self.exported_functions.discard(name)
                else:
                    self.exported_functions.add(name)
            return status
        # `--` so that names like `-x` are names; offset maps positions back to argv
        return self.declare([*fake, "--", *args], "export", offset=consumed - 2, wrapped=True)

    def list_flagged(self: Interpreter, flag: int) -> int:
        """`export -p` / `readonly -p`: each variable with `flag`, as `declare` shows it."""
        lines = []
        for name in sorted(self.state.iter_names()):
            v = self.state.lookup(name)
            if v is not None and v.flags & flag:
                lines.append(self.declare_line(name, v) + "\n")
        return self.out("".join(lines))

    def b_readonly(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        opts, consumed = _take_options(args)
        if (not args or "p" in opts) and "f" not in opts:
            return self.list_flagged(READONLY)
        if "f" in opts:
            if not args:
                return self.out(
                    "".join(self.function_text(n) + "\n" for n in sorted(self.readonly_functions))
                )
            for name in args:
                if name not in self.state.functions:
                    self.error(f"readonly: {name}: not a function")
                    return 1
                self.readonly_functions.add(name)
            return 0
        if self.state.options["xtrace"]:
            for a in args:
                name, eq, value = a.partition("=")
                if eq and not (value.startswith("(") and value.endswith(")")):
                    self.trace(f"{name}={quote_trace(value)}")
        extra = "".join(c for c in opts if c in "aA")
        return self.declare(
            ["readonly", "-r" + extra, "--", *args], "readonly", offset=consumed - 2, wrapped=True
        )

    def declare(
        self: Interpreter, argv: list[str], who: str, offset: int = 0, wrapped: bool = False
    ) -> int:
        args = argv[1:]
        on = 0
        off = 0
        printing = False
        functions = ""
        global_ = False
        idx = 1
        while args and args[0][:1] in "-+" and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                idx += 1
                break
            for ch in a[1:]:
                if ch == "p":
                    printing = True
                elif ch in "fF":
                    functions = ch
                elif ch == "g":
                    global_ = True
                elif ch in LETTER_FLAGS:
                    if a[0] == "-":
                        on |= LETTER_FLAGS[ch]
                    else:
                        off |= LETTER_FLAGS[ch]
                elif ch == "I":
                    pass
                else:
                    raise CommandError(
                        f"{who}: -{ch}: invalid option\n{who}: usage: {who} [-aAfFgiIlnrtux] [name[=value] ...] or {who} -p [-aAfFilnrtux] [name ...]",
                        2,
                    )
            idx += 1
        if functions:
            return self.declare_functions(args, functions)
        if printing or (not args and who in ("declare", "typeset", "local")):
            return self.declare_print(args, on, who)
        status = 0
        local = (
            who == "local" or (self.func_depth > 0 and who in ("declare", "typeset"))
        ) and not global_
        for j, arg in enumerate(args):
            pos = idx + j + offset
            if arg == "-" and who == "local":
                # `local -`: the shell options come back when the function returns
                if self.local_options and self.local_options[-1] is None:
                    self.local_options[-1] = dict(self.state.options)
                continue
            try:
                if not self.declare_one(arg, pos, on, off, local, who):
                    status = 1
            except ShellError as err:
                self.error(err.message)
                status = 1
        if self.state.options["xtrace"] and self.decl_arrays and not wrapped:
            # bash traces an array argument's assignment first, then the command without it
            shown = [
                self.decl_arrays[i][0].rstrip("=+") if i in self.decl_arrays else a
                for i, a in enumerate(argv)
            ]
            self.trace(" ".join(quote_trace(a) for a in shown))
        return status

    def declare_one(
        self: Interpreter, arg: str, pos: int, on: int, off: int, local: bool, who: str
    ) -> bool:
        st = self.state
        m = _ARG.match(arg)
        if m is None:
            if not _NAME.match(arg) and not re.match(r"[A-Za-z_][A-Za-z0-9_]*\[.*\]\Z", arg, re.S):
                self.error(f"{who}: `{arg}': not a valid identifier")
                return False
            name = arg.split("[", 1)[0]
            value = None
            op = ""
            sub = None
        else:
            name, sub, op, value = m.group(1), m.group(3), m.group(4), m.group(5)
        if on & NAMEREF and value == name:
            self.error(f"{who}: {name}: nameref variable self references not allowed")
            return False
        if (
            on & NAMEREF
            and value is not None
            and not re.match(r"[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\Z", value, re.S)
        ):
            self.error(f"{who}: `{value}': invalid variable name for name reference")
            return False
        lit_pre = self.decl_arrays.get(pos) if value is not None else None
        pre: tuple[dict[Any, str], list[str]] | None = None
        if lit_pre is not None:
            # the values are expanded before the variable (maybe a new local) exists
            known = st.lookup(name)
            assoc_guess = bool(on & ASSOC) or (known is not None and bool(known.flags & ASSOC))
            pre = self.array_values(name, lit_pre[1], op == "+=", assoc_guess)
        if local:
            scope = st.scopes[-1]
            v = scope.get(name)
            if v is None:
                outer = st.find(name)
                v = Var()
                if who == "local" and outer is not None and st.shopt["localvar_inherit"]:
                    v = outer.copy()
                scope[name] = v
        else:
            target = name if on & NAMEREF or off & NAMEREF else st.resolve(name)
            v = st.find(target) or None
            if v is None:
                v = Var()
                st.scopes[0][target] = v
            name = target
        if v.flags & READONLY and (value is not None or off & READONLY):
            label = f"{who}: " if who not in ("export", "readonly") else ""
            self.error(f"{label}{name}: readonly variable")
            return False
        if (v.flags & ASSOC) and on & ARRAY and not on & ASSOC:
            self.error(f"{who}: {name}: cannot convert associative to indexed array")
            return False
        if (v.flags & ARRAY) and on & ASSOC and isinstance(v.value, dict) and v.value:
            self.error(f"{who}: {name}: cannot convert indexed to associative array")
            return False
        v.flags = (v.flags | (on & ~READONLY)) & ~off
        # `declare -a x` leaves x declared but unset (`declare -p` shows no `=()`)
        if on & ARRAY and isinstance(v.value, str):
            v.value = {0: v.value}
        if on & ASSOC and isinstance(v.value, str):
            v.value = {"0": v.value}
        if value is not None:
            lit = self.decl_arrays.get(pos)
            if lit is not None:
                self.state_scope_assign_array(
                    name, lit[1], op == "+=", bool(v.flags & ASSOC), v, pre
                )
            elif sub is not None:
                key = sub
                if not v.flags & ASSOC:
                    key = str(self.arith.evaluate(sub))
                self.assign_into(v, key, value, op == "+=")
            elif (
                value.startswith("(")
                and value.endswith(")")
                and (on & (ARRAY | ASSOC) or isinstance(v.value, dict))
            ):
                self.compound_from_text(name, value, op == "+=", v)
            else:
                self.assign_scalar(v, value, op == "+=")
        if on & READONLY:
            v.flags |= READONLY
        if value is not None and st.options["allexport"]:
            v.flags |= EXPORT
        return True

    def assign_scalar(self: Interpreter, v: Var, value: str, append: bool) -> None:
        st = self.state
        if isinstance(v.value, dict):
            key: int | str = "0" if v.flags & ASSOC else 0
            old = v.value.get(key) if append else None
            v.value[key] = st.convert(v, value, old)
            return
        v.value = st.convert(v, value, (v.value or "") if append else None)

    def assign_into(self: Interpreter, v: Var, key: str, value: str, append: bool) -> None:
        st = self.state
        if not isinstance(v.value, dict):
            v.value = (
                {} if v.value is None else ({0: v.value} if not v.flags & ASSOC else {"0": v.value})
            )
            if not v.flags & ASSOC:
                v.flags |= ARRAY
        k: int | str = key if v.flags & ASSOC else int(key)
        old = v.value.get(k) if append else None
        v.value[k] = st.convert(v, value, old)

    def state_scope_assign_array(
        self: Interpreter,
        name: str,
        lit: object,
        append: bool,
        assoc: bool,
        v: Var,
        pre: tuple[dict[Any, str], list[str]] | None = None,
    ) -> None:
        if pre is not None:
            values, shown = pre
        else:
            values, shown = self.array_values(name, lit, append, assoc)  # type: ignore[arg-type]
        if self.state.options["xtrace"]:
            op = "+=" if append else "="
            self.trace(f"{name}{op}(" + " ".join(quote_q(x) for x in shown) + ")")
        if assoc:
            base = dict(v.value) if append and isinstance(v.value, dict) else {}
            for k, val in values.items():
                base[k] = self.state.convert(v, val)
            v.value = base
            v.flags |= ASSOC
        else:
            base2: dict[int, str] = dict(v.value) if append and isinstance(v.value, dict) else {}
            for k2, val in values.items():
                base2[k2] = self.state.convert(v, val)
            v.value = dict(sorted(base2.items()))
            v.flags |= ARRAY

    def compound_from_text(self: Interpreter, name: str, value: str, append: bool, v: Var) -> None:
        from bashflow.errors import ParseError
        from bashflow.parser import parse
        from bashflow.parser import syntax as s

        try:
            script = parse(f"{name}={value}")
            cmd = script.body.items[0].command.first.commands[0]
            assert isinstance(cmd, s.SimpleCommand)
            lit = cmd.assignments[0].value
            assert isinstance(lit, s.ArrayLiteral)
        except (ParseError, AssertionError, IndexError):
            self.assign_scalar(v, value, append)
            return
        self.state_scope_assign_array(name, lit, append, bool(v.flags & ASSOC), v)

    def declare_print(self: Interpreter, names: list[str], on: int, who: str) -> int:
        st = self.state
        lines = []
        status = 0
        if not names:
            for name in sorted(st.iter_names()):
                v = st.lookup(name)
                if v is None or (on and not v.flags & on):
                    continue
                lines.append(self.declare_line(name, v) + "\n")
            return self.out("".join(lines))
        for name in names:
            v = st.find(name)
            if v is None:
                self.error(f"{who}: {name}: not found")
                status = 1
                continue
            lines.append(self.declare_line(name, v) + "\n")
        self.out("".join(lines))
        return status

    def declare_functions(self: Interpreter, names: list[str], mode: str) -> int:
        funcs = self.state.functions
        status = 0
        out = []
        for name in names or sorted(funcs):
            if name not in funcs:
                status = 1
                continue
            if mode == "F" and names:
                out.append(f"{name}\n")  # named: only the name, as bash prints it
            elif mode == "F":
                flags = "x" if name in self.exported_functions else ""
                flags += "r" if name in self.readonly_functions else ""
                out.append(f"declare -f{flags} {name}\n")
            else:
                out.append(self.function_text(name) + "\n")
        self.out("".join(out))
        return status

    def b_unset(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        mode = ""
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            for ch in a[1:]:
                if ch in "fvn":
                    mode = ch
                else:
                    raise CommandError(
                        f"unset: -{ch}: invalid option\nunset: usage: unset [-f] [-v] [-n] [name ...]",
                        2,
                    )
        st = self.state
        status = 0
        for name in args:
            if mode == "f":
                st.functions.pop(name, None)
                continue
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\[(.*)\]\Z", name, re.S)
            if m is not None:
                base, sub = m.group(1), m.group(2)
                v = st.lookup(base)
                if v is None:
                    continue
                if v.flags & READONLY:
                    self.error(f"unset: {base}: cannot unset: readonly variable")
                    status = 1
                    continue
                if sub in ("@", "*") and not v.flags & ASSOC:
                    st.unset(base)  # (for an associative array `@` is just a key)
                    continue
                if isinstance(v.value, dict):
                    if v.flags & ASSOC:
                        v.value.pop(sub, None)
                    else:
                        idx = self.arith.evaluate(sub)
                        if idx < 0 and v.value:
                            idx += max(v.value) + 1
                        v.value.pop(idx, None)
                elif isinstance(v.value, str) and sub.strip() in ("0",):
                    st.unset(base)
                continue
            if not _NAME.match(name):
                if mode != "v" and name in st.functions:
                    del st.functions[name]
                elif mode == "v" or not re.match(r"[^\s$`'\"\\|&;()<>]+\Z", name):
                    self.error(f"unset: `{name}': not a valid identifier")
                    status = 1
                continue
            if mode == "n":
                v = st.find(name)
                if v is not None:
                    for scope in reversed(st.scopes):
                        if name in scope:
                            del scope[name]
                            break
                continue
            if st.find(name) is None and mode != "v" and name in st.functions:
                del st.functions[name]
                continue
            try:
                st.unset(name)
            except ShellError as err:
                self.error(f"unset: {err.message}")
                status = 1
        return status


def _key(k: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.@%+:,-]+", k):
        return k
    return dq(k)
