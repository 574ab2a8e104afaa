"""The compiler over the whole real-world corpus (benchmarks/corpus.py): every file that parses
compiles without an exception, its document is sound by the pairwise oracle, and every node's
text is its span's text."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from compile_oracle import problems

from bashflow.compile import compile_script
from bashflow.errors import ParseError

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import corpus as corpus_build  # noqa: E402


@pytest.mark.slow
def test_every_corpus_file_that_parses_compiles() -> None:
    if not os.access(corpus_build.BASH, os.X_OK):
        pytest.skip(f"{corpus_build.BASH} is needed to build the corpus")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 30000))
    corpus = corpus_build.load()
    crashed: list[str] = []
    unsound: list[str] = []
    compiled = 0
    for i, e in enumerate(corpus.entries):
        data = e.path.read_bytes()
        try:
            wf = compile_script(data, filename=e.source, cwd="/work", home="/home/u")
        except ParseError:
            continue
        except Exception as err:  # the point of the test: report every crash, not the first
            crashed.append(f"{e.source}: {type(err).__name__}: {err}")
            continue
        compiled += 1
        doc = wf.to_json()
        text = doc["source"]["text"]
        for n in doc["nodes"]:
            s, t = n["span"]["start"]["offset"], n["span"]["end"]["offset"]
            if text.isascii() and text[s:t] != n["text"]:
                unsound.append(f"{e.source}: node {n['id']} text is not its span")
                break
        if i % 7 == 0 and len(doc["nodes"]) < 400:  # the quadratic oracle on a sample
            unsound.extend(f"{e.source}: {p}" for p in problems(doc)[:3])
    assert crashed == []
    assert unsound == []
    assert compiled > 0.99 * len(corpus.entries)
