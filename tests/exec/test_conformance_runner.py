"""The conformance runner itself (benchmarks/conformance.py): the spec format round-trips any
bytes, the files are canonical, bash still gives the recorded output (environment drift guard),
and a differing implementation is reported as failing (the runner is honest)."""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import conformance as conf  # noqa: E402

BASH = ("/usr/bin/bash",)
DASH = "/usr/bin/dash"
needs_bash = pytest.mark.skipif(not os.access(BASH[0], os.X_OK), reason="needs /usr/bin/bash")

# issue 6's categories, one spec file each
CATEGORIES = {
    "quoting",
    "brace",
    "tilde",
    "param-expansion",
    "arith",
    "cmdsub",
    "procsub",
    "word-split",
    "glob",
    "arrays",
    "declare",
    "special-params",
    "functions",
    "control-flow",
    "redirect",
    "heredoc",
    "pipeline",
    "subshell",
    "jobs",
    "trap",
    "errexit",
    "options",
    "xtrace",
    "builtin-cd",
    "builtin-echo-printf",
    "builtin-read",
    "builtin-test",
    "builtin-misc",
    "errors",
    "idioms",  # real-world patterns that combine several of the above
    "real-scripts",  # installed scripts (.ci/apt-packages.txt) run for usage and versions
    "unseen",  # mixed-feature cases written after the interpreter, to measure first-run passes
    "nested-shell",  # bash run from the script ($BASH) and the call stack of -c / stdin
    "job-notes",  # what bash prints when a signal ends a job
    "manual",  # written from the bash manual without reading the interpreter (first-run rate)
}


def _case(
    script: str,
    *,
    stdin: bytes | None = None,
    stdout: bytes = b"",
    stderr: bytes = b"",
    status: int = 0,
    skip_stderr: str | None = None,
    args: str = "",
) -> conf.Case:
    return conf.Case(
        "t", "t", script, Path("t.test.sh"), 1, stdin, skip_stderr, stdout, stderr, status, (), args
    )


# ---------------------------------------------------------------- the format


@given(st.binary(max_size=200))
def test_blocks_round_trip_any_bytes(data: bytes) -> None:
    spec = conf.SpecFile(Path("x.test.sh"))
    spec.cases.append(
        conf.Case("x", "c", "echo\n", spec.path, 1, stdin=data, stdout=data, stderr=data, status=3)
    )
    back = conf.parse_spec(spec.path, conf.format_spec(spec)).cases[0]
    assert (back.stdin, back.stdout, back.stderr, back.status) == (data, data, data, 3)


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\n", ["## stdout:", "## | a"]),
        (b"a", ["## stdout:", "## | a", conf.NO_EOL]),
        (b"\n\n", ["## stdout:", "## |", "## |"]),
        (b"## | x\n", ["## stdout:", "## | ## | x"]),
        (b"tab\there\n", ["## stdout:", "## | tab\there"]),
        (b"\r\n", ["## stdout-bytes: b'\\r\\n'"]),
        (b"\xff\n", ["## stdout-bytes: b'\\xff\\n'"]),
    ],
)
def test_block_encoding(data: bytes, lines: list[str]) -> None:
    assert conf.encode_block("stdout", data) == lines


@pytest.mark.parametrize(
    "text",
    [
        "#### a\n## stdout:\n",  # no script
        "#### a\necho\n#### a\necho\n",  # duplicate name
        "#### a\necho\n## stdout:\n## x\n",  # block line without `|`
        "#### a\necho\n## status: x\n",
        "#### a\necho\n## nosuchkey\n",
        "#### a\necho\n## skip-stderr\n## stderr:\n## | e\n",
        "#### a\necho\n## status: 1\n## status: 2\n",
        "#### a\necho\n## args: 'unterminated\n",
    ],
)
def test_malformed_files_are_errors(text: str) -> None:
    with pytest.raises(conf.SpecError, match=r"x\.test\.sh:\d+: "):
        conf.parse_spec(Path("x.test.sh"), text)


def test_every_category_has_a_file_with_enough_cases() -> None:
    files = {p.name[: -len(conf.SUFFIX)]: p for p in conf.spec_files()}
    assert set(files) == CATEGORIES
    for name, path in files.items():
        assert len(conf.parse_spec(path).cases) >= 10, name


@pytest.mark.parametrize("path", conf.spec_files(), ids=lambda p: p.name)
def test_spec_files_are_canonical(path: Path) -> None:
    """What --update-expectations would write: hand edits keep the file in that form."""
    text = path.read_text(encoding="utf-8")
    assert conf.format_spec(conf.parse_spec(path, text)) == text


# ---------------------------------------------------------------- running


@needs_bash
def test_case_environment() -> None:
    script = 'echo "$HOME|$PWD|$0|$LC_ALL|$TZ"; ls -A; read -r x; echo "[$x] $?"\n'
    out = conf.run_case(_case(script), BASH)
    assert out.stdout == b"$TMP/home|$TMP/work|$TMP/case.sh|C.UTF-8|UTC\n[] 1\n"
    fed = conf.run_case(_case("cat\n", stdin=b"no newline"), BASH)
    assert fed.stdout == b"no newline"
    args = conf.run_case(_case('printf "<%s>" "$@"\n', args="a 'b c' ''"), BASH)
    assert args.stdout == b"<a><b c><>"


@needs_bash
@pytest.mark.slow
def test_timeout_and_leftover_processes_are_killed() -> None:
    out = conf.run_case(_case("sleep 30\n"), BASH, timeout=0.5)
    assert out.timed_out and out.status == 128 + 9
    # a background job outlives the script; the runner kills it rather than wait for it
    out = conf.run_case(_case("sleep 30 & echo $!\n"), BASH)
    pid = int(out.stdout)
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone and reaped
    try:  # SIGKILL is asynchronous: wait for the exit event (readable pidfd), not for a time
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        assert poller.poll(10_000), f"pid {pid} still running after the runner returned"
    finally:
        os.close(fd)


@needs_bash
@pytest.mark.slow
def test_bash_still_gives_the_recorded_output() -> None:
    """Environment drift guard: every case, run under bash now, gives what the file records."""
    results = conf.run_all(conf.load_cases(), BASH, timeout=conf.BASH_TIMEOUT_S)
    failed = [f"{r.case.id} ({r.case.location})\n" + "\n".join(r.problems) for r in results]
    failed = [f for r, f in zip(results, failed, strict=True) if not r.passed]
    assert not failed, "\n\n".join(failed)


# ---------------------------------------------------------------- honesty


def _spec_case(case_id: str) -> conf.Case:
    [case] = [c for c in conf.load_cases() if c.id == case_id]
    return case


@needs_bash
def test_a_differing_stdout_fails() -> None:
    # posix mode keeps the assignment before a special builtin: only stdout differs
    case = _spec_case(
        "declare/assignment prefix to special builtin is temporary outside posix mode"
    )
    assert conf.compare(case, conf.run_case(case, BASH)).passed
    result = conf.compare(case, conf.run_case(case, (*BASH, "--posix")))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("--- stdout (bash)")
    assert "-[]" in result.problems[0] and "+[kept]" in result.problems[0]


@pytest.mark.skipif(not os.access(DASH, os.X_OK), reason="needs dash")
def test_another_shell_fails_where_it_differs() -> None:
    cases = [_spec_case("arrays/indexed array basics"), _spec_case("errors/command not found")]
    results = conf.run_all(cases, (DASH,))
    assert [r.passed for r in results] == [False, False]
    # dash words the error differently: the stderr comparison catches it
    assert any(p.startswith("--- stderr") for p in results[1].problems)


@needs_bash
def test_status_and_stderr_are_compared_unless_skipped() -> None:
    case = _case("echo out; echo err >&2; exit 3\n", stdout=b"out\n", stderr=b"err\n", status=3)
    assert conf.compare(case, conf.run_case(case, BASH)).passed
    wrong_status = _case(case.script, stdout=b"out\n", stderr=b"err\n", status=0)
    assert conf.compare(wrong_status, conf.run_case(wrong_status, BASH)).problems == (
        "status: bash 0, implementation 3",
    )
    wrong_err = _case(case.script, stdout=b"out\n", stderr=b"other\n", status=3)
    assert not conf.compare(wrong_err, conf.run_case(wrong_err, BASH)).passed
    skipped = _case(case.script, stdout=b"out\n", skip_stderr="", status=3)
    assert conf.compare(skipped, conf.run_case(skipped, BASH)).passed


def test_table_reports_each_category_and_overall() -> None:
    a, b = _case("a\n"), conf.Case("u", "x", "b\n", Path("u.test.sh"), 1)
    ok = conf.Outcome(b"", b"", 0)
    results = [conf.compare(a, ok), conf.compare(b, conf.Outcome(b"x", b"", 0))]
    rows = conf.table(results).splitlines()
    assert rows[1].split() == ["t", "1", "1", "100.0%"]
    assert rows[2].split() == ["u", "1", "0", "0.0%"]
    assert rows[3].split() == ["overall", "2", "1", "50.0%"]
