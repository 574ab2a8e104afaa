"""policy/words.py - expand a word as far as it is known statically, walking every substitution.

The result is a list of `Field`s (brace expansion and arrays give several). A part whose value is
not known ends the known prefix; a glob keeps the prefix and marks the field `glob`. Command,
process and arithmetic substitutions are walked (they run) wherever they appear: arguments,
assignments, redirect targets, here-doc bodies, `${x:-$(..)}`, subscripts.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from bashflow.parser.syntax import (
    AnsiCQuoted,
    ArithSub,
    ArrayLiteral,
    BadSubstitution,
    BraceExpansion,
    BraceRange,
    CommandSub,
    DoubleQuoted,
    Escaped,
    ExtGlob,
    Glob,
    Literal,
    LocaleQuoted,
    ParamExpansion,
    ProcessSub,
    SingleQuoted,
    Tilde,
    Word,
    WordPart,
)
from bashflow.policy.values import EMPTY, TAINTED, UNKNOWN, Field, State, glob_field
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.policy.extract import Walker

MAX_FIELDS = 64
SPECIAL_NUMERIC = frozenset(
    {
        "#",
        "?",
        "$",
        "!",
        "-",
        "RANDOM",
        "LINENO",
        "SECONDS",
        "BASHPID",
        "PPID",
        "UID",
        "EUID",
        "EPOCHSECONDS",
    }
)


def suspicious(text: str) -> bool:
    """Invisible, bidi-control or other format/control characters (Trojan-source tricks)."""
    for ch in text:
        if ch in "\t\n":
            continue
        cat = unicodedata.category(ch)
        if (
            cat in ("Cf", "Cc", "Co", "Cs")
            or ch in "\u00a0\u2000\u2001\u2002\u2003\u2028\u2029\u3000"
        ):
            return True
    return False


def expand_word(walker: Walker, w: Word, st: State, *, split: bool = True) -> list[Field]:
    fields = [EMPTY]
    for part in w.parts:
        values = expand_part(walker, part, st, quoted=False, split=split)
        if len(values) == 1:
            v = values[0]
            fields = [f + v for f in fields]
        else:
            fields = [f + v for f in fields for v in values]
            if len(fields) > MAX_FIELDS:
                fields = [_collapse(fields)]
    if split and not any(
        isinstance(q, SingleQuoted | DoubleQuoted | AnsiCQuoted | LocaleQuoted) for q in w.parts
    ):
        fields = [f for f in fields if not (f.exact and f.text == "")]
    return fields


def _collapse(fields: list[Field]) -> Field:
    from bashflow.policy.values import join_fields

    return join_fields(fields)


def expand_part(
    walker: Walker, p: WordPart, st: State, *, quoted: bool, split: bool
) -> list[Field]:
    if isinstance(p, Literal | SingleQuoted):
        return [Field(p.text)]
    if isinstance(p, Escaped):
        return [Field(p.char)]
    if isinstance(p, AnsiCQuoted):
        return [Field(p.value)]
    if isinstance(p, DoubleQuoted | LocaleQuoted):
        if len(p.parts) == 1 and isinstance(p.parts[0], ParamExpansion) and _is_at(p.parts[0]):
            values = _param(walker, p.parts[0], st, quoted=True, split=False)
            return values  # "$@" and "${a[@]}": one field per element
        out = EMPTY
        for q in p.parts:
            vs = expand_part(walker, q, st, quoted=True, split=False)
            out = out + (vs[0] if len(vs) == 1 else _quoted_join(vs))
        return [out]
    if isinstance(p, ParamExpansion):
        return _param(walker, p, st, quoted=quoted, split=split)
    if isinstance(p, CommandSub):
        walker.run_list(p.body, st.fork())
        return [Field("", False, tainted=True, split=not quoted and split)]
    if isinstance(p, ProcessSub):
        walker.run_list(p.body, st.fork())
        return [Field("/dev/fd/63")]
    if isinstance(p, ArithSub):
        walker.arith(p.arith, st)
        return [Field("1")]  # digits only: stands for any number
    if isinstance(p, BadSubstitution):
        if p.text.startswith(("$(", "`")):
            walker.flag("BF115", f"command substitution that does not parse: {p.error}", p.span)
        return [UNKNOWN]
    if isinstance(p, Glob):
        return [glob_field("")] if not quoted else [Field(p.text)]
    if isinstance(p, ExtGlob):
        for pat in p.patterns:
            walker.expand(pat, st, split=False)
        return [glob_field("")]
    if isinstance(p, BraceExpansion):
        alts: list[Field] = []
        for alt in p.alternatives:
            alts.extend(walker.expand(alt, st, split=split))
        return alts or [EMPTY]
    if isinstance(p, BraceRange):
        return _brace_range(p)
    if isinstance(p, Tilde):
        if p.user == "":
            return [Field(walker.home)]
        if p.user == "+" and st.cwd is not None:
            return [Field(st.cwd)]
        return [UNKNOWN]
    if isinstance(p, ArrayLiteral):
        walker.array_values(p, st)
        return [UNKNOWN]
    walker.flag("BF115", f"word part `{type(p).__name__}` is not handled by the checker", p.span)
    return [UNKNOWN]


def subscript_arith(walker: Walker, name: str, sub: Word, st: State, span: Span) -> None:
    """An indexed array's subscript is arithmetic (an associative array's key is not)."""
    fields = walker.expand(sub, st, split=False)
    text = "".join(getattr(q, "text", "?") for q in sub.parts)
    if name in walker.assoc or text in ("@", "*"):
        return
    for f in fields:
        if f.exact and ("$" in f.text or "`" in f.text):  # subscripts are expanded twice
            walker.flag(
                "BF113",
                "an array subscript is expanded again: `$(cmd)` in it runs cmd",
                span,
                definite=True,
            )
        else:
            walker.arith_value(f, span, st, "an array subscript")


def _is_at_word(w: Word) -> bool:
    return len(w.parts) == 1 and getattr(w.parts[0], "text", "") in ("@", "*")


def _is_at(p: ParamExpansion) -> bool:
    if p.op is not None or p.length or p.indirect:
        return False
    if p.name == "@":
        return True
    sub = p.subscript
    return sub is not None and len(sub.parts) == 1 and getattr(sub.parts[0], "text", "") == "@"


def _quoted_join(values: list[Field]) -> Field:
    out = EMPTY
    for i, v in enumerate(values):
        out = out + (Field(" ") if i else EMPTY) + v
    return out


def _brace_range(p: BraceRange) -> list[Field]:
    try:
        a, b = int(p.start), int(p.end)
        step = abs(int(p.step)) if p.step else 1
        step = step or 1
        if abs(b - a) // step < MAX_FIELDS:
            rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
            return [Field(str(i)) for i in rng]
    except ValueError:
        if len(p.start) == 1 and len(p.end) == 1:
            lo, hi = ord(p.start), ord(p.end)
            chars = range(lo, hi + 1) if lo <= hi else range(lo, hi - 1, -1)
            return [Field(chr(c)) for c in chars]
    return [glob_field("")]


def _lookup(walker: Walker, p: ParamExpansion, st: State) -> list[Field] | None:
    """The known value(s) of a parameter, or None when unknown."""
    name = p.name
    if name in st.namerefs:
        target = st.namerefs[name]
        if target is None:
            return None
        name = target
    if name in ("@", "*"):
        return list(st.positional) if st.positional is not None else None
    if name.isdigit():
        if name == "0":
            return None
        if st.positional is None:
            return None
        i = int(name) - 1
        return [st.positional[i]] if i < len(st.positional) else [EMPTY]
    if p.subscript is not None:
        arr = st.arrays.get(name)
        subscript_arith(walker, name, p.subscript, st, p.span)
        sub = "".join(getattr(q, "text", "?") for q in p.subscript.parts)
        if arr is None:
            return None
        if sub in ("@", "*"):
            return list(arr)
        if sub.isdigit():
            i = int(sub)
            return [arr[i]] if i < len(arr) else [EMPTY]
        return None
    if name in st.arrays:
        arr = st.arrays[name]
        return [arr[0] if arr else EMPTY] if arr is not None else None
    if name in st.vars:
        return [st.vars[name]]
    if name == "HOME":
        return [Field(walker.home)]
    if name == "PWD" and st.cwd is not None:
        return [Field(st.cwd)]
    return None


def _param(
    walker: Walker, p: ParamExpansion, st: State, *, quoted: bool, split: bool
) -> list[Field]:
    arg_fields = walker.expand(p.arg, st, split=False) if p.arg is not None else [EMPTY]
    arg2_fields = walker.expand(p.arg2, st, split=False) if p.arg2 is not None else []
    if p.op == ":":  # ${x:offset:length}: both are arithmetic
        for f in arg_fields + arg2_fields:
            walker.arith_value(f, p.span, st, "a substring offset")
    if p.indirect and (
        p.op in ("!*", "!@") or (p.subscript is not None and _is_at_word(p.subscript))
    ):
        walker.expand(p.subscript, st, split=False) if p.subscript is not None else None
        return [Field("", False, split=not quoted and split)]  # ${!a[@]} keys, ${!pre*} names
    values = _lookup(walker, p, st)
    numeric = p.name in SPECIAL_NUMERIC or p.length
    if p.indirect:
        target = st.vars.get(p.name)
        if target is None or not target.exact or "[" in target.text:
            if target is not None and target.exact and "[" in target.text:
                walker.check_name(target, p.span, st)
            else:
                walker.flag(
                    "BF113",
                    f"`${{!{p.name}}}` expands a variable whose name is not known statically",
                    p.span,
                )
        return [Field("", False, tainted=True, split=not quoted and split)]
    op = p.op
    if op == "@":
        letter = arg_fields[0].text if arg_fields else ""
        if letter == "P":
            vs = values or [UNKNOWN]
            if not all(v.exact and "$" not in v.text and "`" not in v.text for v in vs):
                walker.flag(
                    "BF113",
                    f"`${{{p.name}@P}}` runs prompt expansion (command substitution) on a value that is not known",
                    p.span,
                )
        if letter in ("Q", "a", "A", "K", "k"):
            return [Field("", False, tainted=bool(values) and any(v.tainted for v in values or []))]
    if op in (":-", "-"):
        if (
            values is not None
            and all(v.exact for v in values)
            and ((values and values[0].text) or op == "-")
        ):
            return _split(values, quoted, split)
        if values is None:
            return [_join_unknown(arg_fields, quoted, split)]
        return arg_fields
    if op in (":=", "="):
        if values is None:
            st.vars[p.name] = TAINTED
        return (
            [_join_unknown(arg_fields, quoted, split)]
            if values is None
            else _split(values, quoted, split)
        )
    if op in (":+", "+"):
        return [_join_unknown(arg_fields, quoted, split)]
    if op in (":?", "?"):
        return (
            _split(values, quoted, split)
            if values is not None
            else [Field("", False, split=not quoted and split)]
        )
    if op is not None or numeric:
        tainted = values is None or any(v.tainted for v in values)
        if numeric:
            return [Field("1")]  # `$$`, `${#x}`, `$?`: digits only
        return [
            Field("", False, tainted=tainted and values is not None, split=not quoted and split)
        ]
    if values is None:
        return [Field("", False, split=not quoted and split)]
    return _split(values, quoted, split)


def _join_unknown(fields: list[Field], quoted: bool, split: bool) -> Field:
    f = fields[0] if fields else EMPTY
    return Field("", False, tainted=f.tainted, split=not quoted and split)


def _split(values: list[Field], quoted: bool, split: bool) -> list[Field]:
    """Unquoted known values split on blanks; unknown ones may split into anything."""
    if quoted or not split:
        if len(values) == 1:
            return values
        return values if quoted else [_quoted_join(values)]
    out: list[Field] = []
    for v in values:
        if v.exact:
            out.extend(Field(t) for t in v.text.split())
        else:
            out.append(Field(v.text, False, v.glob, v.dotdot, v.tainted, True))
    return out or [EMPTY]
