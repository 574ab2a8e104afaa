"""compile/runplan.py - what the interpreter needs of the graph to run a script in parallel.

`run_plan(source, tree)` compiles the very tree the interpreter runs and answers, by the
`id()` of the tree's own objects:

* per pipeline: its node id (the interpreter reports each execution as an event);
* per list of commands (the top level and every compound body written in the script):
  for each item (`a && b || c` is one item), its nodes, the last earlier item it must wait
  for (`after`: the graph's edges between the item's nodes and the list's other nodes;
  edges only join siblings, and the interpreter finishes items in program order, so the
  latest direct predecessor is enough), and whether it may run in a forked copy of the shell
  (`fork`): it must not change what a fork cannot hand back - functions, the working
  directory, positional parameters, background jobs, traps and options (barriers), control
  flow (`exit`, `return`, `break`, `continue`) - and the only variables it sets are named
  (`delta`: handed back to the shell when the item's turn comes).

Payloads (`eval` text, `trap` handlers, `sh -c`), and function bodies walked again at a call,
have no plan: the interpreter runs them in order.
"""

from __future__ import annotations

import gc
import re

from bashflow.compile.effects import normalize
from bashflow.compile.graph import build_edges, resolve_effects
from bashflow.compile.lower import Lowerer
from bashflow.compile.model import CNode
from bashflow.parser.syntax import Script
from bashflow.source import Source

NOT_HANDED_BACK = frozenset(
    {
        "PATH",  # clears the command hash table
        "RANDOM",
        "SRANDOM",
        "SECONDS",
        "LINENO",
        "BASHPID",
        "BASH_SUBSHELL",
        "OPTIND",  # getopts keeps its own place within a word
        "OPTARG",
        "OPTERR",
        "BASH_ARGV0",
        "FUNCNAME",
        "BASH_SOURCE",
        "BASH_LINENO",
        "DIRSTACK",
        "PWD",
        "OLDPWD",
        "HISTFILE",
        "HISTSIZE",
        "COLUMNS",
        "LINES",
    }
)
"""Variables the shell reacts to when set: an item that sets one runs in the shell itself."""

UNREPEATABLE_READS = frozenset({"RANDOM", "SRANDOM", "BASHPID"})
"""Reading these in a fork would give a value the shell does not see or repeats."""

PURE_BUILTINS = frozenset({"echo", "printf", "test", "[", "true", "false", ":", "pwd"})
"""Builtins an early-started item may run: they read only what their words name."""

INDIRECT = ("${!", "$((", "$[", "((", "let ")
"""Text that reads variables the graph cannot name: indirection, and arithmetic (a variable
whose value is another variable's name is evaluated recursively)."""

_ARITH_TEST = re.compile(r"\s-(eq|ne|lt|le|gt|ge)\s")
_SUBSCRIPT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\[|\(\s*\[")
"""An array subscript (`a[i+1]=x`, `${a[i]}`, `a=([i]=x)`): arithmetic, reading variables
the graph does not name."""
ARITH_KINDS = frozenset({"arith", "arith_for"})


BACKGROUND = "a background job"
"""Why a plain `&` item is not started early (the shell forks it at once anyway)."""


class ItemPlan:
    """One item of a list: its node ids, the item it waits for, and if it may be forked."""

    __slots__ = ("after", "background", "delta", "fork", "nodes", "why")

    def __init__(self, nodes: tuple[int, ...], after: int, fork: bool, delta: tuple[str, ...],
                 why: str, background: bool) -> None:  # fmt: skip
        self.nodes = nodes
        self.after = after
        """Index of the last earlier item of the list that must finish first; -1: none."""
        self.fork = fork
        self.delta = delta
        self.why = why
        """Why it may not be forked ("" when it may)."""
        self.background = background


class RunPlan:
    """The plan of one script: events' node table and edges, pipelines and lists by id()."""

    __slots__ = ("edges", "lists", "nodes", "pipelines", "serial")

    def __init__(self) -> None:
        self.nodes: list[dict[str, object]] = []
        self.edges: list[tuple[int, int]] = []
        self.pipelines: dict[int, int] = {}
        self.lists: dict[int, list[ItemPlan]] = {}
        self.serial = ""
        """Why nothing may start early in this script ("" when things may)."""


def makes_symlink(n: CNode) -> bool:
    """`ln -s`, `ln --symbolic`, `cp -s`: after it, two paths may name one file and the graph,
    which compares paths as text, would not see the conflict."""
    words = n.words or []
    if not words or n.name not in ("ln", "cp") or n.resolution != "program":
        return False
    for w in words[1:]:
        if w is None:
            return True  # unknown: it may be the flag
        if w == "--":
            break
        if w == "--symbolic" or (w[:1] == "-" and w[1:2] != "-" and "s" in w[1:]):
            return True
    return False


def plain(n: CNode) -> str:
    """Why the graph may not know every variable the node (and what is inside it) reads or
    sets, or "": only programs, assignments, the builtins of PURE_BUILTINS and compound
    commands of those, without indirection or arithmetic. The graph is exact for these; an
    item is started early only when it is (the rest runs in order, in the shell)."""
    stack = [n]
    while stack:
        x = stack.pop()
        stack.extend(x.children)
        text = x.text
        if any(mark in text for mark in INDIRECT) or _SUBSCRIPT.search(text):
            return "indirection or arithmetic"
        if x.kind in ARITH_KINDS or (x.kind == "cond" and _ARITH_TEST.search(text)):
            return "arithmetic"
        if x.kind in ("select", "coproc"):
            return f"a {x.kind} command"
        if x.kind == "command":
            how = x.resolution
            if how == "builtin":
                if x.name not in PURE_BUILTINS or (x.name == "printf" and "-v" in (x.words or ())):
                    return f"the builtin `{x.name}`"
            elif how == "keyword":
                if _ARITH_TEST.search(text) or not text.startswith("[["):
                    return "arithmetic"
            elif how not in ("program", "assignment"):
                return f"a {how} command"
    return ""


def forkable(nodes: list[CNode], background: bool) -> tuple[str, tuple[str, ...]]:
    """("", names it sets) when the item may run in a fork; else (why not, ())."""
    for n in nodes:
        why = plain(n)
        if why:
            return why, ()
    if background:
        return BACKGROUND, ()
    names: dict[str, None] = {}
    for n in nodes:
        if n.eff_escapes:
            return "`" + "`, `".join(sorted(n.eff_escapes)) + "`", ()
        for kind, _path, name in n.eff_writes:
            if kind == "any":
                return "a barrier", ()
            if kind in ("function", "cwd", "process"):
                return f"changes the shell's {kind}", ()
            if kind == "variable":
                if name is None or name == "@":
                    return "sets variables not known by name", ()
                if name == "@env":
                    continue
                if name in NOT_HANDED_BACK:
                    return f"sets ${name}", ()
                names[name] = None
        for kind, _path, name in n.eff_reads:
            if kind in ("any", "process"):
                return f"reads {kind}", ()
            if kind == "variable" and name in UNREPEATABLE_READS:
                return f"reads ${name}", ()
    return "", tuple(names)


def run_plan(source: Source, tree: Script, *, cwd: str, home: str,
             errexit: bool = False) -> RunPlan:  # fmt: skip
    """Compile `tree` (parsed from `source`) for the interpreter; see the module's doc.
    `errexit`: the shell starts with `set -e` (`bashflow exec -e`), which the text alone
    does not say."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        lw = Lowerer(source, tree, home=normalize(home), cwd=normalize(cwd))
        lw.errexit = lw.errexit or errexit
        nodes = lw.lower()
        resolve_effects(nodes)
        visible = [n for n in nodes if not n.hidden]
        for i, n in enumerate(visible, 1):
            n.id = i
        edges = build_edges(nodes, lw.errexit)
    finally:
        if enabled:
            gc.enable()
    plan = RunPlan()
    if any(makes_symlink(n) for n in nodes):
        plan.serial = "the script makes symbolic links"
    line_of = source.line_col
    for n in visible:
        parent = n.parent
        while parent is not None and parent.hidden:
            parent = parent.parent
        text = n.text if len(n.text) <= 200 else n.text[:197] + "..."
        plan.nodes.append({"id": n.id, "parent": parent.id if parent is not None else None,
                           "kind": n.kind, "line": line_of(n.span.start)[0], "text": text})  # fmt: skip
    preds: dict[int, list[int]] = {}
    for src, dst, _kind, _why in edges:
        plan.edges.append((src.id, dst.id))
        preds.setdefault(dst.uid, []).append(src.uid)
    for key, node in lw.pipeline_nodes.items():
        if node.id:
            plan.pipelines[key] = node.id
    for key, (cl, per_item) in lw.list_nodes.items():
        where: dict[int, int] = {}
        for i, item_nodes in enumerate(per_item):
            for n in item_nodes:
                where[n.uid] = i
        items: list[ItemPlan] = []
        opaque = -1  # the last item the graph may not describe exactly: nothing passes it
        for i, item_nodes in enumerate(per_item):
            after = opaque
            for n in item_nodes:
                for p in preds.get(n.uid, ()):
                    j = where.get(p, -1)
                    if j < i and j > after:
                        after = j
            background = cl.items[i].terminator == "&"
            why, delta = forkable(item_nodes, background)
            if why and why != BACKGROUND:
                opaque = i
            items.append(ItemPlan(tuple(n.id for n in item_nodes), after, not why, delta, why,
                                  background))  # fmt: skip
        plan.lists[key] = items
    return plan
