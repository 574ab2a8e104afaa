"""treewalk - a generic walk over syntax trees and the span checks run over the corpus.

The walk knows nothing of the node classes beyond "an object with a `span` and declared
fields" (`dataclasses.fields` or `_fields`): it follows every field, through tuples (and
tuples of tuples, like `AndOr.rest`). It does not use `bashflow.parse.syntax.walk`, so it
checks that helper's view of the tree independently. The checks:

- every span lies within the source, and within its parent's span;
- the spans of a node's children do not overlap, and each tuple field is in source order;
- a here-doc body (`HereDoc`) is the exception: it lies after its redirection, within the
  nearest enclosing command substitution (or the script), not within the command;
- leaves slice back to exactly their source text: `Literal` (text), `SingleQuoted`
  (`'text'`), `Escaped` (`\\c`), `Glob`, `Tilde` (`~user`), `ArithNumber`; and quoting and
  substitution nodes start and end with their delimiters. Inside backquotes, where spans
  cover the escaped text, the comparison undoes one level of backquote escaping per level.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator
from typing import Any

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A node class's fields: dataclass fields, or the `_fields` a namedtuple-like class lists."""
    names = _FIELDS.get(cls)
    if names is None:
        if dataclasses.is_dataclass(cls):
            all_names = tuple(f.name for f in dataclasses.fields(cls))
        else:
            all_names = tuple(getattr(cls, "_fields", ()))
        names = tuple(n for n in all_names if n != "span")
        _FIELDS[cls] = names
    return names


def is_node(value: object) -> bool:
    """A syntax node: anything with a `span` that is not itself a tuple (like `Span`)."""
    return hasattr(value, "span") and not isinstance(value, (tuple, type))


def _nodes_in(value: object) -> Iterator[Any]:
    if is_node(value):
        yield value
    elif isinstance(value, tuple) and not hasattr(value, "_fields"):  # not a Span
        for v in value:
            yield from _nodes_in(v)


def child_fields(node: Any) -> Iterator[tuple[str, list[Any]]]:
    """(field name, the nodes in it in order) for every field that holds nodes."""
    for name in _field_names(type(node)):
        found = list(_nodes_in(getattr(node, name)))
        if found:
            yield name, found


def children(node: Any) -> Iterator[Any]:
    for _, nodes in child_fields(node):
        yield from nodes


def walk(node: Any) -> Iterator[Any]:
    """Every node under (and including) `node`, depth first, without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(children(n))))


# Inside backquotes `\\`, `` \` `` and `\$` lose their backslash; inside backquotes that are
# themselves inside double quotes, so does `\"`.
_BQ_ESCAPE = re.compile(r"\\([\\`$])")
_BQ_ESCAPE_DQ = re.compile(r'\\([\\`$"])')


def _unbackquote(text: str, levels: tuple[bool, ...]) -> str:
    """Undo one level of backquote escaping per enclosing backquote (innermost last)."""
    for in_dq in reversed(levels):
        text = (_BQ_ESCAPE_DQ if in_dq else _BQ_ESCAPE).sub(r"\1", text)
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class SpanProblem:
    offset: int
    kind: str
    detail: str


# Delimiters each node kind's source text starts and ends with (class name -> (starts, ends)).
_DELIMITERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "DoubleQuoted": (('"',), ('"',)),
    "LocaleQuoted": (('$"',), ('"',)),
    "AnsiCQuoted": (("$'",), ("'",)),
    "SingleQuoted": (("'",), ("'",)),
    "ArithSub": (("$((", "$["), ("))", "]")),
    "ProcessSub": (("<(", ">("), (")",)),
    "ExtGlob": (("@(", "*(", "+(", "?(", "!("), (")",)),
    "BraceExpansion": (("{",), ("}",)),
    "BraceRange": (("{",), ("}",)),
    "CondCommand": (("[[",), ()),
    "ArithCommand": (("((",), ()),
    "If": (("if",), ()),
    "Case": (("case",), ()),
    "BraceGroup": (("{",), ()),
    "Subshell": (("(",), ()),
}


def _leaf_problem(node: Any, text: str, levels: tuple[bool, ...]) -> str | None:
    kind = type(node).__name__
    raw = text[node.span.start : node.span.end]
    got = _unbackquote(raw, levels) if levels else raw
    if kind in ("Literal", "Glob", "ArithNumber"):
        if got != node.text:
            return f"{kind} text {node.text!r} but span holds {raw!r}"
    elif kind == "SingleQuoted":
        if got != f"'{node.text}'":
            return f"SingleQuoted text {node.text!r} but span holds {raw!r}"
    elif kind == "Escaped":
        if got != "\\" + node.char:
            return f"Escaped char {node.char!r} but span holds {raw!r}"
    elif kind == "Tilde":
        if got != "~" + node.user:
            return f"Tilde user {node.user!r} but span holds {raw!r}"
    elif kind == "ParamExpansion":
        if not got.startswith("$"):
            return f"ParamExpansion span holds {raw[:40]!r}"
    elif kind == "CommandSub":
        ok = (
            (got.startswith("`") and got.endswith("`"))
            if node.backquoted
            else (got.startswith("$(") and got.endswith(")"))
        )
        if not ok:
            return f"CommandSub span holds {raw[:20]!r}...{raw[-10:]!r}"
    elif kind in _DELIMITERS:
        starts, ends = _DELIMITERS[kind]
        if not got.startswith(starts) or (ends and not got.endswith(ends)):
            return f"{kind} span holds {raw[:20]!r}...{raw[-10:]!r}"
    return None


def check_spans(tree: Any, text: str, limit: int = 20) -> list[SpanProblem]:
    """Span problems in `tree` (parsed from `text`); at most `limit` are returned."""
    problems: list[SpanProblem] = []
    n = len(text)
    root = tree.span
    if (root.start, root.end) != (0, n):
        problems.append(SpanProblem(0, "root", f"script span {tuple(root)} is not (0, {n})"))
    # (node, enclosing span to stay within, the here-doc container span,
    #  one flag per enclosing backquote level: was it inside double quotes, and are we)
    Item = tuple[Any, tuple[int, int], tuple[int, int], tuple[bool, ...], bool]
    stack: list[Item] = [(tree, (0, n), (0, n), (), False)]
    while stack and len(problems) < limit:
        node, (lo, hi), container, levels, in_dq = stack.pop()
        s, e = node.span
        kind = type(node).__name__
        if not (0 <= s <= e <= n):
            problems.append(SpanProblem(s, "bounds", f"{kind} span {s}:{e} outside 0:{n}"))
            continue
        if not (lo <= s and e <= hi):
            problems.append(
                SpanProblem(s, "containment", f"{kind} {s}:{e} not within parent {lo}:{hi}")
            )
        leaf = _leaf_problem(node, text, levels)
        if leaf is not None:
            problems.append(SpanProblem(s, "text", leaf))
        inner_container, inner_levels, inner_dq = container, levels, in_dq
        if kind in ("CommandSub", "ProcessSub"):
            inner_container, inner_dq = (s, e), False
            if getattr(node, "backquoted", False):
                inner_levels = (*levels, in_dq)
        elif kind in ("DoubleQuoted", "LocaleQuoted"):
            inner_dq = True
        ordinary: list[Any] = []
        for fname, nodes in child_fields(node):
            plain = [c for c in nodes if type(c).__name__ != "HereDoc"]
            for a, b in itertools.pairwise(plain):
                if b.span.start < a.span.start:
                    problems.append(
                        SpanProblem(
                            b.span.start,
                            "order",
                            f"{kind}.{fname}: {type(b).__name__} at {b.span.start} before "
                            f"{type(a).__name__} at {a.span.start}",
                        )
                    )
            ordinary.extend(plain)
            for c in nodes:
                if type(c).__name__ == "HereDoc":
                    if c.span.start < e:
                        problems.append(
                            SpanProblem(
                                c.span.start,
                                "here-doc",
                                f"here-doc body at {c.span.start} before the end of {kind} at {e}",
                            )
                        )
                    stack.append((c, container, inner_container, inner_levels, False))
        ordinary.sort(key=lambda c: (c.span.start, c.span.end))
        for a, b in itertools.pairwise(ordinary):
            if b.span.start < a.span.end:
                problems.append(
                    SpanProblem(
                        b.span.start,
                        "overlap",
                        f"in {kind}: {type(a).__name__} {a.span.start}:{a.span.end} overlaps "
                        f"{type(b).__name__} {b.span.start}:{b.span.end}",
                    )
                )
        for c in reversed(ordinary):
            stack.append((c, (s, e), inner_container, inner_levels, inner_dq))
    return problems[:limit]
