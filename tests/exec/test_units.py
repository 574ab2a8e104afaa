"""The interpreter's trickiest pieces, each compared with what /usr/bin/bash computes for the
same input in the same run: 64-bit arithmetic and its errors, IFS word splitting, patterns
(`case`/`[[ == ]]` matching, `${x#p}`, `${x/p/r}`), backslash escapes (`printf`, `echo -e`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bashflow.execute.arith_eval import Evaluator
from bashflow.execute.errors import ExpansionError
from bashflow.execute.expand import SPLIT, ifs_split
from bashflow.execute.pattern import match, replace, strip
from bashflow.execute.quoting import single_quote
from bashflow.execute.state import State

ARITH = [
    "1+2*3", "2**62", "2**63", "2**64", "-2**63", "9223372036854775807+1",
    "-9223372036854775807-1", "(-9223372036854775807-1)/-1", "(-9223372036854775807-1)%-1",
    "1<<63", "1<<64", "1<<65", "-1>>1", "~0", "-7/2", "-7%2", "7%-2", "0x7fffffffffffffff*2",
    "017", "0x1F", "2#1011", "36#z", "64#_", "64#@", "10#08", "1?2:3", "0?2:3", "0&&1/0",
    "1||1/0", "x=5, x*2", "x=3, x+=4, x", "i=1, i++ + ++i", "5>3 && 2<1", "!0 + !5",
    "6^3|8&12", "-(3)", "+-+-4", "3 == 3", "2 != 2", "(1,2)",
]  # fmt: skip
ARITH_ERRORS = ["1/0", "2**-1", "08", "1+", "3++", "2#2", "x=", "1 2"]


def bash_lines(script: str) -> list[str]:
    out = subprocess.run(
        ["/usr/bin/bash", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return out.split("\n")[:-1]


@pytest.fixture(scope="module")
def bash_arith() -> list[str]:
    return bash_lines("".join(f"echo $(( {e} ))\n" for e in ARITH))


def test_arithmetic_matches_bash(bash_path: str, bash_arith: list[str]) -> None:
    for expr, expected in zip(ARITH, bash_arith, strict=True):
        got = Evaluator(State()).evaluate(expr)
        assert str(got) == expected, expr


def test_arithmetic_errors_match_bash(bash_path: str) -> None:
    for expr in ARITH_ERRORS:
        proc = subprocess.run(
            ["/usr/bin/bash", "-c", f": $(( {expr} ))"], capture_output=True, text=True
        )
        expected = proc.stderr.split(": ", 2)[2].strip()  # drop "bash: line 1: "
        with pytest.raises(ExpansionError) as err:
            Evaluator(State()).evaluate(f" {expr} ")
        assert err.value.message.strip() == expected, expr


SPLITS = [
    (" \t\n", "  a  b\tc\n"), (" \t\n", ""), (" \t\n", "   "), (":", "a::b:"), (":", ":a"),
    (": ", "a : b"), (": ", " :a: :b"), (",", ",,"), ("", "a b"), ("x", "axbxxc"),
    (" :", "a: :b"), ("\t", "a\t\tb"),
]  # fmt: skip


def test_ifs_splitting_matches_bash(bash_path: str) -> None:
    script = "".join(
        f"IFS={single_quote(ifs)}; x={single_quote(text)}; set -- $x; "
        'printf \'<%s>\' "$#" "$@"; echo\n'
        for ifs, text in SPLITS
    )
    for (ifs, text), expected in zip(SPLITS, bash_lines(script), strict=True):
        fields = ["".join(t for t, _ in f) for f in ifs_split([(text, SPLIT)], ifs)]
        got = f"<{len(fields)}>" + "".join(f"<{f}>" for f in fields)
        assert got == expected, (ifs, text)


MATCHES = [
    ("*.txt", "a.txt"), ("*.txt", "a.txt.bak"), ("?", "ab"), ("[a-c]x", "bx"),
    ("[!a-c]x", "bx"), ("[[:digit:]]*", "9lives"), ("[]]", "]"), ("a\\*", "a*"), ("a\\*", "ab"),
    ("*", ""), ("@(foo|bar)", "bar"), ("!(foo)", "foo"), ("!(foo)", "fox"), ("+(ab)", "abab"),
    ("?(x)y", "y"), ("*(a|b)c", "ababc"), ("[^x]", "y"), ("a/*", "a/b/c"),
]  # fmt: skip


def test_pattern_matching_matches_bash(bash_path: str) -> None:
    script = "shopt -s extglob\n" + "".join(
        f"s={single_quote(text)}; [[ $s == {pat} ]] && echo 1 || echo 0\n" for pat, text in MATCHES
    )
    for (pat, text), expected in zip(MATCHES, bash_lines(script), strict=True):
        assert str(int(match(pat, text, extglob=True))) == expected, (pat, text)


EDITS = [
    ("#", "a*", "aXaYb"), ("##", "a*", "aXaYb"), ("%", "Y*", "aXaYbY"), ("%%", "Y*", "aXYbY"),
    ("#", "", "abc"), ("%", "?", "abc"), ("//", "a", "banana"), ("/", "an", "banana"),
    ("/#", "b", "banana"), ("/%", "na", "banana"), ("//", "[an]", "banana"), ("//", "*", "xy"),
]  # fmt: skip


def test_strip_and_replace_match_bash(bash_path: str) -> None:
    lines = []
    for op, pat, text in EDITS:
        expr = f"${{s{op}{pat}}}" if op[0] != "/" else f"${{s{op}{pat}/_}}"
        lines.append(f's={single_quote(text)}; echo "<{expr}>"\n')
    for (op, pat, text), expected in zip(EDITS, bash_lines("".join(lines)), strict=True):
        got = strip(pat, text, op) if op[0] != "/" else replace(pat, text, "_", op)
        assert f"<{got}>" == expected, (op, pat, text)


ESCAPES = [
    ("printf", "a\\cb|"), ("printf", "a\\0101b|"), ("printf", "\\q\\\"\\?\\'|"),
    ("printf", "\\x41\\u263a\\x|"), ("printf", "\\%d|\\\\%d|%s\\\n", "5", "6"),
    ("printf", "%b|", "a\\101\\0101\\cb"), ("printf", "\\x25d|%s\\", "z"),
    ("echo", "-e", "a\\0101\\101\\?\\x4\\cb"),
    # past U+10FFFF and surrogates: the bytes bash writes (up to 6), nothing past 0x7FFFFFFF
    ("printf", "\\U110000|\\UD800|\\U7fffffff|\\U80000000|\\U200000|\\U4000000|"),
    ("printf", "%b|", "\\UFFFFFFFF\\U0010ffff"), ("echo", "-e", "\\U3FFFFFF\\uDFFF"),
]  # fmt: skip


def test_backslash_escapes_match_bash(bash_path: str) -> None:
    script = "".join(" ".join(map(single_quote, argv)) + "; echo\n" for argv in ESCAPES)
    ours = subprocess.run(
        [sys.executable, "-m", "bashflow", "exec", "--no-sandbox", "-q", "-c", script],
        capture_output=True,
    )
    theirs = subprocess.run([bash_path, "-c", script], capture_output=True)
    assert ours.stderr == b""
    assert ours.stdout == theirs.stdout
