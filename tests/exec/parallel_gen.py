"""Generated scripts for the parallel-execution property test (`test_parallel.py`).

A script is 5-25 commands over a handful of names in the work dir (`a.txt`, `b.txt`, `c.txt`,
`d/x.txt`, the directories `d` and `e`), so that most pairs of commands touch the same files
and an edge the compiler forgot, or a scheduler that starts a node before its edges allow,
changes what the script leaves behind or prints. Commands write to stdout and stderr (the
order of both is part of the comparison), read and rewrite files, move them, branch on them,
carry values through variables and the cwd, write through a symlink to a directory, and sleep for a few hundredths of a second to
shake the timing. Some scripts run under `set -e` with a command that fails somewhere in the
middle: nothing after it may run.

`SETUP` is what every run's work dir holds before the script starts. `render(steps, errexit,
fail_at)` turns a drawn list of steps into the script's text; `scripts()` is the hypothesis
strategy that draws them (a seed and a length: the steps come from `random.Random(seed)`,
so that every example is a new script rather than a small mutation of the last one). `forget_writes` makes a command spec wrong on purpose.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

FILES = ["a.txt", "b.txt", "c.txt", "d/x.txt"]
DIRS = ["d", "e"]
WORDS = ["x", "y", "zz"]

SETUP = {"a.txt": "x\ny\nx\n", "b.txt": "y\nzz\n", "d/x.txt": "inner\n"}
"""The work dir before each run (c.txt and e/ do not exist yet)."""

TEMPLATES = [
    "echo {w} >> {f}",
    "cat {f} {g} > {h}",
    "cat {f} {g} > {h} 2>/dev/null",
    "cp {f} {g}",
    "mv {f} {g} 2>/dev/null",
    "rm -f {f}",
    "sort -o {g} {f} 2>/dev/null",
    "sort -r {f}",
    "wc -l < {f}",
    "sed -i 's/{w}/{v}/' {f} 2>/dev/null",
    "mkdir -p {d}; touch {d}/x.txt",
    "mkdir -p {d}/sub; echo {w} > {d}/y.txt",
    "rm -rf {d}",
    "ln -sfn {d} cur; echo {w} >> cur/x.txt",
    "[ -f {f} ] && cat {f}",
    "[ -s {f} ] || echo {f} is empty >&2",
    "x=$(cat {f} 2>/dev/null)",
    'echo "$x" > {f}',
    'echo "x is [$x]"',
    "for n in {f} {g}; do echo {w} >> $n; done",
    "for n in {f} {g}; do [ -f $n ] && wc -c < $n; done",
    "if grep -q {w} {f} 2>/dev/null; then echo found {w} in {f}; else echo no {w} >&2; fi",
    'cd {d} 2>/dev/null && touch made.txt; cd "$W"',
    'cd {d} 2>/dev/null && ls; cd "$W"',
    "sleep 0.0{n}",
    "cat {f}",
    "echo {w} >&2",
    "head -n 1 {f} 2>/dev/null | tr a-z A-Z > {g}",
    "ls {d} 2>&1",
]

PIPELINES = {"head -n 1 {f} 2>/dev/null | tr a-z A-Z > {g}"}
"""Templates whose elements run at once (a pipeline): `{g}` is never `{f}` there, and only one
element may write to stderr (bash interleaves two elements' messages as they come)."""

FAILING = "grep -q nosuchword {f}"
"""The command that fails under `set -e` (grep's status 1: the script ends there)."""

Step = tuple[int, int, int, int, int, int, int, int]
"""(template, f, g, h, d, w, v, n) as indices into the lists above."""


def render(steps: list[Step], errexit: bool = False, fail_at: int | None = None) -> str:
    """The script's text: a header (`W=$PWD`, `set -e` when `errexit`), then one command a line;
    under `errexit` the failing command goes before step `fail_at` (or at the end)."""
    lines = ["W=$PWD"]
    if errexit:
        lines.append("set -e")
    body: list[str] = []
    for t, f, g0, h, d, w, v, n in steps:
        # a pipeline that reads f and writes g races with itself when g is f, in bash too
        g = (g0 + 1) % len(FILES) if g0 == f and TEMPLATES[t] in PIPELINES else g0
        body.append(
            TEMPLATES[t].format(
                f=FILES[f], g=FILES[g], h=FILES[h], d=DIRS[d], w=WORDS[w], v=WORDS[v], n=n + 1
            )
        )
    if errexit:
        at = len(body) if fail_at is None else min(fail_at, len(body))
        body.insert(at, FAILING.format(f=FILES[0]))
    lines.extend(body)
    lines.append("echo end")
    return "\n".join(lines) + "\n"


def setup(workdir: Path) -> None:
    """Fill a fresh work dir with `SETUP`."""
    for name, text in SETUP.items():
        p = workdir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def steps(seed: int, length: int) -> list[Step]:
    """`length` steps drawn one after another from `seed` (so a shorter length with the same
    seed is a prefix of the longer script: hypothesis shrinks towards the shortest)."""
    rng = random.Random(seed)
    nf, nd, nw = len(FILES), len(DIRS), len(WORDS)
    return [
        (rng.randrange(len(TEMPLATES)), rng.randrange(nf), rng.randrange(nf), rng.randrange(nf),
         rng.randrange(nd), rng.randrange(nw), rng.randrange(nw), rng.randrange(9))
        for _ in range(length)
    ]  # fmt: skip


@st.composite
def scripts(draw: st.DrawFn) -> str:
    """A generated script's text: 5-25 commands; a third of the scripts under `set -e`, with the
    failing command in the second half (so that most of the script runs first)."""
    length = draw(st.integers(5, 25))
    body = steps(draw(st.integers(0, 2**32 - 1)), length)
    errexit = draw(st.integers(0, 2)) == 0
    fail_at = draw(st.integers(length // 2, length)) if errexit else None
    return render(body, errexit, fail_at)


def forget_writes(usage: Callable[[Any], Any], program: str) -> Callable[[Any], Any]:
    """A command spec forced wrong: `usage` (cmdspec.usage) as it is, except that `program`
    writes nothing. Used to show that a missing dependency edge changes a run's result."""

    def forgetful(argv: Any) -> Any:
        u = usage(argv)
        if argv and argv[0].text == program:
            return type(u)(**{**{f: getattr(u, f) for f in u.__slots__}, "writes": ()})
        return u

    return forgetful
