"""compile/facts.py - small syntactic facts the lowering needs: child nodes (cheaply), names a
subtree may assign, literal words, unquoted patterns, whole-script facts for function bodies."""

from __future__ import annotations

import re
from typing import Any

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
    Literal,
    ParamExpansion,
    ProcessSub,
    Redirect,
    Script,
    Select,
    SimpleCommand,
    SingleQuoted,
    Word,
)
from bashflow.policy.shapes import ASSIGNING_BUILTINS

LEAVES = (Literal, SingleQuoted, AnsiCQuoted, Escaped, Glob, ArithNumber)
LEAF_TYPES = frozenset(LEAVES)


def shebang_errexit(text: str) -> bool:
    """`#!/bin/bash -e` (or `-eu`, ...) turns `set -e` on from the start."""
    first = text[: text.find("\n")] if "\n" in text else text
    return first.startswith("#!") and any(
        w.startswith("-") and not w.startswith("--") and "e" in w for w in first.split()[1:]
    )


class Prepass:
    """Whole-script facts for function bodies (lowered once, where they are defined, for
    calls anywhere): the names the script may assign (forgotten in a body), those that may
    come from data, whether it may change the working directory, every function defined."""

    def __init__(self, script: Script) -> None:
        self.funcs: dict[str, FunctionDef] = {}
        self.assigned, self.tainted, self.cd, _ = assigned_in(script, self.funcs)


_SCALAR = re.compile(r"(str|bool|int)( \| None)?|tuple\[str, \.\.\.\]")
_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(w: Word) -> bool:
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
        if t in LEAF_TYPES:
            continue
        if t is Word:  # words: only `${x:=v}` and arithmetic assign; most parts are text
            for p in n.parts:
                tp = type(p)
                if tp in LEAF_TYPES or tp is CommandSub or tp is ProcessSub:
                    continue
                if tp is DoubleQuoted and all(type(q) in LEAF_TYPES for q in p.parts):
                    continue
                if tp is ParamExpansion and p.op is None and p.subscript is None:
                    continue
                stack.append(p)
            continue
        if t is CommandSub or t is ProcessSub:
            continue  # a subshell: what it assigns stays there
        if t is Assignment or t is For or t is Select:
            names.add(n.name)
            values = (n.value,) if t is Assignment else n.words
            if values is None or any(_from_data(v) for v in values):
                tainted.add(n.name)
        elif t is ParamExpansion and n.op in (":=", "="):
            names.add(n.name)
            tainted.add(n.name)
        elif t is Redirect and n.fd_var is not None:
            names.add(n.fd_var)
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
            if first in ASSIGNING_BUILTINS or first in ("eval", "source", "."):
                for w in n.words[1:]:
                    text = literal(w).split("=", 1)[0].split("[", 1)[0]
                    if text.isidentifier():
                        names.add(text)
                        tainted.add(text)
        stack.extend(kids(n))
    return names, tainted, cd, calls


def locals_in(body: object) -> set[str]:
    """Names a function body declares `local` (or `declare`/`typeset` without `-g`): bash
    restores their values when the function returns."""
    out: set[str] = set()
    stack: list[Any] = [body]
    while stack:
        n = stack.pop()
        t = type(n)
        if t in LEAF_TYPES or t is Word or t is CommandSub or t is ProcessSub:
            continue
        if t is FunctionDef and n is not body:
            continue
        if t is SimpleCommand and n.words:
            first = literal(n.words[0])
            if first in ("local", "declare", "typeset"):
                words = [literal(w) for w in n.words[1:]]
                if first != "local" and any(w.startswith("-") and "g" in w for w in words):
                    continue
                for w in words:
                    name = w.split("=", 1)[0].rstrip("+").split("[", 1)[0]
                    if name.isidentifier():
                        out.add(name)
            continue
        stack.extend(kids(n))
    return out


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
