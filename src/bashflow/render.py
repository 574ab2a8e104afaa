"""render - the one place that turns spans into `file:line:col`, the source line and a caret."""

from __future__ import annotations

from bashflow.errors import BashflowError
from bashflow.source import MISSING, Source, Span


def _printable(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\t" or (ch.isprintable() and not ("\udc80" <= ch <= "\udcff")):
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def caret_lines(source: Source, span: Span) -> str:
    """The source line holding `span.start` and a caret under it (tabs kept so it lines up)."""
    line, col = source.line_col(span.start)
    text = _printable(source.line_text(line))
    pad = "".join("\t" if ch == "\t" else " " for ch in text[: col - 1])
    width = 1
    if span.end > span.start:
        end_line, end_col = source.line_col(span.end)
        if end_line == line:
            width = max(1, end_col - col)
    width = max(1, min(width, len(text) - (col - 1))) if text else 1
    return f"{text}\n{pad}^{'~' * (width - 1)}"


def diagnostic(
    source: Source | None, span: Span, severity: str, message: str, *, context: bool = True
) -> str:
    """`file:line:col: severity: message`, then the source line and a caret."""
    if source is None or span is MISSING:
        name = source.filename if source is not None else "bashflow"
        return f"{name}: {severity}: {message}"
    line, col = source.line_col(span.start)
    head = f"{source.filename}:{line}:{col}: {severity}: {message}"
    if not context:
        return head
    return f"{head}\n{caret_lines(source, span)}"


def render_error(err: BashflowError) -> str:
    return diagnostic(err.source, err.span, "error", err.message)
