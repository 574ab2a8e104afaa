"""compile/effects.py - what one node reads and writes.

Programs: `cmdspec.usage()` on the argv the checker's evaluator built (paths made absolute
against the cwd known at that point; unknown → a path that overlaps every file). Builtins,
functions, assignments, redirections, globs, `test` operands and every `$x` in a node's own
words: this module's own knowledge. Whatever cannot be followed makes the node a barrier.
"""

from __future__ import annotations

import posixpath
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
from bashflow.errors import ParseError
from bashflow.parser.syntax import (
    AnsiCQuoted,
    ArithAssign,
    ArithNumber,
    ArithPostfix,
    ArithUnary,
    ArithVar,
    Assignment,
    CommandSub,
    DoubleQuoted,
    Escaped,
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
    children,
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


class Prepass:
    """Facts about the whole script, gathered in one walk before lowering: names it may
    assign (function bodies are lowered with these forgotten), whether it may change the
    working directory, every function it defines, what it exports, and `set -e`."""

    def __init__(self, script: Script, text: str = "", depth: int = 0) -> None:
        self.depth = depth
        self.assigned: set[str] = set()
        self.cd = False
        self.funcs: dict[str, FunctionDef] = {}
        self.exported: set[str] = set()
        self.allexport = False
        self.errexit = False
        stack: list[Any] = [script]
        while stack:
            n = stack.pop()
            t = type(n)
            if t in LEAVES:
                continue
            if t is SimpleCommand and n.words:
                self._command(n)
            elif t is Assignment or t is For or t is Select or t is ArithVar:
                self.assigned.add(n.name)
            elif t is FunctionDef:
                self.funcs[n.name] = n
            stack.extend(children(n))
        first_line = text.split("\n", 1)[0]
        if first_line.startswith("#!") and any(
            w.startswith("-") and not w.startswith("--") and "e" in w
            for w in first_line.split()[1:]
        ):
            self.errexit = True

    def _command(self, n: SimpleCommand) -> None:
        first = literal(n.words[0])
        rest = [literal(w) for w in n.words[1:]]
        if first in ("cd", "pushd", "popd", "eval", "source", ".", "builtin", "command"):
            self.cd = True
        if first in ("read", "mapfile", "readarray", "printf", "getopts", "eval", "source", "."):
            self.assigned.update(r for r in rest if r.isidentifier())
            if first in ("source", ".") or (first == "eval" and not self._payload(rest)):
                self.allexport = True  # what they run is not known here
        if first == "set":
            for i, r in enumerate(rest):
                if r.startswith("-") and not r.startswith("--"):
                    self.errexit = self.errexit or "e" in r
                    self.allexport = self.allexport or "a" in r
                    if r == "-o" and i + 1 < len(rest):
                        self.errexit = self.errexit or rest[i + 1] == "errexit"
                        self.allexport = self.allexport or rest[i + 1] == "allexport"
                if r == "":  # not literal: any option may be set
                    self.errexit = self.allexport = True
        if first in ("export", "declare", "typeset", "local", "readonly", "unset"):
            flags = "".join(r[1:] for r in rest if r.startswith("-"))
            for r in rest:
                if not r:
                    if first == "export" or "x" in flags:
                        self.allexport = True
                    continue
                if r.startswith("-"):
                    continue
                name = r.split("=", 1)[0].rstrip("+").split("[", 1)[0]
                self.assigned.add(name)
                if first == "export" or "x" in flags:
                    self.exported.add(name)

    def _payload(self, rest: list[str]) -> bool:
        """Fold a literal `eval` payload into these facts; False when it is not literal."""
        if any(not r for r in rest) or self.depth > 8:
            return False
        from bashflow.parser import parse_source
        from bashflow.source import Source

        try:
            tree = parse_source(Source(" ".join(rest), "<payload>"))
        except ParseError:
            return True  # bash fails on it: it exports nothing
        inner = Prepass(tree, depth=self.depth + 1)
        self.assigned |= inner.assigned
        self.cd = self.cd or inner.cd
        self.exported |= inner.exported
        self.allexport = self.allexport or inner.allexport
        self.errexit = self.errexit or inner.errexit
        return True


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
    pre = lw.pre
    return (
        pre.allexport
        or name in pre.exported
        or name in PROXY_VARS
        or (name.upper() == name and name.lower() != name)
    )


def var_write(lw: Lowerer, node: CNode, name: str) -> None:
    node.writes[("variable", None, name)] = None
    if exported(lw, name):
        node.writes[ENV] = None


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
        if t in LEAVES:
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
                if lw is not None and exported(lw, target.name):
                    node.writes[ENV] = None
        elif t is Tilde and x.user == "":
            reads[("variable", None, "HOME")] = None
        stack.extend(children(x))


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
        out.append(Arg(text, i, glob, f.split or glob))
    return out


def exec_effects(lw: Lowerer, node: CNode, ex: Exec) -> None:
    from bashflow.compile.cmdspec import usage

    args = to_args(ex.argv, ex.via)
    prog = posixpath.basename(ex.argv[0].text) if ex.argv and ex.argv[0].exact else "?"
    u = usage(args)
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
        ops, flags = _operands(argv)
        has_sep = any(f.exact and f.text == "--" for f in argv[1:])
        if flags.replace("-", "").replace("+", ""):
            node.barrier("`set` changes shell options")
        if ops or has_sep:
            node.writes[POSITIONAL] = None
        if len(argv) == 1:
            node.reads[ALL_VARIABLES] = None
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
