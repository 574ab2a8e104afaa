"""Differential: the words bash passes to a command equal what our tree says, for words
whose value is known without running anything (quoting, escapes, ANSI-C, braces, tildes).

One bash process prints every word of every case with `printf '%s\\0'`, under `set -f` so
glob characters stay literal; we compute the same fields from the tree.
"""

from __future__ import annotations

import itertools
import subprocess

import pytest

import bashflow
from bashflow.parser import syntax as s

HOME = "/home/tester"

CASES = [
    r"plain",
    r"'single quoted  with spaces'",
    r'"double $ quoted"',
    r'"a\$b\"c\\d\e\`f"',
    r"a\ b\'c\"d\\e",
    r"$'\x72m \u00e9 \101 \cA \t|\e|\'q\''",
    r"$'\0101\x4A\x4g\777'",
    r"$'a\c?b\cZ\c['",
    r"$'\U0001F600\u263a'",
    r"$'\U110000|\uD800|\U7FFFFFFF|\U80000000'",  # bash writes UTF-8's original form
    r"mixed'single'\"dq\"$'ansi\n'tail",
    r"{a,b,c}",
    r"x{a,b}y",
    r"{a,{b,c}}",
    r"{a{b,c}}",
    r"{1..5}",
    r"{5..1..2}",
    r"{01..10..3}",
    r"{a..e}",
    r"{z..u..2}",
    r"{a,b}{1..2}",
    r"a{,}b",
    r"{}",
    r"{a}",
    r"{a,\,b}",
    r"{'a,b',c}",
    r"{a..}",
    r"\{a,b}",
    r"{a,b\}",
    r"~",
    r"~/x",
    r"'~'",
    r"a~b",
    r"x=~/a:~/b",
    r"--opt=~/x",
    r"*.txt",
    r"[abc]x?",
    r"a\*b",
    r"'*'",
    r"=",
    r"a=b=c",
    r"a#b",
    r"!",
    r"@x",
    r"a}b{",
    r"\\\\",
    r"'it'\''s'",
    r'"nested \"quotes\" here"',
    r"$'\''",
    "'multi\nline'",
    "a\\\nb",
    r"\n\t",
]


def static_fields(word: s.Word) -> list[str]:
    """The fields bash produces for a word whose parts need no run-time state (set -f)."""
    alternatives: list[list[str]] = [[""]]
    for part in word.parts:
        alternatives.append(part_values(part))
    return ["".join(combo) for combo in itertools.product(*alternatives)]


def part_values(part: s.WordPart) -> list[str]:
    if isinstance(part, s.Literal | s.Glob):
        return [part.text]
    if isinstance(part, s.Escaped):
        return [part.char]
    if isinstance(part, s.SingleQuoted):
        return [part.text]
    if isinstance(part, s.AnsiCQuoted):
        return [part.value.split("\0")[0]]  # bash strings end at NUL
    if isinstance(part, s.DoubleQuoted):
        out = ""
        for p in part.parts:
            if isinstance(p, s.Literal):
                out += p.text
            elif isinstance(p, s.Escaped):
                out += p.char
            else:
                raise AssertionError(f"not static: {p}")
        return [out]
    if isinstance(part, s.Tilde):
        assert part.user == "", part
        return [HOME]
    if isinstance(part, s.BraceExpansion):
        return [v for alt in part.alternatives for v in static_fields(alt)]
    if isinstance(part, s.BraceRange):
        return brace_range(part)
    raise AssertionError(f"not static: {part}")


def brace_range(r: s.BraceRange) -> list[str]:
    step = abs(int(r.step)) if r.step else 1
    step = step or 1
    if r.start.lstrip("-").isdigit():
        a, b = int(r.start), int(r.end)
        width = (
            max(len(r.start), len(r.end)) if r.start.startswith("0") or r.end.startswith("0") else 0
        )
        seq = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(v).zfill(width) for v in seq]
    a, b = ord(r.start), ord(r.end)
    seq = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
    return [chr(v) for v in seq]


def bash_fields(bash: str, words: list[str]) -> list[list[bytes]]:
    script = "set -f\n" + "".join(f"printf '%s\\0' {w}; printf '\\1\\0'\n" for w in words)
    out = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        capture_output=True,
        check=True,
        env={"HOME": HOME, "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    ).stdout
    groups: list[list[bytes]] = [[]]
    for field in out.split(b"\0")[:-1]:
        if field == b"\1":
            groups.append([])
        else:
            groups[-1].append(field)
    return groups[:-1]


def test_words_match_bash(bash_path: str) -> None:
    expected = bash_fields(bash_path, CASES)
    assert len(expected) == len(CASES)
    mismatches = []
    for text, want in zip(CASES, expected, strict=True):
        cmd = bashflow.parse(f"printf %s {text}").body.items[0].command.first.commands[0]
        assert isinstance(cmd, s.SimpleCommand)
        ours = [
            f.encode("utf-8", "surrogateescape") for w in cmd.words[2:] for f in static_fields(w)
        ]
        if ours != want:
            mismatches.append(f"{text!r}: bash {want!r} ours {ours!r}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(
    "delimiter",
    ["EOF", "'EOF'", '"EOF"', "\\EOF", "E'O'F", "'E O F'", "-EOF", "EOF\\\\"],
)
def test_heredoc_delimiters_match_bash(bash_path: str, delimiter: str) -> None:
    body = "line $HOME\n"
    script = f"cat <<{delimiter}\n{body}"
    tree = bashflow.parse(script + "\n")
    cmd = tree.body.items[0].command.first.commands[0]
    assert isinstance(cmd, s.SimpleCommand)
    hd = cmd.redirects[0].target
    assert isinstance(hd, s.HereDoc)
    full = script + hd.delimiter + "\necho END\n"
    out = subprocess.run(
        [bash_path, "--norc", "-c", full], capture_output=True, text=True, env={"HOME": HOME}
    ).stdout
    # bash found the same delimiter line (the body ends there and END runs after it)
    assert out.endswith("END\n"), out
    assert ("$HOME" in out) == hd.quoted
