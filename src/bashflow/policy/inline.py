"""policy/inline.py - inline code given to interpreters, and whether `sed`/`awk` code is pure.

`python3 -c`, `perl -e`, `node -e` and friends always count as inline code; `sed` and `awk`
programs are scanned and pass only when they are pure text transforms (no `e`/`w`/`r`
commands in sed, no `system()`, pipes, `getline` or file output in awk).
"""

from __future__ import annotations

import re

from bashflow.policy.programs import INTERPRETERS, Argv, program_name, short_flags


def inline_code(argv: Argv) -> str:
    """Why an interpreter runs inline code here (`python3 -c`, `perl -e`, unsafe `awk`/`sed`),
    or "" when it does not."""
    name = program_name(argv)
    base = (
        re.sub(r"[\d.]+$", "", name)
        if name.startswith(("python", "pypy", "ruby", "perl", "lua", "php", "node"))
        else name
    )
    if base in ("awk", "gawk", "mawk", "nawk"):
        return _awk_code(argv)
    if base in ("sed", "gsed"):
        return _sed_code(argv)
    opts = INTERPRETERS.get(base)
    if opts is None:
        return ""
    args = argv[1:]
    if any(a.text in ("--version", "-V", "--help", "-h", "-VV") for a in args[:1]):
        return ""
    for a in args:
        t = a.text
        if not a.exact and not t:
            return f"`{name}` with an argument that is not known statically"
        if t in opts or (
            t.startswith("-")
            and not t.startswith("--")
            and any(o[1:] in t[1:] for o in opts if len(o) == 2)
        ):
            return f"`{name} {t}` runs inline code"
        if base in ("python", "python2", "pypy") and t == "-m":
            return ""
        if not t.startswith("-"):
            if t == "-" or (base == "deno" and t == "eval"):
                return f"`{name}` reads code from standard input"
            return ""
    if base in (
        "python",
        "python2",
        "pypy",
        "perl",
        "ruby",
        "node",
        "nodejs",
        "php",
        "lua",
        "tclsh",
    ):
        return f"`{name}` without a script reads code from standard input"
    return ""


_AWK_UNSAFE = re.compile(
    r"system\s*\(|\|(?!\|)|(?<!\|)\|&|getline|\bprintf?\b[^;{}\n]*[^>]>|@load|@include|\bfflush\b"
)


def _awk_code(argv: Argv) -> str:
    args = list(argv[1:])
    i = 0
    while i < len(args):
        a = args[i]
        t = a.text
        if not a.exact:
            return "awk with an argument that is not known statically"
        if t in ("-f", "--file", "-E", "--exec", "-l", "--load", "-i", "--include") or t.startswith(
            ("-f", "--file=", "-l", "-i", "-E")
        ):
            return f"awk `{t}` loads program text that cannot be proven"
        if t in ("-F", "-v", "--assign", "--field-separator"):
            i += 2
            continue
        if t.startswith("-") and t != "-":
            i += 1
            continue
        if t == "--":
            i += 1
        break
    if i >= len(args):
        return ""
    prog = args[i].text
    if _AWK_UNSAFE.search(prog.replace("||", "")):
        return "awk program runs commands or opens files (`system`, `|`, `getline`, `>`)"
    return ""


def _sed_code(argv: Argv) -> str:
    args = list(argv[1:])
    scripts: list[str] = []
    i = 0
    explicit = False
    while i < len(args):
        a = args[i]
        t = a.text
        if t in ("-e", "--expression"):
            if i + 1 >= len(args) or not args[i + 1].exact:
                return "sed script that is not known statically"
            scripts.append(args[i + 1].text)
            explicit = True
            i += 2
            continue
        if t.startswith("--expression="):
            scripts.append(t.split("=", 1)[1])
            explicit = True
        elif t in ("-f", "--file") or t.startswith(("--file=", "-f")):
            return "sed `-f` loads a script that cannot be proven"
        elif not a.exact:
            if not explicit and not scripts:
                return "sed script that is not known statically"
        elif t.startswith("-") and t != "-":
            if "e" in short_flags(t) or "f" in short_flags(t):
                return f"sed `{t}` takes a script that cannot be proven"
        elif not explicit and not scripts:
            scripts.append(t)
        i += 1
    for s in scripts:
        why = sed_script_unsafe(s)
        if why:
            return why
    return ""


_SED_SIMPLE = set("dDgGhHlnNpPqQxz=#:bTt{}!")


def sed_script_unsafe(script: str) -> str:
    """Why a sed script is not a pure text transform (`e`, `w`, `r` commands, `s///e|w`)."""
    i, n = 0, len(script)
    while i < n:
        c = script[i]
        if c in " \t\n;!{}":
            i += 1
            continue
        if c.isdigit() or c in "$,~+":
            i += 1
            continue
        if c in "/\\":  # an address regex
            delim = script[i + 1] if c == "\\" and i + 1 < n else "/"
            i = _skip_delimited(script, i + (2 if c == "\\" else 1), delim)
            if i < n and script[i] in "IM":
                i += 1
            continue
        if c == "#" or c == ":" or c in "bTt":
            while i < n and script[i] != "\n" and (c == "#" or script[i] != ";"):
                i += 1
            continue
        if c in "ewWrRF":
            if c == "F":
                i += 1
                continue
            return f"sed `{c}` command {'runs a command' if c == 'e' else 'opens a file'}"
        if c in "aic":
            while i < n and script[i] != "\n":
                i += 1
            continue
        if c in "sy":
            if i + 1 >= n:
                return "sed script that cannot be read"
            delim = script[i + 1]
            i = _skip_delimited(script, i + 2, delim)
            i = _skip_delimited(script, i, delim)
            if c == "s":
                j = i
                while j < n and script[j] not in ";\n}":
                    if script[j] in "ewW":
                        return f"sed `s///{script[j]}` {'runs a command' if script[j] == 'e' else 'writes a file'}"
                    j += 1
                i = j
            continue
        if c in _SED_SIMPLE or (c.isalpha() and c in "lqQvz"):
            i += 1
            continue
        return f"sed command `{c}` is not known to be a pure text transform"
    return ""


def _skip_delimited(s: str, i: int, delim: str) -> int:
    n = len(s)
    while i < n and s[i] != delim:
        if s[i] == "\\":
            i += 1
        elif s[i] == "\n" and delim != "\n":
            break
        i += 1
    return i + 1
