"""parser/tojson - the syntax tree as JSON-ready data (`bashflow parse` output).

Each node becomes an object with `"kind"` (the class name) and `"span"` (line:col and byte
offsets of both ends), then its fields in declaration order. Spans are what `Source`
reports, so byte offsets are exact for any UTF-8 (or undecodable) input.
"""

from __future__ import annotations

from typing import Any

from bashflow.parser.syntax import Node
from bashflow.source import Source, Span

SCHEMA_VERSION = 1


def span_json(source: Source, span: Span) -> dict[str, Any]:
    sl, sc = source.line_col(span.start)
    el, ec = source.line_col(span.end)
    return {
        "start": {"line": sl, "col": sc, "offset": source.byte_offset(span.start)},
        "end": {"line": el, "col": ec, "offset": source.byte_offset(span.end)},
    }


def to_json(node: Any, source: Source) -> Any:
    """Convert a syntax node (or tuple / scalar) to plain JSON-ready data."""
    if isinstance(node, Node):
        out: dict[str, Any] = {"kind": type(node).__name__}
        for name in node._fields:
            value = getattr(node, name)
            if name == "span":
                out["span"] = span_json(source, value)
            else:
                out[name] = to_json(value, source)
        return out
    if isinstance(node, tuple):
        return [to_json(v, source) for v in node]
    return node


def script_json(script: Any, source: Source) -> dict[str, Any]:
    return {"schema": "bashflow.syntax", "version": SCHEMA_VERSION, "tree": to_json(script, source)}
