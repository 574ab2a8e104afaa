"""compile/lower.py - the syntax tree becomes nodes (one per command that could run) with effects.

`Lowerer` is the policy checker's walker (`policy/extract.py`) with the node-making parts
replaced: words are still expanded by the checker's evaluator (known variable values, `cd`,
`~`, aliases, wrappers), builtins still go through its dispatcher, and every effect the
checker reports (`Exec`, `EnvSet`, `Flag`) lands on the node being lowered. Unlike the checker,
every command is visited exactly once: loops are walked once with their assigned names
forgotten, and function bodies once, where they are defined, in a pessimistic state (a call
then carries the function's effects, see `graph.py`).

What each command reads and writes is decided in `effects.py`; this module owns the shape:
kinds, parents, roles, control dependencies (`&&`, `||`, `if`, loop conditions), subshell
boundaries and redirected standard input.
"""

from __future__ import annotations

from typing import Any

from bashflow.compile import builtins as bi
from bashflow.compile import effects as fx
from bashflow.compile import facts
from bashflow.compile.model import (
    ALL_VARIABLES,
    CWD,
    PATH_KINDS,
    POSITIONAL,
    STDIN,
    CNode,
)
from bashflow.errors import ParseError
from bashflow.parser.syntax import (
    ArithCommand,
    ArithFor,
    ArrayLiteral,
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
    Pipeline,
    Redirect,
    Script,
    Select,
    SimpleCommand,
    Subshell,
    While,
    Word,
)
from bashflow.policy.builtins import BUILTINS, KEYWORDS, dispatch
from bashflow.policy.extract import Walker
from bashflow.policy.shapes import terminates
from bashflow.policy.values import (
    TAINTED,
    UNKNOWN,
    Effect,
    EnvSet,
    Exec,
    Field,
    Saved,
    State,
    join_fields,
)
from bashflow.source import Source, Span

MAX_PAYLOAD_DEPTH = 12
MAX_INLINE = 8
"""Calls of one function walked in the caller's state; later ones use the summary."""
MAX_INLINE_CHARS = 1500
"""Larger functions always use their summary (walking them at every call costs too much)."""
VISIBLE_PAYLOADS = ("`eval`", "`trap`")
"""Payloads whose commands become nodes (children of the command, role `body`); those of
`alias`, `let`, subscripts and similar fold into the command that runs them."""


class Lowerer(Walker):
    """One lowering of one script (not shared between threads)."""

    def __init__(self, source: Source, script: Script, *, home: str, cwd: str | None) -> None:
        super().__init__(source, home=home, deadline=float("inf"))
        self.script = script
        self.nodes: list[CNode] = []
        self.cur: CNode | None = None
        self.sub_role = "substitution"
        self.flat = 0
        self.bases: list[int | None] = []
        self.last_bg: CNode | None = None
        self.func_defs: dict[str, list[CNode]] = {}
        self._pre: facts.Prepass | None = None
        self.exported: set[str] = set()
        self.allexport = False
        self.errexit = facts.shebang_errexit(source.text)
        self.pending_code: dict[int, str] = {}
        self.defining = 0
        """Inside a function body lowered where it is defined (a pessimistic state: calls
        there take summaries; walking them again would say no more)."""
        self.worth_inlining: dict[int, bool] = {}
        """By function definition: whether walking it at a call says more than its summary
        (its body, lowered where defined, has unknown paths or variables, calls, a `cd`)."""
        self.locals_cache: dict[int, set[str]] = {}
        self.assigned_cache: dict[int, tuple[set[str], set[str], bool, set[str]]] = {}
        self.start = State(cwd=cwd)
        self.list_nodes: dict[int, tuple[CommandList, list[list[CNode]]]] = {}
        """By `id()` of a list of the script's own text (not a payload, not a walk of a
        function body at a call): its items' nodes, for the scheduler (`compile/runplan.py`)."""
        self.pipeline_nodes: dict[int, CNode] = {}
        """By `id()` of a pipeline of the script's own text: its node."""

    # ------------------------------------------------------------------ entry point

    def lower(self) -> list[CNode]:
        self.lower_list(self.script.body, self.start, None, None)
        fx.export_pass(self, self.nodes)
        return self.nodes

    @property
    def pre(self) -> facts.Prepass:
        """Whole-script facts for function bodies and loops that call functions (computed
        on first use: most scripts never need them)."""
        if self._pre is None:
            self._pre = facts.Prepass(self.script)
        return self._pre

    def handlers(self) -> dict[str, Any]:
        return {}  # commands are dispatched by `lower_command`, not the checker's table

    def access(
        self, f: Field, mode: str, span: Span, st: State, *, recursive: bool = False, what: str = ""
    ) -> None:
        """The checker's own file guesses (`policy/fileargs.py`) are not used: the compiler
        takes files from the command specs, its redirections, globs and tests."""

    # ------------------------------------------------------------------ nodes

    def new_node(self, kind: str, parent: CNode | None, role: str | None, span: Span) -> CNode:
        if self.override is not None:  # a payload
            # found verbatim in the script: its own place; else built at run time: shown as
            # the command that runs it
            base = self.bases[-1]
            span = Span(base + span.start, base + span.end) if base is not None else self.override
        text = self.source.text[span.start : span.end]
        node = CNode(len(self.nodes), kind, parent, role, span, text)
        node.hidden = self.flat > 0 or (parent is not None and parent.hidden)
        self.nodes.append(node)
        if parent is not None:
            parent.children.append(node)
        return node

    # ------------------------------------------------------------------ effects from the checker

    def emit(self, effect: Effect) -> None:
        node = self.cur
        if node is None:
            return
        if isinstance(effect, Exec):
            fx.exec_effects(self, node, effect)
        elif (
            isinstance(effect, EnvSet)
            and effect.via != "prefix"
            and effect.via not in fx.ENV_WRAPPERS
        ):
            fx.var_write(node, effect.name)
        # `Access` effects are the checker's own file guesses: the compiler uses the command
        # specs (and its own redirections, globs and tests) instead.

    def flag(self, code: str, message: str, span: Span, *, definite: bool = False) -> None:
        """Whatever the checker cannot follow, the compiler cannot either: a barrier."""
        if self.cur is not None:
            self.cur.barrier(message)

    def call_function(self, fdef: FunctionDef, argv: list[Field], st: State, stdin: Field) -> None:
        """A call: the body is walked again here, hidden under the call node, in the caller's
        state (its arguments as positional parameters), so the call's effects and the state
        after it are as precise as the caller's. Recursion, calls past `MAX_INLINE` of one
        function and functions longer than `MAX_INLINE_CHARS` take the function's summary
        instead (graph.py) and forget what it may change."""
        node = self.cur
        if node is None:
            return
        name = fdef.name
        count = self.inlined.get(name, 0)
        big = fdef.span.end - fdef.span.start > MAX_INLINE_CHARS
        # one definition seen so far, or the call may run another one: the summary unions all
        useful = self.worth_inlining.get(id(fdef), True) and len(self.func_defs.get(name, ())) == 1
        if name in self.stack or count >= MAX_INLINE or big or self.defining or not useful:
            fx.call_effects(node, name)
            names, tainted, cd, calls = self.assigned(fdef.body)
            if calls & set(st.funcs) or calls & set(self.pre.funcs):
                names |= self.pre.assigned
                tainted |= self.pre.tainted
                cd = cd or self.pre.cd
            st.forget(names, tainted, cwd=cd)
            return
        self.inlined[name] = count + 1
        node.reads[("function", None, name)] = None
        self.flat += 1
        wrapper = self.new_node("group", node, "body", node.span)
        wrapper.inline = True
        wrapper.stdin_redirected = node.stdin_redirected
        saved_pos = st.positional
        st.positional = tuple(argv[1:]) if all(not f.split for f in argv[1:]) else None
        saved_locals = [(v, Saved.of(v, st)) for v in self.locals_of(fdef)]
        self.stack.append(name)
        saved_cur, saved_role = self.cur, self.sub_role
        self.cur = wrapper
        try:
            body = fdef.body
            if isinstance(body, BraceGroup) and not body.redirects:
                self.lower_list(body.body, st, wrapper, "body")
            else:
                self.lower_command(body, st, wrapper, "body")
        finally:
            self.cur, self.sub_role = saved_cur, saved_role
            self.stack.pop()
            self.flat -= 1
        st.positional = saved_pos
        for v, saved_local in saved_locals:  # `local` names get their value back at return
            saved_local.restore(v, st)

    def assigned(self, body: object) -> tuple[set[str], set[str], bool, set[str]]:
        """`facts.assigned_in`, once per body (a function is called often; loops nest)."""
        key = id(body)
        hit = self.assigned_cache.get(key)
        if hit is None:
            hit = self.assigned_cache[key] = facts.assigned_in(body)
        return hit

    def locals_of(self, fdef: FunctionDef) -> set[str]:
        key = id(fdef)
        hit = self.locals_cache.get(key)
        if hit is None:
            hit = self.locals_cache[key] = facts.locals_in(fdef.body)
        return hit

    def forget_everything(self, st: State) -> None:
        """After code the compiler cannot see ran in this shell (`source`, `eval "$x"`):
        no variable value, function body or working directory is known any more (a name
        that was a function is then an unknown command: a barrier)."""
        st.vars.clear()
        st.arrays.clear()
        st.funcs.clear()
        st.cwd = None
        st.positional = None

    def sub_check(self, code: Field, span: Span, st: State, what: str) -> None:
        """A payload (`eval`, `trap`, `sh -c`, `xargs sh -c`, `alias`, `let`...): parsed and
        lowered under the current node."""
        node = self.cur
        if node is None:
            return
        if not code.exact:
            node.barrier(f"{what} runs code that is not known statically")
            if what in ("`eval`", "alias"):
                self.forget_everything(st)
            return
        if self.depth >= MAX_PAYLOAD_DEPTH:
            node.barrier(f"{what} payloads nested too deeply")
            return
        from bashflow.parser import parse_source

        try:
            tree = parse_source(Source(code.text, "<payload>"))
        except ParseError as err:
            node.barrier(f"{what} payload is not valid bash: {err.message}")
            return
        if what.endswith("-c`") or what.endswith("`xargs`") or what.startswith("`env"):
            node.payload_ok = True
        visible = what in VISIBLE_PAYLOADS or what.endswith("-c`")
        saved, self.override = self.override, self.span(span)
        where = self.override
        found = self.source.text.find(code.text, where.start, where.end) if code.text else -1
        self.depth += 1
        self.bases.append(found if found >= 0 else None)
        self.flat += 0 if visible else 1
        saved_role = self.sub_role
        try:
            made = self.lower_list(tree.body, st, node, "body")
            for child in made:
                if what != "`eval`" and not what.startswith("`let") and what != "alias":
                    child.boundary = True  # `sh -c`, `trap`: another process or a later time
        finally:
            self.sub_role = saved_role
            self.flat -= 0 if visible else 1
            self.bases.pop()
            self.depth -= 1
            self.override = saved

    def run_list(self, cl: CommandList, st: State) -> None:
        """Called by word expansion for `$( )`, backquotes and `<( )` / `>( )`: their commands
        become children of the node whose word holds them."""
        parent = self.cur
        role = self.sub_role
        if not cl.items:
            return
        try:
            first = cl.items[0]
            if len(cl.items) == 1 and not first.background and not first.command.rest:
                for n in self.lower_list(cl, st, parent, role):
                    n.boundary = True
            else:
                wrapper = self.new_node("subshell", parent, role, cl.span)
                wrapper.boundary = True
                self.cur = wrapper
                self.lower_list(cl, st, wrapper, "body")
        finally:
            self.cur = parent
            self.sub_role = role

    # ------------------------------------------------------------------ lists

    def lower_list(
        self, cl: CommandList, st: State, parent: CNode | None, role: str | None
    ) -> list[CNode]:
        made: list[CNode] = []
        per_item: list[list[CNode]] = []
        for item in cl.items:
            nodes = self.lower_item(item, st, parent, role)
            per_item.append(nodes)
            made.extend(nodes)
        if self.override is None and not any(n.hidden for n in made):
            self.list_nodes.setdefault(id(cl), (cl, per_item))
        return made

    def lower_item(
        self, item: ListItem, st: State, parent: CNode | None, role: str | None
    ) -> list[CNode]:
        ao = item.command
        target = st.fork() if item.background else st
        exits: list[State] = []
        if ao.rest and not (ao.rest[0][0] == "||" and terminates(ao.rest[0][1])):
            # `cd d && make`: when `cd` fails the list stops with the cwd unchanged
            exits.append(target.fork())
        target.cd_failed = None
        made = [self.lower_pipeline(ao.first, target, parent, role)]
        for op, p in ao.rest:
            failed, target.cd_failed = target.cd_failed, None
            exits.append(target.fork())
            if failed is not None and op == "||":
                # `cd d || rm f`: what follows `||` runs only where `cd` failed, in the old cwd
                target.set_cwds(failed)
            if terminates(p):
                node = self.lower_pipeline(p, target.fork(), parent, role)
                target.vars, target.arrays, target.cwd = (
                    exits[-1].vars,
                    exits[-1].arrays,
                    exits[-1].cwd,
                )
                target.positional, target.namerefs = exits[-1].positional, exits[-1].namerefs
                exits.pop()
            else:
                node = self.lower_pipeline(p, target, parent, role)
            prev = made[-1]
            how = "succeeds" if op == "&&" else "fails"
            node.ctrl.append((prev, f"runs only if node {{{prev.uid}}} {how} ({op})"))
            made.append(node)
        target.cd_failed = None  # a `cd` on its own is assumed to succeed (docs/compile.md)
        join(target, exits)
        if item.background:
            for node in made:
                fx.background(self, node)
        return made

    def lower_pipeline(
        self, p: Pipeline, st: State, parent: CNode | None, role: str | None
    ) -> CNode:
        if len(p.commands) == 1:
            span = p.span if (p.negated or p.timed) else None
            node = self.lower_command(p.commands[0], st, parent, role, span)
            if self.override is None and not node.hidden:
                self.pipeline_nodes.setdefault(id(p), node)
            return node
        node = self.new_node("pipeline", parent, role, p.span)
        if self.override is None and not node.hidden:
            self.pipeline_nodes.setdefault(id(p), node)
        saved = self.cur
        self.cur = node
        try:
            for i, cmd in enumerate(p.commands):
                child = self.lower_command(cmd, st.fork(), node, "element")
                child.boundary = True  # each element runs in its own subshell
                child.stdin_pipe = i > 0
        finally:
            self.cur = saved
        return node

    # ------------------------------------------------------------------ commands

    def lower_command(
        self,
        cmd: Any,
        st: State,
        parent: CNode | None,
        role: str | None,
        span: Span | None = None,
    ) -> CNode:
        self.tick()
        kind = KINDS.get(type(cmd).__name__, "command")
        if isinstance(cmd, While) and cmd.until:
            kind = "until"
        node = self.new_node(kind, parent, role, span or cmd.span)
        saved, saved_role = self.cur, self.sub_role
        self.cur = node
        try:
            getattr(self, "l_" + type(cmd).__name__)(cmd, st, node)
        finally:
            self.cur, self.sub_role = saved, saved_role
        return node

    def l_SimpleCommand(self, n: SimpleCommand, st: State, node: CNode) -> None:
        fx.scan_reads(self, node, n, st)
        self.sub_role = "assignment"
        for a in n.assignments:
            value = self.assignment_value(a, st)
            name = self.resolve_nameref(a.name, st, a.span)
            if isinstance(a.value, ArrayLiteral):
                self.array_globs(a.value, st, node)
            if n.words:
                # `NAME=v cmd`: only the command's environment, but how the assignment goes
                # depends on NAME's attributes (readonly: refused; -i: evaluated; -u, -l)
                node.reads[("variable", None, name)] = None
                continue
            fx.var_write(node, name)
            if a.subscript is None and not isinstance(a.value, ArrayLiteral):
                st.vars[name] = value if not a.append else (st.vars.get(name, UNKNOWN) + value)
                st.arrays.pop(name, None)
            elif isinstance(a.value, ArrayLiteral):
                st.arrays[name] = self.array_values(a.value, st)
            else:
                st.arrays[name] = None
        self.sub_role = "argument"
        argv: list[Field] = []
        for w in n.words:
            parts = w.parts
            if len(parts) == 1 and type(parts[0]) is Literal:  # most words: plain text
                argv.append(Field(parts[0].text))
                continue
            fields = self.expand(w, st)
            if facts.globbed(w):  # an unquoted pattern: bash expands it to any number of words
                fields = [f._replace(split=True) if f.glob else f for f in fields]
            argv.extend(fields)
        node.words = [f.text if f.exact else None for f in argv]  # [] for `x=1`, `> f`
        for f in argv:
            if f.glob and not f.exact:
                fx.glob_listing(node, f, st.cwd)
        self.redirects(n.redirects, st)
        if not n.words:
            node.resolution = "assignment"
            return
        first = argv[0] if argv else None
        if first is None or not first.exact:
            node.resolution = "unknown"
            if first is None:
                return  # `$empty`: bash runs nothing
            node.barrier("the command name is not known statically")
            return
        name = first.text
        node.name = name
        plain = len(n.words[0].parts) == 1 and type(n.words[0].parts[0]) is Literal
        if (plain and name in st.aliases) or name in st.funcs:
            node.resolution = "function"
        elif name in BUILTINS:
            node.resolution = "builtin"
        elif name in KEYWORDS:
            node.resolution = "keyword"
        else:
            node.resolution = "program"
        if node.resolution == "builtin":
            bi.builtin_effects(self, node, argv, st)
        dispatch(self, argv, st, n.span, UNKNOWN, aliases=plain)
        reason = self.pending_code.pop(node.uid, None)
        if reason is not None and not node.payload_ok:
            node.barrier(reason)

    def array_globs(self, lit: ArrayLiteral, st: State, node: CNode) -> None:
        """`a=(*.txt)`: an array's words are expanded as a command's are, globs included:
        the directory listing is a read."""
        for el in lit.elements:
            if isinstance(el, Word) and facts.globbed(el):
                for f in self.expand(el, st):
                    if f.glob and not f.exact:
                        fx.glob_listing(node, f, st.cwd)

    def l_BraceGroup(self, n: BraceGroup, st: State, node: CNode) -> None:
        self.compound_redirects(n.redirects, st, node)
        self.lower_list(n.body, st, node, "body")

    def l_Subshell(self, n: Subshell, st: State, node: CNode) -> None:
        node.boundary = True
        self.compound_redirects(n.redirects, st, node)
        self.lower_list(n.body, st.fork(), node, "body")

    def l_If(self, n: If, st: State, node: CNode) -> None:
        self.compound_redirects(n.redirects, st, node)
        branches: list[State] = []
        prev_cond: CNode | None = None
        for i, clause in enumerate(n.clauses):
            conds = self.lower_list(clause.condition, st, node, "condition" if i == 0 else "elif")
            if prev_cond is not None:
                for c in conds:
                    c.ctrl.append((prev_cond, f"runs only if node {{{prev_cond.uid}}} fails"))
            b = st.fork()
            body = self.lower_list(clause.body, b, node, "then")
            if conds:
                last = conds[-1]
                for t in body:
                    t.ctrl.append((last, f"runs only if node {{{last.uid}}} succeeds"))
                prev_cond = last
            branches.append(b)
        if n.else_body is not None:
            b = st.fork()
            body = self.lower_list(n.else_body, b, node, "else")
            if prev_cond is not None:
                for t in body:
                    t.ctrl.append((prev_cond, f"runs only if node {{{prev_cond.uid}}} fails"))
            branches.append(b)
        else:
            branches.append(st.fork())
        join(st, branches)

    def loop_forget(self, body: object, st: State) -> None:
        names, tainted, cd, called = self.assigned(body)
        if any(name in st.funcs for name in called):
            names |= self.pre.assigned
            tainted |= self.pre.tainted
            cd = cd or self.pre.cd
        st.forget(names, tainted, cwd=cd)

    def l_While(self, n: While, st: State, node: CNode) -> None:
        self.compound_redirects(n.redirects, st, node)
        self.loop_forget(n, st)
        conds = self.lower_list(n.condition, st, node, "condition")
        b = st.fork()
        body = self.lower_list(n.body, b, node, "body")
        if conds:
            last = conds[-1]
            how = "fails" if n.until else "succeeds"
            for t in body:
                t.ctrl.append((last, f"runs only if node {{{last.uid}}} {how}"))
        join(st, [b])

    def l_For(self, n: For | Select, st: State, node: CNode) -> None:
        self.compound_redirects(n.redirects, st, node)
        self.sub_role = "substitution"
        if n.words is None:
            values = list(st.positional) if st.positional is not None else [UNKNOWN]
            node.reads[POSITIONAL] = None
        else:
            for w in n.words:
                fx.scan_node(node, w, st, self)
            values = [f for w in n.words for f in self.expand(w, st)]
            for f in values:
                if f.glob and not f.exact:
                    fx.glob_listing(node, f, st.cwd)
        if isinstance(n, Select):
            node.reads[STDIN] = None
            node.writes[STDIN] = None
        self.loop_forget(n.body, st)
        fx.var_write(node, n.name)
        distinct = list(dict.fromkeys(values))
        b = st.fork()
        b.vars[n.name] = join_fields(distinct) if distinct else UNKNOWN
        self.lower_list(n.body, b, node, "body")
        join(st, [b])
        st.vars[n.name] = join_fields(distinct) if distinct else UNKNOWN

    l_Select = l_For

    def l_ArithFor(self, n: ArithFor, st: State, node: CNode) -> None:
        self.compound_redirects(n.redirects, st, node)
        self.loop_forget(n, st)
        self.sub_role = "substitution"
        for a in (n.init, n.condition, n.step):
            if a is not None:
                fx.scan_node(node, a, st, self)
                self.arith(a, st)
        b = st.fork()
        self.lower_list(n.body, b, node, "body")
        join(st, [b])

    def l_Case(self, n: Case, st: State, node: CNode) -> None:
        self.compound_redirects(n.redirects, st, node)
        self.sub_role = "substitution"
        fx.scan_node(node, n.word, st, self)
        self.expand(n.word, st)
        branches: list[State] = []
        for item in n.items:
            for p in item.patterns:
                fx.scan_node(node, p, st, self)
                self.expand(p, st)
            if item.body is not None:
                b = st.fork()
                self.lower_list(item.body, b, node, "case_item")
                branches.append(b)
        branches.append(st.fork())
        join(st, branches)

    def l_CondCommand(self, n: CondCommand, st: State, node: CNode) -> None:
        node.resolution = "keyword"
        node.name = "[["
        self.compound_redirects(n.redirects, st, node)
        self.sub_role = "substitution"
        fx.scan_node(node, n.expr, st, self)
        self.cond(n.expr, st)

    def cond(self, c: CondNode, st: State) -> None:
        node = self.cur
        stack: list[Any] = [c]
        while stack:
            x = stack.pop()
            if isinstance(x, CondWord):
                self.expand(x.word, st, split=False)
            elif isinstance(x, CondUnary):
                fs = self.expand(x.operand, st, split=False)
                if node is not None and x.op in fx.FILE_TESTS:
                    for f in fs:
                        fx.path_read(node, f, st.cwd)
                if node is not None and x.op == "-v":
                    fx.named_var_read(node, fs)
            elif isinstance(x, CondBinary):
                left = self.expand(x.left, st, split=False)
                right = self.expand(x.right, st, split=False)
                if node is not None and x.op in ("-nt", "-ot", "-ef"):
                    for f in left + right:
                        fx.path_read(node, f, st.cwd)
                if node is not None and x.op == "=~":
                    fx.var_write(node, "BASH_REMATCH")
            else:
                stack.extend(facts.kids(x))

    def l_ArithCommand(self, n: ArithCommand, st: State, node: CNode) -> None:
        node.resolution = "keyword"
        node.name = "(("
        self.compound_redirects(n.redirects, st, node)
        self.sub_role = "substitution"
        fx.scan_node(node, n.arith, st, self)
        self.arith(n.arith, st)

    def l_FunctionDef(self, n: FunctionDef, st: State, node: CNode) -> None:
        node.name = n.name
        node.resolution = "keyword"
        node.writes[("function", None, n.name)] = None
        st.funcs[n.name] = n
        self.func_defs.setdefault(n.name, []).append(node)
        pess = st.fork()
        pess.forget(self.pre.assigned, self.pre.tainted, cwd=self.pre.cd)
        pess.positional = None
        pess.funcs.update(self.pre.funcs)
        body = n.body
        saved_bg = self.last_bg
        self.defining += 1
        try:
            if isinstance(body, BraceGroup) and not body.redirects:
                self.lower_list(body.body, pess, node, "function_body")
            else:
                self.lower_command(body, pess, node, "function_body")
        finally:
            self.defining -= 1
            self.last_bg = saved_bg
        self.worth_inlining[id(n)] = _imprecise(node)

    def l_Coproc(self, n: Coproc, st: State, node: CNode) -> None:
        fx.var_write(node, n.name or "COPROC")
        st.arrays[n.name or "COPROC"] = None
        child = self.lower_command(n.body, st.fork(), node, "body")
        child.boundary = True
        fx.background(self, node)

    # ------------------------------------------------------------------ redirections

    def compound_redirects(self, rs: tuple[Redirect, ...], st: State, node: CNode) -> None:
        if rs:
            fx.scan_redirect_reads(self, node, rs, st)
            self.redirects(rs, st)

    def redirects(self, rs: tuple[Redirect, ...], st: State, stdin: Field = UNKNOWN) -> Field:
        node = self.cur
        for r in rs:
            if node is None:
                break
            if r.fd_var is not None:
                fx.var_write(node, r.fd_var)
                st.vars[r.fd_var] = UNKNOWN
            target = r.target
            fd = (
                r.fd
                if r.fd is not None
                else (0 if r.op in ("<", "<&", "<>", "<<", "<<-", "<<<") else 1)
            )
            if isinstance(target, HereDoc):
                self.sub_role = "heredoc"
                self.expand(target.body, st, split=False)
                if fd == 0:
                    node.stdin_redirected = True
                continue
            self.sub_role = "redirect"
            fields = self.expand(target, st, split=r.op != "<<<")
            if r.op == "<<<":
                if fd == 0:
                    node.stdin_redirected = True
                continue
            fx.redirect_effects(node, r.op, fd, fields, st.cwd)
        return stdin


def _imprecise(fnode: CNode) -> bool:
    """Whether a function body, lowered where it is defined, has effects a call site could
    know better: unknown paths or variables, a change of directory, calls to functions."""
    stack = list(fnode.children)
    while stack:
        n = stack.pop()
        if n.calls or n.kind == "function":
            return True
        if CWD in n.writes:
            return True
        for r in (*n.reads, *n.writes):
            if (r[0] in PATH_KINDS and r[1] is None) or r == ALL_VARIABLES:
                return True
        stack.extend(n.children)
    return False


def join(st: State, others: list[State]) -> None:
    """`State.absorb` (values that differ become unknown), comparing whole dicts first: most
    branches change a few names of many."""
    for o in others:
        if o.vars is not st.vars and o.vars != st.vars:
            changed = {k for k, _ in st.vars.items() ^ o.vars.items()}
            for name in changed:
                a, b = st.vars.get(name), o.vars.get(name)
                tainted = bool((a and a.tainted) or (b and b.tainted))
                st.vars[name] = TAINTED if tainted else UNKNOWN
        if o.arrays is not st.arrays and o.arrays != st.arrays:
            for name in {k for k, _ in st.arrays.items() ^ o.arrays.items()}:
                st.arrays[name] = None
        if st.cwd != o.cwd:
            st.cwd = None
        if st.positional != o.positional:
            st.positional = None
        if o.funcs is not st.funcs:
            st.funcs.update(o.funcs)
        if o.aliases is not st.aliases:
            st.aliases.update(o.aliases)
        for name, target in o.namerefs.items():
            if st.namerefs.get(name, target) != target:
                st.namerefs[name] = None
            else:
                st.namerefs[name] = target


KINDS = {
    "SimpleCommand": "command",
    "BraceGroup": "group",
    "Subshell": "subshell",
    "If": "if",
    "While": "while",
    "For": "for",
    "Select": "select",
    "ArithFor": "arith_for",
    "Case": "case",
    "CondCommand": "cond",
    "ArithCommand": "arith",
    "FunctionDef": "function",
    "Coproc": "coproc",
}

__all__ = ["KINDS", "Lowerer"]
