"""The real-world corpus (benchmarks/corpus.py): every file bash -n accepts must parse, and every
span of every tree must slice back to its source."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import treewalk
from corpus_support import KNOWN_FAILURES, CorpusRun, corpus_build, read_known_failures


def _rate(ok: int, total: int) -> str:
    return f"{ok}/{total} = {100.0 * ok / max(1, total):.2f}%"


@pytest.mark.slow
def test_corpus_is_real_and_sizable(corpus: corpus_build.Corpus) -> None:
    # Not a target to game: a sanity check that the build found the installed scripts.
    assert len(corpus) > 0, "no shell scripts found on this machine"
    assert corpus.manifest["summary"]["files"] == len(corpus)
    for e in corpus.entries[:50]:
        assert e.path.is_file() and e.path.stat().st_size == e.size
        assert e.category in corpus_build.CATEGORIES


@pytest.mark.slow
def test_every_corpus_file_parses(corpus_run: CorpusRun) -> None:
    known = read_known_failures()
    results = corpus_run.results
    failed = [r for r in results if r.error is not None]
    unexpected = [r for r in failed if r.entry.source not in known]
    fixed = sorted(
        src for src in known if any(r.entry.source == src and r.error is None for r in results)
    )
    ok = len(results) - len(failed)
    lines = [
        f"bashflow parsed {_rate(ok, len(results))} corpus files in {corpus_run.seconds:.1f} s"
    ]
    if unexpected:
        lines.append(f"{len(unexpected)} failure(s) (crashes marked):")
        lines += [("CRASH " if r.crashed else "") + str(r.error) for r in unexpected]
    if fixed:
        lines.append(f"now parse, remove from {KNOWN_FAILURES.name}:")
        lines += fixed
    if unexpected or fixed:
        pytest.fail("\n".join(lines), pytrace=False)
    known_failed = [r for r in failed if r.entry.source in known]
    if known_failed:
        lines.append(f"{len(known_failed)} known failure(s) listed in {KNOWN_FAILURES.name}:")
        lines += [f"{r.error}  [{known[r.entry.source]}]" for r in known_failed]
        pytest.xfail("\n".join(lines))


@pytest.mark.slow
def test_corpus_spans_slice_back(corpus_run: CorpusRun) -> None:
    problems = [p for r in corpus_run.results for p in r.span_problems]
    parsed = sum(1 for r in corpus_run.results if r.error is None)
    if problems:
        files = sum(1 for r in corpus_run.results if r.span_problems)
        head = f"span problems in {files} of {parsed} parsed corpus files (first 20 per file):"
        pytest.fail("\n".join([head, *problems]), pytrace=False)


def test_known_failures_have_reasons() -> None:
    for src, reason in read_known_failures().items():
        assert src.startswith("/"), f"{KNOWN_FAILURES.name}: {src!r} is not an absolute source path"
        assert reason and reason != "(no reason given)", (
            f"{KNOWN_FAILURES.name}: {src} needs a reason"
        )


# The span checker itself must catch what it is there to catch: forge broken trees.

_SCRIPT = "echo 'a b' \"$x\" >out; if true; then ls; fi\n"


def _replace(node: Any, **changes: Any) -> Any:
    if dataclasses.is_dataclass(node):
        return dataclasses.replace(node, **changes)
    values = {f: getattr(node, f) for f in type(node)._fields}
    values.update(changes)
    return type(node)(**values)


def _first(tree: Any, kind: str) -> Any:
    return next(n for n in treewalk.walk(tree) if type(n).__name__ == kind)


def _swap(tree: Any, old: Any, new: Any) -> Any:
    """`tree` with node `old` (by identity) replaced by `new`."""
    if tree is old:
        return new
    if isinstance(tree, tuple) and not hasattr(tree, "_fields"):
        return tuple(_swap(x, old, new) for x in tree)
    if not treewalk.is_node(tree):
        return tree
    changes = {}
    for name, _ in treewalk.child_fields(tree):
        value = getattr(tree, name)
        swapped = _swap(value, old, new)
        if swapped is not value:
            changes[name] = swapped
    return _replace(tree, **changes) if changes else tree


def test_span_checker_accepts_a_good_tree(parse_fn: Callable[..., Any]) -> None:
    tree = parse_fn(_SCRIPT)
    assert treewalk.check_spans(tree, _SCRIPT) == []
    kinds = {type(n).__name__ for n in treewalk.walk(tree)}
    assert {"SimpleCommand", "SingleQuoted", "DoubleQuoted", "Redirect", "If"} <= kinds


@pytest.mark.parametrize(
    ("kind", "shift", "expected"),
    [
        ("SingleQuoted", (1, 0), "text"),  # span no longer covers the opening quote
        ("Literal", (0, 1), "text"),  # span covers one character too many
        ("Redirect", (-3, 0), "overlap"),  # runs into the word before it
        ("IfClause", (-10, 0), "containment"),  # starts before its parent `if`
    ],
)
def test_span_checker_catches_a_bad_span(
    parse_fn: Callable[..., Any], kind: str, shift: tuple[int, int], expected: str
) -> None:
    tree = parse_fn(_SCRIPT)
    node = _first(tree, kind)
    span = node.span
    bad = _replace(node, span=type(span)(span.start + shift[0], span.end + shift[1]))
    problems = treewalk.check_spans(_swap(tree, node, bad), _SCRIPT)
    assert expected in {p.kind for p in problems}, problems
