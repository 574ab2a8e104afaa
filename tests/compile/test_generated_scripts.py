"""Soundness on generated scripts: random sequences of file commands over a handful of names
(so most pairs touch the same files), compiled and run under strace. For every pair of nodes
the graph leaves unordered, the accesses bash really made must not conflict, and the declared
effects must not conflict either (`compile_oracle`). Seeds are fixed: the scripts are the same
on every run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from compile_oracle import problems
from strace_oracle import STRACE, check_traced

from bashflow.compile import compile_script

FILES = ["a.txt", "b.txt", "c.txt", "d/e.txt", "d/f.txt"]
DIRS = ["d", "g"]

TEMPLATES = [
    "echo {w} > {f}",
    "echo {w} >> {f}",
    "cat {f} > {g} 2>/dev/null",
    "cp {f} {g} 2>/dev/null",
    "mv {f} {g} 2>/dev/null",
    "rm -f {f}",
    "mkdir -p {d}",
    "touch {f} 2>/dev/null",
    "sort {f} -o {g} 2>/dev/null",
    "wc -l {f} 2>/dev/null",
    "cat {f} 2>/dev/null | sort > {g}",
    "grep -c {w} {f} > {g} 2>/dev/null",
    "ls {d} > {g} 2>/dev/null",
    "[ -f {f} ] && cat {f} > {g}",
    "(cd {d} 2>/dev/null && touch made.txt)",
    "x=$(cat {f} 2>/dev/null)",
    'echo "$x" > {g}',
    "append_to {f}",
    "for i in 1 2; do echo $i >> {f}; done",
    "cat {f} > {g} 2>/dev/null &",
    "wait",
    "head -n 1 {f} > {g} 2>/dev/null",
    "rm -rf {d}",
    "cp -r {d} {e} 2>/dev/null",
    "find {d} -name '*.txt' > {g} 2>/dev/null",
    "if [ -s {f} ]; then cp {f} {g}; fi",
    "tee {f} < {g} > /dev/null 2>&1",
    "while read -r l; do echo $l >> {g}; done < {f} 2>/dev/null",
    "v={f}",
    "cat $v > {g} 2>/dev/null",
    "touch {w}.tmp",
    "rm -f *.tmp",
    "for x in *.txt; do cp $x {d}/ 2>/dev/null; done",
    "echo {w} | tee {f} > {g} 2>/dev/null",
    "find {d} -name '*.txt' -exec cat {{}} \\; > {g} 2>/dev/null",
    "ls {d} 2>/dev/null | xargs -I{{}} echo {{}} >> {g}",
    "cat > {f} <<EOF 2>/dev/null\nhello $v\nEOF",
    "y=$(ls {d} 2>/dev/null | wc -l)",
    'mkdir -p {d} && cd {d} && touch here.txt; cd "$OLD"',
    "(cd {d} 2>/dev/null && cat *.txt > ../out.txt 2>/dev/null)",
    "wc -c {f} > {g} 2>/dev/null || true",
]


def generate(seed: int, length: int = 14) -> str:
    rng = random.Random(seed)
    lines = ["mkdir -p d", 'append_to() { echo more >> "$1" 2>/dev/null; }', "OLD=$PWD", "v=a.txt"]
    for _ in range(length):
        t = rng.choice(TEMPLATES)
        f, g = rng.sample(FILES, 2)
        d, e = rng.sample(DIRS, 2)
        lines.append(t.format(f=f, g=g, d=d, e=e, w=rng.choice(["x", "y", "1"])))
    lines.append("wait")
    return "\n".join(lines) + "\n"


SEEDS = list(range(40))


@pytest.mark.parametrize("seed", SEEDS)
def test_declared_effects_of_unordered_pairs_do_not_conflict(seed: int) -> None:
    doc = compile_script(generate(seed), cwd="/work").to_json()
    assert problems(doc) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_observed_accesses_of_unordered_pairs_do_not_conflict(seed: int, tmp_path: Path) -> None:
    if not os.access(STRACE, os.X_OK):
        pytest.skip("strace is needed")
    script = tmp_path / f"gen{seed}.sh"
    script.write_text(generate(seed))
    failures, _status, observed = check_traced(script, tmp_path)
    assert observed, "nothing was observed: the oracle itself is broken"
    assert failures == [], (script.read_text(), failures)


@pytest.mark.slow
def test_a_builder_that_forgets_write_after_read_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both oracles are sensitive: break the graph builder (a write no longer waits for the
    readers before it) and the generated scripts show it."""
    if not os.access(STRACE, os.X_OK):
        pytest.skip("strace is needed")
    from bashflow.compile import graph

    def writers_only(e: object, write: bool) -> object:
        writer = getattr(e, "writer", None)
        if writer is not None:
            yield writer[0], writer[1], True

    monkeypatch.setattr(graph, "_entry_conflicts", writers_only)
    static = observed = 0
    for seed in range(8):
        text = generate(seed)
        static += bool(problems(compile_script(text, cwd="/work").to_json()))
        script = tmp_path / f"gen{seed}.sh"
        script.write_text(text)
        failures, _status, _n = check_traced(script, tmp_path / str(seed))
        observed += bool(failures)
    assert static >= 4 and observed >= 4, (static, observed)
