"""bash_oracle - bash's own parser as a test oracle: what `declare -f` prints for a body.

A body is wrapped as `f() {\\nBODY\\n}\\n`, bash defines the function (nothing in the body
runs) and prints it with `declare -f f`; our side parses the same wrapped text and prints the
body with `bashflow.parser.printer.format_function`. Many bodies go to one bash process.

    python tests/parse/bash_oracle.py [--corpus] [--show N] [FILE...]

prints the pass rate over the construct fixtures (or the corpus, or the FILEs) and the first
N differences as unified diffs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from bashflow.errors import ParseError  # noqa: E402
from bashflow.parser import parse  # noqa: E402
from bashflow.parser.printer import format_function  # noqa: E402
from bashflow.parser.syntax import BraceGroup, FunctionDef  # noqa: E402

BASH = "/usr/bin/bash"
FIXTURES = REPO / "fixtures" / "parse" / "constructs"
KNOWN_DIFFS = HERE / "printer_known_diffs.txt"
CORPUS_DIR = Path(os.environ.get("BASHFLOW_CORPUS", REPO / ".corpus"))
BATCH = 400

# One bash for many files: nothing but the definition of `f` runs, with no PATH, in an
# empty directory, so even a wrapping that went wrong could not reach a program.
_DRIVER = r"""
shopt -s extglob
for __bf_file in "$@"; do
  unset -f f
  source "$__bf_file" 2>/dev/null
  declare -f f
  printf '\0'
done
"""


def wrap(body: str) -> str:
    return "f() {\n" + body + "\n}\n"


def bash_declare_f(bodies: Sequence[str]) -> list[str | None]:
    """`declare -f f` for each wrapped body (without the final newline), or None when bash
    refuses the wrapped text."""
    chunks = [list(range(i, min(i + BATCH, len(bodies)))) for i in range(0, len(bodies), BATCH)]
    results: list[str | None] = [None] * len(bodies)
    with tempfile.TemporaryDirectory(prefix="bashflow-oracle-") as tmp:
        paths = []
        for i, body in enumerate(bodies):
            path = os.path.join(tmp, f"{i}.sh")
            with open(path, "wb") as fh:
                fh.write(wrap(body).encode("utf-8", "surrogateescape"))
            paths.append(path)
        work = os.path.join(tmp, "cwd")
        os.mkdir(work)
        env = {"PATH": "/nonexistent", "LC_ALL": "C.UTF-8", "HOME": work}

        def run(chunk: list[int]) -> None:
            out = subprocess.run(
                [BASH, "--norc", "--noprofile", "-c", _DRIVER, "bash", *(paths[i] for i in chunk)],
                cwd=work,
                env=env,
                capture_output=True,
                check=False,
                stdin=subprocess.DEVNULL,
                timeout=600,
            ).stdout
            pieces = out.split(b"\0")
            for i, piece in zip(chunk, pieces, strict=False):
                text = piece.decode("utf-8", "surrogateescape")
                results[i] = text[:-1] if text.endswith("\n") else (text or None)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(run, chunks))
    return results


def our_declare_f(body: str) -> str:
    """What our tree says `declare -f f` prints; raises ParseError, or ValueError when the
    wrapped text is not one function definition to us."""
    text = wrap(body)
    script = parse(text)
    items = script.body.items
    if len(items) != 1:
        raise ValueError(f"wrapped text is {len(items)} top-level commands, not one function")
    cmd = items[0].command.first.commands[0]
    if not isinstance(cmd, FunctionDef) or not isinstance(cmd.body, BraceGroup):
        raise ValueError(f"wrapped text is a {type(cmd).__name__}, not a function definition")
    return format_function("f", cmd.body.body, text)


@dataclass(slots=True)
class Outcome:
    name: str
    status: str  # "same", "differ", "bash-refused", "parse-error", "crash"
    expected: str | None = None
    got: str | None = None
    detail: str = ""

    def diff(self) -> str:
        if self.status != "differ" or self.expected is None or self.got is None:
            return f"{self.name}: {self.status} {self.detail}".rstrip()
        lines = difflib.unified_diff(
            self.expected.splitlines(keepends=True),
            self.got.splitlines(keepends=True),
            f"bash: {self.name}",
            f"ours: {self.name}",
            n=2,
        )
        return "".join(lines)


def compare(named_bodies: Sequence[tuple[str, str]]) -> list[Outcome]:
    expected = bash_declare_f([body for _, body in named_bodies])
    outcomes = []
    for (name, body), want in zip(named_bodies, expected, strict=True):
        if want is None:
            outcomes.append(Outcome(name, "bash-refused"))
            continue
        try:
            got = our_declare_f(body)
        except ParseError as exc:
            outcomes.append(Outcome(name, "parse-error", want, None, str(exc).splitlines()[0]))
            continue
        except (ValueError, RecursionError, AssertionError, TypeError, AttributeError) as exc:
            outcomes.append(Outcome(name, "crash", want, None, f"{type(exc).__name__}: {exc}"))
            continue
        outcomes.append(Outcome(name, "same" if got == want else "differ", want, got))
    return outcomes


def read_known_diffs(path: Path = KNOWN_DIFFS) -> dict[str, str]:
    """`NAME  reason` lines; `#` starts a comment."""
    known: dict[str, str] = {}
    if path.exists():
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.replace("\t", "  ").partition("  ")
                known[name.strip()] = reason.strip()
    return known


def fixture_bodies() -> list[tuple[str, str]]:
    return [(p.name, p.read_text()) for p in sorted(FIXTURES.glob("*.sh"))]


def corpus_files(root: Path = CORPUS_DIR) -> list[tuple[str, Path]] | None:
    """(relative path, file) for each corpus file, or None when the corpus is not built."""
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    files = [(f["path"], root / f["path"]) for f in manifest.get("files", [])]
    return [(rel, path) for rel, path in files if path.exists()]


def corpus_bodies(root: Path = CORPUS_DIR) -> list[tuple[str, str]] | None:
    files = corpus_files(root)
    if files is None:
        return None
    return [(rel, p.read_bytes().decode("utf-8", "surrogateescape")) for rel, p in files]


def summarize(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", action="store_true", help="compare over the real-world corpus")
    ap.add_argument("--show", type=int, default=5, help="print this many differences")
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args(argv)
    if args.files:
        bodies = [(str(p), p.read_bytes().decode("utf-8", "surrogateescape")) for p in args.files]
    elif args.corpus:
        found = corpus_bodies()
        if found is None:
            print(f"no corpus at {CORPUS_DIR} (python -m benchmarks.corpus builds it)")
            return 2
        bodies = found
    else:
        bodies = fixture_bodies()
    outcomes = compare(bodies)
    counts = summarize(outcomes)
    compared = len(outcomes) - counts.get("bash-refused", 0)
    same = counts.get("same", 0)
    rate = 100.0 * same / compared if compared else 100.0
    print(f"declare -f differential: {same}/{compared} identical ({rate:.2f}%); {counts}")
    shown = 0
    for o in outcomes:
        if o.status in ("same", "bash-refused"):
            continue
        if shown < args.show:
            print(o.diff())
        shown += 1
    return 0 if same == compared else 1


if __name__ == "__main__":
    sys.exit(main())
