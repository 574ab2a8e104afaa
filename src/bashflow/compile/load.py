"""compile/load.py - read a workflow document (possibly hand-edited) and check it.

`load_workflow(data, filename)` returns a `WorkflowDoc` or raises `WorkflowError` (exit code 2)
located at `file:line:col` of the offending value, in three steps:

1. JSON syntax (the standard `json` module: fast, and its errors carry a position), with
   duplicate keys, `NaN`/`Infinity` and invalid UTF-8 refused as well;
2. the schema (`compile/wfmodel.py`, pydantic): a validation error's `loc` (a path of keys and
   indices) is mapped back to the text by `_Scanner`, a small position-tracking JSON scanner
   that runs only when there is an error to place;
3. what a schema cannot say: node ids are 1..n in order, a parent comes before its children,
   edge ends exist and the edges have no cycle, each node's text is the source at its span, and
   the source was not edited (`source.sha256` and `id` are its hash).
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from bashflow.compile.wfmodel import SCHEMA_NAME, SCHEMA_VERSION, WorkflowDoc
from bashflow.errors import EXIT_USAGE, BashflowError
from bashflow.source import Source, Span

__all__ = ["WorkflowError", "load_workflow", "load_workflow_file"]

RECOMPILE = (
    "only `settings` and `defaults` may be edited; to change the script, edit it and compile again"
)


class WorkflowError(BashflowError):
    """A workflow document is not valid JSON, does not fit the schema, or is inconsistent."""

    exit_code = EXIT_USAGE


def load_workflow_file(path: str) -> WorkflowDoc:
    """Read and check the workflow document at `path` (`-` is standard input)."""
    import sys

    if path == "-":
        return load_workflow(sys.stdin.buffer.read(), "<stdin>")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise WorkflowError(f"cannot read workflow {path!r}: {e.strerror}") from None
    return load_workflow(data, path)


def load_workflow(data: bytes | str, filename: str = "<workflow>") -> WorkflowDoc:
    """Parse and check a workflow document; raises `WorkflowError` at the offending value."""
    text = _decode(data, filename)
    source = Source(text, filename)
    doc = _parse_json(source)
    scanner = _Scanner(text)
    if not isinstance(doc, dict):
        raise WorkflowError("a workflow document must be a JSON object", **scanner.at(source, ()))
    _check_header(doc, source, scanner)
    try:
        model = WorkflowDoc.model_validate(doc)
    except ValidationError as e:
        raise _schema_error(e, source, scanner) from None
    _Checker(model, source, scanner).run()
    return model


def _decode(data: bytes | str, filename: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8")
        raise WorkflowError(
            "invalid UTF-8 (a workflow document is UTF-8 JSON; undecodable script bytes are "
            "written as \\udcXX escapes)",
            source=Source(good, filename),
            span=Span(len(good), len(good) + 1),
        ) from None


class _Duplicate(Exception):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(source: Source) -> Any:
    text = source.text
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise WorkflowError(
            f"invalid JSON: {e.msg.removesuffix(' at')}", source=source, span=Span(e.pos, e.pos + 1)
        ) from None
    except _Duplicate:
        where = _Scanner(text).duplicate()
        raise WorkflowError(
            f"{_path(where.path)}: duplicate key", source=source, span=where.key_span
        ) from None
    except ValueError as e:  # NaN / Infinity (json gives no position: find the token)
        off = _Scanner(text).first_scalar(("NaN", "Infinity", "-Infinity"))
        raise WorkflowError(f"invalid JSON: {e}", source=source, span=Span(off, off + 1)) from None
    except RecursionError:
        raise WorkflowError(
            "invalid JSON: nested too deeply", source=source, span=Span(0, 1)
        ) from None


def _check_header(doc: dict[str, Any], source: Source, scanner: _Scanner) -> None:
    """A clear message for a file that is not a workflow, or a version this bashflow cannot read."""
    kind = doc.get("schema")
    if kind != SCHEMA_NAME:
        where = ("schema",) if "schema" in doc else ()
        raise WorkflowError(
            f'not a bashflow workflow: `schema` is {json.dumps(kind)}, expected "{SCHEMA_NAME}"',
            **scanner.at(source, where),
        )
    version = doc.get("version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        where = ("version",) if "version" in doc else ()
        raise WorkflowError(
            f"unsupported workflow version {json.dumps(version)}: this bashflow reads version "
            f"{SCHEMA_VERSION}",
            **scanner.at(source, where),
        )


def _path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _schema_error(e: ValidationError, source: Source, scanner: _Scanner) -> WorkflowError:
    errors = e.errors(include_url=False)
    placed = []
    for err in errors:
        where = scanner.find(tuple(err["loc"]))
        placed.append((where.value_span.start, where, err))
    placed.sort(key=lambda item: item[0])
    _, where, err = placed[0]
    kind = err["type"]
    if kind == "extra_forbidden":
        message = f"{_path(where.path)}: unknown key"
        span = where.key_span
    elif kind == "missing":
        message = f"{_path(where.path) if where.path else 'the document'}: missing key " + (
            f"`{where.missing}`"
        )
        span = where.value_span
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
        message = f"{_path(where.path)}: {msg}"
        span = where.value_span
    more = len(errors) - 1
    if more:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return WorkflowError(message, source=source, span=_first_line(source, span))


def _first_line(source: Source, span: Span) -> Span:
    """A span for the caret: a multi-line value is marked by its first character."""
    nl = source.text.find("\n", span.start, span.end)
    return Span(span.start, span.start + 1) if nl >= 0 else span


# -- positions -------------------------------------------------------------------------------

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_TOKEN = re.compile(r'[ \t\r\n]*(?:("(?:[^"\\]|\\.)*")|([{}\[\]:,])|([^ \t\r\n{}\[\]:,"]+))', re.S)


def _string_at(text: str, start: int) -> str:
    """The JSON string token that starts at `start` (quotes included)."""
    m = _STRING.match(text, start)
    return m.group() if m else '""'


class _Value:
    """A JSON value's place in the text, with its children's places."""

    __slots__ = ("children", "end", "key_starts", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.end = start
        self.children: dict[str, _Value] | list[_Value] | None = None
        self.key_starts: dict[str, tuple[int, int]] = {}


class _Where:
    """Where a validation error's `loc` is in the text."""

    __slots__ = ("key_span", "missing", "path", "value_span")

    def __init__(
        self, path: tuple[str | int, ...], value_span: Span, key_span: Span, missing: str | None
    ) -> None:
        self.path = path
        self.value_span = value_span
        self.key_span = key_span
        self.missing = missing


class _Scanner:
    """Positions of the values of a JSON text that `json.loads` accepted (built on first use)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: _Value | None = None
        self._dup: _Where | None = None

    def root(self) -> _Value:
        if self._root is None:
            self._root = self._scan()
        return self._root

    def _scan(self) -> _Value:
        """Iterative (a deep document must not exhaust the stack); records the first duplicate."""
        text = self.text
        pos = 0
        stack: list[tuple[_Value, list[str | int]]] = []
        pending_key: str | None = None
        key_start = 0
        root: _Value | None = None
        while True:
            m = _TOKEN.match(text, pos)
            if m is None:
                break
            pos = m.end()
            string, punct, _ = m.groups()
            start = m.start(m.lastindex or 0)
            if punct in (":", ","):
                continue
            if punct in ("}", "]"):
                done, _ = stack.pop()
                done.end = pos
                if not stack:
                    break
                continue
            top = stack[-1][0] if stack else None
            if top is not None and isinstance(top.children, dict) and pending_key is None:
                if string is None:  # cannot happen in a text json.loads accepted
                    break
                pending_key = json.loads(string)
                key_start = start
                continue
            value = _Value(start)
            if punct == "{":
                value.children = {}
            elif punct == "[":
                value.children = []
            else:
                value.end = pos
            step: list[str | int] = []
            if top is None:
                root = value
            elif isinstance(top.children, dict):
                key = pending_key if pending_key is not None else ""
                key_span = (key_start, key_start + len(_string_at(text, key_start)))
                if key in top.children and self._dup is None:
                    self._dup = _Where((*stack[-1][1], key), Span(*key_span), Span(*key_span), None)
                top.children[key] = value
                top.key_starts[key] = key_span
                pending_key = None
                step = [key]
            elif isinstance(top.children, list):
                step = [len(top.children)]
                top.children.append(value)
            if value.children is not None:
                stack.append((value, [*(stack[-1][1] if stack else []), *step]))
            elif not stack:
                break
        return root if root is not None else _Value(0)

    def first_scalar(self, values: Sequence[str]) -> int:
        """Offset of the first bare (unquoted) token among `values`, 0 when there is none."""
        pos = 0
        while m := _TOKEN.match(self.text, pos):
            if m.group(3) in values:
                return m.start(3)
            pos = m.end()
        return 0

    def duplicate(self) -> _Where:
        self.root()
        return self._dup if self._dup is not None else _Where((), Span(0, 1), Span(0, 1), None)

    def find(self, loc: Sequence[str | int]) -> _Where:
        """The deepest value along `loc` (parts that name no key or index, like pydantic's union
        tags, are skipped); `missing` is the key a `missing` error names."""
        node = self.root()
        path: list[str | int] = []
        key_span = Span(node.start, node.start + 1)
        missing: str | None = None
        for part in loc:
            children = node.children
            if isinstance(children, dict) and isinstance(part, str):
                if part in children:
                    path.append(part)
                    key_span = Span(*node.key_starts[part])
                    node = children[part]
                    continue
                missing = part
            elif isinstance(children, list) and isinstance(part, int) and 0 <= part < len(children):
                path.append(part)
                node = children[part]
                key_span = Span(node.start, node.end)
        return _Where(tuple(path), Span(node.start, node.end), key_span, missing)

    def at(self, source: Source, loc: Sequence[str | int]) -> dict[str, Any]:
        """`source=` and `span=` arguments for an error at the value `loc`."""
        return {"source": source, "span": _first_line(source, self.find(loc).value_span)}


# -- consistency -----------------------------------------------------------------------------


class _Checker:
    """What the schema cannot say (see the module docstring)."""

    def __init__(self, doc: WorkflowDoc, source: Source, scanner: _Scanner) -> None:
        self.doc = doc
        self.source = source
        self.scanner = scanner

    def fail(self, loc: tuple[str | int, ...], message: str) -> WorkflowError:
        return WorkflowError(f"{_path(loc)}: {message}", **self.scanner.at(self.source, loc))

    def run(self) -> None:
        self.check_source()
        self.check_nodes()
        self.check_edges()
        self.check_spans()

    def check_source(self) -> None:
        src = self.doc.source
        try:
            data = src.text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise self.fail(
                ("source", "text"), "not a script's text (a surrogate outside U+DC80-U+DCFF)"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != src.sha256:
            raise self.fail(
                ("source", "sha256"), f"does not match `source.text` (edited?): {RECOMPILE}"
            )
        expected = "wf-" + digest[:16]
        if self.doc.id != expected:
            raise self.fail(
                ("id",), f"does not match the source (expected {expected}): {RECOMPILE}"
            )

    def check_nodes(self) -> None:
        open_ids: list[int] = []  # the previous node and its ancestors (pre-order)
        for i, node in enumerate(self.doc.nodes):
            if node.id != i + 1:
                raise self.fail(
                    ("nodes", i, "id"),
                    f"node ids must be 1..n in document order: expected {i + 1}, found {node.id}",
                )
            if node.parent is not None and node.parent >= node.id:
                what = "does not exist" if node.parent > len(self.doc.nodes) else "comes after it"
                raise self.fail(
                    ("nodes", i, "parent"),
                    f"parent {node.parent} of node {node.id} {what} (nodes are in pre-order: a "
                    "parent comes before its children)",
                )
            while open_ids and open_ids[-1] != node.parent:
                open_ids.pop()
            if node.parent is not None and not open_ids:
                raise self.fail(
                    ("nodes", i, "parent"),
                    f"node {node.id} is not inside node {node.parent}: other nodes come between "
                    "(nodes are in pre-order: a node's descendants follow it directly)",
                )
            open_ids.append(node.id)

    def check_edges(self) -> None:
        n = len(self.doc.nodes)
        succ: list[list[tuple[int, int]]] = [[] for _ in range(n + 1)]
        for k, edge in enumerate(self.doc.edges):
            for end, value in (("from", edge.from_), ("to", edge.to)):
                if value > n:
                    raise self.fail(
                        ("edges", k, end),
                        f"node {value} does not exist (the workflow has {n} node"
                        f"{'' if n == 1 else 's'})",
                    )
            if edge.from_ == edge.to:
                raise self.fail(("edges", k), f"edge from node {edge.to} to itself")
            succ[edge.from_].append((edge.to, k))
        cycle = _find_cycle(succ)
        if cycle is not None:
            nodes, k = cycle
            shown = [str(v) for v in nodes]
            if len(shown) > 12:
                shown = [*shown[:5], f"... ({len(shown) - 10} more)", *shown[-5:]]
            raise self.fail(("edges", k), "the edges form a cycle: " + " -> ".join(shown))

    def check_spans(self) -> None:
        text = self.doc.source.text
        data = text.encode("utf-8", "surrogateescape")
        source = Source(text, self.doc.source.filename)
        to_char = _ByteToChar(text)
        for i, node in enumerate(self.doc.nodes):
            start, end = node.span.start, node.span.end
            if not start.offset <= end.offset <= len(data):
                raise self.fail(
                    ("nodes", i, "span"),
                    f"offsets {start.offset}..{end.offset} are outside the source "
                    f"({len(data)} bytes)",
                )
            for name, pos in (("start", start), ("end", end)):
                char = to_char(pos.offset)
                if char is None:
                    raise self.fail(
                        ("nodes", i, "span", name, "offset"),
                        "not at a character boundary of the source",
                    )
                line, col = source.line_col(char)
                if (pos.line, pos.col) != (line, col):
                    raise self.fail(
                        ("nodes", i, "span", name),
                        f"line {pos.line} col {pos.col} is not byte offset {pos.offset}, which "
                        f"is at line {line} col {col}",
                    )
            piece = data[start.offset : end.offset].decode("utf-8", "surrogateescape")
            if piece != node.text:
                raise self.fail(
                    ("nodes", i, "text"),
                    f"is not the source text at its span ({start.line}:{start.col}): {RECOMPILE}",
                )


class _ByteToChar:
    """Byte offset (UTF-8, surrogateescape) -> character offset; None inside a character.
    Only the non-ASCII characters are listed, so ASCII text costs nothing."""

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []  # byte offset of each non-ASCII character
        self.widths: list[int] = []  # its length in bytes
        self.extra: list[int] = []  # bytes beyond one per character, before it
        extra = 0
        for m in _NON_ASCII.finditer(text):
            width = len(m.group().encode("utf-8", "surrogateescape"))
            self.starts.append(m.start() + extra)
            self.widths.append(width)
            self.extra.append(extra)
            extra += width - 1

    def __call__(self, offset: int) -> int | None:
        k = bisect_right(self.starts, offset) - 1
        if k < 0:
            return offset
        start = self.starts[k]
        if offset == start:
            return offset - self.extra[k]
        if offset < start + self.widths[k]:
            return None
        return offset - self.extra[k] - (self.widths[k] - 1)


def _find_cycle(succ: list[list[tuple[int, int]]]) -> tuple[list[int], int] | None:
    """A cycle as its node ids (first == last) and the index of the edge that closes it."""
    white, grey, black = 0, 1, 2
    color = [white] * len(succ)
    for root in range(1, len(succ)):
        if color[root] != white:
            continue
        color[root] = grey
        path = [root]
        stack = [iter(succ[root])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                color[path.pop()] = black
                continue
            to, k = nxt
            if color[to] == grey:
                return [*path[path.index(to) :], to], k
            if color[to] == white:
                color[to] = grey
                path.append(to)
                stack.append(iter(succ[to]))
    return None
