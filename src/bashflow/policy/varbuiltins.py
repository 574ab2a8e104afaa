"""policy/varbuiltins.py - builtins that set variables or positional parameters.

`read`, `mapfile`, `printf -v`, `getopts`, `declare`/`typeset`/`local`/`export`/`readonly`,
`unset`, `set`, `shift`, `let`, `test -v`: each name they set is an `EnvSet` effect (so
dangerous names deny by any route), each name given as data is checked for a subscript that
would run a command, and the walker's state learns what is known about the new values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bashflow.policy.values import EMPTY, TAINTED, UNKNOWN, EnvSet, Field, State
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.policy.extract import Walker


def operands(
    argv: list[Field], takes: frozenset[str] = frozenset()
) -> tuple[list[Field], list[str]]:
    """Split builtin arguments into operands and option words."""
    ops: list[Field] = []
    opts: list[str] = []
    i = 1
    while i < len(argv):
        f = argv[i]
        if not ops and f.exact and f.text == "--":
            ops.extend(argv[i + 1 :])
            break
        if not ops and f.exact and f.text.startswith(("-", "+")) and len(f.text) > 1:
            opts.append(f.text)
            if f.text in takes and i + 1 < len(argv):
                opts.append(argv[i + 1].text)
                i += 1
        else:
            ops.append(f)
        i += 1
    return ops, opts


def _set_name(w: Walker, f: Field, st: State, span: Span, via: str, value: Field = TAINTED) -> None:
    if not f.exact:
        w.flag("BF113", f"`{via}` sets a variable whose name is not known statically", span)
        return
    w.check_name(f, span, st)
    name = w.resolve_nameref(f.text.split("[", 1)[0], st, span)
    w.emit(EnvSet(name, w.span(span), via))
    if "[" in f.text:
        st.arrays[name] = None
    else:
        st.vars[name] = value
        st.arrays.pop(name, None)


def _read(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    name = argv[0].text
    takes = (
        frozenset({"-a", "-d", "-i", "-n", "-N", "-p", "-t", "-u", "-C", "-c", "-O", "-s"})
        if name != "read"
        else frozenset({"-a", "-d", "-i", "-n", "-N", "-p", "-t", "-u"})
    )
    ops, opts = operands(argv, takes)
    if name in ("mapfile", "readarray"):
        if "-C" in opts:
            cb = (
                argv[[f.text for f in argv].index("-C") + 1]
                if "-C" in [f.text for f in argv]
                else UNKNOWN
            )
            if cb.exact:
                w.sub_check(cb + Field(" 0 x"), span, st.fork(), "`mapfile -C`")
            else:
                w.flag("BF113", "`mapfile -C` with a callback that is not known statically", span)
        target = ops[0] if ops else Field("MAPFILE")
        _set_name(w, target, st, span, name)
        return
    for i, o in enumerate(opts):
        if o == "-a" and i + 1 < len(opts):
            _set_name(w, Field(opts[i + 1]), st, span, name)
        elif o.startswith("-") and "a" in o[1:] and not o.endswith("a"):
            # a cluster like `-ra NAME` is handled above only when `a` is last: `-aNAME`
            idx = o.index("a", 1)
            if o[idx + 1 :] and all(c in "ers" for c in o[1:idx]):
                _set_name(w, Field(o[idx + 1 :]), st, span, name)
    for f in ops or ([] if "-a" in opts else [Field("REPLY")]):
        _set_name(w, f, st, span, name)


def _printf(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    if len(argv) > 1 and argv[1].exact and argv[1].text.startswith("-v"):
        name = argv[1].text[2:]  # bash also takes `-vNAME`
        if name:
            _set_name(w, Field(name), st, span, "printf -v")
        elif len(argv) > 2:
            _set_name(w, argv[2], st, span, "printf -v")
    elif len(argv) > 1 and not argv[1].exact and argv[1].text.startswith("-"):
        w.flag("BF113", "`printf` with an option that is not known statically", span)


def _getopts(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, _ = operands(argv)
    if len(ops) >= 2:
        _set_name(w, ops[1], st, span, "getopts")


def _declare(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    via = argv[0].text
    ops, opts = operands(argv)
    flags = "".join(o[1:] for o in opts if o.startswith("-"))
    if "f" in flags or "F" in flags or ("p" in flags and not ops):
        return
    scoped = via == "local" or (via in ("declare", "typeset") and "g" not in flags)
    for f in ops:
        text = f.text
        if scoped and f.exact:
            w.declare_local(text.split("=", 1)[0].rstrip("+").split("[", 1)[0], st)
        if "=" not in text:
            if not f.exact:
                w.flag("BF113", f"`{via}` with a name that is not known statically", span)
            elif via == "unset":
                name = text.split("[", 1)[0]
                w.check_name(f, span, st)
                if "f" in flags:
                    st.funcs.pop(name, None)
                else:
                    st.vars[name] = EMPTY
                    st.arrays.pop(name, None)
                    st.namerefs.pop(name, None)
            elif "n" in flags:
                st.namerefs[text] = None
            else:
                if "A" in flags:
                    w.assoc.add(text)
                if "i" in flags:
                    w.integers.add(text)
            continue
        name, rest = text.split("=", 1)
        name = name.rstrip("+")
        if not name.replace("_", "a").split("[", 1)[0].isalnum():
            w.flag("BF113", f"`{via}` with a name that is not known statically", span)
            continue
        value = Field(rest, f.exact, f.glob, f.dotdot, f.tainted)
        if "A" in flags:
            w.assoc.add(name.split("[", 1)[0])
        if "i" in flags:
            w.integers.add(name)
            w.arith_value(value, span, st, f"`{via} -i`")
        if "n" in flags:
            target = rest if f.exact else None
            st.namerefs[name] = target
            if target is not None:
                w.emit(EnvSet(target.split("[", 1)[0], w.span(span), f"{via} -n"))
                w.check_name(Field(target), span, st)
            continue
        _set_name(w, Field(name), st, span, via, value)


def _set(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    args = argv[1:]
    for i, f in enumerate(args):
        if not f.exact:
            w.flag("BF113", "`set` with an option that is not known statically", span)
            break
        if f.text == "--":
            break
        keyword = f.text.startswith("-") and not f.text.startswith("--") and "k" in f.text
        if keyword or (f.text == "-o" and i + 1 < len(args) and args[i + 1].text == "keyword"):
            w.flag(
                "BF113",
                "`set -k` turns NAME=VALUE arguments into environment variables",
                span,
                definite=True,
            )
    i = 0
    while (
        i < len(args)
        and args[i].exact
        and args[i].text.startswith(("-", "+"))
        and args[i].text != "--"
    ):
        if args[i].text in ("-o", "+o"):
            i += 1
        i += 1
    if i < len(args) and args[i].exact and args[i].text == "--":
        i += 1
        st.positional = tuple(args[i:]) if all(not f.split for f in args[i:]) else None
    elif i < len(args):
        st.positional = tuple(args[i:]) if all(not f.split for f in args[i:]) else None


def _shift(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    n = 1
    if len(argv) > 1:
        n = int(argv[1].text) if argv[1].exact and argv[1].text.isdigit() else -1
    if st.positional is not None and n >= 0:
        st.positional = st.positional[n:]
    else:
        st.positional = None


def _let(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    for f in argv[1:]:
        if f.tainted or not f.exact:
            if f.tainted:
                w.flag("BF113", "`let` evaluates a value read from data", span)
            continue
        w.sub_check(Field(f"(( {f.text} ))"), span, st, "`let`")


def _test(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    for i, f in enumerate(argv[:-1]):
        if f.exact and f.text == "-v":
            w.check_name(argv[i + 1], span, st)


VAR_HANDLERS = {
    "read": _read,
    "mapfile": _read,
    "readarray": _read,
    "printf": _printf,
    "getopts": _getopts,
    "declare": _declare,
    "typeset": _declare,
    "local": _declare,
    "export": _declare,
    "readonly": _declare,
    "unset": _declare,
    "set": _set,
    "shift": _shift,
    "let": _let,
    "test": _test,
    "[": _test,
}
