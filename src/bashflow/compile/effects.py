"""compile/effects.py - what one node reads and writes.

Programs: `cmdspec.usage()` on the argv the checker's evaluator built (paths made absolute
against the cwd known at that point; unknown → a path that overlaps every file). Builtins,
functions, assignments, redirections, globs, `test` operands and every `$x` in a node's own
words: this module's own knowledge. Whatever cannot be followed makes the node a barrier.
"""

from __future__ import annotations

import functools
import posixpath
import re
from typing import TYPE_CHECKING, Any

from bashflow.compile.model import (
    ALL_PROCESSES,
    ALL_VARIABLES,
    CWD,
    ENV,
    NET_READ,
    NET_WRITE,
    POSITIONAL,
    STDIN,
    STDOUT,
    CNode,
    Res,
)
from bashflow.parser.syntax import (
    AnsiCQuoted,
    ArithAssign,
    ArithNumber,
    ArithPostfix,
    ArithUnary,
    ArithVar,
    Assignment,
    BraceExpansion,
    CommandSub,
    DoubleQuoted,
    Escaped,
    ExtGlob,
    For,
    FunctionDef,
    Glob,
    HereDoc,
    Literal,
    ParamExpansion,
    ProcessSub,
    Redirect,
    Script,
    Select,
    SimpleCommand,
    SingleQuoted,
    Tilde,
    Word,
)
from bashflow.policy.programs import SHELLS
from bashflow.policy.values import Exec, Field, State

if TYPE_CHECKING:
    from bashflow.compile.cmdspec import Arg, Usage
    from bashflow.compile.lower import Lowerer

FILE_TESTS = frozenset(
    [
        "-a",
        "-b",
        "-c",
        "-d",
        "-e",
        "-f",
        "-g",
        "-h",
        "-k",
        "-p",
        "-r",
        "-s",
        "-u",
        "-w",
        "-x",
        "-G",
        "-L",
        "-N",
        "-O",
        "-S",
    ]
)
ENV_WRAPPERS = frozenset({"env", "command", "builtin", "exec", "nohup", "timeout", "nice"})
PROXY_VARS = frozenset({"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"})
LEAVES = (Literal, SingleQuoted, AnsiCQuoted, Escaped, Glob, ArithNumber)
LEAF_TYPES = frozenset(LEAVES)
DEVICES_QUIET = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero", "/dev/full")
BARRIER_BUILTINS = frozenset(
    {
        "exec",
        "kill",
        "umask",
        "ulimit",
        "shopt",
        "alias",
        "unalias",
        "enable",
        "bind",
        "complete",
        "compgen",
        "compopt",
        "fc",
        "history",
        "disown",
        "bg",
        "fg",
        "suspend",
        "logout",
        "source",
        ".",
    }
)
ESCAPES = frozenset({"exit", "return", "break", "continue"})
MAX_RUNS_DEPTH = 4


def shebang_errexit(text: str) -> bool:
    """`#!/bin/bash -e` (or `-eu`, ...) turns `set -e` on from the start."""
    first = text[: text.find("\n")] if "\n" in text else text
    return first.startswith("#!") and any(
        w.startswith("-") and not w.startswith("--") and "e" in w for w in first.split()[1:]
    )


def export_pass(lw: Lowerer, nodes: list[CNode]) -> None:
    """After lowering, when every `export` is known: an assignment to an exported name (or
    any name, after `set -a` or a `source`) also writes the exported environment."""
    for n in nodes:
        if ENV in n.writes:
            continue
        for r in n.writes:
            if r[0] == "variable" and r[2] is not None and exported(lw, r[2]):
                n.writes[ENV] = None
                break


class Prepass:
    """Whole-script facts for function bodies (lowered once, where they are defined, for
    calls anywhere): the names the script may assign (forgotten in a body), those that may
    come from data, whether it may change the working directory, every function defined."""

    def __init__(self, script: Script) -> None:
        self.funcs: dict[str, FunctionDef] = {}
        self.assigned, self.tainted, self.cd, _ = assigned_in(script, self.funcs)


_SCALAR = re.compile(r"(str|bool|int)( \| None)?|tuple\[str, \.\.\.\]")
_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(w: Word) -> bool:
    parts = w.parts
    return len(parts) == 1 and type(parts[0]) in LEAF_TYPES


def kids(n: Any) -> list[Any]:
    """The child nodes of a syntax node (what `syntax.children` gives, cheaper: the fields
    that can hold nodes are found once per class)."""
    t = type(n)
    fs = _FIELDS.get(t)
    if fs is None:
        ann: dict[str, Any] = {}
        for klass in reversed(t.__mro__):
            ann.update(getattr(klass, "__annotations__", {}))
        fs = tuple(
            f for f in t._fields if f != "span" and not _SCALAR.fullmatch(str(ann.get(f, "")))
        )
        _FIELDS[t] = fs
    out: list[Any] = []
    for f in fs:
        v = getattr(n, f)
        if v is None:
            continue
        if type(v) is tuple:
            for item in v:
                if type(item) is tuple:  # AndOr.rest: (operator, pipeline)
                    out.append(item[1])
                elif type(item) is not str:  # Pipeline.ops
                    out.append(item)
        else:
            out.append(v)
    return out


def assigned_in(
    root: object, funcs: dict[str, FunctionDef] | None = None
) -> tuple[set[str], set[str], bool, set[str]]:
    """Names a subtree may assign, those that may get a value from data, whether it may
    change the working directory, and the command names it runs (for loop bodies). The
    functions it defines go to `funcs` when given."""
    names: set[str] = set()
    tainted: set[str] = set()
    cd = False
    calls: set[str] = set()
    stack: list[Any] = [root]
    while stack:
        n = stack.pop()
        t = type(n)
        if t in LEAF_TYPES or (t is Word and _plain(n)):
            continue
        if t is Assignment or t is For or t is Select:
            names.add(n.name)
            values = (n.value,) if t is Assignment else n.words
            if values is None or any(_from_data(v) for v in values):
                tainted.add(n.name)
        elif t is ArithAssign or ((t is ArithUnary or t is ArithPostfix) and n.op in ("++", "--")):
            target = n.target if t is ArithAssign else n.operand
            if isinstance(target, ArithVar):
                names.add(target.name)
        elif t is FunctionDef and funcs is not None:
            funcs[n.name] = n
        elif t is SimpleCommand and n.words:
            first = literal(n.words[0])
            calls.add(first)
            if first in ("cd", "pushd", "popd", "eval", "source", ".") or not first:
                cd = True
            if first in _ASSIGNING or first in ("eval", "source", "."):
                for w in n.words[1:]:
                    text = literal(w).split("=", 1)[0].split("[", 1)[0]
                    if text.isidentifier():
                        names.add(text)
                        tainted.add(text)
        stack.extend(kids(n))
    return names, tainted, cd, calls


_ASSIGNING = frozenset(
    [
        "read",
        "mapfile",
        "readarray",
        "declare",
        "local",
        "export",
        "typeset",
        "readonly",
        "printf",
        "getopts",
        "let",
        "unset",
    ]
)


def _from_data(root: object) -> bool:
    stack: list[Any] = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, CommandSub | ParamExpansion | ProcessSub):
            return True
        if not isinstance(n, LEAVES):
            stack.extend(kids(n))
    return False


def globbed(w: Word) -> bool:
    """The word holds an unquoted pattern (bash replaces it by the names it matches)."""
    stack: list[Any] = list(w.parts)
    while stack:
        p = stack.pop()
        if isinstance(p, Glob | ExtGlob):
            return True
        if isinstance(p, BraceExpansion):
            for alt in p.alternatives:
                stack.extend(alt.parts)
    return False


def literal(w: Word) -> str:
    """The value of a word without expansions (quotes removed), else ""."""
    out: list[str] = []
    stack: list[Any] = list(reversed(w.parts))
    while stack:
        p = stack.pop()
        if isinstance(p, Literal | SingleQuoted):
            out.append(p.text)
        elif isinstance(p, Escaped):
            out.append(p.char)
        elif isinstance(p, AnsiCQuoted):
            out.append(p.value)
        elif isinstance(p, DoubleQuoted):
            stack.extend(reversed(p.parts))
        else:
            return ""
    return "".join(out)


# --------------------------------------------------------------------------- paths


def resolve(f: Field, cwd: str | None) -> tuple[str | None, bool]:
    """A field as an absolute path (None = unknown) and whether it is a glob pattern."""
    glob = False
    if f.exact:
        text = f.text
    elif f.glob and not f.dotdot and not f.tainted:
        text, glob = f.text + "*", True
    else:
        return None, False
    return resolve_text(text, cwd), glob


def resolve_text(text: str, cwd: str | None) -> str | None:
    if not text.startswith("/"):
        if cwd is None:
            return None
        text = posixpath.join(cwd, text)
    n = posixpath.normpath(text)
    return "/" + n.lstrip("/") if n.startswith("//") else n


def path_res(f: Field, cwd: str | None, kind: str = "file") -> Res:
    path, glob = resolve(f, cwd)
    if glob and kind == "file":
        kind = "glob"
    return (kind, path, None)


def path_read(node: CNode, f: Field, cwd: str | None) -> None:
    if f.exact and f.text.startswith(DEVICES_QUIET):
        return
    node.reads[path_res(f, cwd)] = None
    if not (f.exact and f.text.startswith("/")):
        node.reads[CWD] = None


def glob_listing(node: CNode, f: Field, cwd: str | None) -> None:
    """Expanding a glob lists directories: a read of every name it may match."""
    path, _ = resolve(f, cwd)
    node.reads[("glob", path, None)] = None
    if not f.text.startswith("/"):
        node.reads[CWD] = None


def redirect_effects(node: CNode, op: str, fd: int, fields: list[Field], cwd: str | None) -> None:
    for f in fields:
        if op in (">&", "<&") and f.exact and (f.text == "-" or f.text.rstrip("-").isdigit()):
            num = f.text.rstrip("-")
            if num and int(num) > 2:
                res: Res = ("stream", None, f"fd{num}")
                node.reads[res] = None
                node.writes[res] = None
            if fd == 0 and num != "0":
                node.stdin_redirected = True
            continue
        if op == "<&":
            continue
        if fd == 0 and op in ("<", "<>"):
            node.stdin_redirected = True
        if f.exact and f.text.startswith(DEVICES_QUIET):
            continue
        if f.exact and f.text in ("/dev/stdin", "/dev/fd/0"):
            node.reads[STDIN] = None
            node.writes[STDIN] = None
            continue
        if f.exact and f.text.startswith("/dev/fd/"):
            res = ("stream", None, "fd" + f.text[8:])
            node.reads[res] = None
            node.writes[res] = None
            continue
        r = path_res(f, cwd)
        if op in ("<", "<>"):
            node.reads[r] = None
        if op != "<":
            node.writes[r] = None
        if not (f.exact and f.text.startswith("/")):
            node.reads[CWD] = None


# --------------------------------------------------------------------------- variables


def exported(lw: Lowerer, name: str) -> bool:
    """Whether assigning `name` may change what programs see in their environment. Names
    the script exports, every all-capitals name (the caller's environment holds those), the
    proxy variables, everything after `set -a`."""
    return (
        lw.allexport
        or name in lw.exported
        or name in PROXY_VARS
        or (name.upper() == name and name.lower() != name)
    )


def var_write(lw: Lowerer, node: CNode, name: str) -> None:
    node.writes[("variable", None, name)] = None


def named_var_read(node: CNode, fields: list[Field]) -> None:
    for f in fields:
        if f.exact and f.text.split("[", 1)[0].isidentifier():
            node.reads[("variable", None, f.text.split("[", 1)[0])] = None
        else:
            node.reads[ALL_VARIABLES] = None


def scan_node(node: CNode, root: object, st: State, lw: Lowerer | None = None) -> None:
    """Variables read (and written by `${x:=v}` and arithmetic) by the words, arithmetic and
    conditions under `root`, not counting the bodies of substitutions (their own nodes)."""
    reads = node.reads
    stack: list[Any] = [root]
    while stack:
        x = stack.pop()
        t = type(x)
        if t in LEAF_TYPES or (t is Word and _plain(x)):
            continue
        if t is CommandSub or t is ProcessSub:
            continue
        if t is ParamExpansion:
            _param(node, x, st, lw)
        elif t is ArithVar:
            reads[("variable", None, x.name)] = None
        elif t is ArithAssign or ((t is ArithUnary or t is ArithPostfix) and x.op in ("++", "--")):
            target = x.target if t is ArithAssign else x.operand
            if isinstance(target, ArithVar):
                node.writes[("variable", None, target.name)] = None
        elif t is Tilde and x.user == "":
            reads[("variable", None, "HOME")] = None
        stack.extend(kids(x))


def _param(node: CNode, p: ParamExpansion, st: State, lw: Lowerer | None) -> None:
    name = p.name
    reads = node.reads
    if p.indirect or name in st.namerefs:
        reads[ALL_VARIABLES] = None
    elif (name.isdigit() and name != "0") or name in ("@", "*", "#"):
        reads[POSITIONAL] = None
    elif name in ("?", "_", "PIPESTATUS"):
        node.status_dep = True
    elif name == "!":
        if lw is not None and lw.last_bg is not None:
            reads[("process", None, f"job:{lw.last_bg.uid}")] = None
        else:
            reads[ALL_PROCESSES] = None
    elif name in ("$", "0", "-"):
        pass
    else:
        reads[("variable", None, name)] = None
        if p.op in (":=", "=") and lw is not None:
            var_write(lw, node, name)


def scan_word(node: CNode, w: object, st: State, lw: Lowerer | None = None) -> None:
    scan_node(node, w, st, lw)


def scan_reads(lw: Lowerer, node: CNode, n: SimpleCommand, st: State) -> None:
    for a in n.assignments:
        scan_node(node, a.value, st, lw)
        if a.subscript is not None:
            scan_node(node, a.subscript, st, lw)
    for w in n.words:
        if len(w.parts) == 1 and type(w.parts[0]) is Literal:
            continue
        scan_node(node, w, st, lw)
    if n.redirects:
        scan_redirect_reads(lw, node, n.redirects, st)


def scan_redirect_reads(lw: Lowerer, node: CNode, rs: tuple[Redirect, ...], st: State) -> None:
    for r in rs:
        target = r.target
        if isinstance(target, HereDoc):
            if not target.quoted:
                scan_node(node, target.body, st, lw)
        else:
            scan_node(node, target, st, lw)


# --------------------------------------------------------------------------- programs


def to_args(argv: tuple[Field, ...] | list[Field], via: str) -> list[Arg]:
    from bashflow.compile.cmdspec import Arg

    out: list[Arg] = []
    for i, f in enumerate(argv):
        text: str | None
        glob = False
        if f.exact:
            text = f.text
        elif f.glob and not f.dotdot and not f.tainted:
            text, glob = f.text + "*", True
        else:
            text = None
        if text is not None and via.startswith("find") and "{}" in text:
            text = None
        out.append(Arg(text, i, glob, f.split))
    return out


@functools.lru_cache(maxsize=4096)
def _usage(key: tuple[tuple[str | None, bool, bool], ...]) -> Usage:
    """`cmdspec.usage` by argv (a pure function of it; scripts repeat their commands)."""
    from bashflow.compile.cmdspec import Arg, usage

    return usage([Arg(t, i, g, m) for i, (t, g, m) in enumerate(key)])


@functools.lru_cache(maxsize=4096)
def _exec_usage(argv: tuple[Field, ...], find: bool) -> Usage:
    args = to_args(argv, "find" if find else "")
    return _usage(tuple((a.text, a.glob, a.many) for a in args))


def clear_caches() -> None:
    """Forget memoised `cmdspec.usage` results (tests that swap the specs)."""
    _exec_usage.cache_clear()
    _usage.cache_clear()


def exec_effects(lw: Lowerer, node: CNode, ex: Exec) -> None:

    prog = posixpath.basename(ex.argv[0].text) if ex.argv and ex.argv[0].exact else "?"
    u = _exec_usage(ex.argv, ex.via.startswith("find"))
    node.reads[CWD] = None
    node.reads[ENV] = None
    if node.spec is None and u.spec is not None:
        node.spec = {"name": u.spec, "class": u.klass}
    apply_usage(lw, node, u, prog, ex.cwd, 0)


def apply_usage(lw: Lowerer, node: CNode, u: Usage, prog: str, cwd: str | None, depth: int) -> None:
    from bashflow.compile.cmdspec import Arg, usage

    if u.spec is None:
        node.barrier(f"no command spec for `{prog}`")
    elif u.opaque:
        why = f": {u.notes[-1]}" if u.notes else ""
        node.barrier(f"the arguments of `{prog}` could not be interpreted{why}")
    if u.code:
        if prog in SHELLS:
            lw.pending_code.setdefault(
                node.uid, f"`{prog}` runs a script the compiler cannot follow"
            )
        else:
            node.barrier(f"`{prog}` runs code the compiler cannot follow")
    for uses, kind, write in (
        (u.reads, "file", False),
        (u.writes, "file", True),
        (u.read_trees, "tree", False),
        (u.write_trees, "tree", True),
    ):
        for pu in uses:
            base = cwd
            if pu.base is not None:
                base = resolve_text(pu.base.text, cwd) if pu.base.text is not None else None
            r = _use_res(pu.arg, base, kind)
            if r is None:
                continue
            (node.writes if write else node.reads)[r] = None
    if u.stdin:
        node.reads[STDIN] = None
        node.writes[STDIN] = None
    if u.stdout:
        node.writes[STDOUT] = None
    if u.network == "read":
        node.reads[NET_READ] = None
    elif u.network == "write":
        node.writes[NET_WRITE] = None
    if depth >= MAX_RUNS_DEPTH and u.runs:
        node.barrier(f"`{prog}` runs commands nested too deeply")
        return
    for run in u.runs:
        if not run:
            continue
        inner = list(run)
        fixed: list[Arg] = []
        for i, a in enumerate(inner):
            text = a.text
            if text is not None and prog in ("find", "xargs") and "{}" in text:
                text = None
            fixed.append(Arg(text, i, a.glob, a.many))
        if prog == "xargs" and not fixed[-1].many:
            fixed.append(Arg(None, len(fixed), False, True))  # xargs appends its input words
        name = fixed[0].text
        inner_prog = posixpath.basename(name) if name is not None else "?"
        if name is None:
            node.barrier(f"`{prog}` runs a command that is not known statically")
            continue
        apply_usage(lw, node, usage(fixed), inner_prog, cwd, depth + 1)


def _use_res(arg: Arg, base: str | None, kind: str) -> Res | None:
    text = arg.text
    if text is None:
        return (kind, None, None)
    if text.startswith(DEVICES_QUIET) or text == "-":
        return None
    if text.startswith("/dev/fd/") or text == "/dev/stdin":
        return STDIN if text in ("/dev/stdin", "/dev/fd/0") else ("stream", None, "fd" + text[8:])
    path = resolve_text(text, base)
    if arg.glob and kind == "file":
        kind = "glob"
    return (kind, path, None)


def call_effects(node: CNode, name: str) -> None:
    node.calls.add(name)
    node.reads[("function", None, name)] = None


def background(lw: Lowerer, node: CNode) -> None:
    node.background = True
    node.boundary = True
    node.writes[("process", None, f"job:{node.uid}")] = None
    lw.last_bg = node


# --------------------------------------------------------------------------- builtins


def _operands(argv: list[Field]) -> tuple[list[Field], str]:
    ops: list[Field] = []
    flags = ""
    for i, f in enumerate(argv[1:], 1):
        if f.exact and f.text == "--":
            ops.extend(argv[i + 1 :])
            break
        if not ops and f.exact and f.text[:1] in ("-", "+") and len(f.text) > 1:
            flags += f.text[1:]
        else:
            ops.append(f)
    return ops, flags


def builtin_effects(lw: Lowerer, node: CNode, argv: list[Field], st: State) -> None:
    name = argv[0].text
    if name in ("command", "builtin"):
        ops, flags = _operands(argv)
        if "v" in flags or "V" in flags:
            node.reads[ENV] = None
            node.reads[("function", None, None)] = None
            return
        if not ops or not ops[0].exact:
            return
        argv = ops
        name = ops[0].text
    if name in ("read", "mapfile", "readarray"):
        texts = [f.text for f in argv]
        if "-u" in texts and texts.index("-u") + 1 < len(texts):
            res: Res = ("stream", None, "fd" + texts[texts.index("-u") + 1])
        else:
            res = STDIN
        node.reads[res] = None
        node.writes[res] = None
        node.reads[("variable", None, "IFS")] = None
    elif name in ("cd", "pushd", "popd"):
        node.reads[CWD] = None
        node.writes[CWD] = None
        var_write(lw, node, "PWD")
        var_write(lw, node, "OLDPWD")
        if name != "cd":
            var_write(lw, node, "DIRSTACK")
            node.reads[("variable", None, "DIRSTACK")] = None
        ops, _ = _operands(argv)
        if name == "popd":
            pass
        elif not ops:
            node.reads[("variable", None, "HOME")] = None
        elif ops[0].exact and ops[0].text == "-":
            node.reads[("variable", None, "OLDPWD")] = None
        else:
            node.reads[("variable", None, "CDPATH")] = None
            path_read(node, ops[0], st.cwd)
    elif name == "pwd":
        node.reads[CWD] = None
    elif name in ("export", "declare", "typeset", "local", "readonly", "unset"):
        _declare(lw, node, name, argv)
    elif name == "set":
        _set(lw, node, argv)
    elif name == "shift":
        node.reads[POSITIONAL] = None
        node.writes[POSITIONAL] = None
    elif name == "getopts":
        node.reads[POSITIONAL] = None
        var_write(lw, node, "OPTIND")
        var_write(lw, node, "OPTARG")
        node.reads[("variable", None, "OPTIND")] = None
    elif name in ESCAPES:
        node.escapes.add(name)
        if len(argv) == 1:
            node.status_dep = True
        if name in ("break", "continue") and len(argv) > 1 and argv[1].text not in ("1",):
            node.escapes.add("exit")  # leaves more than the innermost loop: never cheaper
    elif name in ("wait", "jobs"):
        node.reads[ALL_PROCESSES] = None
    elif name == "trap":
        ops, flags = _operands(argv)
        if not ("p" in flags or "l" in flags or len(ops) < 2):
            node.barrier("a `trap` handler runs at a time the compiler cannot know")
    elif name in BARRIER_BUILTINS:
        if name in ("source", "."):
            lw.allexport = True  # the file may export anything
        node.barrier(f"`{name}` changes the shell in ways the compiler does not follow")
    elif name in ("test", "["):
        for i, f in enumerate(argv):
            if not f.exact:
                continue
            if f.text in FILE_TESTS and i + 1 < len(argv):
                path_read(node, argv[i + 1], st.cwd)
            elif f.text in ("-nt", "-ot", "-ef"):
                path_read(node, argv[i - 1], st.cwd)
                if i + 1 < len(argv):
                    path_read(node, argv[i + 1], st.cwd)
            elif f.text == "-v" and i + 1 < len(argv):
                named_var_read(node, [argv[i + 1]])
    elif name in ("type", "hash"):
        node.reads[ENV] = None
        node.reads[("function", None, None)] = None
    if name in ("echo", "printf", "pwd", "type", "set", "declare", "typeset", "export", "jobs"):
        node.writes[STDOUT] = None


def _set(lw: Lowerer, node: CNode, argv: list[Field]) -> None:
    """`set`: options (a barrier: they change how every later command runs; `-e` and `-a`
    are also noted for the graph), positional parameters, or with no argument a listing."""
    if len(argv) == 1:
        node.reads[ALL_VARIABLES] = None
        node.writes[STDOUT] = None
        return
    i = 1
    options = False
    while i < len(argv):
        f = argv[i]
        t = f.text if f.exact else ""
        if not t:
            lw.errexit = lw.allexport = True
            node.barrier("`set` with options that are not known statically")
            return
        if t == "--" or t == "-":
            node.writes[POSITIONAL] = None
            break
        if t[0] not in "-+":
            node.writes[POSITIONAL] = None
            break
        options = True
        on = t[0] == "-"
        letters = t[1:]
        if "o" in letters and i + 1 < len(argv):
            i += 1
            name = argv[i].text if argv[i].exact else ""
            lw.errexit = lw.errexit or (on and name in ("errexit", ""))
            lw.allexport = lw.allexport or (on and name in ("allexport", ""))
        lw.errexit = lw.errexit or (on and "e" in letters)
        lw.allexport = lw.allexport or (on and "a" in letters)
        i += 1
    if options:
        node.barrier("`set` changes shell options")


def _declare(lw: Lowerer, node: CNode, name: str, argv: list[Field]) -> None:
    ops, flags = _operands(argv)
    if not ops:
        node.reads[ALL_VARIABLES] = None
        if "f" in flags or "F" in flags:
            node.reads[("function", None, None)] = None
        return
    for f in ops:
        if not f.exact:
            node.writes[ALL_VARIABLES] = None
            node.writes[ENV] = None
            if name == "export" or "x" in flags:
                lw.allexport = True
            continue
        var = f.text.split("=", 1)[0].rstrip("+").split("[", 1)[0]
        if name == "unset" and "f" in flags:
            node.writes[("function", None, var)] = None
            continue
        if name != "unset" and ("f" in flags or "F" in flags):
            node.reads[("function", None, var)] = None
            if name == "export":
                node.writes[ENV] = None
            continue
        if name != "unset" and "=" not in f.text and "p" in flags:
            node.reads[("variable", None, var)] = None
            continue
        var_write(lw, node, var)
        if name == "export" or "x" in flags:
            node.writes[ENV] = None
            lw.exported.add(var)
