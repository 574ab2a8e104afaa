"""execute/params - parameter expansion: `$name`, special and positional parameters, arrays,
and every `${...}` operator (defaults, patterns, substrings, case, transforms, indirection).
"""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from bashflow.execute import casemap, pattern
from bashflow.execute.errors import ExpansionError, FatalError
from bashflow.execute.expand import BREAK, LIT, QUOTED, SPLIT, Segment, glob_escape
from bashflow.execute.quoting import quote_q
from bashflow.execute.state import ASSOC, FLAG_LETTERS, NAMEREF
from bashflow.parser import syntax as s
from bashflow.parser.words import decode_ansi_c

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

SOFT = 4  # between elements of an unquoted list: a field boundary that drops empty fields
_INDIRECT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!0-])(?:\[(.*)\])?\Z", re.S)
_FLAG_ORDER = "abefhikmnptuvxBCEHPT"

Value = Union[str, None, list[str]]  # noqa: UP007


class ParamExpander:
    """`${...}` (a mixin of `Interpreter`)."""

    def expand_param(
        self: Interpreter, p: s.ParamExpansion, quoted: bool, assign: bool
    ) -> list[Segment]:
        name = p.name
        if not p.braced or (
            p.op is None and not p.length and not p.indirect and p.subscript is None
        ):
            value, star = self.simple_value(name)
            if value is None and self.state.options["nounset"] and name not in ("@", "*"):
                raise FatalError(
                    f"${name}: unbound variable" if name.isdigit() else f"{name}: unbound variable"
                )
            return self.to_segments(value, star, quoted, assign)
        star = False
        label = name
        if p.op in ("!*", "!@"):
            names: Value = sorted(
                n
                for n in self.state.iter_names()
                if n.startswith(name) and self.state.find(n) is not None
            )
            star = p.op == "!*"
            return self.to_segments(names, star, quoted, assign)
        sub = self.subscript_text(p.subscript) if p.subscript is not None else None
        if p.indirect and sub in ("@", "*"):
            keys = [k for k, _ in self.state.array_items(name)]
            return self.to_segments(keys, sub == "*", quoted, assign)
        if p.indirect:
            target = self.state.get(name) if name not in "@*#?$!-0123456789" else None
            ref = self.state.find(name)
            if ref is not None and ref.flags & NAMEREF and isinstance(ref.value, str):
                return self.to_segments(ref.value, False, quoted, assign)
            if name in ("@", "*"):
                return []
            if name.isdigit() or name in "@*#?$!-":
                got = self.simple_value(name)[0]
                target = got if isinstance(got, str) else None
            if target is None:
                if p.op in ("-", ":-", "+", ":+", "=", ":=", "?", ":?"):
                    target = ""
                else:
                    raise ExpansionError(f"{name}: invalid indirect expansion")
            m = _INDIRECT.match(target)
            if m is None:
                if target == "" and p.op is not None:
                    value, star = None, False
                    return self.apply_op(p, value, star, quoted, assign, name)
                raise ExpansionError(f"{target}: invalid variable name")
            name, sub = m.group(1), m.group(2)
            label = target
        if sub is not None:
            value, star = self.element_value(name, sub)
            label = f"{name}[{sub}]"
        else:
            value, star = self.simple_value(name)
        if p.length:
            st = self.state
            if st.options["nounset"] and name not in ("@", "*"):
                if value is None and sub not in ("@", "*"):
                    raise FatalError(f"{label}: unbound variable")
                if sub in ("@", "*") and st.lookup(name) is None:
                    raise ExpansionError(f"{name}: unbound variable")  # not fatal, as in bash
            if isinstance(value, list):
                return self.to_segments(str(len(value)), False, quoted, assign)
            return self.to_segments(str(len(value or "")), False, quoted, assign)
        return self.apply_op(p, value, star, quoted, assign, label)

    def subscript_text(self: Interpreter, word: s.Word) -> str:
        parts = word.parts
        if len(parts) == 1 and isinstance(parts[0], s.Literal):
            return parts[0].text
        return self.expand_str(word)

    # ------------------------------------------------------------------ values

    def simple_value(self: Interpreter, name: str) -> tuple[Value, bool]:
        st = self.state
        c = name[0]
        if c.isdigit():
            if name == "0":
                return st.arg0, False
            n = int(name)
            return (st.positional[n - 1] if n <= len(st.positional) else None), False
        if c == "@" or c == "*":
            return list(st.positional), c == "*"
        if c == "?":
            return str(st.last_status), False
        if c == "#":
            return str(len(st.positional)), False
        if c == "$":
            return str(st.shell_pid), False
        if c == "!":
            return (str(st.last_bg_pid) if st.last_bg_pid is not None else None), False
        if c == "-":
            on = {st_letter for st_name, st_letter in _letters(st.options)}
            flags = "".join(ch for ch in _FLAG_ORDER if ch in on)
            return flags + st.extra_flags, False
        return st.get(name), False

    def element_value(self: Interpreter, name: str, sub: str) -> tuple[Value, bool]:
        st = self.state
        if sub == "@" or sub == "*":
            if name == "@" or name == "*":
                return list(st.positional), sub == "*"
            return [v for _, v in st.array_items(name)], sub == "*"
        v = st.lookup(name)
        if v is not None and v.flags & ASSOC:
            return self.arith.get_element(name, sub), False
        idx = self.arith.evaluate(sub) if sub.strip() else None
        if idx is None:
            raise ExpansionError(f"{name}[{sub}]: bad array subscript")
        if v is None or v.value is None:
            return None, False
        if idx < 0:
            value = v.value
            top = (max(value) + 1) if isinstance(value, dict) and value else 1
            if idx + top < 0:
                self.error(f"{name}: bad array subscript")
                return None, False
        return self.arith.get_element(name, str(idx)), False

    # ------------------------------------------------------------------ results

    def to_segments(
        self: Interpreter, value: Value, star: bool, quoted: bool, assign: bool
    ) -> list[Segment]:
        if value is None:
            return []
        if isinstance(value, str):
            return [(value, QUOTED if quoted or assign else SPLIT)]
        if assign and not quoted:
            return [(" ".join(value), QUOTED)]
        if quoted and star:
            return [(self.ifs_join(value), QUOTED)]
        out: list[Segment] = []
        mark = BREAK if quoted else SOFT
        flag = QUOTED if quoted else SPLIT
        for i, item in enumerate(value):
            if i:
                out.append(("", mark))
            out.append((item, flag))
        return out

    def ifs_join(self: Interpreter, items: list[str]) -> str:
        ifs = self.state.get("IFS")
        sep = " " if ifs is None else ifs[:1]
        return sep.join(items)

    # ------------------------------------------------------------------ operators

    def apply_op(
        self: Interpreter,
        p: s.ParamExpansion,
        value: Value,
        star: bool,
        quoted: bool,
        assign: bool,
        label: str,
    ) -> list[Segment]:
        op = p.op
        st = self.state
        if op is None:
            if value is None and st.options["nounset"] and not _is_list_label(label):
                raise FatalError(f"{label}: unbound variable")
            return self.to_segments(value, star, quoted, assign)
        if op in ("-", ":-", "+", ":+", "=", ":=", "?", ":?"):
            if isinstance(value, list):
                empty = not value or (
                    op[0] == ":" and all(v == "" for v in value) and (len(value) <= 1 or star)
                )
                is_unset = not value
            else:
                is_unset = value is None
                empty = value is None or (op[0] == ":" and value == "")
            missing = empty if op[0] == ":" else is_unset
            base = op.lstrip(":")
            if base == "+":
                if missing:
                    return []
                return self.expand_arg(p.arg, quoted, assign)
            if not missing:
                return self.to_segments(value, star, quoted, assign)
            if base == "-":
                return self.expand_arg(p.arg, quoted, assign)
            if base == "=":
                text = self.expand_str(p.arg) if p.arg is not None else ""
                if label and (label[0].isdigit() or label[0] in "@*#?$!-"):
                    raise ExpansionError(f"${label}: cannot assign in this way")
                m = _INDIRECT.match(label)
                if m is not None and m.group(2) is not None:
                    key = m.group(2)
                    v = st.lookup(m.group(1))
                    if v is None or not v.flags & ASSOC:
                        key = str(self.arith.evaluate(key))
                    st.set_elem(m.group(1), key, text)
                else:
                    st.set(label, text)
                return [(text, QUOTED if quoted or assign else SPLIT)]
            # ? and :?
            msg = self.expand_str(p.arg) if p.arg is not None else ""
            if not msg:
                msg = "parameter null or not set" if op == ":?" else "parameter not set"
            raise FatalError(f"{label}: {msg}")
        if value is None and op == "@" and p.arg is not None and self.expand_str(p.arg) == "a":
            return self.transform("a", "", False, quoted, assign, label)
        if value is None:
            if st.options["nounset"] and not _is_list_label(label):
                raise FatalError(f"{label}: unbound variable")
            if op == ":" and (p.arg is None or not p.arg.parts) and p.arg2 is None:
                raise ExpansionError(f"{self.source_text(p.span)}: bad substitution")
            return []
        if op in ("#", "##", "%", "%%"):
            pat = self.expand_pattern(p.arg) if p.arg is not None else ""
            ext = st.shopt["extglob"]
            return self.map_value(
                value, star, quoted, assign, lambda v: pattern.strip(pat, v, op, extglob=ext)
            )
        if op in ("/", "//", "/#", "/%"):
            pat = self.expand_pattern(p.arg) if p.arg is not None else ""
            rep, amp = self.replacement(p.arg2)
            ext = st.shopt["extglob"]
            return self.map_value(
                value,
                star,
                quoted,
                assign,
                lambda v: pattern.replace(pat, v, rep, op, extglob=ext, amp=amp),
            )
        if op in ("^", "^^", ",", ",,", "~", "~~"):
            pat = self.expand_pattern(p.arg) if p.arg is not None else ""
            return self.map_value(value, star, quoted, assign, lambda v: _case(v, op, pat))
        if op == ":":
            return self.substring(p, value, star, quoted, assign, label)
        if op == "@":
            letter = self.expand_str(p.arg) if p.arg is not None else ""
            return self.transform(letter, value, star, quoted, assign, label)
        raise ExpansionError(f"${{{label}{op}}}: bad substitution")

    def prompt_escapes(self: Interpreter, text: str) -> str:
        import os
        import socket

        out: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch != "\\" or i + 1 >= len(text):
                out.append(ch)
                i += 1
                continue
            c = text[i + 1]
            i += 2
            if c == "\\":
                out.append("\\")
            elif c == "$":
                out.append("#" if os.geteuid() == 0 else "$")
            elif c == "n":
                out.append("\n")
            elif c == "u":
                import pwd as passwd

                try:
                    out.append(passwd.getpwuid(os.geteuid()).pw_name)
                except KeyError:
                    out.append("I have no name!")
            elif c in "hH":
                host = socket.gethostname()
                out.append(host.split(".")[0] if c == "h" else host)
            elif c in "wW":
                pwd = self.state.get("PWD") or ""
                home = self.state.get("HOME") or ""
                if home and (pwd == home or pwd.startswith(home + "/")):
                    pwd = "~" + pwd[len(home) :]
                out.append(pwd if c == "w" else pwd.rsplit("/", 1)[-1] or "/")
            elif c == "s":
                out.append("bash")
            elif c == "v":
                out.append("5.2")
            elif c == "V":
                out.append("5.2.15")
            elif c in "[]":
                pass
            elif c == "e":
                out.append("\x1b")
            elif c == "a":
                out.append("\a")
            else:
                out.append("\\" + c)
        return "".join(out)

    def expand_arg(
        self: Interpreter, arg: s.Word | None, quoted: bool, assign: bool
    ) -> list[Segment]:
        if arg is None:
            return [("", QUOTED)] if quoted else []
        parts = list(arg.parts)
        head: list[Segment] = []
        first = parts[0] if parts else None
        if not quoted and isinstance(first, s.Literal) and first.text.startswith("~"):
            user, slash, rest = first.text[1:].partition("/")
            head = [(self.tilde(user), QUOTED)]
            parts[0] = s.Literal(first.span, slash + rest)
        segs = head + self.expand_parts(
            parts,
            quoted,
            assign=assign,
            split_literals=not quoted and not assign,
            in_dq=quoted and not assign,
        )
        if quoted and not segs:
            return [("", QUOTED)]
        return segs

    def replacement(self: Interpreter, arg2: s.Word | None) -> tuple[str, str | None]:
        if arg2 is None:
            return "", None
        segs = self.expand_parts(arg2.parts, False, pattern_ctx=True)
        plain = "".join(t for t, _ in segs)
        if not self.state.shopt["patsub_replacement"] or "&" not in plain:
            return plain, None
        tmpl: list[str] = []
        for t, f in segs:
            if f == QUOTED:
                tmpl.append(t)
            else:
                tmpl.append(re.sub(r"\\&|&", lambda m: "&" if m.group() == "\\&" else "\0", t))
        amp = "".join(tmpl)
        if "\0" not in amp:
            return amp, None
        return plain, amp

    def map_value(
        self: Interpreter,
        value: Value,
        star: bool,
        quoted: bool,
        assign: bool,
        fn: Callable[[str], str],
    ) -> list[Segment]:
        if isinstance(value, list):
            return self.to_segments([fn(v) for v in value], star, quoted, assign)
        return self.to_segments(fn(value or ""), star, quoted, assign)

    def substring(
        self: Interpreter,
        p: s.ParamExpansion,
        value: Value,
        star: bool,
        quoted: bool,
        assign: bool,
        label: str,
    ) -> list[Segment]:
        if (p.arg is None or not p.arg.parts) and p.arg2 is None:
            raise ExpansionError(f"{self.source_text(p.span)}: bad substitution")
        off_text = self.expand_str(p.arg) if p.arg is not None else ""
        shown = f"!{p.name}" if p.indirect else label  # bash names the parameter in errors
        offset = self.arith.evaluate(off_text, shown)
        length: int | None = None
        if p.arg2 is not None:
            len_text = self.expand_str(p.arg2)
            length = self.arith.evaluate(len_text, shown)
        if isinstance(value, list):
            items = value
            if label in ("@", "*") or (p.name in ("@", "*") and p.subscript is None):
                items = [self.state.arg0, *value]
            else:
                m = _INDIRECT.match(label)
                var = self.state.lookup(m.group(1) if m else label)
                if var is not None and isinstance(var.value, dict) and not var.flags & ASSOC:
                    keys = list(var.value)
                    top = (max(keys) + 1) if keys else 0
                    if offset < 0:
                        offset += top
                        if offset < 0:
                            return []
                    chosen = [v for k, v in var.value.items() if k >= offset]
                    if length is not None and length < 0:
                        raise ExpansionError(f"{length}: substring expression < 0")
                    sel = chosen if length is None else chosen[:length]
                    return self.to_segments(sel, star, quoted, assign)
            n = len(items)
            if offset < 0:
                offset += n
                if offset < 0:
                    return []
            if length is not None and length < 0:
                raise ExpansionError(f"{length}: substring expression < 0")
            sel = items[offset:] if length is None else items[offset : offset + length]
            return self.to_segments(sel, star, quoted, assign)
        text = value or ""
        n = len(text)
        if offset < 0:
            offset += n
            if offset < 0:
                return self.to_segments("", False, quoted, assign)
        if offset > n:
            return self.to_segments("", False, quoted, assign) if value is not None else []
        if length is None:
            return self.to_segments(text[offset:], False, quoted, assign)
        if length < 0:
            end = n + length
            if end < offset:
                raise ExpansionError(f"{length}: substring expression < 0")
            return self.to_segments(text[offset:end], False, quoted, assign)
        return self.to_segments(text[offset : offset + length], False, quoted, assign)

    def transform(
        self: Interpreter,
        letter: str,
        value: Value,
        star: bool,
        quoted: bool,
        assign: bool,
        label: str,
    ) -> list[Segment]:
        if letter == "Q":
            return self.map_value(value, star, quoted, assign, quote_q)
        if letter == "E":
            return self.map_value(value, star, quoted, assign, decode_ansi_c)
        if letter == "P":
            return self.map_value(value, star, quoted, assign, self.prompt_escapes)
        if letter == "U":
            return self.map_value(value, star, quoted, assign, casemap.upper)
        if letter == "L":
            return self.map_value(value, star, quoted, assign, casemap.lower)
        if letter == "u":
            return self.map_value(value, star, quoted, assign, casemap.capitalize_first)
        name = _INDIRECT.match(label)
        base = name.group(1) if name else label
        var = self.state.lookup(base)
        if letter == "a":
            flags = "".join(ch for bit, ch in FLAG_LETTERS if var is not None and var.flags & bit)
            if isinstance(value, list):
                return self.to_segments([flags] * len(value), star, quoted, assign)
            return self.to_segments(flags, False, quoted, assign)
        if letter in ("K", "k"):
            if (
                var is not None
                and isinstance(var.value, dict)
                and name
                and name.group(2) in ("@", "*")
            ):
                items = self.state.array_items(base)
                if letter == "K":
                    words = [f"{k} {_dq(v)}" for k, v in items]
                    joined = " ".join(words) + (" " if var.flags & ASSOC else "")
                    return self.to_segments(words if not quoted else [joined], star, quoted, assign)
                flat = [x for k, v in items for x in (k, v)]
                return self.to_segments(flat, star, quoted, assign)
            return self.map_value(value, star, quoted, assign, quote_q)
        if letter == "A":
            if value is None:
                return []
            if (
                var is not None
                and isinstance(var.value, dict)
                and (not (name and name.group(2)) or name.group(2) in ("@", "*"))
            ):
                return self.to_segments(self.declare_line(base, var), False, quoted, assign)
            flags = "".join(ch for bit, ch in FLAG_LETTERS if var is not None and var.flags & bit)
            if isinstance(value, list):
                value = " ".join(value)
            if flags:
                return self.to_segments(
                    f"declare -{flags} {base}={quote_q(value)}", False, quoted, assign
                )
            return self.to_segments(f"{base}={quote_q(value)}", False, quoted, assign)
        raise ExpansionError(f"${{{label}@{letter}}}: bad substitution")


def _letters(options: dict[str, bool]) -> list[tuple[str, str]]:
    from bashflow.execute.state import SET_OPTIONS

    return [(n, SET_OPTIONS[n]) for n, on in options.items() if on and SET_OPTIONS.get(n)]


def _is_list_label(label: str) -> bool:
    return label in ("@", "*") or label.endswith("[@]") or label.endswith("[*]")


def _dq(v: str) -> str:
    out = v.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    return f'"{out}"'


def _case(v: str, op: str, pat: str) -> str:
    rx = pattern.compile_pattern(pat or "?")
    chars = list(v)
    for i, ch in enumerate(chars):
        if rx.fullmatch(ch):
            if op[0] == "~":
                chars[i] = casemap.swap_char(ch)
            else:
                chars[i] = casemap.upper_char(ch) if op[0] == "^" else casemap.lower_char(ch)
            if len(op) == 1:
                break
        elif len(op) == 1:
            break
    return "".join(chars)


__all__ = ["LIT", "SOFT", "ParamExpander", "glob_escape"]
