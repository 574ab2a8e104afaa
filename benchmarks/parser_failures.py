"""parser_failures - regenerate tests/corpus/parser_failures.md: where bashflow fails on input
bash accepts, each cause with a minimal reproduction.

For every corpus file bashflow fails on, the failing line is matched against the causes below
(each with a reproduction written here, not copied from the file). A failure no cause matches
is reduced automatically: lines of the file are dropped while `bash -n` still accepts the rest
and bashflow still fails with the same message (a few lines of the original file remain, shown
as such). Then the hostile shapes (benchmarks/hostile.py) that time out or take over a second.
Every reproduction is re-checked against `bash -n` and bashflow on each run.

    python -m benchmarks.parser_failures             # write tests/corpus/parser_failures.md
    python -m benchmarks.parser_failures --stdout    # print it instead
    python -m benchmarks.parser_failures --no-hostile
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import corpus as corpus_build
from benchmarks import hostile

OUT = corpus_build.REPO / "tests" / "corpus" / "parser_failures.md"


@dataclass(frozen=True, slots=True)
class Cause:
    """A known way bashflow fails on text bash accepts."""

    name: str
    why: str
    repros: tuple[str, ...]  # each a complete script bash -n accepts (written here)
    line_pattern: str  # matches the failing source line of corpus files with this cause


CAUSES: tuple[Cause, ...] = (
    Cause(
        name="compound assignment in the arguments of eval / let / alias",
        why=(
            "bash accepts `name=(...)` words as arguments when the first word of the command is an "
            "assignment builtin: declare, typeset, local, export, readonly, and also eval, let and "
            "alias (and it keeps doing so after `eval`: `eval local a=(...)`). bashflow accepts "
            "the first group only. Not for `command eval` or `builtin declare`: bash rejects those."
        ),
        repros=(
            "eval a=(b c)\n",
            "eval local a=($OPTS)\n",
            "eval x a=(b)\n",
            "let a=(1)\n",
            "alias a=(b)\n",
        ),
        line_pattern=r"(^|[;&|({]\s*|\s)(eval|let|alias)\s[^;&|#]*\b\w+(\[[^]]*\])?\+?=\(",
    ),
)


def bash_accepts(text: str, extglob: bool = False) -> bool:
    with tempfile.NamedTemporaryFile(
        "w", suffix=".sh", encoding="utf-8", errors="surrogateescape"
    ) as f:
        f.write(text)
        f.flush()
        argv = [corpus_build.BASH, *(["-O", "extglob"] if extglob else []), "-n", f.name]
        r = subprocess.run(
            argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=30, check=False
        )
    return r.returncode == 0


def bashflow_error(text: str) -> str | None:
    """bashflow's `line:col: message` for `text`, or None when it parses."""
    import bashflow

    try:
        bashflow.parse(text)
    except bashflow.ParseError as e:
        return f"{e.line}:{e.col}: {e.message}"
    except Exception as e:
        return f"0:0: crash: {type(e).__name__}: {e}"
    return None


def _message(err: str) -> str:
    """The message of `line:col: message`, with line numbers inside it masked."""
    msg = err.split(": ", 1)[1] if ": " in err else err
    return re.sub(r"line \d+", "line N", msg)


def reduce_lines(text: str, keep: Callable[[str], bool], budget: int = 400) -> str:
    """Drop lines (chunks, then single lines) while `keep` holds: a plain ddmin over lines."""
    lines = text.splitlines(keepends=True)
    tries = 0
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and tries < budget:
        i = 0
        changed = False
        while i < len(lines) and tries < budget:
            candidate = lines[:i] + lines[i + chunk :]
            tries += 1
            if candidate and keep("".join(candidate)):
                lines = candidate
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return "".join(lines)


def _failing_line(text: str, err: str) -> str:
    try:
        line = int(err.split(":", 1)[0])
    except ValueError:
        return ""
    rows = text.splitlines()
    return rows[line - 1] if 0 < line <= len(rows) else ""


def _cause_of(text: str, err: str) -> Cause | None:
    line = _failing_line(text, err)
    for cause in CAUSES:
        if re.search(cause.line_pattern, line):
            return cause
    return None


def _fence(text: str) -> list[str]:
    return ["```bash", text.rstrip("\n"), "```"]


def generate(with_hostile: bool = True) -> str:
    corpus = corpus_build.load()
    by_cause: dict[str, list[str]] = {c.name: [] for c in CAUSES}
    unexplained: list[tuple[corpus_build.Entry, str, str]] = []
    failures = 0
    for e in corpus.entries:
        text = e.read_text()
        err = bashflow_error(text)
        if err is None:
            continue
        failures += 1
        cause = _cause_of(text, err)
        if cause is not None:
            by_cause[cause.name].append(f"{e.source}:{err}")
            continue
        target = _message(err)

        def keep(t: str, target: str = target, extglob: bool = e.extglob) -> bool:
            got = bashflow_error(t)
            return got is not None and _message(got) == target and bash_accepts(t, extglob)

        unexplained.append((e, err, reduce_lines(text, keep)))

    total = len(corpus)
    out: list[str] = [
        "# bashflow parser failures on real-world input",
        "",
        "Generated by `python -m benchmarks.parser_failures` (do not edit by hand). Every reproduction",
        "below is checked against `bash -n` (bash at /usr/bin/bash) and bashflow each time it runs.",
        "",
        f"Corpus: {total} files that `bash -n` accepts ({corpus.lines} lines; bash {corpus.manifest['bash']}).",
        f"bashflow parses {total - failures} of them ({100.0 * (total - failures) / max(1, total):.2f}%); "
        f"{failures} fail.",
        "",
    ]
    for cause in CAUSES:
        files = by_cause[cause.name]
        out += [f"## {cause.name}", "", cause.why, ""]
        out.append("| reproduction | bash -n | bashflow |")
        out.append("|---|---|---|")
        for r in cause.repros:
            got = bashflow_error(r)
            shown = r.rstrip("\n").replace("|", "\\|")
            out.append(
                f"| `{shown}` | {'accepts' if bash_accepts(r) else 'REJECTS'} | "
                f"{'parses (fixed)' if got is None else got.replace('|', chr(92) + '|')} |"
            )
        out.append("")
        out.append(f"Corpus files failing this way: {len(files)}" + (":" if files else "."))
        out += [f"- `{f}`" for f in files]
        out.append("")
    if unexplained:
        out += ["## Failures with no known cause yet", ""]
        out.append("Reduced automatically from the file (the lines below are the file's own):")
        out.append("")
        for e, err, reduced in unexplained:
            out.append(f"- `{e.source}:{err}`" + (" (needs extglob)" if e.extglob else ""))
            out += ["", *_fence(reduced), ""]
    if with_hostile:
        out += _hostile_section()
    return "\n".join(out).rstrip("\n") + "\n"


def _hostile_section() -> list[str]:
    rows: list[str] = []
    for shape in hostile.SHAPES:
        o = hostile.run_shape(shape, limit_s=3.0)
        missing = o.missing() if o.kind == "tree" else {}
        if o.kind in ("tree", "ParseError") and o.seconds <= hostile.TARGET_S and not missing:
            continue
        what = (
            o.kind
            if o.kind != "tree"
            else "tree" + (f", missing {o.missing()}" if o.missing() else "")
        )
        rows.append(f"| {shape.name} | {o.seconds:.2f} s | {what} {o.detail} |")
    out = ["## Hostile shapes over one second, hanging or failing", ""]
    if not rows:
        return [*out, "None.", ""]
    out += [
        "From `python -m benchmarks.hostile` (generated text; see its SHAPES for each generator;",
        "stopped after 3 s here).",
        "",
        "| shape | time | result |",
        "|---|---|---|",
        *rows,
        "",
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.parser_failures", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--stdout", action="store_true", help="print instead of writing the file")
    ap.add_argument("--no-hostile", action="store_true", help="leave out the hostile shapes")
    args = ap.parse_args(argv)
    text = generate(with_hostile=not args.no_hostile)
    if args.stdout:
        sys.stdout.write(text)
    else:
        OUT.write_text(text)
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
