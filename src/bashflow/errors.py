"""errors - the exception hierarchy; every error carries a span and an exit code."""

from __future__ import annotations

from bashflow.source import MISSING, Source, Span

EXIT_OK = 0
EXIT_DENY = 1
EXIT_USAGE = 2
"""Bad invocation, malformed script (parse), bad policy."""


class BashflowError(Exception):
    """Root of bashflow's errors. `span` is never None (`MISSING` when there is no place)."""

    exit_code: int = 1

    def __init__(self, message: str, *, source: Source | None = None, span: Span = MISSING) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.span = span

    @property
    def filename(self) -> str:
        return self.source.filename if self.source is not None else "<unknown>"

    @property
    def line(self) -> int:
        if self.source is None or self.span is MISSING:
            return 0
        return self.source.line_col(self.span.start)[0]

    @property
    def col(self) -> int:
        if self.source is None or self.span is MISSING:
            return 0
        return self.source.line_col(self.span.start)[1]

    def __str__(self) -> str:
        if self.source is None or self.span is MISSING:
            return self.message
        return f"{self.filename}:{self.line}:{self.col}: {self.message}"


class ParseError(BashflowError):
    """The script is not valid bash (or uses a construct bashflow names as unsupported)."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        source: Source | None = None,
        span: Span = MISSING,
        found: str = "",
        expected: str = "",
    ) -> None:
        super().__init__(message, source=source, span=span)
        self.found = found
        self.expected = expected


class PolicyError(BashflowError):
    """A policy file or object is malformed."""

    exit_code = EXIT_USAGE
