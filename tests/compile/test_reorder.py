"""The graph's promise, checked end to end with bash: any order of the top-level commands that
keeps every edge gives the same files as the script's own order.

Generated scripts (one statement a line, see `test_generated_scripts.py`, without background
jobs and here-documents, whose timing or layout would not survive reordering) are run by bash
as written, then with their lines in random orders that respect the compiled graph's
top-level edges. Every run starts in an empty directory; the resulting trees (names, file
contents, link targets) must be identical. Shell state (variables, the cwd, functions) flows
through the reordered script as bash runs it, so a missing `variable` or `cwd` edge shows up
here as well as a missing `data` edge.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest
from test_generated_scripts import DIRS, FILES, TEMPLATES

from bashflow.compile import compile_script

BASH = "/usr/bin/bash"
SAFE = [
    t
    for t in TEMPLATES
    if not t.endswith(" &") and t != "wait" and "<<" not in t and "| xargs" not in t
]
"""Without background jobs, here-documents, and `ls d | xargs ... >> d/x` (a race inside one
pipeline, in bash itself)."""
ORDERS = 3


def generate(seed: int, length: int = 16) -> list[str]:
    rng = random.Random(seed)
    lines = ["mkdir -p d", 'append_to() { echo more >> "$1" 2>/dev/null; }', "OLD=$PWD", "v=a.txt"]
    for _ in range(length):
        t = rng.choice(SAFE)
        f, g = rng.sample(FILES, 2)
        d, e = rng.sample(DIRS, 2)
        lines.append(t.format(f=f, g=g, d=d, e=e, w=rng.choice(["x", "y", "1"])))
    return lines


def snapshot(root: Path) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def run(lines: list[str], work: Path) -> dict[str, str | bytes]:
    work.mkdir(parents=True)
    subprocess.run(
        [BASH, "-c", "\n".join(lines) + "\n"],
        cwd=work,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return snapshot(work)


def orders(lines: list[str], seed: int) -> list[list[int]]:
    """Random orders of the lines (0-based) that keep every top-level edge."""
    doc = compile_script("\n".join(lines) + "\n", cwd="/work").to_json()
    line_of = {n["id"]: n["span"]["start"]["line"] - 1 for n in doc["nodes"] if n["parent"] is None}
    after: dict[int, set[int]] = {i: set() for i in range(len(lines))}
    for e in doc["edges"]:
        a, b = line_of.get(e["from"]), line_of.get(e["to"])
        if a is not None and b is not None and a != b:
            after[b].add(a)
    rng = random.Random(seed)
    out: list[list[int]] = []
    for _ in range(ORDERS):
        done: list[int] = []
        left = set(range(len(lines)))
        while left:
            ready = sorted(i for i in left if after[i] <= set(done))
            pick = rng.choice(ready)
            done.append(pick)
            left.remove(pick)
        out.append(done)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(30))
def test_any_order_the_graph_allows_gives_the_same_files(seed: int, tmp_path: Path) -> None:
    if not os.access(BASH, os.X_OK):
        pytest.skip(f"{BASH} is needed")
    lines = generate(seed)
    expected = run(lines, tmp_path / "as-written")
    for k, order in enumerate(orders(lines, seed)):
        got = run([lines[i] for i in order], tmp_path / f"order{k}")
        assert got == expected, ("\n".join(lines), order)


def test_the_check_can_fail() -> None:
    """Reordering really changes results when an edge is ignored (the oracle is not vacuous)."""
    lines = ["echo one > a.txt", "cp a.txt b.txt", "echo two > a.txt"]
    assert FILES and DIRS  # the generator's vocabulary is shared with the strace test
    import tempfile

    with tempfile.TemporaryDirectory(prefix="core_reorder") as d:
        written = run(lines, Path(d) / "w")
        swapped = run([lines[0], lines[2], lines[1]], Path(d) / "s")
    assert written != swapped
    assert all(o.index(1) < o.index(2) for o in orders(lines, 0))  # and the graph orders them
