"""compile/effects.py - what one node reads and writes.

Programs: `cmdspec.usage()` on the argv the checker's evaluator built (paths made absolute
against the cwd known at that point; unknown → a path that overlaps every file). Functions,
assignments, redirections, globs and every `$x` in a node's own words: this module's own
knowledge (builtins: `builtins.py`). Whatever cannot be followed makes the node a barrier.
"""

from __future__ import annotations

import functools
import posixpath
from typing import TYPE_CHECKING, Any

from bashflow.compile.facts import LEAF_TYPES, kids, plain
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
    ArithAssign,
    ArithPostfix,
    ArithUnary,
    ArithVar,
    CommandSub,
    HereDoc,
    Literal,
    ParamExpansion,
    ProcessSub,
    Redirect,
    SimpleCommand,
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
MAX_RUNS_DEPTH = 4
IFS: Res = ("variable", None, "IFS")
GLOB_VARIABLES = ("GLOBIGNORE", "LC_ALL", "LC_COLLATE")
DEVICES_QUIET = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero", "/dev/full")


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


# --------------------------------------------------------------------------- paths


def pattern(f: Field) -> tuple[str | None, bool]:
    """A field's text (None = unknown) and whether it is a glob pattern: a value known only
    up to a literal prefix stands for every name with that prefix (unless it may hold `..`
    or comes from data)."""
    if f.exact:
        return f.text, False
    if f.glob and not f.dotdot and not f.tainted:
        return f.text + "*", True
    return None, False


def resolve(f: Field, cwd: str | None) -> tuple[str | None, bool]:
    """A field as an absolute path (None = unknown) and whether it is a glob pattern."""
    text, glob = pattern(f)
    return (resolve_text(text, cwd) if text is not None else None), glob


def resolve_text(text: str, cwd: str | None) -> str | None:
    if not text.startswith("/"):
        if cwd is None:
            return None
        text = posixpath.join(cwd, text)
    return normalize(text)


def normalize(path: str) -> str:
    """An absolute path, lexically normalised (`..` and `.` resolved, `//x` is `/x`)."""
    n = posixpath.normpath(path)
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
    for name in GLOB_VARIABLES:  # which names match, and in which order
        node.reads[("variable", None, name)] = None
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


def var_write(node: CNode, name: str) -> None:
    node.writes[("variable", None, name)] = None


def named_var_read(node: CNode, fields: list[Field]) -> None:
    for f in fields:
        if f.exact and f.text.split("[", 1)[0].isidentifier():
            node.reads[("variable", None, f.text.split("[", 1)[0])] = None
        else:
            node.reads[ALL_VARIABLES] = None


def scan_node(node: CNode, root: object, st: State, lw: Lowerer) -> None:
    """Variables read (and written by `${x:=v}` and arithmetic) by the words, arithmetic and
    conditions under `root`, not counting the bodies of substitutions (their own nodes)."""
    reads = node.reads
    stack: list[Any] = [root]
    while stack:
        x = stack.pop()
        t = type(x)
        if t in LEAF_TYPES or (t is Word and plain(x)):
            continue
        if t is CommandSub or t is ProcessSub:
            reads[IFS] = None  # its output is split on IFS
            continue
        if t is ParamExpansion:
            reads[IFS] = None  # unquoted, the value is split on IFS
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


def _param(node: CNode, p: ParamExpansion, st: State, lw: Lowerer) -> None:
    name = p.name
    reads = node.reads
    if p.indirect or name in st.namerefs:
        reads[ALL_VARIABLES] = None
    elif (name.isdigit() and name != "0") or name in ("@", "*", "#"):
        reads[POSITIONAL] = None
    elif name in ("?", "_", "PIPESTATUS"):
        node.status_dep = True
    elif name == "!":
        if lw.last_bg is not None:
            reads[("process", None, f"job:{lw.last_bg.uid}")] = None
        else:
            reads[ALL_PROCESSES] = None
    elif name in ("$", "0", "-"):
        pass
    elif name in ("RANDOM", "SRANDOM"):  # reading moves the generator
        reads[("variable", None, name)] = None
        node.writes[("variable", None, name)] = None
    else:
        reads[("variable", None, name)] = None
        if p.op in (":=", "="):
            var_write(node, name)


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
        text, glob = pattern(f)
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


def made_parents(node: CNode, path: str, cwd: str | None) -> None:
    """`mkdir -p src/net` may create `src` too: a later `echo > src/main.c` must wait for it.
    The ancestors it may create are written: those below the cwd, or (outside it) those two
    or more levels deep (never `/` or `/tmp`, which would order everything)."""
    parent = posixpath.dirname(path)
    while parent and parent != "/":
        inside = cwd is not None and parent.startswith(cwd.rstrip("/") + "/")
        if not inside and parent.count("/") < 2:
            break
        if cwd is not None and parent == cwd:
            break
        node.writes[("tree", parent, None)] = None
        parent = posixpath.dirname(parent)


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
            if write and prog == "mkdir" and r[1] is not None:
                made_parents(node, r[1], cwd)
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
