"""parser - shell text to the typed syntax tree (`bashflow.parser.syntax`).

`parse(text)` is the front end every other stage stands on: a construct bash accepts either
parses faithfully or fails with a located `ParseError`.
"""

from __future__ import annotations

import sys

from bashflow.errors import ParseError
from bashflow.parser.syntax import Script
from bashflow.source import Source, Span

__all__ = ["ParseError", "parse", "parse_source"]

# The parser recurses once per nesting level of the script (each level costs a handful of
# Python frames); CPython 3.11+ runs pure-Python recursion without growing the C stack, so
# a higher limit is safe. It is raised once, never lowered.
_RECURSION_LIMIT = 60000


def _ensure_recursion_limit() -> None:
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)


def parse(text: str | bytes, filename: str = "<string>") -> Script:
    """Parse bash source into a `Script`. Raises `ParseError` (with `.line`, `.col`)."""
    if isinstance(text, bytes):
        source = Source.from_bytes(text, filename)
    else:
        source = Source(text, filename)
    return parse_source(source)


def parse_source(source: Source) -> Script:
    from bashflow.parser.commands import CommandParser

    text = source.text
    nul = text.find("\0")
    if nul >= 0:
        raise ParseError(
            "NUL byte in script (bash cannot run text with NUL bytes)",
            source=source,
            span=Span(nul, nul + 1),
            found="NUL byte",
        )
    _ensure_recursion_limit()
    parser = CommandParser(text, source)
    try:
        body = parser.parse_script()
    except ParseError as err:
        if "\r\n" in text and "CRLF" not in err.message:
            err.message += (
                " (the script has CRLF line ends: bash reads each `\\r' as part of a word, "
                "so keywords like `then\\r' are not recognised)"
            )
            err.args = (err.message,)
        raise
    except RecursionError:
        raise ParseError(
            "script nested too deeply to parse", source=source, span=Span(parser.pos, parser.pos)
        ) from None
    return Script(Span(0, len(text)), body, source.filename)
