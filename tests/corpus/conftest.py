"""Fixtures for the real-world corpus tests: the corpus (built on first use, then reused) and
one parse of every file in it, shared by the tests so the corpus is parsed once a session."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from corpus_support import CorpusRun, corpus_build, parse_corpus


@pytest.fixture(scope="session")
def corpus() -> corpus_build.Corpus:
    if not os.access(corpus_build.BASH, os.X_OK):
        pytest.skip(f"{corpus_build.BASH} is needed to build the corpus")
    return corpus_build.load()


@pytest.fixture(scope="session")
def parse_fn() -> Callable[..., Any]:
    import bashflow

    return bashflow.parse


@pytest.fixture(scope="session")
def corpus_run(corpus: corpus_build.Corpus, parse_fn: Callable[..., Any]) -> CorpusRun:
    """Every corpus file parsed once, its spans checked; findings only, not trees."""
    return parse_corpus(corpus.entries, parse_fn)
