"""policy/extract.py - walk the syntax tree and yield every place something runs, is read or written.

Every node class of `parser/syntax.py` has an entry in `NODE_HANDLING` (a test checks it):
what is not handled is a finding (BF115), never a silent allow. The walker follows control flow
with a `State` (known variables, arrays, the working directory, functions, aliases), joins it
where branches meet, forgets what a loop body assigns before walking it, and re-parses literal
`eval` / `sh -c` / `trap` / alias payloads with `bashflow.parse`. Builtins live in
`policy/builtins.py`; per-program knowledge in `programs.py` and `fileargs.py`.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from bashflow.errors import ParseError
from bashflow.parser.syntax import (
    Arith,
    ArithCommand,
    ArithFor,
    ArrayLiteral,
    Assignment,
    BraceGroup,
    Case,
    CommandList,
    CondBinary,
    CondCommand,
    CondNode,
    CondUnary,
    CondWord,
    Coproc,
    For,
    FunctionDef,
    HereDoc,
    If,
    ListItem,
    Literal,
    Node,
    Pipeline,
    Redirect,
    Script,
    Select,
    SimpleCommand,
    Subshell,
    While,
    Word,
    children,
)
from bashflow.policy.shapes import assigned_names, literal_output, terminates, word_literal
from bashflow.policy.values import (
    EMPTY,
    TAINTED,
    UNKNOWN,
    Access,
    Effect,
    EnvSet,
    Field,
    Flag,
    Saved,
    State,
    join_fields,
)
from bashflow.policy.words import expand_word
from bashflow.source import Source, Span

# How each syntax node class is handled. "command": run_command dispatch; "part": word
# expansion; "arith"/"cond": sub-language walkers; "structure": walked by its parent.
NODE_HANDLING: dict[str, str] = {
    **dict.fromkeys(
        [
            "SimpleCommand",
            "BraceGroup",
            "Subshell",
            "If",
            "While",
            "For",
            "Select",
            "ArithFor",
            "Case",
            "CondCommand",
            "ArithCommand",
            "FunctionDef",
            "Coproc",
        ],
        "command",
    ),
    **dict.fromkeys(
        [
            "Literal",
            "Escaped",
            "SingleQuoted",
            "AnsiCQuoted",
            "DoubleQuoted",
            "LocaleQuoted",
            "ParamExpansion",
            "CommandSub",
            "ArithSub",
            "ProcessSub",
            "BadSubstitution",
            "Glob",
            "ExtGlob",
            "BraceExpansion",
            "BraceRange",
            "Tilde",
            "ArrayLiteral",
            "ArrayElement",
        ],
        "part",
    ),
    **dict.fromkeys(
        [
            "ArithNumber",
            "ArithVar",
            "ArithWord",
            "ArithUnary",
            "ArithPostfix",
            "ArithBinary",
            "ArithAssign",
            "ArithTernary",
            "ArithComma",
            "ArithGroup",
            "Arith",
        ],
        "arith",
    ),
    **dict.fromkeys(
        ["CondWord", "CondUnary", "CondBinary", "CondNot", "CondAnd", "CondOr", "CondGroup"], "cond"
    ),
    **dict.fromkeys(
        [
            "Script",
            "CommandList",
            "ListItem",
            "AndOr",
            "Pipeline",
            "IfClause",
            "CaseItem",
            "Redirect",
            "HereDoc",
            "Assignment",
            "Word",
        ],
        "structure",
    ),
}

ARITH_COMPARE = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
MAX_PAYLOAD_DEPTH = 12
MAX_LOOP_VALUES = 4
SAFE_DEVICES = ("/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/fd/", "/proc/self/fd/")


def kids(n: object) -> Iterator[Any]:
    return children(cast(Node, n))


class BudgetExceeded(Exception):
    """The walk took longer than its time budget."""


class Walker:
    """One walk over one script; not shared between threads (check creates one per call)."""

    def __init__(self, source: Source, *, home: str, deadline: float) -> None:
        self.source = source
        self.home = home
        self.deadline = deadline
        self.effects: list[Effect] = []
        self.override: Span | None = None
        self.depth = 0
        self.steps = 0
        self.stack: list[str] = []
        # one frame per inlined call: the values `local` names had before the call declared
        # them, restored at return (bash's dynamic scoping)
        self.local_frames: list[dict[str, Saved]] = []
        self.inlined: dict[str, int] = {}
        self.written: set[str] = set()
        self.func_assigned: set[str] = set()
        self.func_cd = False
        self.func_tainted: set[str] = set()
        self.dotglob = False
        self.assoc: set[str] = set()
        self.integers: set[str] = set()
        self.loops = 0
        self._handlers = self.handlers()
        self.defs: list[tuple[FunctionDef, Span | None]] = []

    # ------------------------------------------------------------------ effects

    def span(self, span: Span) -> Span:
        return self.override if self.override is not None else span

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def flag(self, code: str, message: str, span: Span, *, definite: bool = False) -> None:
        self.effects.append(Flag(code, message, self.span(span), definite))

    def tick(self) -> None:
        self.steps += 1
        if self.steps & 15 == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded

    # ------------------------------------------------------------------ entry points

    def run_script(self, script: Script, st: State) -> None:
        initial = st.fork()
        self.run_list(script.body, st)
        # Functions never called by name are still checked, in a pessimistic state.
        pending = [(d, o) for d, o in self.defs if d.name not in self.inlined]
        for fdef, override in pending:
            pess = st.fork()
            pess.absorb([initial])
            saved, self.override = self.override, override
            self.stack.append(fdef.name)
            try:
                self.run_command(fdef.body, pess)
            finally:
                self.stack.pop()
                self.override = saved

    def sub_check(self, code: Field, span: Span, st: State, what: str) -> None:
        """Parse and check a payload (`eval`, `sh -c`, `trap`, alias) in state `st`."""
        if not code.exact:
            self.flag("BF103", f"{what} payload is not known statically", span)
            return
        if self.depth >= MAX_PAYLOAD_DEPTH:
            self.flag("BF100", f"{what} payloads nested too deeply", span, definite=True)
            return
        from bashflow.parser import parse_source

        try:
            tree = parse_source(Source(code.text, "<payload>"))
        except ParseError as err:
            self.flag(
                "BF100", f"{what} payload is not valid bash: {err.message}", span, definite=True
            )
            return
        saved, self.override = self.override, self.span(span)
        self.depth += 1
        try:
            self.run_list(tree.body, st)
        finally:
            self.depth -= 1
            self.override = saved

    # ------------------------------------------------------------------ lists

    def run_list(self, cl: CommandList, st: State) -> None:
        for item in cl.items:
            self.run_item(item, st)

    def run_item(self, item: ListItem, st: State) -> None:
        ao = item.command
        target = st.fork() if item.background else st
        target.cd_failed = None
        self.run_pipeline(ao.first, target)
        # `a && b && c`: c sees b's effects; where the chain may stop, states join. A stage
        # that is `exit`/`return` ends its path (so `cd d || exit 1` keeps cwd = d). A `cd`
        # that fails leaves the shell where it was: that path stops at `&&`, goes on at `||`
        # and after the list.
        exits: list[State] = []
        for op, p in ao.rest:
            failed, target.cd_failed = target.cd_failed, None
            exits.append(target.fork())
            if failed is not None:
                (exits[-1] if op == "&&" else target).set_cwds(failed)
            if terminates(p):
                self.run_pipeline(p, target.fork())
                stop = exits.pop()
                target.vars, target.arrays = stop.vars, stop.arrays
                target.cwd, target.alt_cwds = stop.cwd, stop.alt_cwds
                target.positional, target.namerefs = stop.positional, stop.namerefs
            else:
                self.run_pipeline(p, target)
        failed, target.cd_failed = target.cd_failed, None
        if failed is not None:
            target.set_cwds(target.cwds() + failed)
        target.absorb(exits)

    def run_pipeline(self, p: Pipeline, st: State) -> None:
        if len(p.commands) == 1:
            self.run_command(p.commands[0], st)
            return
        stdin: Field = UNKNOWN
        for cmd in p.commands:
            self.run_command(cmd, st.fork(), stdin)
            stdin = literal_output(cmd)

    def run_command(self, cmd: Any, st: State, stdin: Field = UNKNOWN) -> None:
        self.tick()
        handler = self._handlers.get(type(cmd).__name__)
        if handler is None:
            self.flag(
                "BF115", f"construct `{type(cmd).__name__}` is not handled by the checker", cmd.span
            )
            return
        handler(cmd, st, stdin)

    def handlers(self) -> dict[str, Callable[[Node, State, Field], None]]:
        return {
            "SimpleCommand": self.simple,  # type: ignore[dict-item]
            "BraceGroup": self.brace_group,  # type: ignore[dict-item]
            "Subshell": self.subshell,  # type: ignore[dict-item]
            "If": self.if_,  # type: ignore[dict-item]
            "While": self.while_,  # type: ignore[dict-item]
            "For": self.for_,  # type: ignore[dict-item]
            "Select": self.for_,  # type: ignore[dict-item]
            "ArithFor": self.arith_for,  # type: ignore[dict-item]
            "Case": self.case,  # type: ignore[dict-item]
            "CondCommand": self.cond_command,  # type: ignore[dict-item]
            "ArithCommand": self.arith_command,  # type: ignore[dict-item]
            "FunctionDef": self.function_def,  # type: ignore[dict-item]
            "Coproc": self.coproc,  # type: ignore[dict-item]
        }

    # ------------------------------------------------------------------ compounds

    def brace_group(self, n: BraceGroup, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.run_list(n.body, st)

    def subshell(self, n: Subshell, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.run_list(n.body, st.fork())

    def if_(self, n: If, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        branches: list[State] = []
        for clause in n.clauses:
            self.run_list(clause.condition, st)
            b = st.fork()
            self.run_list(clause.body, b)
            branches.append(b)
        if n.else_body is not None:
            b = st.fork()
            self.run_list(n.else_body, b)
            branches.append(b)
        st.absorb(branches)

    def loop_prepare(self, body: object, st: State) -> None:
        called: set[str] = set()
        names, tainted, cd = assigned_names(body, called)
        if any(name in st.funcs for name in called):
            names |= self.func_assigned
            tainted |= self.func_tainted
            cd = cd or self.func_cd
        st.forget(names, tainted, cwd=cd)

    def while_(self, n: While, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.loop_prepare(n, st)
        self.run_list(n.condition, st)
        b = st.fork()
        self.run_list(n.body, b)
        st.absorb([b])

    def for_(self, n: For | Select, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        if n.words is None:
            values = list(st.positional) if st.positional is not None else [UNKNOWN]
        else:
            values = [f for w in n.words for f in self.expand(w, st)]
            for f in values:  # listing the glob's directory is a read
                if f.glob and not f.exact and "/" in f.text:
                    self.access(f, "read", n.span, st, what="a glob")
        self.loop_prepare(n.body, st)
        self.emit(EnvSet(n.name, self.span(n.span), "a for loop"))  # `for PATH in /tmp` sets PATH
        distinct = list(dict.fromkeys(values))
        per_value = 0 < len(distinct) <= MAX_LOOP_VALUES and self.loops < 2
        runs = distinct if per_value else [join_fields(distinct)]
        branches: list[State] = []
        self.loops += 1  # nested loops walk one joined value (no exponential blow-up)
        try:
            for value in runs:
                b = st.fork()
                b.vars[n.name] = value
                self.run_list(n.body, b)
                branches.append(b)
        finally:
            self.loops -= 1
        st.absorb(branches)
        st.vars[n.name] = join_fields(distinct) if distinct else EMPTY

    def arith_for(self, n: ArithFor, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.loop_prepare(n, st)
        for a in (n.init, n.condition, n.step):
            if a is not None:
                self.arith(a, st)
        b = st.fork()
        self.run_list(n.body, b)
        st.absorb([b])

    def case(self, n: Case, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.expand(n.word, st)
        branches: list[State] = []
        for item in n.items:
            for p in item.patterns:
                self.expand(p, st)
            if item.body is not None:
                b = st.fork()
                self.run_list(item.body, b)
                branches.append(b)
        st.absorb(branches)

    def cond_command(self, n: CondCommand, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.cond(n.expr, st)

    def arith_command(self, n: ArithCommand, st: State, stdin: Field) -> None:
        self.redirects(n.redirects, st)
        self.arith(n.arith, st)

    def function_def(self, n: FunctionDef, st: State, stdin: Field) -> None:
        from bashflow.policy.builtins import SHELL_NAMES

        if n.name in SHELL_NAMES:
            self.flag(
                "BF112",
                f"function `{n.name}` shadows a shell builtin or keyword",
                n.span,
                definite=True,
            )
        st.funcs[n.name] = n
        self.defs.append((n, self.override))
        names, tainted, cd = assigned_names(n.body)
        self.func_assigned |= names
        self.func_tainted |= tainted
        self.func_cd = self.func_cd or cd

    def coproc(self, n: Coproc, st: State, stdin: Field) -> None:
        self.emit(EnvSet(n.name or "COPROC", self.span(n.span), "coproc"))
        st.arrays[n.name or "COPROC"] = None
        self.run_command(n.body, st.fork())

    def call_function(self, fdef: FunctionDef, argv: list[Field], st: State, stdin: Field) -> None:
        name = fdef.name
        if name in self.stack or self.inlined.get(name, 0) >= 16:
            self.inlined.setdefault(name, 1)
            return
        self.inlined[name] = self.inlined.get(name, 0) + 1
        saved = st.positional
        st.positional = tuple(argv[1:]) if all(not f.split for f in argv[1:]) else None
        self.stack.append(name)
        self.local_frames.append({})
        try:
            self.run_command(fdef.body, st, stdin)
        finally:
            self.stack.pop()
            st.positional = saved
            for local, before in self.local_frames.pop().items():
                before.restore(local, st)

    def declare_local(self, name: str, st: State) -> None:
        """`local NAME` (or `declare` without -g) inside an inlined call: remember what NAME
        was, so the return restores it."""
        if self.local_frames and name not in self.local_frames[-1]:
            self.local_frames[-1][name] = Saved.of(name, st)

    # ------------------------------------------------------------------ simple commands

    def simple(self, n: SimpleCommand, st: State, stdin: Field) -> None:
        from bashflow.policy.builtins import dispatch

        prefix: list[str] = []
        for a in n.assignments:
            value = self.assignment_value(a, st)
            if a.name in self.integers:  # `declare -i x; x=$v` evaluates $v as arithmetic
                self.arith_value(value, a.span, st, f"integer variable `{a.name}`")
            name = self.resolve_nameref(a.name, st, a.span)
            self.emit(
                EnvSet(
                    name,
                    self.span(a.span),
                    "prefix" if n.words else "assignment",
                    word_literal(n.words[0]) if n.words else "",
                )
            )
            if n.words:
                prefix.append(name)
            elif a.subscript is None and not isinstance(a.value, ArrayLiteral):
                st.vars[name] = value if not a.append else (st.vars.get(name, UNKNOWN) + value)
                st.arrays.pop(name, None)
            elif isinstance(a.value, ArrayLiteral):
                st.arrays[name] = self.array_values(a.value, st)
            else:
                st.arrays[name] = None
        argv: list[Field] = []
        for w in n.words:
            argv.extend(self.expand(w, st))
        for f in argv:  # expanding a glob lists its directory: a read, whatever the command
            if f.glob and not f.exact and "/" in f.text:
                self.access(f, "read", n.span, st, what="a glob")
        stdin = self.redirects(n.redirects, st, stdin)
        if argv:
            # aliases apply only to an unquoted, unescaped literal first word (`\rm` skips them)
            plain = len(n.words[0].parts) == 1 and type(n.words[0].parts[0]) is Literal
            dispatch(self, argv, st, n.span, stdin, aliases=plain)

    def resolve_nameref(self, name: str, st: State, span: Span) -> str:
        seen = 0
        while name in st.namerefs and seen < 8:
            target = st.namerefs[name]
            if target is None:
                self.flag("BF113", f"`{name}` is a nameref whose target is not known", span)
                return name
            name = target
            seen += 1
        return name

    def assignment_value(self, a: Assignment, st: State) -> Field:
        from bashflow.policy.words import subscript_arith

        if a.subscript is not None:
            subscript_arith(self, a.name, a.subscript, st, a.span)
        if isinstance(a.value, ArrayLiteral):
            self.array_values(a.value, st)
            return UNKNOWN
        fields = self.expand(a.value, st, split=False)
        return fields[0] if len(fields) == 1 else join_fields(fields)

    def array_values(self, lit: ArrayLiteral, st: State) -> tuple[Field, ...] | None:
        out: list[Field] = []
        known = True
        for el in lit.elements:
            if isinstance(el, Word):
                fs = self.expand(el, st)
                known = known and all(not f.split for f in fs)
                out.extend(fs)
            else:
                self.expand(el.key, st)
                self.expand(el.value, st, split=False)
                known = False
        return tuple(out) if known else None

    # ------------------------------------------------------------------ redirections

    def redirects(self, rs: tuple[Redirect, ...], st: State, stdin: Field = UNKNOWN) -> Field:
        for r in rs:
            if r.fd_var is not None:
                self.emit(EnvSet(r.fd_var, self.span(r.span), "redirection"))
                st.vars[r.fd_var] = UNKNOWN
            target = r.target
            if isinstance(target, HereDoc):
                fields = self.expand(target.body, st, split=False)
                stdin = fields[0] if fields else EMPTY
                continue
            fields = self.expand(target, st, split=r.op != "<<<")
            if r.op == "<<<":
                stdin = (fields[0] if fields else EMPTY) + Field("\n")
                continue
            for f in fields:
                if r.op in (">&", "<&"):
                    if f.exact and (f.text == "-" or f.text.rstrip("-").isdigit()):
                        continue  # duplicate or close a descriptor
                    if r.op == "<&":
                        continue  # bash only accepts a descriptor here
                mode = "read" if r.op in ("<", "<&") else "write"
                self.access(f, mode, r.span, st, what="redirection")
                if r.op == "<>":
                    self.access(f, "read", r.span, st, what="redirection")
                if r.op == "<":
                    stdin = UNKNOWN
        return stdin

    def access(
        self, f: Field, mode: str, span: Span, st: State, *, recursive: bool = False, what: str = ""
    ) -> None:
        if f.exact and f.text.startswith(SAFE_DEVICES):
            return
        for cwd in st.cwds() if not f.text.startswith("/") else (st.cwd,):
            self.emit(Access(f, mode, self.span(span), cwd, recursive, what, self.dotglob))
            if mode == "write" and f.exact:
                path = f.text if f.text.startswith("/") else posixpath.join(cwd or "/", f.text)
                self.written.add(posixpath.normpath(path))

    # ------------------------------------------------------------------ words

    def expand(self, w: Word, st: State, *, split: bool = True) -> list[Field]:
        parts = w.parts
        if len(parts) == 1 and type(parts[0]) is Literal:  # the common case, fast
            return [Field(parts[0].text)]
        return expand_word(self, w, st, split=split)

    # ------------------------------------------------------------------ sub-languages

    def arith(self, a: Arith, st: State) -> None:
        from bashflow.policy.arithmetic import walk_arith

        walk_arith(self, a, st)

    def arith_var(self, name: str, span: Span, st: State) -> None:
        from bashflow.policy.arithmetic import arith_var

        arith_var(self, name, span, st)

    def arith_value(self, f: Field, span: Span, st: State, what: str) -> None:
        from bashflow.policy.arithmetic import arith_value

        arith_value(self, f, span, st, what)

    def cond(self, c: CondNode, st: State) -> None:
        stack: list[Any] = [c]
        while stack:
            n = stack.pop()
            if isinstance(n, CondWord):
                self.expand(n.word, st, split=False)
            elif isinstance(n, CondUnary):
                fs = self.expand(n.operand, st, split=False)
                if n.op == "-v":
                    for f in fs:
                        self.check_name(f, n.span, st)
            elif isinstance(n, CondBinary):
                left = self.expand(n.left, st, split=False)
                right = self.expand(n.right, st, split=False)
                if n.op in ARITH_COMPARE:
                    for f in left + right:
                        self.arith_value(f, n.span, st, f"`{n.op}`")
            else:
                stack.extend(kids(n))

    def check_name(self, f: Field, span: Span, st: State) -> None:
        """A variable name given as data (`printf -v`, `read`, `test -v`, `unset`): a subscript
        in it is evaluated, and may run a command."""
        if not f.exact:
            self.flag("BF113", "a variable name that is not known statically is evaluated", span)
            return
        if "[" in f.text:
            sub = f.text[
                f.text.index("[") + 1 : f.text.rindex("]") if "]" in f.text else len(f.text)
            ]
            if "$" in sub or "`" in sub:
                self.sub_check(Field(f": {sub}"), span, st.fork(), "subscript")
                if "$(" in sub or "`" in sub or "<(" in sub:
                    self.flag("BF113", "a variable subscript runs a command", span, definite=True)


__all__ = ["NODE_HANDLING", "TAINTED", "BudgetExceeded", "Walker"]
