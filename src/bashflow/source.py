"""source - script text, spans, and the offset -> line:col / byte-offset maps."""

from __future__ import annotations

import bisect
from typing import NamedTuple


class Span(NamedTuple):
    """Half-open range of character offsets into a `Source`'s text."""

    start: int
    end: int


MISSING = Span(-1, -1)
"""Sentinel span for things that have no place in a source (never `None`)."""


class Source:
    """Script text with its file name.

    Text is `str`; script bytes are decoded as UTF-8 with surrogate escapes so every byte
    survives and byte offsets can be reported exactly.
    """

    __slots__ = ("_byte_starts", "_line_starts", "filename", "text")

    def __init__(self, text: str, filename: str = "<string>") -> None:
        self.text = text
        self.filename = filename
        self._line_starts: list[int] | None = None
        self._byte_starts: list[int] | None = None

    @classmethod
    def from_bytes(cls, data: bytes, filename: str = "<string>") -> Source:
        return cls(data.decode("utf-8", "surrogateescape"), filename)

    def _lines(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i >= 0:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._line_starts = starts
        return self._line_starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters) of a character offset."""
        starts = self._lines()
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def line_text(self, line: int) -> str:
        """The text of 1-based `line`, without its line end."""
        starts = self._lines()
        if line < 1 or line > len(starts):
            return ""
        start = starts[line - 1]
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def byte_offset(self, offset: int) -> int:
        """Byte offset (in the UTF-8 / surrogate-escaped encoding) of a character offset."""
        if self._byte_starts is None:
            if self.text.isascii():
                return offset
            acc = [0]
            total = 0
            for ch in self.text:
                total += len(ch.encode("utf-8", "surrogateescape"))
                acc.append(total)
            self._byte_starts = acc
        return self._byte_starts[max(0, min(offset, len(self.text)))]

    def slice(self, span: Span) -> str:
        return self.text[span.start : span.end]
