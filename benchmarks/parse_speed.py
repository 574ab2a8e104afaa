"""parse_speed - bashflow against bashlex 0.18 on the real-world corpus, in one run.

Each file is parsed by both parsers in turn (interleaved, so both see the same machine state),
each call timed with `time.perf_counter`. Printed: success rate and lines/s for each parser, over
all files and over the files both parse (the fair comparison: a parser that gives up early is
not fast), the ratio bashflow / bashlex (target: at least 3x), success by category, every file
bashflow fails on, and `bash -n` for reference (one process per file, so its spawn cost, measured
on an empty file, is subtracted).

    python -m benchmarks.parse_speed              # whole corpus
    python -m benchmarks.parse_speed --no-bash    # skip the bash -n reference
    python -m benchmarks.parse_speed --limit 300  # the first 300 files only
    python -m benchmarks.parse_speed --json out.json

bashlex is GPL-licensed; it is a test and benchmark dependency only, never imported by bashflow.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from benchmarks import corpus as corpus_build

PER_FILE_LIMIT_S = 20


class _Timeout(Exception):
    pass


class _Located(Exception):
    """A bashflow ParseError already rendered as `file:line:col: message`."""


def _on_alarm(_sig: int, _frame: FrameType | None) -> None:
    raise _Timeout


@dataclass(slots=True)
class Tally:
    name: str
    ok: int = 0
    seconds: float = 0.0
    lines: int = 0
    ok_seconds: float = 0.0
    ok_lines: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source, message)
    by_category: collections.Counter[str] = field(default_factory=collections.Counter)

    def record(
        self, source: str, category: str, lines: int, seconds: float, error: str | None
    ) -> None:
        self.seconds += seconds
        self.lines += lines
        if error is None:
            self.ok += 1
            self.ok_seconds += seconds
            self.ok_lines += lines
            self.by_category[category] += 1
        else:
            self.failures.append((source, error))


def _timed(fn: Callable[[str], Any], text: str) -> tuple[float, str | None]:
    signal.alarm(PER_FILE_LIMIT_S)
    t0 = time.perf_counter()
    try:
        fn(text)
        error = None
    except _Located as e:
        error = str(e)
    except _Timeout:
        error = f"timeout (> {PER_FILE_LIMIT_S} s)"
    except RecursionError:
        error = "RecursionError"
    except Exception as e:
        error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    dt = time.perf_counter() - t0
    signal.alarm(0)
    return dt, error


def _bashflow_error(parse: Callable[..., Any], source: str) -> Callable[[str], Any]:
    from bashflow import ParseError

    def run(text: str) -> Any:
        try:
            return parse(text, filename=source)
        except ParseError as e:
            raise _Located(f"{source}:{e.line}:{e.col}: {e.message}") from None

    return run


def bash_n_rate(entries: list[corpus_build.Entry]) -> dict[str, float]:
    """`bash -n` for reference. It takes one process per file, so: the whole corpus with spawns
    included; and the largest files (where parsing outweighs the spawn), best of 3 runs each,
    minus the best spawn time of an empty file."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}

    def run(path: str) -> float:
        t0 = time.perf_counter()
        subprocess.run(
            [corpus_build.BASH, "-n", path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            check=False,
        )
        return time.perf_counter() - t0

    total = sum(run(str(e.path)) for e in entries)
    lines = sum(e.lines for e in entries)
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as empty:
        spawn = min(run(empty.name) for _ in range(30))
    big = sorted(entries, key=lambda e: e.lines, reverse=True)[:20]
    big_lines = sum(e.lines for e in big)
    big_parse = sum(max(min(run(str(e.path)) for _ in range(3)) - spawn, 1e-6) for e in big)
    return {
        "seconds": total,
        "spawn_ms": spawn * 1000,
        "lines_per_s_with_spawn": lines / total,
        "big_files": len(big),
        "big_lines": big_lines,
        "lines_per_s_parse_only": big_lines / big_parse,
    }


def _rate(t: Tally, total: int) -> str:
    return f"{t.ok}/{total} ({100.0 * t.ok / max(1, total):.2f}%)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.parse_speed", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N corpus files")
    ap.add_argument("--no-bash", action="store_true", help="skip the bash -n reference")
    ap.add_argument("--no-bashlex", action="store_true", help="bashflow only")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    corpus = corpus_build.load()
    entries = list(corpus.entries[: args.limit] if args.limit else corpus.entries)
    import bashflow

    bashflow.parse("true")  # load the parser (and its lazily built tables) before timing
    parsers: list[tuple[Tally, Callable[[corpus_build.Entry], Callable[[str], Any]]]] = [
        (Tally("bashflow"), lambda e: _bashflow_error(bashflow.parse, e.source)),
    ]
    if not args.no_bashlex:
        import bashlex  # type: ignore[import-untyped]

        bashlex.parse("true")
        parsers.append((Tally("bashlex"), lambda _e: bashlex.parse))

    signal.signal(signal.SIGALRM, _on_alarm)
    texts_ok: dict[str, set[str]] = {t.name: set() for t, _ in parsers}
    per_file: dict[str, dict[str, float]] = {t.name: {} for t, _ in parsers}
    t_run = time.perf_counter()
    for e in entries:
        text = e.read_text()
        for tally, make in parsers:
            dt, error = _timed(make(e), text)
            tally.record(e.source, e.category, e.lines, dt, error)
            per_file[tally.name][e.source] = dt
            if error is None:
                texts_ok[tally.name].add(e.source)
    wall = time.perf_counter() - t_run

    total_files = len(entries)
    total_lines = sum(e.lines for e in entries)
    print(
        f"corpus: {total_files} files, {total_lines} lines ({corpus.root}); run took {wall:.1f} s"
    )
    print()
    print(
        f"{'parser':<10} {'parsed':>22} {'s (all)':>9} {'lines/s (all)':>14} {'lines/s (parsed)':>17}"
    )
    for t, _ in parsers:
        print(
            f"{t.name:<10} {_rate(t, total_files):>22} {t.seconds:>9.2f} "
            f"{t.lines / max(t.seconds, 1e-9):>14,.0f} {t.ok_lines / max(t.ok_seconds, 1e-9):>17,.0f}"
        )
    figures: dict[str, Any] = {
        "files": total_files,
        "lines": total_lines,
        "parsers": {
            t.name: {
                "ok": t.ok,
                "rate": t.ok / max(1, total_files),
                "seconds": t.seconds,
                "lines_per_s_all": t.lines / max(t.seconds, 1e-9),
                "lines_per_s_parsed": t.ok_lines / max(t.ok_seconds, 1e-9),
            }
            for t, _ in parsers
        },
    }
    if len(parsers) == 2:
        both = texts_ok["bashflow"] & texts_ok["bashlex"]
        lines_both = sum(e.lines for e in entries if e.source in both)
        s_bf = sum(per_file["bashflow"][s] for s in both)
        s_bl = sum(per_file["bashlex"][s] for s in both)
        bf_rate, bl_rate = lines_both / max(s_bf, 1e-9), lines_both / max(s_bl, 1e-9)
        print()
        print(f"on the {len(both)} files both parse ({lines_both} lines):")
        print(f"  bashflow {bf_rate:,.0f} lines/s, bashlex {bl_rate:,.0f} lines/s")
        print(f"  ratio bashflow/bashlex: {bf_rate / bl_rate:.2f}x   (target >= 3x)")
        all_ratio = (bashflow_all := parsers[0][0]).lines / max(bashflow_all.seconds, 1e-9)
        all_ratio /= parsers[1][0].lines / max(parsers[1][0].seconds, 1e-9)
        print(f"  (over all files, failures included: {all_ratio:.2f}x)")
        figures["both"] = {
            "files": len(both),
            "lines": lines_both,
            "bashflow_lines_per_s": bf_rate,
            "bashlex_lines_per_s": bl_rate,
            "ratio": bf_rate / bl_rate,
            "ratio_all_files": all_ratio,
        }
        cats = collections.Counter(e.category for e in entries)
        print()
        print(f"{'category':<12} {'files':>6} " + " ".join(f"{t.name:>10}" for t, _ in parsers))
        for cat in corpus_build.CATEGORIES:
            if cats[cat]:
                cells = " ".join(
                    f"{100.0 * t.by_category[cat] / cats[cat]:>9.1f}%" for t, _ in parsers
                )
                print(f"{cat:<12} {cats[cat]:>6} {cells}")
        bl_errors = collections.Counter(msg.split(":")[0] for _, msg in parsers[1][0].failures)
        print(
            "bashlex failures by exception: "
            + ", ".join(f"{k} {n}" for k, n in bl_errors.most_common())
        )

    if not args.no_bash:
        ref = bash_n_rate(entries)
        print()
        print(
            f"bash -n: {ref['lines_per_s_with_spawn']:,.0f} lines/s over the corpus, one process per "
            f"file; {ref['lines_per_s_parse_only']:,.0f} lines/s parsing alone (the "
            f"{ref['big_files']:.0f} largest files, {ref['big_lines']:,.0f} lines, best of 3, "
            f"minus the {ref['spawn_ms']:.2f} ms spawn)"
        )
        figures["bash_n"] = ref

    bf = parsers[0][0]
    print()
    if bf.failures:
        print(f"bashflow failures ({len(bf.failures)}):")
        for source, msg in bf.failures:
            print(f"  {msg if msg.startswith(source) else f'{source}: {msg}'}")
    else:
        print("bashflow failures: none")
    figures["bashflow_failures"] = [msg for _, msg in bf.failures]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(main())
