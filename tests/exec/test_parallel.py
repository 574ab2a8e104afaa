"""`bashflow exec -j N` (issue 7): nodes with no path between them may run at the same time, yet
stdout, stderr, the exit status and the files a script leaves must be those of bash and of -j1.

* Differential runs over `fixtures/scripts/*.sh` (the compiler's 20 scripts) and
  `fixtures/parallel/*.sh` (builds with cc, simulated downloads, per-file loops, `set -e` with
  a failure half way, traps and functions, background jobs, more than 1 MiB from one node,
  stdout/stderr interleaved, symlinks and renamed directories, `exec >` into a log): `/usr/bin/bash SCRIPT`, `bashflow exec -j 1` and `-j 4`, each
  sandboxed (the default `workspace` profile) in a fresh copy of the script's work dir;
  stdout, stderr, status and the work dir's files (names, contents, modes) compared.
* A property test over generated scripts (`parallel_gen.py`) that touch a handful of files,
  and the evidence that the comparison can fail: a reordered script, and a command spec made
  to forget a write.
* No orphans: `kill -9` of a running `bashflow exec -j 4` and the policy's wall timeout leave
  no process of the run (its whole process tree, found with psutil).

While `-j` is accepted and ignored these pass trivially for the parallel part; they are the
check that must keep passing once nodes run at the same time.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from parallel_gen import forget_writes, render, scripts, setup, steps

from bashflow.compile import compile_script
from bashflow.sandbox.probe import probe

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BASH = "/usr/bin/bash"
EXEC = [sys.executable, "-m", "bashflow", "exec"]
WEAKER = [a for m in sorted(x.value for x in probe().missing()) for a in ("--accept-weaker", m)]

COMPILER_SCRIPTS = sorted((ROOT / "fixtures" / "scripts").glob("*.sh"))
PARALLEL_SCRIPTS = sorted((ROOT / "fixtures" / "parallel").glob("*.sh"))

SANDBOX_DIFFERS = {
    "agent_oneliners.sh": "`xargs grep` reads paths the run-time check cannot know: denied",
    "find_xargs_cleanup.sh": "`xargs rm` writes paths the run-time check cannot know: denied",
    "install_prefix.sh": "the work dir is mounted noexec, so `[ -x installed-tool ]` is false",
}
"""Fixture scripts whose sandboxed run differs from bash by the policy or the sandbox (not by
-j): for them -j4 is compared with -j1 only, and a test checks the difference still exists."""


def _setup_find_xargs(wd: Path) -> None:
    # `find -newer archive` compares mtimes at the clock's tick: made long before, every file
    # the script writes is newer in every run (bash's result, made deterministic)
    (wd / "archive").mkdir()
    os.utime(wd / "archive", (946684800, 946684800))


SETUPS: dict[str, Callable[[Path], None]] = {"find_xargs_cleanup.sh": _setup_find_xargs}


# ------------------------------------------------------------------ the harness


@dataclass
class Outcome:
    stdout: bytes
    stderr: bytes
    status: int
    files: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)


def snapshot(wd: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every name under the work dir: (kind, mode bits, contents or link target), with the
    work dir's own path in contents replaced by `<WD>`."""
    out: dict[str, tuple[str, int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(wd):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(wd))
            if p.is_symlink():
                out[rel] = ("link", 0, os.readlink(p).encode())
            elif p.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777, b"")
            else:
                data = p.read_bytes().replace(str(wd).encode(), b"<WD>")
                out[rel] = ("file", st.st_mode & 0o7777, data)
    return out


@cache
def _state_option() -> list[str]:
    """`--state-dir DIR` once `bashflow exec` has it (the env var works either way)."""
    helptext = subprocess.run([*EXEC, "--help"], capture_output=True, timeout=60).stdout
    return ["--state-dir"] if b"--state-dir" in helptext else []


class Runner:
    """Runs one script several ways, each in a fresh work dir under `base`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.state = base / "state"
        self.state.mkdir(exist_ok=True)
        self.count = 0

    def workdir(self, setup_fn: Callable[[Path], None] | None) -> Path:
        self.count += 1
        wd = self.base / f"w{self.count}"
        wd.mkdir()
        wd.chmod(0o755)  # as root the sandbox's uid must reach it
        if setup_fn is not None:
            setup_fn(wd)
        return wd

    def run(
        self,
        how: str,
        script: Path,
        setup_fn: Callable[[Path], None] | None = None,
        merged: bool = False,
    ) -> Outcome:
        """`how`: "bash", "j1", "j4" (sandboxed), "nj1", "nj4" (--no-sandbox)."""
        wd = self.workdir(setup_fn)
        if how == "bash":
            argv = [BASH, str(script)]
        else:
            jobs = ["-j", how[-1]]
            state = [*_state_option(), str(self.state)] if _state_option() else []
            if how.startswith("n"):
                argv = [*EXEC, "--no-sandbox", "-q", *state, *jobs, str(script)]
            else:
                argv = [*EXEC, *WEAKER, *state, *jobs, "--workdir", str(wd), str(script)]
        env = {**os.environ, "BASHFLOW_STATE_DIR": str(self.state)}
        proc = subprocess.run(
            argv,
            cwd=wd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
            timeout=180,
        )
        mark = str(wd).encode()
        return Outcome(
            proc.stdout.replace(mark, b"<WD>"),
            (proc.stderr or b"").replace(mark, b"<WD>"),
            proc.returncode,
            snapshot(wd),
        )


def differences(
    expected: Outcome, got: Outcome, volatile: frozenset[str] = frozenset()
) -> list[str]:
    """What differs, in words (empty when the runs agree). Files in `volatile` (their bytes
    differ between two runs of bash itself: archives record times) are compared by kind and
    mode only."""
    out = []
    for name in ("stdout", "stderr", "status"):
        a, b = getattr(expected, name), getattr(got, name)
        if a != b:
            out.append(f"{name}: expected {_show(a)}, got {_show(b)}")
    for name in sorted(expected.files.keys() | got.files.keys()):
        a, b = expected.files.get(name), got.files.get(name)
        if a is None or b is None:
            out.append(f"file {name}: {'missing' if b is None else 'unexpected'}")
        elif a[:2] != b[:2]:
            out.append(f"file {name}: {a[0]} {a[1]:o} expected, {b[0]} {b[1]:o} got")
        elif a[2] != b[2] and name not in volatile:
            out.append(f"file {name}: contents {_show(a[2])} expected, got {_show(b[2])}")
    return out


def _show(v: object) -> str:
    text = repr(v)
    return text if len(text) < 400 else text[:200] + " ... " + text[-150:]


def volatile_files(runner: Runner, script: Path, setup_fn: Callable[[Path], None] | None,
                   first: Outcome) -> frozenset[str]:  # fmt: skip
    """Files whose bytes differ between two bash runs a second apart (times in archives)."""
    text = script.read_text()
    if not re.search(r"\b(tar|gzip|zip|date)\b", text):
        return frozenset()
    time.sleep(1.1)  # archives record modification times in seconds
    again = runner.run("bash", script, setup_fn)
    return frozenset(n for n in first.files.keys() | again.files.keys()
                     if first.files.get(n) != again.files.get(n))  # fmt: skip


@pytest.fixture
def runner() -> Iterator[Runner]:
    base = Path(tempfile.mkdtemp(prefix="bfpar."))
    base.chmod(0o755)
    yield Runner(base)
    shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------ fixture scripts


@pytest.mark.parametrize("script", COMPILER_SCRIPTS + PARALLEL_SCRIPTS,
                         ids=lambda p: f"{p.parent.name}/{p.name}")  # fmt: skip
def test_fixture_script_same_as_bash_with_j1_and_j4(script: Path, runner: Runner) -> None:
    setup_fn = SETUPS.get(script.name)
    ref = runner.run("bash", script, setup_fn)
    assert ref.stdout or ref.files  # positive control: the script does something
    volatile = volatile_files(runner, script, setup_fn, ref)
    j1 = runner.run("j1", script, setup_fn)
    j4 = runner.run("j4", script, setup_fn)
    assert differences(j1, j4, volatile) == []
    if script.name in SANDBOX_DIFFERS and script.parent.name == "scripts":
        return  # the sandbox's own difference from bash: test_sandbox_differences_still_exist
    assert differences(ref, j1, volatile) == []


@pytest.mark.parametrize("script", PARALLEL_SCRIPTS, ids=lambda p: p.name)
def test_parallel_fixture_merged_output_keeps_program_order(script: Path, runner: Runner) -> None:
    """stdout and stderr into one pipe (`2>&1`): the merged bytes in bash's order."""
    ref = runner.run("bash", script, merged=True)
    volatile = volatile_files(runner, script, None, ref)
    for how in ("j1", "j4"):
        got = runner.run(how, script, merged=True)
        assert differences(ref, got, volatile) == [], how


def test_sandbox_differences_still_exist(runner: Runner) -> None:
    """Each entry of SANDBOX_DIFFERS still differs from bash (else it should be removed, and
    its script compared with bash again)."""
    for name, why in SANDBOX_DIFFERS.items():
        script = ROOT / "fixtures" / "scripts" / name
        setup_fn = SETUPS.get(name)
        ref = runner.run("bash", script, setup_fn)
        volatile = volatile_files(runner, script, setup_fn, ref)
        assert differences(ref, runner.run("j1", script, setup_fn), volatile), (name, why)


def test_the_run_leaves_no_tilde_directory(runner: Runner) -> None:
    wd = runner.workdir(None)
    r = subprocess.run([*EXEC, *WEAKER, "--workdir", str(wd), "-c", "[[ a == a ]] && echo $((1+1))"],
                       cwd=wd, capture_output=True, timeout=120)  # fmt: skip
    assert r.stdout == b"2\n", r.stderr
    assert not (wd / "~").exists()  # the parser's grammar cache once went to ./~/.cache


# ------------------------------------------------------------------ generated scripts


@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(text=scripts())
def test_generated_scripts_same_as_bash(text: str, runner: Runner) -> None:
    """bash, -j1 and -j4 (--no-sandbox: the scheduling is the interpreter's either way, and
    this keeps the test under a minute) agree on stdout, stderr, status and files."""
    script = runner.base / f"gen{runner.count}.sh"
    script.write_text(text)
    ref = runner.run("bash", script, setup)
    for how in ("nj1", "nj4"):
        got = runner.run(how, script, setup)
        assert differences(ref, got) == [], (how, text)


def test_generated_scripts_are_deterministic_under_bash(runner: Runner) -> None:
    """The generator's own check: bash run twice gives the same result for each of 60 scripts
    (a template that races with itself in bash, like a pipeline reading and writing one file,
    would otherwise show up as a -j difference)."""
    for seed in range(60):
        rng = random.Random(seed)
        length = rng.randint(5, 25)
        errexit = rng.random() < 0.33
        fail_at = rng.randint(length // 2, length) if errexit else None
        script = runner.base / f"det{seed}.sh"
        script.write_text(render(steps(seed, length), errexit, fail_at))
        first = runner.run("bash", script, setup)
        assert differences(first, runner.run("bash", script, setup)) == [], script.read_text()


def _edges_closure(text: str) -> dict[int, set[int]]:
    """For each top-level node, the top-level nodes that must finish before it (by the compiled
    graph), keyed by the node's source line (1-based)."""
    doc = compile_script(text, cwd="/work").to_json()
    line = {n["id"]: n["span"]["start"]["line"] for n in doc["nodes"] if n["parent"] is None}
    before: dict[int, set[int]] = {v: set() for v in line.values()}
    for e in doc["edges"]:
        if e["from"] in line and e["to"] in line:
            before[line[e["to"]]].add(line[e["from"]])
    changed = True
    while changed:
        changed = False
        for deps in before.values():
            more = set().union(*(before[d] for d in deps)) - deps if deps else set()
            if more:
                deps |= more
                changed = True
    return before


def test_the_comparison_fails_on_a_reordered_script(runner: Runner) -> None:
    """The harness is not vacuous: a copy of a generated script with two conflicting commands
    swapped (which the graph forbids) gives a difference bash-vs-bash; the unswapped copy
    does not."""
    found = 0
    for seed in range(40):
        rng = random.Random(seed)
        chosen = [(rng.randrange(4), rng.randrange(4), rng.randrange(4), rng.randrange(4),
                   0, rng.randrange(3), rng.randrange(3), 0) for _ in range(8)]  # fmt: skip
        text = render(chosen)  # echo >>, cat > and cp over the same four files
        lines = text.splitlines()
        before = _edges_closure(text)
        # two adjacent commands the graph orders (a path from the first to the second)
        pairs = [i for i in range(1, len(lines) - 2) if i + 1 in before.get(i + 2, set())]
        if not pairs:
            continue
        i = pairs[0]
        swapped = [*lines[:i], lines[i + 1], lines[i], *lines[i + 2 :]]
        a = runner.base / f"order{seed}.sh"
        b = runner.base / f"swap{seed}.sh"
        a.write_text(text)
        b.write_text("\n".join(swapped) + "\n")
        ref = runner.run("bash", a, setup)
        assert differences(ref, runner.run("bash", a, setup)) == []  # bash is deterministic here
        if differences(ref, runner.run("bash", b, setup)):
            found += 1
        if found >= 3:
            break
    assert found >= 3


FORGETFUL = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from parallel_gen import forget_writes
from bashflow.compile import cmdspec
cmdspec.usage = forget_writes(cmdspec.usage, "sort")
from bashflow.cli import main
sys.exit(main(sys.argv[1:]))
"""
"""`bashflow` with a command spec forced wrong: `sort -o FILE` no longer writes FILE."""

RACE = "seq 300000 | shuf --random-source=/dev/zero > big.txt\nsort -o out.txt big.txt\nwc -l < out.txt\n"
"""The writer (`sort -o`, which writes its output only after reading all of big.txt) and the
reader of what it writes."""


def test_a_forgotten_write_shows_up_when_the_nodes_overlap(runner: Runner) -> None:
    """With sort's write forgotten, the graph leaves `sort -o out.txt` and `wc -l < out.txt`
    unordered. If -j4 runs them at the same time (the event stream says so), the comparison
    with bash must fail: a missing edge is caught, not hidden by the harness."""
    from bashflow.compile import cmdspec, effects

    script = runner.base / "race.sh"
    script.write_text(RACE)
    assert 2 in _edges_closure(RACE)[3]  # the real spec orders them
    real = cmdspec.usage
    try:
        cmdspec.usage = forget_writes(real, "sort")
        effects.clear_caches()
        assert 2 not in _edges_closure(RACE)[3]  # the forced-wrong spec does not
    finally:
        cmdspec.usage = real
        effects.clear_caches()
    ref = runner.run("bash", script)
    assert ref.stdout == b"300000\n"
    helptext = subprocess.run([*EXEC, "--help"], capture_output=True, timeout=60).stdout
    if b"--events" not in helptext:
        pytest.skip("no --events yet: cannot tell whether the two nodes overlapped")
    wd = runner.workdir(None)
    events = runner.base / "events.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", FORGETFUL, "exec", "--no-sandbox", "-q", "-j", "4",
         "--events", str(events), str(script)],
        cwd=wd, capture_output=True, timeout=120,
        env={**os.environ, "BASHFLOW_STATE_DIR": str(runner.state)},
    )  # fmt: skip
    got = Outcome(proc.stdout, proc.stderr, proc.returncode, snapshot(wd))
    plan = _plan_edges(events)
    if plan is not None:  # the forced-wrong spec reached the interpreter's compile
        assert not _ordered(plan, RACE, 2, 3), plan
    if _overlapped(events, RACE, 2, 3):
        assert differences(ref, got) != []
    else:
        assert differences(ref, got) == []


def _plan_edges(events: Path) -> list[list[int]] | None:
    """The edges of the `plan` event (None when there is none)."""
    for line in events.read_text().splitlines():
        e = json.loads(line)
        if e.get("event") == "plan":
            return [list(x) for x in e.get("edges", [])]
    return None


def _ordered(edges: list[list[int]], text: str, first_line: int, second_line: int) -> bool:
    """Whether `edges` (node ids) make a path from the node on one line to the other's."""
    doc = compile_script(text, cwd="/work").to_json()
    node = {n["span"]["start"]["line"]: n["id"] for n in doc["nodes"] if n["parent"] is None}
    reach, todo = set(), [node[first_line]]
    while todo:
        a = todo.pop()
        for x, y in edges:
            if x == a and y not in reach:
                reach.add(y)
                todo.append(y)
    return node[second_line] in reach


def _overlapped(events: Path, text: str, first_line: int, second_line: int) -> bool:
    """Whether the node on `second_line` started before the one on `first_line` finished."""
    doc = compile_script(text, cwd="/work").to_json()
    node = {n["span"]["start"]["line"]: n["id"] for n in doc["nodes"] if n["parent"] is None}
    a, b = node[first_line], node[second_line]
    a_end = b_start = None
    for line in events.read_text().splitlines():
        e = json.loads(line)
        if e.get("event") == "node_finished" and e.get("node") == a and a_end is None:
            a_end = e["t"]
        if e.get("event") == "node_started" and e.get("node") == b and b_start is None:
            b_start = e["t"]
    return a_end is not None and b_start is not None and b_start < a_end


# ------------------------------------------------------------------ orphans


def _tree(pid: int) -> dict[int, float]:
    """The process's descendants: pid -> start time (safe against pid reuse)."""
    out = {}
    for p in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            out[p.pid] = p.create_time()
    return out


def _alive(procs: dict[int, float]) -> list[int]:
    left = []
    for pid, started in procs.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def _with_marker(marker: str) -> list[int]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if any(marker in a for a in cmd):
            found.append(p.pid)
    return found


def _poll(cond: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _sleepers(tag: str) -> str:
    """Four independent `sleep` nodes (30 s and a bit: the fraction marks this run), then a
    line that must never print."""
    return "".join(f"sleep 3{i}.{tag}\n" for i in range(4)) + "echo never\n"


def _start_sleepers(
    runner: Runner, extra: list[str]
) -> tuple[subprocess.Popen[bytes], str, dict[int, float]]:
    tag = f"{os.getpid() % 10000}{time.monotonic_ns() % 100000:05d}"
    wd = runner.workdir(None)
    script = runner.base / f"sleepers{tag}.sh"
    script.write_text(_sleepers(tag))
    proc = subprocess.Popen(
        [*EXEC, *WEAKER, *extra, "-j", "4", "--workdir", str(wd), str(script)],
        cwd=wd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "BASHFLOW_STATE_DIR": str(runner.state)},
    )  # fmt: skip
    assert _poll(lambda: bool(_with_marker(f".{tag}")), 30), "no sleep node started"
    return proc, tag, _tree(proc.pid)


def test_kill_9_of_bashflow_j4_leaves_no_process(runner: Runner) -> None:
    proc, tag, tree = _start_sleepers(runner, [])
    try:
        running = _with_marker(f".{tag}")
        assert set(running) <= set(tree), "the sleeps are not bashflow's descendants"
        proc.kill()
        assert proc.wait(30) == -signal.SIGKILL
        assert _poll(lambda: not _alive(tree) and not _with_marker(f".{tag}"), 10), [
            psutil.Process(p).cmdline() for p in _alive(tree)
        ]
    finally:
        proc.kill()
        proc.wait()


KILLED = 'sleep 30.{tag}1; echo "first=$?"\nsleep 30.{tag}2; echo "second=$?"\necho after\n'
"""Two independent sleeps, each followed by its status."""


def _kill_nodes(argv: list[str], cwd: Path, tag: str) -> tuple[bytes, int]:
    """Run `argv`, kill -9 each `sleep` of this run as it appears (two of them), return the
    stdout and status once the run has ended."""
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        killed: set[int] = set()
        while len(killed) < 2:
            assert _poll(lambda: bool(set(_with_marker(f".{tag}")) - killed), 30), killed
            for pid in set(_with_marker(f".{tag}")) - killed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        out, _ = proc.communicate(timeout=60)
        return out, proc.returncode
    finally:
        proc.kill()
        proc.wait()


def test_kill_9_of_a_running_node(runner: Runner) -> None:
    """A node killed from outside has status 137 and the script goes on, as in bash, with
    -j1 and -j4; no process of the run is left. (stderr is not compared: bash's `Killed`
    note names the killed process's pid.)"""
    results = {}
    for how in ("bash", "j1", "j4"):
        tag = f"{os.getpid() % 10000}{time.monotonic_ns() % 100000:05d}"
        wd = runner.workdir(None)
        script = runner.base / f"killed{tag}.sh"
        script.write_text(KILLED.format(tag=tag))
        if how == "bash":
            argv = [BASH, str(script)]
        else:
            argv = [*EXEC, *WEAKER, "-j", how[1], "--workdir", str(wd), str(script)]
        results[how] = _kill_nodes(argv, wd, tag)
        marker = f".{tag}"
        assert _poll(lambda m=marker: not _with_marker(m), 10), how
    assert results["bash"] == (b"first=137\nsecond=137\nafter\n", 0)
    assert results["j1"] == results["bash"]
    assert results["j4"] == results["bash"]


WALL_POLICY = """
[commands]
allow = ["@coreutils", "@shell"]
[paths]
read = ["@system", "."]
write = [".", "@devnull"]
[network]
allow = false
[limits]
wall_seconds = 3
"""


def test_wall_timeout_of_a_j4_run_leaves_no_process(runner: Runner) -> None:
    policy = runner.base / "wall.toml"
    policy.write_text(WALL_POLICY)
    proc, tag, tree = _start_sleepers(runner, ["--policy", str(policy)])
    try:
        status = proc.wait(60)
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
        assert status == 124 and b"never" not in out, err
        assert b"limit exceeded: wall_seconds (3)" in err
        assert _poll(lambda: not _alive(tree) and not _with_marker(f".{tag}"), 10)
    finally:
        proc.kill()
        proc.wait()
