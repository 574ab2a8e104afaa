"""policy/shapes.py - small syntactic questions the walker asks about commands.

Is this pipeline just `exit`? Is this word literal? Which names may a loop body assign (so they
are forgotten before it is walked)? What does a literal `echo` stage write into a pipe?
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from bashflow.parser.syntax import (
    ArithVar,
    Assignment,
    BraceGroup,
    CommandSub,
    For,
    Literal,
    Node,
    ParamExpansion,
    Pipeline,
    Redirect,
    Select,
    SimpleCommand,
    SingleQuoted,
    Word,
)
from bashflow.parser.syntax import walk as _walk_node
from bashflow.policy.values import UNKNOWN, Field


def walk(root: object) -> Iterator[Any]:
    return _walk_node(cast(Node, root))


def terminates(p: Pipeline) -> bool:
    """A pipeline that is just `exit` or `return` (its path does not continue)."""
    if len(p.commands) != 1 or p.negated:
        return False
    cmd = p.commands[0]
    if isinstance(cmd, BraceGroup) and cmd.body.items:
        last = cmd.body.items[-1].command
        return not last.rest and terminates(last.first)
    return (
        isinstance(cmd, SimpleCommand)
        and bool(cmd.words)
        and word_literal(cmd.words[0]) in ("exit", "return")
    )


def word_literal(w: Word) -> str:
    """The text of a word made only of literal parts, else ""."""

    out = []
    for p in w.parts:
        if isinstance(p, Literal | SingleQuoted):
            out.append(p.text)
        else:
            return ""
    return "".join(out)


ASSIGNING_BUILTINS = frozenset(
    {
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
    }
)


def assigned_names(root: object, calls: set[str] | None = None) -> tuple[set[str], set[str], bool]:
    """Names a subtree may assign, those that may get a value read from data (command output,
    `read`, other variables), and whether it may change the working directory. Command names
    it runs are added to `calls` when given."""
    names: set[str] = set()
    tainted: set[str] = set()
    cd = False
    for n in walk(root):
        if isinstance(n, Assignment | For | Select):
            names.add(n.name)
            values = (n.value,) if isinstance(n, Assignment) else n.words
            if values is None or any(
                isinstance(x, CommandSub | ParamExpansion) for v in values for x in walk(v)
            ):
                tainted.add(n.name)
        elif isinstance(n, ArithVar):
            names.add(n.name)
        elif isinstance(n, ParamExpansion) and n.op in (":=", "="):
            names.add(n.name)  # `${x:=v}` assigns x when it is unset (or empty)
            tainted.add(n.name)
        elif isinstance(n, Redirect) and n.fd_var is not None:
            names.add(n.fd_var)  # `{fd}>file` assigns the descriptor's number
        elif isinstance(n, SimpleCommand) and n.words:
            first = word_literal(n.words[0])
            if calls is not None:
                calls.add(first)
            if first in ("cd", "pushd", "popd"):
                cd = True
            if first in ASSIGNING_BUILTINS or first in ("eval", "source", "."):
                for w in n.words[1:]:
                    text = word_literal(w).split("=", 1)[0].split("[", 1)[0]
                    if text.isidentifier():
                        names.add(text)
                        tainted.add(text)
                if first in ("eval", "source", "."):
                    cd = True
    return names, tainted, cd


def literal_output(cmd: object) -> Field:
    """What a pipeline stage writes, when it is a literal `echo` / `printf` (else unknown)."""
    if isinstance(cmd, SimpleCommand) and cmd.words and not cmd.redirects:
        texts = [word_literal(w) or None for w in cmd.words]
        from bashflow.parser.syntax import DoubleQuoted, Literal, SingleQuoted

        def lit(w: Word) -> str | None:
            out = []
            for p in w.parts:
                if isinstance(p, Literal | SingleQuoted):
                    out.append(p.text)
                elif isinstance(p, DoubleQuoted) and all(isinstance(q, Literal) for q in p.parts):
                    out.append("".join(q.text for q in p.parts))  # type: ignore[union-attr]
                else:
                    return None
            return "".join(out)

        texts = [lit(w) for w in cmd.words]
        if texts[0] == "echo" and all(t is not None for t in texts[1:]):
            return Field(" ".join(t for t in texts[1:] if t is not None) + "\n")
        if texts[0] == "printf" and len(texts) == 2 and texts[1] is not None:
            return Field(texts[1].replace("\\n", "\n"))
    return UNKNOWN
