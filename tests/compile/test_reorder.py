"""The graph's promise, checked end to end with bash: any order of the top-level commands that
keeps every edge gives the same files as the script's own order.

Generated scripts (one statement a line, see `test_generated_scripts.py`, without background
jobs and here-documents, whose timing or layout would not survive reordering) are run by bash
as written, then with their lines in random orders that respect the compiled graph's
top-level edges. Every run starts in an empty directory; the resulting trees (names, file
contents, link targets) must be identical. Shell state (variables, the cwd, functions) flows
through the reordered script as bash runs it, so a missing `variable` or `cwd` edge shows up
here as well as a missing `data` edge. The fixture scripts get the same check, with their
statements (line ranges) as the units; files whose bytes differ between two runs of the
script as written (archives record times) are left out of the comparison.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
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
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    subprocess.run(
        [BASH, "-c", text],
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


ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures" / "scripts").glob("*.sh"))


def chunks(text: str) -> tuple[list[str], dict[int, int]]:
    """A script cut into top-level statements (line ranges: a node with its here-document
    bodies and everything else on its lines; comments and blank lines go with the next),
    and which chunk each top-level node is in."""
    doc = compile_script(text, cwd="/work").to_json()
    lines = text.splitlines(keepends=True)
    kids: dict[int, list[dict[str, object]]] = {}
    for n in doc["nodes"]:
        if n["parent"] is not None:
            kids.setdefault(n["parent"], []).append(n)

    def extent(n: dict[str, object]) -> tuple[int, int]:
        span = n["span"]  # type: ignore[index]
        lo, hi = span["start"]["line"], span["end"]["line"]  # type: ignore[index]
        if "<<" in str(n["text"]):  # a here-document body follows its command's line
            body_end = next((i for i in range(hi, len(lines)) if lines[i].strip() == "EOF"), hi - 1)
            hi = max(hi, body_end + 1)
        for c in kids.get(n["id"], []):  # type: ignore[arg-type]
            a, b = extent(c)
            lo, hi = min(lo, a), max(hi, b)
        return lo, hi

    top = [(extent(n), n["id"]) for n in doc["nodes"] if n["parent"] is None]
    ranges: list[list[int]] = []
    owner: dict[int, int] = {}
    for (lo, hi), nid in sorted(top):
        if ranges and lo <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], hi)
        else:
            ranges.append([lo, hi])
        owner[nid] = len(ranges) - 1
    out: list[str] = []
    start = 1
    for _lo, hi in ranges:
        out.append("".join(lines[start - 1 : hi]))
        start = hi + 1
    if out and start <= len(lines):
        out[-1] += "".join(lines[start - 1 :])
    return out, owner


@pytest.mark.slow
@pytest.mark.parametrize("script", FIXTURES, ids=lambda p: p.name)
def test_fixture_scripts_in_any_allowed_order_give_the_same_files(
    script: Path, tmp_path: Path
) -> None:
    text = script.read_text()
    parts, owner = chunks(text)
    doc = compile_script(text, cwd="/work").to_json()
    after: dict[int, set[int]] = {i: set() for i in range(len(parts))}
    for e in doc["edges"]:
        a, b = owner.get(e["from"]), owner.get(e["to"])
        if a is not None and b is not None and a != b:
            after[b].add(a)
    expected = run(parts, tmp_path / "as-written")
    if any(tool in text for tool in ("tar ", "gzip", "zip ")):
        time.sleep(1.1)  # archives record modification times (in seconds)
    again = run(parts, tmp_path / "again")
    volatile = {k for k in expected.keys() | again.keys() if expected.get(k) != again.get(k)}
    expected = {k: v for k, v in expected.items() if k not in volatile}
    rng = random.Random(script.name)
    for k in range(ORDERS):
        done: list[int] = []
        while len(done) < len(parts):
            ready = [i for i in range(len(parts)) if i not in done and after[i] <= set(done)]
            done.append(rng.choice(ready))
        got = run([parts[i] for i in done], tmp_path / f"order{k}")
        assert {name: v for name, v in got.items() if name not in volatile} == expected, done


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
