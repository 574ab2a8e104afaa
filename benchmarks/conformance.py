"""conformance - the differential conformance suite: every case of fixtures/spec/*.test.sh run
under /usr/bin/bash (whose output is recorded in the file) and under `bashflow exec`; stdout,
exit status and (unless the case says `## skip-stderr`) stderr compared byte for byte.

    python -m benchmarks.conformance                        # table: category, cases, passed, %
    python -m benchmarks.conformance --verbose -k quoting   # diffs of the failures in matching cases
    python -m benchmarks.conformance --update-expectations  # re-record bash's output in the files
    python -m benchmarks.conformance --update-known-failures
    python -m benchmarks.conformance --impl /usr/bin/dash   # score another shell (argv prefix)

The file format is documented in docs/conformance.md. Each case runs in a fresh temporary
directory (see `run_case`); the only normalisation is that directory's path, shown as `$TMP`.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
SPEC_DIR = REPO / "fixtures" / "spec"
KNOWN_FAILURES = REPO / "tests" / "exec" / "conformance_known_failures.txt"
BASH = "/usr/bin/bash"
BASH_ARGV: tuple[str, ...] = (BASH,)
BASHFLOW_ARGV: tuple[str, ...] = (
    sys.executable,
    "-m",
    "bashflow",
    "exec",
    "--no-sandbox",
    "--quiet",
)
PATH = "/usr/local/bin:/usr/bin:/bin"
BASH_TIMEOUT_S = 10.0
IMPL_TIMEOUT_S = 30.0
RECORD_RUNS = 3  # bash runs per case when recording: all must agree
JOBS = 2  # the machine is shared: never more than two cases at once
TMP_MARK = b"$TMP"
NO_EOL = "## \\ no newline at end"
SUFFIX = ".test.sh"

_KEY = re.compile(r"^## ([a-z][a-z-]*)(?::(?: (.*))?)?$")
_BLOCKS = ("stdin", "stdout", "stderr")  # blocks whose lines are `## | text`
_RESERVED = ("policy", "findings")  # kept verbatim for later tools (value and `## |` lines)


class SpecError(Exception):
    """A malformed spec file: carries `file:line: message`."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run of a case produced (the temp dir already replaced by `$TMP`)."""

    stdout: bytes
    stderr: bytes
    status: int
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Case:
    """One `#### name` section of a spec file."""

    category: str
    name: str
    script: str
    path: Path
    line: int
    stdin: bytes | None = None
    skip_stderr: str | None = None  # None: compare stderr; else the reason ("" if none given)
    stdout: bytes = b""
    stderr: bytes = b""
    status: int = 0
    reserved: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, raw lines) of policy/findings
    args: str = ""  # `## args:` as written: shell words passed after the script's path

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.args)

    @property
    def id(self) -> str:
        return f"{self.category}/{self.name}"

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(slots=True)
class SpecFile:
    path: Path
    header: list[str] = field(default_factory=list)  # comment lines before the first case
    cases: list[Case] = field(default_factory=list)

    @property
    def category(self) -> str:
        return self.path.name[: -len(SUFFIX)]


# ---------------------------------------------------------------- the file format


def _decode_block(lines: list[str], where: str) -> bytes:
    out: list[str] = []
    no_eol = False
    for i, line in enumerate(lines):
        if line == NO_EOL:
            if i != len(lines) - 1 or not out:
                raise SpecError(f"{where}: `{NO_EOL}` must follow the block's last line")
            no_eol = True
        elif line == "## |":
            out.append("\n")
        elif line.startswith("## | "):
            out.append(line[5:] + "\n")
        else:
            raise SpecError(f"{where}: expected `## | TEXT` in a block, got {line!r}")
    text = "".join(out)
    if no_eol:
        text = text[:-1]
    return text.encode("utf-8", "surrogateescape")


def _printable(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c in "\t\n" or (ord(c) >= 0x20 and ord(c) != 0x7F) for c in text)


def encode_block(key: str, data: bytes) -> list[str]:
    """`## KEY:` and the `## | TEXT` lines holding `data`, or `## KEY-bytes: b'...'` for data
    that is not printable UTF-8 text (control characters other than tab and newline)."""
    if not _printable(data):
        return [f"## {key}-bytes: {data!r}"]
    lines = [f"## {key}:"]
    text = data.decode("utf-8")
    body = text[:-1] if text.endswith("\n") else text
    for part in body.split("\n"):
        lines.append(f"## | {part}" if part else "## |")
    if not text.endswith("\n"):
        lines.append(NO_EOL)
    return lines


def parse_spec(path: Path, text: str | None = None) -> SpecFile:
    """Read a spec file (format: docs/conformance.md)."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    spec = SpecFile(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines) and not lines[i].startswith("####"):
        spec.header.append(lines[i])
        i += 1
    names: set[str] = set()
    while i < len(lines):
        head = lines[i]
        start = i + 1
        name = head[4:].strip()
        if not head.startswith("#### ") or not name:
            raise SpecError(f"{path}:{start}: a case starts with `#### NAME`")
        if name in names:
            raise SpecError(f"{path}:{start}: duplicate case name {name!r}")
        names.add(name)
        i += 1
        script: list[str] = []
        while i < len(lines) and not lines[i].startswith("##"):
            script.append(lines[i])
            i += 1
        while script and not script[-1].strip():
            script.pop()
        if not script:
            raise SpecError(f"{path}:{start}: case {name!r} has no script")
        fields: dict[str, object] = {}
        reserved: list[tuple[str, tuple[str, ...]]] = []
        while i < len(lines) and not lines[i].startswith("####"):
            line = lines[i]
            where = f"{path}:{i + 1}"
            if not line.strip():
                i += 1
                continue
            m = _KEY.match(line)
            if m is None:
                raise SpecError(f"{where}: expected `## KEY:` after the script, got {line!r}")
            key, value = m.group(1), m.group(2)
            i += 1
            block: list[str] = []
            while i < len(lines) and (lines[i].startswith("## |") or lines[i] == NO_EOL):
                block.append(lines[i])
                i += 1
            if key in fields or any(k == key for k, _ in reserved):
                raise SpecError(f"{where}: `{key}` given twice")
            if key in _BLOCKS:
                if value is not None:
                    raise SpecError(f"{where}: `## {key}:` takes its text on `## |` lines")
                fields[key] = _decode_block(block, where)
            elif key.endswith("-bytes") and key[:-6] in _BLOCKS:
                if block or value is None:
                    raise SpecError(f"{where}: `## {key}: b'...'` is one line")
                data = ast.literal_eval(value)
                if not isinstance(data, bytes):
                    raise SpecError(f"{where}: `## {key}:` takes a Python bytes literal")
                fields[key[:-6]] = data
            elif key == "status":
                if block or value is None or not value.isdigit():
                    raise SpecError(f"{where}: `## status: N` with N in 0..255")
                fields[key] = int(value)
            elif key == "skip-stderr":
                fields[key] = value or ""
            elif key == "args":
                if block or not value:
                    raise SpecError(f"{where}: `## args: WORD...` is one line of shell words")
                try:
                    shlex.split(value)
                except ValueError as e:
                    raise SpecError(f"{where}: `## args:` {e}") from None
                fields[key] = value
            elif key in _RESERVED:
                reserved.append((key, (line, *block)))
            else:
                raise SpecError(f"{where}: unknown key `{key}`")
        if "skip-stderr" in fields and "stderr" in fields:
            raise SpecError(f"{path}:{start}: both `## stderr:` and `## skip-stderr`")
        spec.cases.append(
            Case(
                category=spec.category,
                name=name,
                script="\n".join(script) + "\n",
                path=path,
                line=start,
                stdin=fields.get("stdin"),  # type: ignore[arg-type]
                skip_stderr=fields.get("skip-stderr"),  # type: ignore[arg-type]
                stdout=fields.get("stdout", b""),  # type: ignore[arg-type]
                stderr=fields.get("stderr", b""),  # type: ignore[arg-type]
                status=fields.get("status", 0),  # type: ignore[arg-type]
                reserved=tuple(reserved),
                args=fields.get("args", ""),  # type: ignore[arg-type]
            )
        )
    return spec


def format_spec(spec: SpecFile) -> str:
    """The file's text; `parse_spec(format_spec(s))` gives `s` back. Empty stdout / stderr and
    status 0 are not written (an absent block means exactly that)."""
    out: list[str] = list(spec.header)
    for case in spec.cases:
        out.append(f"#### {case.name}")
        out.extend(case.script.rstrip("\n").split("\n"))
        if case.args:
            out.append(f"## args: {case.args}")
        if case.stdin is not None:
            out.extend(encode_block("stdin", case.stdin))
        if case.skip_stderr is not None:
            out.append("## skip-stderr" + (f": {case.skip_stderr}" if case.skip_stderr else ""))
        for _key, raw in case.reserved:
            out.extend(raw)
        if case.status:
            out.append(f"## status: {case.status}")
        if case.stdout:
            out.extend(encode_block("stdout", case.stdout))
        if case.stderr and case.skip_stderr is None:
            out.extend(encode_block("stderr", case.stderr))
        out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def spec_files(spec_dir: Path = SPEC_DIR) -> list[Path]:
    return sorted(spec_dir.glob("*" + SUFFIX))


def load_cases(spec_dir: Path = SPEC_DIR, pattern: str | None = None) -> list[Case]:
    """Every case, in file order; with `pattern`, those whose id contains it."""
    cases = [c for p in spec_files(spec_dir) for c in parse_spec(p).cases]
    if pattern:
        cases = [c for c in cases if pattern in c.id]
    return cases


# ---------------------------------------------------------------- running


def case_env(root: Path) -> dict[str, str]:
    return {
        "HOME": str(root / "home"),
        "PATH": PATH,
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    if pipe is None:
        return
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


def run_case(case: Case, argv: Sequence[str], timeout: float = IMPL_TIMEOUT_S) -> Outcome:
    """Run `ARGV… ROOT/case.sh [ARGS…]` with the working directory `ROOT/work` (empty), `HOME=ROOT/home`
    (empty), the environment of `case_env`, stdin from the case's `## stdin:` block through a
    pipe (else /dev/null), and stdout / stderr to files. When the script's process ends, what it
    left running in its process group is killed. `ROOT` in the output is replaced by `$TMP`."""
    root = Path(tempfile.mkdtemp(prefix="bfconf."))
    try:
        (root / "work").mkdir()
        (root / "home").mkdir()
        script = root / "case.sh"
        script.write_text(case.script, encoding="utf-8")
        out_path, err_path = root / "stdout", root / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [*argv, str(script), *case.argv],
                cwd=root / "work",
                env=case_env(root),
                stdin=subprocess.DEVNULL if case.stdin is None else subprocess.PIPE,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        feeder = None
        if case.stdin is not None:
            feeder = threading.Thread(target=_feed, args=(proc.stdin, case.stdin), daemon=True)
            feeder.start()
        timed_out = False
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(proc.pid)
            status = proc.wait()
        _killpg(proc.pid)
        if feeder is not None:
            feeder.join(5)
        if status < 0:  # killed by a signal: report it the way a shell would
            status = 128 - status
        return Outcome(
            stdout=normalise(out_path.read_bytes(), root),
            stderr=normalise(err_path.read_bytes(), root),
            status=status,
            timed_out=timed_out,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def normalise(data: bytes, root: Path) -> bytes:
    for path in sorted({str(root), os.path.realpath(root)}, key=len, reverse=True):
        data = data.replace(os.fsencode(path), TMP_MARK)
    return data


# ---------------------------------------------------------------- comparing


@dataclass(frozen=True, slots=True)
class Result:
    case: Case
    outcome: Outcome
    problems: tuple[str, ...]  # empty: the case passed

    @property
    def passed(self) -> bool:
        return not self.problems


def _show(data: bytes) -> list[str]:
    text = data.decode("utf-8", "backslashreplace")
    return [repr(line)[1:-1] for line in text.splitlines(keepends=True)] or [""]


def _diff(what: str, want: bytes, got: bytes) -> str:
    lines = difflib.unified_diff(
        _show(want), _show(got), f"{what} (bash)", f"{what} (implementation)", lineterm=""
    )
    return "\n".join(lines)


def compare(case: Case, outcome: Outcome) -> Result:
    """The differences between the case's recorded bash output and `outcome`."""
    problems: list[str] = []
    if outcome.timed_out:
        problems.append("timed out")
    if outcome.status != case.status:
        problems.append(f"status: bash {case.status}, implementation {outcome.status}")
    if outcome.stdout != case.stdout:
        problems.append(_diff("stdout", case.stdout, outcome.stdout))
    if case.skip_stderr is None and outcome.stderr != case.stderr:
        problems.append(_diff("stderr", case.stderr, outcome.stderr))
    return Result(case, outcome, tuple(problems))


def run_all(
    cases: Sequence[Case],
    argv: Sequence[str] = BASHFLOW_ARGV,
    *,
    jobs: int = JOBS,
    timeout: float = IMPL_TIMEOUT_S,
    progress: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run and compare every case, at most `jobs` at a time; results in the order of `cases`."""

    def one(case: Case) -> Result:
        result = compare(case, run_case(case, argv, timeout))
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, JOBS))) as pool:
        return list(pool.map(one, cases))


# ---------------------------------------------------------------- expectations and known failures


def record(case: Case, timeout: float = BASH_TIMEOUT_S) -> tuple[Case, list[str]]:
    """The case with bash's output recorded, and why it cannot be: bash's output differs from
    one run to the next (stdout or status always a problem, stderr unless skipped)."""
    first, *others = [run_case(case, BASH_ARGV, timeout) for _ in range(RECORD_RUNS)]
    problems: list[str] = []
    if first.timed_out:
        problems.append("bash timed out")
    if any((o.stdout, o.status) != (first.stdout, first.status) for o in others):
        problems.append(f"bash's stdout or status differs between {RECORD_RUNS} runs")
    if case.skip_stderr is None and any(o.stderr != first.stderr for o in others):
        problems.append(f"bash's stderr differs between {RECORD_RUNS} runs (add `## skip-stderr`)")
    stderr = b"" if case.skip_stderr is not None else first.stderr
    return replace(case, stdout=first.stdout, stderr=stderr, status=first.status), problems


def update_expectations(pattern: str | None = None, spec_dir: Path = SPEC_DIR) -> int:
    """Re-record bash's output in every spec file (cases matching `pattern` only); 1 when a case
    is not deterministic under bash (the file keeps its old expectation for that case)."""
    bad = 0
    for path in spec_files(spec_dir):
        spec = parse_spec(path)
        todo = [c for c in spec.cases if not pattern or pattern in c.id]
        if not todo:
            continue
        with ThreadPoolExecutor(max_workers=JOBS) as pool:
            recorded = dict(zip([c.name for c in todo], pool.map(record, todo), strict=True))
        new_cases = []
        for case in spec.cases:
            if case.name not in recorded:
                new_cases.append(case)
                continue
            new, problems = recorded[case.name]
            for p in problems:
                print(f"{case.location}: {case.id}: {p}", file=sys.stderr)
            bad += bool(problems)
            new_cases.append(case if problems else new)
        spec.cases = new_cases
        text = format_spec(spec)
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(REPO)}")
    return 1 if bad else 0


KNOWN_HEADER = """\
# Conformance cases `bashflow exec` is known to fail, one CATEGORY/NAME a line (`#` comments).
# tests/exec/test_conformance.py marks these xfail(strict=True): a listed case that passes
# fails the test, so delete its line (or regenerate the whole list with
# `python -m benchmarks.conformance --update-known-failures`). Target: empty.
"""


def read_known_failures(path: Path = KNOWN_FAILURES) -> list[str]:
    if not path.exists():
        return []
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def write_known_failures(ids: Iterable[str], path: Path = KNOWN_FAILURES) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(KNOWN_HEADER + "".join(f"{i}\n" for i in ids), encoding="utf-8")


# ---------------------------------------------------------------- report


def table(results: Sequence[Result]) -> str:
    by_cat: dict[str, list[Result]] = {}
    for r in results:
        by_cat.setdefault(r.case.category, []).append(r)
    width = max([len("category"), *(len(c) for c in by_cat)])
    rows = [f"{'category':<{width}}  cases  passed       %"]
    for cat, rs in by_cat.items():
        ok = sum(r.passed for r in rs)
        rows.append(f"{cat:<{width}}  {len(rs):>5}  {ok:>6}  {100 * ok / len(rs):>5.1f}%")
    total = len(results)
    ok = sum(r.passed for r in results)
    pct = 100 * ok / total if total else 0.0
    rows.append(f"{'overall':<{width}}  {total:>5}  {ok:>6}  {pct:>5.1f}%")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.conformance", description=__doc__)
    ap.add_argument("-k", dest="pattern", help="only cases whose CATEGORY/NAME contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="show the diff of each failure")
    ap.add_argument("-j", "--jobs", type=int, default=JOBS, help="parallel cases (at most 2)")
    ap.add_argument(
        "--impl",
        help="argv prefix of the implementation to score, split on spaces "
        f"(default: {' '.join(BASHFLOW_ARGV[1:])})",
    )
    ap.add_argument("--update-expectations", action="store_true", help="re-record bash's output")
    ap.add_argument(
        "--update-known-failures",
        action="store_true",
        help=f"rewrite {KNOWN_FAILURES.relative_to(REPO)} from a full run",
    )
    args = ap.parse_args(argv)
    if args.update_expectations:
        return update_expectations(args.pattern)
    impl = tuple(args.impl.split()) if args.impl else BASHFLOW_ARGV
    cases = load_cases(pattern=args.pattern)
    if not cases:
        print("no cases match", file=sys.stderr)
        return 2
    if args.update_known_failures and args.pattern:
        ap.error("--update-known-failures needs the full run (no -k)")
    results = run_all(cases, impl, jobs=args.jobs)
    if args.verbose:
        for r in results:
            if not r.passed:
                print(f"FAIL {r.case.id}  ({r.case.location})")
                for p in r.problems:
                    print("    " + p.replace("\n", "\n    "))
                print()
    print(table(results))
    if args.update_known_failures:
        write_known_failures([r.case.id for r in results if not r.passed])
        print(f"wrote {KNOWN_FAILURES.relative_to(REPO)}")
    return 0


def _main() -> int:
    try:
        return main()
    except SpecError as e:
        print(f"conformance: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main())
