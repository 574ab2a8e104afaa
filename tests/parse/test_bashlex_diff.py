"""Differential against bashlex 0.18, where bashlex parses: the same simple commands with the
same words (by source text, through spans) and, for words without expansions, the same values.

bashlex is an independent parser (GPL; a test dependency only). Where it parses, every
difference must be one of its known mistakes, listed below as data: a name, why, an example,
and how to recognise the mistake from the bashflow tree. Each example is checked to still show
the mistake, and real bash is asked, so that the list stays true.

Run the report by hand: `python tests/parse/test_bashlex_diff.py [--corpus]`.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

bashlex = pytest.importorskip("bashlex")
bashflow = pytest.importorskip("bashflow")

BASH = "/usr/bin/bash"


# --------------------------------------------------------------------------- both trees as commands


@dataclass(frozen=True, slots=True)
class Cmd:
    """A simple command: the source text of its assignments and words, and their values where
    a word has no expansion (None where it has)."""

    start: int
    words: tuple[str, ...]
    values: tuple[str | None, ...]


def _fields(node: Any) -> tuple[str, ...]:
    return tuple(f for f in type(node)._fields if f != "span")


def _kids(node: Any) -> Iterator[Any]:
    for f in _fields(node):
        stack = [getattr(node, f)]
        while stack:
            v = stack.pop()
            if hasattr(v, "span") and not isinstance(v, tuple):
                yield v
            elif isinstance(v, tuple) and not hasattr(v, "_fields"):
                stack.extend(reversed(v))


def _walk(tree: Any) -> Iterator[Any]:
    stack = [tree]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(_kids(n))


def static_value(word: Any) -> str | None:
    """A word's value when it has no expansion (quotes removed, escapes and $'...' decoded)."""
    out: list[str] = []
    stack = list(reversed(word.parts))
    while stack:
        p = stack.pop()
        kind = type(p).__name__
        if kind in ("Literal", "SingleQuoted", "Glob"):
            out.append(p.text)
        elif kind == "Escaped":
            out.append(p.char)
        elif kind == "AnsiCQuoted":
            out.append(p.value)
        elif kind in ("DoubleQuoted", "LocaleQuoted"):
            stack.extend(reversed(p.parts))
        else:
            return None
    return "".join(out)


# Places bashlex does not look into, so commands there are not compared.
_NOT_PARSED_BY_BASHLEX = ("Arith", "ArithSub", "HereDoc")


def bashflow_commands(text: str, tree: Any) -> dict[int, Cmd]:
    out: dict[int, Cmd] = {}
    stack = [tree]
    while stack:
        n = stack.pop()
        kind = type(n).__name__
        if kind in _NOT_PARSED_BY_BASHLEX:
            continue
        if kind == "SimpleCommand":
            ws = sorted([*n.assignments, *n.words], key=lambda w: w.span.start)
            if ws:
                # values of words only: bashlex's value of an assignment is its raw text
                values = tuple(static_value(w) if type(w).__name__ == "Word" else None for w in ws)
                out[ws[0].span.start] = Cmd(
                    ws[0].span.start, tuple(text[w.span.start : w.span.end] for w in ws), values
                )
        stack.extend(_kids(n))
    return out


def bashlex_commands(text: str, trees: list[Any]) -> dict[int, Cmd]:
    out: dict[int, Cmd] = {}

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def visitcommand(self, node: Any, parts: list[Any]) -> None:
            ws = [p for p in parts if p.kind in ("word", "assignment")]
            if ws:
                out[ws[0].pos[0]] = Cmd(
                    ws[0].pos[0],
                    tuple(text[p.pos[0] : p.pos[1]] for p in ws),
                    tuple(p.word for p in ws),
                )

    for t in trees:
        Visitor().visit(t)
    return out


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True, slots=True)
class Difference:
    """One command the parsers disagree on. For kind "value", `word` is the word's source text
    and `values` its value as (bashlex, bashflow) read it."""

    kind: str  # "bashlex-only" | "bashflow-only" | "words" | "value"
    pos: int
    bashlex: tuple[str, ...] | None
    bashflow: tuple[str, ...] | None
    explained_by: str | None = None
    word: str = ""
    values: tuple[str, str] = ("", "")

    def describe(self, text: str) -> str:
        line = text.count("\n", 0, self.pos) + 1
        why = f" [{self.explained_by}]" if self.explained_by else ""
        if self.kind == "value":
            return (
                f"line {line}: value of {self.word!r}: bashlex {self.values[0]!r} / "
                f"bashflow {self.values[1]!r}{why}"
            )
        return (
            f"line {line}: {self.kind}: bashlex {self.bashlex!r} / bashflow {self.bashflow!r}{why}"
        )


@dataclass(frozen=True, slots=True)
class Context:
    """Spans of the bashflow tree that known bashlex mistakes are recognised by."""

    text: str
    spans: dict[str, list[tuple[int, int]]]

    @classmethod
    def of(cls, text: str, tree: Any) -> Context:
        spans: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
        for n in _walk(tree):
            kind = type(n).__name__
            span = (n.span.start, n.span.end)
            if kind in ("ArithCommand", "ArithFor"):
                spans["arith"].append(span)
            elif kind == "HereDoc":
                spans["heredoc"].append(span)
            elif kind in ("CommandSub", "ProcessSub"):
                spans["sub"].append(span)
            elif kind == "SingleQuoted":
                spans["single-quoted"].append(span)
            elif kind == "ParamExpansion" and n.braced:
                spans["param"].append(span)
            elif kind == "Word" and text.startswith("'", n.span.start):
                spans["word-from-quote"].append(span)
            elif kind == "If" and len(n.clauses) >= 3:
                # everything after the first elif's body: the later clauses and the else
                spans["elif-tail"].append((n.clauses[1].span.end, n.span.end))
        return cls(text, spans)

    def inside(self, what: str, pos: int) -> list[tuple[int, int]]:
        return [s for s in self.spans.get(what, ()) if s[0] <= pos < s[1]]


@dataclass(frozen=True, slots=True)
class Mistake:
    """A known bashlex mistake: what, an example that shows it, bash's own reading of the
    example (a script and what bash prints for it), and a recogniser for differences."""

    name: str
    why: str
    example: str
    bash_script: str
    bash_prints: str
    explains: Callable[[Difference, Context], bool]


def _in_arith(d: Difference, c: Context) -> bool:
    return d.kind == "bashlex-only" and bool(c.inside("arith", d.pos))


def _in_heredoc(d: Difference, c: Context) -> bool:
    return d.kind == "bashlex-only" and bool(c.inside("heredoc", d.pos))


def _continuation_in_sub(d: Difference, c: Context) -> bool:
    if d.kind == "value":
        return False
    subs = c.spans.get("sub", [])
    return any("\\\n" in c.text[s[0] : s[1]] for s in c.inside("sub", d.pos)) or (
        # bashlex's shifted position can land just past the real substitution's end
        d.kind == "bashlex-only"
        and any(s[0] <= d.pos <= s[1] + 64 and "\\\n" in c.text[s[0] : s[1]] for s in subs)
    )


def _after_newline_in_sub(d: Difference, c: Context) -> bool:
    return d.kind == "bashflow-only" and any(
        "\n" in c.text[s[0] : d.pos] for s in c.inside("sub", d.pos)
    )


def _sub_in_single_quotes(d: Difference, c: Context) -> bool:
    return d.kind == "bashlex-only" and bool(c.inside("single-quoted", d.pos))


def _sub_in_param(d: Difference, c: Context) -> bool:
    return d.kind == "bashflow-only" and bool(c.inside("param", d.pos))


def _ansi_c(d: Difference, c: Context) -> bool:
    return d.kind == "value" and "$'" in d.word


def _locale(d: Difference, c: Context) -> bool:
    return d.kind == "value" and '$"' in d.word


def _strip(value: str, chars: str) -> str:
    return value.translate({ord(ch): None for ch in chars})


def _quoted_backslash(d: Difference, c: Context) -> bool:
    return (
        d.kind == "value"
        and ('"' in d.word or "'" in d.word)
        and _strip(d.values[0], "\\") == _strip(d.values[1], "\\")
    )


def _quotes_in_quotes(d: Difference, c: Context) -> bool:
    return (
        d.kind == "value"
        and "'" in d.word
        and '"' in d.word
        and _strip(d.values[0], "\\'\"") == _strip(d.values[1], "\\'\"")
    )


def _elif_tail(d: Difference, c: Context) -> bool:
    return d.kind == "bashflow-only" and bool(c.inside("elif-tail", d.pos))


def _leading_single_quote(d: Difference, c: Context) -> bool:
    # `'a''b'`, `'a'\''b'`: the first quoted part closes before the word ends; and a `$( )`
    # between two quoted parts of such a word is not parsed at all
    if d.kind == "bashflow-only":
        return bool(c.inside("word-from-quote", d.pos))
    return d.kind == "value" and d.word.startswith("'") and "'" in d.word[1:-1]


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "(( )) read as a command",
        "bashlex reads the arithmetic command `(( expr ))` as a simple command whose words are "
        "the expression's (`i++` run as a program), instead of arithmetic",
        "(( i++ ))\n",
        "i=0; (( i++ )); echo $i",
        "1",
        _in_arith,
    ),
    Mistake(
        "here-doc body read as commands",
        "inside a compound command (`if`, `{ }`, a function body) bashlex parses the lines of a "
        "here-doc body as commands",
        "if true; then\ncat <<EOF\nrm -rf data\nEOF\nfi\n",
        "if true; then\ncat <<EOF\nrm -rf data\nEOF\nfi",
        "rm -rf data",
        _in_heredoc,
    ),
    Mistake(
        "positions shifted by a line continuation inside $( )",
        "inside `$( )` and backquotes, bashlex drops each backslash-newline before computing "
        "positions, so every later word's position is off by two per continuation",
        "x=$(echo a | \\\n  tr a b)\n",
        "x=$(echo a | \\\n  tr a b); echo $x",
        "b",
        _continuation_in_sub,
    ),
    Mistake(
        "commands after a newline inside $( ) dropped",
        "bashlex keeps only the first line of a command substitution whose commands are "
        "separated by a newline: `$(echo a\\n rm b)` loses `rm b`",
        "x=$(echo a\nrm -f b)\n",
        "x=$(echo a\necho b); echo $x",
        "a b",
        _after_newline_in_sub,
    ),
    Mistake(
        "word starting with ' only loses its outer quotes",
        "when a word starts with a single quote, bashlex strips its first and last character and "
        "keeps everything between: `'a'\\''b'` (the usual way to put a quote in a quoted string) "
        "gives `a'\\''b` instead of `a'b`",
        "echo 'it'\\''s' 'a''b'\n",
        "printf '%s ' 'it'\\''s' 'a''b'",
        "it's ab",
        _leading_single_quote,
    ),
    Mistake(
        "backslash inside quotes dropped",
        'bash keeps a backslash inside double quotes unless it precedes $ ` " \\ or a newline, '
        'and every backslash inside single quotes; bashlex drops them: `"%s\\n"` becomes `%sn`, '
        "`x'a\\n'` becomes `xan`",
        'printf "%s\\n" "a\\*b" -f\'\\n\'\n',
        "printf '%s ' \"a\\n b\\*\" -f'\\n'",
        "a\\n b\\* -f\\n",
        _quoted_backslash,
    ),
    Mistake(
        "third and later if clauses hidden",
        "with two or more `elif`s, bashlex nests the second `elif` onwards (and the `else`) in "
        "the `word` of a reserved-word node, where its tree walker never looks: those commands "
        "vanish from the tree",
        "if false; then a; elif false; then b; elif true; then rm -f x; else c; fi\n",
        "if false; then echo a; elif false; then echo b; elif true; then echo c; else echo d; fi",
        "c",
        _elif_tail,
    ),
    Mistake(
        "quotes inside the other quotes removed",
        'bashlex removes every quote character of a word, also a `"` inside single quotes or a '
        "`'` inside double quotes: `-d'\"'` becomes `-d`, bash reads `-d\"`",
        "tr -d'\"' <f\n",
        "printf '%s ' -d'\"' x\"'\"y",
        "-d\" x'y",
        _quotes_in_quotes,
    ),
    Mistake(
        "$( ) inside single quotes read as a substitution",
        "in a word that does not start with a quote, bashlex parses `$( )` inside single quotes "
        "as a command substitution; bash takes it literally (the command never runs)",
        "x='$(rm -rf y)'\n",
        "x='$(echo run)'; printf %s \"$x\"",
        "$(echo run)",
        _sub_in_single_quotes,
    ),
    Mistake(
        "$( ) inside ${ } not parsed",
        "bashlex does not look inside `${x:-...}` (and the other operators): a command "
        "substitution in the default value is missing from its tree",
        "echo ${x:-$(rm -rf y)}\n",
        "unset x; echo ${x:-$(echo ran)}",
        "ran",
        _sub_in_param,
    ),
    Mistake(
        "$'...' not decoded",
        "bashlex takes `$'\\x72m'` as `$x72m`: it drops the backslashes instead of decoding "
        "ANSI-C escapes (bash reads `rm`)",
        "$'\\x72m' -rf x\n",
        "printf '%s' $'\\x72m'",
        "rm",
        _ansi_c,
    ),
    Mistake(
        '$"..." keeps the $',
        'bashlex takes the locale string `$"x"` as `$x`; bash reads `x` (translated, unchanged '
        "without a message catalogue)",
        'echo $"hello"\n',
        'printf %s $"hello"',
        "hello",
        _locale,
    ),
)


def compare(text: str) -> tuple[list[Difference], int] | None:
    """The differences between bashlex and bashflow on `text` (each with the known mistake
    that explains it, if any) and the number of commands compared; None if bashlex fails."""
    try:
        bl_trees = bashlex.parse(text)
    except Exception:
        return None
    tree = bashflow.parse(text)
    bl = bashlex_commands(text, bl_trees)
    bf = bashflow_commands(text, tree)
    ctx = Context.of(text, tree)
    found: list[Difference] = []
    for pos in sorted(set(bl) | set(bf)):
        a, b = bl.get(pos), bf.get(pos)
        if a is None or b is None:
            kind = "bashlex-only" if b is None else "bashflow-only"
            found.append(Difference(kind, pos, a.words if a else None, b.words if b else None))
        elif a.words != b.words:
            found.append(Difference("words", pos, a.words, b.words))
        else:
            for word, va, vb in zip(b.words, a.values, b.values, strict=True):
                if vb is not None and va != vb:
                    found.append(
                        Difference("value", pos, a.words, b.words, None, word, (str(va), vb))
                    )
    diffs = [
        replace(d, explained_by=next((m.name for m in MISTAKES if m.explains(d, ctx)), None))
        for d in found
    ]
    return diffs, len(set(bl) & set(bf))


# --------------------------------------------------------------------------- fixtures

# Scripts written for this test, in constructs both parsers read. They must agree exactly.
AGREE: tuple[str, ...] = (
    "ls -la | wc -l\n",
    "a=1 b='two words' env | grep -v x >out 2>&1\n",
    "echo \"$HOME/x\" '$HOME' \"a'b\" 'c\"d' e\\ f\n",
    "cd /tmp && make -j4 || echo failed; echo done &\n",
    "x=$(ls | head -1) y=`pwd`\n",
    'echo "$(date +%s) and $(uname -r)"\n',
    "f() { echo in f; return 0; }\nf arg\n",
    "function g { local v=1; echo $v; }\n",
    "if test -f a; then cat a; elif [ -d b ]; then ls b; else echo none; fi\n",
    "for i in 1 2 3; do echo $i; done\n",
    "while read -r line; do printf '%s\\n' \"$line\"; done < input.txt\n",
    "until false; do break; done\n",
    "{ echo a; echo b; } > both\n",
    "( cd sub && ./configure --prefix=/usr )\n",
    "! grep -q pattern file\n",
    "echo ${x:-default} ${#y} ${z%.c}.o ${a/b/c}\n",
    "diff <(sort a) <(sort b)\n",
    "cat <<EOF\nnot a command\nEOF\necho after\n",
    "cat <<EOF | tr a-z A-Z\n$x\nEOF\n",
    "echo a\\\n  b c\n",
    "ls *.txt ?.log [abc]* ~/dir ~user/x\n",
    "echo a{b,c}d {1..3}\n",
    "exec 3>&1 4<&0\nexec 3>&-\n",
    "trap 'rm -f \"$tmp\"' EXIT INT\n",
    "export PATH=/usr/bin:$PATH LANG=C\n",
    "echo one; echo two\necho three\n",
    "x=1\ny=$x\n",
    'echo "" \'\' a\'b\'"c" "it\'s"\n',
    "find . -name '*.py' -exec grep -l TODO {} +\n",
    "echo $(echo $(echo nested))\n",
)


@pytest.mark.parametrize("text", AGREE, ids=[t.split("\n")[0][:40] for t in AGREE])
def test_bashlex_and_bashflow_agree(text: str) -> None:
    result = compare(text)
    assert result is not None, "bashlex must parse every AGREE fixture"
    diffs, compared = result
    assert compared > 0
    assert diffs == [], "\n".join(d.describe(text) for d in diffs)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_known_bashlex_mistake_still_shows(mistake: Mistake) -> None:
    result = compare(mistake.example)
    assert result is not None, f"bashlex no longer parses the example of {mistake.name!r}"
    diffs, _ = result
    assert diffs, f"bashlex no longer makes the mistake {mistake.name!r}: drop it from MISTAKES"
    assert all(d.explained_by == mistake.name for d in diffs), "\n".join(
        d.describe(mistake.example) for d in diffs
    )


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_bash_reads_the_example_as_bashflow_does(mistake: Mistake) -> None:
    if not Path(BASH).exists():
        pytest.skip(f"{BASH} is not installed")
    r = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", mistake.bash_script],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    assert r.stdout.split() == mistake.bash_prints.split(), r.stderr


# --------------------------------------------------------------------------- corpus


def corpus_report(entries: list[Any]) -> dict[str, Any]:
    parsed = compared = 0
    by_mistake: collections.Counter[str] = collections.Counter()
    unexplained: list[str] = []
    for e in entries:
        text = e.read_text()
        result = compare(text)
        if result is None:
            continue
        parsed += 1
        diffs, n = result
        compared += n
        for d in diffs:
            if d.explained_by:
                by_mistake[d.explained_by] += 1
            else:
                unexplained.append(f"{e.source}: {d.describe(text)}")
    return {
        "files": len(entries),
        "bashlex_parsed": parsed,
        "commands": compared,
        "by_mistake": by_mistake,
        "unexplained": unexplained,
    }


@pytest.mark.slow
def test_corpus_differences_are_known_bashlex_mistakes() -> None:
    if not Path(BASH).exists():
        pytest.skip(f"{BASH} is needed to build the corpus")
    from benchmarks import corpus as corpus_build

    corpus = corpus_build.load()
    report = corpus_report(list(corpus.entries))
    print(
        f"\nbashlex differential: bashlex parses {report['bashlex_parsed']}/{report['files']} corpus "
        f"files; {report['commands']} commands compared; known mistakes seen: "
        + ", ".join(f"{k} x{n}" for k, n in report["by_mistake"].most_common())
    )
    assert not report["unexplained"], (
        f"{len(report['unexplained'])} unexplained difference(s):\n"
        + "\n".join(report["unexplained"][:100])
    )


if __name__ == "__main__":
    from benchmarks import corpus as corpus_build

    if "--corpus" in sys.argv:
        rep = corpus_report(list(corpus_build.load().entries))
        print({k: v for k, v in rep.items() if k != "unexplained"})
        print("\n".join(rep["unexplained"]))
    for m in MISTAKES:
        res = compare(m.example)
        print(f"{m.name}: {res[0] if res else 'bashlex fails'}")
