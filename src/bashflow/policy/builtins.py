"""policy/builtins.py - resolve a command name and analyse what builtins and wrappers do.

Order as bash: alias (as if `expand_aliases` were on), function, builtin, external program.
Builtins need no allow entry but their effects are analysed (`cd` moves the working directory,
`eval`/`trap`/`alias` payloads are parsed and checked, `declare`/`export`/`read`/`printf -v`
set variables, `hash -p`/`enable` shadow commands). Transparent wrappers (`env`, `command`,
`timeout`, ...) are unwrapped; runners (`xargs`, `find -exec`, `sudo`, ...) must be allowed and
their payload is checked too.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from bashflow.parser.commands import RESERVED_WORDS
from bashflow.policy.commands import basename
from bashflow.policy.fileargs import path_uses
from bashflow.policy.programs import (
    INTERPRETERS,
    LATER,
    QUEUES,
    RUNNERS,
    SHELLS,
    TRANSPARENT,
    find_payloads,
    shell_payload,
    unwrap_runner,
    unwrap_transparent,
)
from bashflow.policy.values import EMPTY, UNKNOWN, EnvSet, Exec, Field, State
from bashflow.policy.varbuiltins import VAR_HANDLERS, operands
from bashflow.policy.words import suspicious
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.policy.extract import Walker

KEYWORDS = RESERVED_WORDS  # the parser's list of bash's reserved words
BUILTINS = frozenset(
    [
        ".",
        ":",
        "[",
        "alias",
        "bg",
        "bind",
        "break",
        "builtin",
        "caller",
        "cd",
        "command",
        "compgen",
        "complete",
        "compopt",
        "continue",
        "declare",
        "dirs",
        "disown",
        "echo",
        "enable",
        "eval",
        "exec",
        "exit",
        "export",
        "false",
        "fc",
        "fg",
        "getopts",
        "hash",
        "help",
        "history",
        "jobs",
        "kill",
        "let",
        "local",
        "logout",
        "mapfile",
        "popd",
        "printf",
        "pushd",
        "pwd",
        "read",
        "readarray",
        "readonly",
        "return",
        "set",
        "shift",
        "shopt",
        "source",
        "suspend",
        "test",
        "times",
        "trap",
        "true",
        "type",
        "typeset",
        "ulimit",
        "umask",
        "unalias",
        "unset",
        "wait",
    ]
)
SHELL_NAMES = BUILTINS | KEYWORDS
QUIET_BUILTINS = frozenset(
    [
        ":",
        "[",
        "test",
        "true",
        "false",
        "echo",
        "pwd",
        "exit",
        "return",
        "break",
        "continue",
        "wait",
        "jobs",
        "kill",
        "umask",
        "times",
        "type",
        "dirs",
        "disown",
        "ulimit",
        "help",
        "caller",
        "logout",
        "suspend",
        "history",
        "bg",
        "fg",
        "compopt",
    ]
)

Handler = Callable[["Walker", list[Field], State, Span, Field], None]


def dispatch(
    w: Walker,
    argv: list[Field],
    st: State,
    span: Span,
    stdin: Field,
    *,
    functions: bool = True,
    aliases: bool = False,
) -> None:
    first = argv[0]
    if not first.exact:
        w.flag("BF103", "the command name is not known statically", span)
        return
    name = first.text
    if suspicious(name) or not name.isascii():
        w.flag(
            "BF114",
            f"command name {name!r} has invisible or non-ASCII characters",
            span,
            definite=True,
        )
        return
    if functions and aliases and name in st.aliases:
        if all(f.exact for f in argv[1:]):
            code = st.aliases.pop(name) + " " + " ".join(shlex.quote(f.text) for f in argv[1:])
            try:
                w.sub_check(Field(code), span, st, "alias")
            finally:
                st.aliases[name] = code.split(" ", 1)[0]
        else:
            w.flag("BF103", f"alias `{name}` used with arguments that are not known", span)
        return
    if functions and name in st.funcs:
        w.call_function(st.funcs[name], argv, st, stdin)
        return
    handler = HANDLERS.get(name)
    if handler is not None:
        handler(w, argv, st, span, stdin)
        return
    if name in QUIET_BUILTINS:
        return
    external(w, argv, st, span, stdin)


def external(
    w: Walker, argv: list[Field], st: State, span: Span, stdin: Field, via: str = ""
) -> None:
    first = argv[0]
    if not first.exact:
        w.flag("BF103", "the command name is not known statically", span)
        return
    if suspicious(first.text) or not first.text.isascii():
        w.flag(
            "BF114",
            f"command name {first.text!r} has invisible or non-ASCII characters",
            span,
            definite=True,
        )
        return
    name = basename(first.text)
    if (
        name in TRANSPARENT
        and name not in ("command", "builtin", "exec")
        and ("/" not in first.text or first.text.startswith(("/bin/", "/usr/bin/")))
    ):
        payload = unwrap_transparent(name, argv)
        if payload is None:
            return
        if payload.unknown:
            w.flag("BF103", payload.unknown, span)
            return
        for var in payload.env:
            w.emit(EnvSet(var, w.span(span), name, payload.argv[0].text if payload.argv else ""))
        inner = st
        if payload.chdir is not None:
            inner = st.fork()
            inner.set_cwds((resolve_dir(payload.chdir, st, w.home),))
        if payload.code is not None:
            w.sub_check(payload.code, span, inner.fork(), f"`{name} -S`")
            return
        external(w, list(payload.argv), inner, span, stdin, via=name)
        return
    for cwd in st.cwds():
        w.emit(Exec(tuple(argv), w.span(span), cwd, via))
    if "/" in first.text and resolve_file(first, st) in w.written:
        w.flag("BF103", f"`{first.text}` runs a file this script wrote", span)
    if name in INTERPRETERS and len(argv) > 1 and resolve_file(argv[-1], st) in w.written:
        w.flag("BF103", f"`{name}` runs a script this script wrote", span)
    for use in path_uses(name, argv):
        w.access(use.path, use.mode, span, st, recursive=use.recursive, what=name)
    if name in SHELLS:
        kind, payload_f = shell_payload(argv)
        if kind == "code" and payload_f is not None:
            w.sub_check(payload_f, span, st.fork(), f"`{name} -c`")
        elif kind == "file" and payload_f is not None:
            path = resolve_file(payload_f, st)
            if path is None or path in w.written:
                w.flag(
                    "BF103", f"`{name}` runs a script whose content is not known statically", span
                )
            else:
                w.access(payload_f, "read", span, st, what=name)
        elif kind == "stdin":
            w.sub_check(stdin, span, st.fork(), f"`{name}` standard input")
        else:
            w.flag("BF103", f"`{name}` with options that are not known statically", span)
    elif name in QUEUES:
        if any(f.text == "-f" or not f.exact for f in argv[1:]):
            w.flag("BF103", f"`{name}` queues commands whose text is not known statically", span)
        else:
            w.sub_check(stdin, span, st.fork(), f"`{name}` standard input")
    elif name in LATER:
        w.flag("BF103", f"`{name}` installs commands that run later, outside this script", span)
    elif name in RUNNERS:
        p = unwrap_runner(name, argv)
        if p is not None:
            if p.unknown:
                w.flag("BF103", p.unknown, span)
            elif p.code is not None:
                w.sub_check(p.code, span, st.fork(), f"`{name}`")
            elif p.argv:
                extra = [Field("", False, split=True)] if p.extra_args else []
                external(w, list(p.argv) + extra, st.fork(), span, UNKNOWN, via=name)
    elif name == "find":
        for p in find_payloads(argv):
            if p.unknown:
                w.flag("BF103", p.unknown, span)
            else:
                external(w, list(p.argv), st.fork(), span, UNKNOWN, via="find -exec")


def resolve_file(f: Field, st: State) -> str | None:
    if not f.exact:
        return None
    if f.text.startswith("/"):
        return posixpath.normpath(f.text)
    if st.cwd is None or st.alt_cwds:
        return None
    return posixpath.normpath(posixpath.join(st.cwd, f.text))


def resolve_dir(f: Field, st: State, home: str) -> str | None:
    if not f.exact:
        return None
    text = f.text
    if text.startswith("/"):
        return posixpath.normpath(text)
    if st.cwd is None or st.alt_cwds:
        return None
    return posixpath.normpath(posixpath.join(st.cwd, text))


# --------------------------------------------------------------------------- builtins


def _cd(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    # A `cd` may fail (the directory is missing): then the shell stays where it was. The
    # list walker keeps that path where it continues (`cd d; x`, `cd d || x`).
    before = st.cwds()
    ops, _ = operands(argv)
    if not ops:
        st.set_cwds((w.home,))
    elif ops[0].exact and ops[0].text == "-":
        st.set_cwds((None,))
    else:
        target = ops[0]  # entering a directory reads nothing
        st.set_cwds(tuple(_enter(target, cwd) for cwd in before))
    st.cd_failed = before


def _enter(target: Field, cwd: str | None) -> str | None:
    if not target.exact:
        return None
    if target.text.startswith("/"):
        return posixpath.normpath(target.text)
    return None if cwd is None else posixpath.normpath(posixpath.join(cwd, target.text))


def _pushd(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, _ = operands(argv)
    if ops and ops[0].exact and not ops[0].text.startswith(("+", "-")):
        _cd(w, argv, st, span, stdin)
    else:
        st.set_cwds((None,))


def _popd(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    st.set_cwds((None,))


def _eval(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    args = argv[1:]
    if args and args[0].exact and args[0].text == "--":
        args = args[1:]
    code = EMPTY
    for i, f in enumerate(args):
        code = code + (Field(" ") if i else EMPTY) + f
    w.sub_check(code, span, st, "`eval`")


def _source(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, _ = operands(argv)
    if ops:
        w.access(ops[0], "read", span, st, what="source")
    w.flag(
        "BF103",
        f"`{argv[0].text}` runs commands from a file whose content is not known statically",
        span,
    )


def _wrapper(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    name = argv[0].text
    i = 1
    while i < len(argv) and argv[i].exact and argv[i].text.startswith("-") and argv[i].text != "--":
        opt = argv[i].text
        if name == "command" and ("v" in opt or "V" in opt):
            return
        if name == "exec" and opt == "-a":
            i += 1
        i += 1
    if i < len(argv) and argv[i].exact and argv[i].text == "--":
        i += 1
    if i < len(argv) and not argv[i].exact:
        w.flag("BF103", f"`{name}` with an argument that is not known statically", span)
        return
    rest = argv[i:]
    if rest:
        dispatch(w, rest, st, span, stdin, functions=False)


def _trap(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, opts = operands(argv)
    if any(o in ("-p", "-l") for o in opts) or len(ops) < 2:
        if len(ops) == 1 and not ops[0].exact:
            w.flag("BF113", "`trap` with a handler that is not known statically", span)
        return
    handler = ops[0]
    if handler.exact and handler.text in ("", "-"):
        return
    if not handler.exact:
        w.flag("BF113", "`trap` with a handler that is not known statically", span)
        return
    w.sub_check(handler, span, st.fork(), "`trap`")


def _alias(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, _ = operands(argv)
    for f in ops:
        if not f.exact:
            w.flag("BF113", "`alias` with a definition that is not known statically", span)
            continue
        if "=" not in f.text:
            continue
        name, value = f.text.split("=", 1)
        if name in SHELL_NAMES:
            w.flag(
                "BF112", f"alias `{name}` shadows a shell builtin or keyword", span, definite=True
            )
        st.aliases[name] = value
        w.sub_check(Field(value), span, st.fork(), "alias")


def _unalias(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, opts = operands(argv)
    if "-a" in opts:
        st.aliases.clear()
    for f in ops:
        st.aliases.pop(f.text, None)


def _hash(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    _, opts = operands(argv, frozenset({"-p"}))
    if any("p" in o for o in opts if o.startswith("-")):
        w.flag("BF112", "`hash -p` makes a command name run another program", span, definite=True)


def _enable(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    ops, opts = operands(argv)
    if ops or any(c in o for o in opts for c in "fnd"):
        w.flag(
            "BF112",
            "`enable` loads or disables builtins (a name then runs something else)",
            span,
            definite=True,
        )


def _refuse(what: str, code: str = "BF113") -> Handler:
    def handler(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
        w.flag(code, what, span, definite=True)

    return handler


def _compgen(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    if any(f.text in ("-C", "-F") for f in argv[1:]):
        w.flag("BF113", f"`{argv[0].text} -C/-F` runs a command", span, definite=True)


def _bind(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    if any(f.text.startswith("-x") or f.text.startswith("-f") for f in argv[1:]):
        w.flag("BF113", "`bind -x` runs a command", span, definite=True)


def _shopt(w: Walker, argv: list[Field], st: State, span: Span, stdin: Field) -> None:
    if any(not f.exact or f.text in ("dotglob", "globstar", "nocaseglob") for f in argv[1:]):
        w.dotglob = True


HANDLERS: dict[str, Handler] = {
    **VAR_HANDLERS,
    "shopt": _shopt,
    "cd": _cd,
    "pushd": _pushd,
    "popd": _popd,
    "eval": _eval,
    "source": _source,
    ".": _source,
    "command": _wrapper,
    "builtin": _wrapper,
    "exec": _wrapper,
    "trap": _trap,
    "alias": _alias,
    "unalias": _unalias,
    "hash": _hash,
    "enable": _enable,
    "fc": _refuse("`fc` re-runs commands from the history"),
    "compgen": _compgen,
    "complete": _compgen,
    "bind": _bind,
}
