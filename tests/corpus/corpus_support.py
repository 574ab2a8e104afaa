"""corpus_support - helpers of the corpus tests: the known-failures list and one parse of the
corpus that keeps only findings (never the trees, which would not fit in memory together)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (REPO, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import treewalk  # noqa: E402
from benchmarks import corpus as corpus_build  # noqa: E402

KNOWN_FAILURES = HERE / "known_failures.txt"


@dataclass(slots=True)
class FileResult:
    """What parsing one corpus file gave: an error (`file:line:col: message`) or span problems."""

    entry: corpus_build.Entry
    error: str | None = None
    crashed: bool = False
    span_problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CorpusRun:
    results: list[FileResult]
    seconds: float


def read_known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """`SOURCE-PATH  reason` lines (a tab or two spaces apart); `#` starts a comment line."""
    known: dict[str, str] = {}
    if not path.exists():
        return known
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        src, sep, reason = line.replace("\t", "  ").partition("  ")
        known[src.strip()] = reason.strip() if sep else "(no reason given)"
    return known


def offset_line_col(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{col}"


def parse_corpus(
    entries: Iterable[corpus_build.Entry], parse: Callable[..., Any], *, spans: bool = True
) -> CorpusRun:
    """Parse every entry once (and check its spans); a non-ParseError exception is a crash."""
    from bashflow import ParseError

    results: list[FileResult] = []
    t0 = time.perf_counter()
    for entry in entries:
        text = entry.read_text()
        result = FileResult(entry)
        try:
            tree = parse(text, filename=entry.source)
        except ParseError as e:
            result.error = f"{entry.source}:{e.line}:{e.col}: {e.message}"
        except Exception as e:
            result.error = f"{entry.source}: {type(e).__name__}: {e}"
            result.crashed = True
        else:
            if spans:
                result.span_problems = [
                    f"{entry.source}:{offset_line_col(text, p.offset)}: {p.kind}: {p.detail}"
                    for p in treewalk.check_spans(tree, text)
                ]
        results.append(result)
    return CorpusRun(results, time.perf_counter() - t0)
