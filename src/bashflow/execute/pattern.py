"""execute/pattern - bash patterns (globs and extglobs) as regular expressions; pathname
expansion with dotglob, nullglob, failglob, nocaseglob and globstar.

A pattern reaches this module as text in which characters that were quoted in the script
are escaped with a backslash (as bash's `quote_string_for_globbing` does), so `"*"` is the
literal star and `*` the wildcard.
"""

from __future__ import annotations

import os
import re

_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "xdigit": "0-9A-Fa-f",
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
    "word": "a-zA-Z0-9_",
}
GLOB_CHARS = frozenset("*?[")
_cache: dict[tuple[str, bool, bool, bool], re.Pattern[str]] = {}


def has_glob(pattern: str, extglob: bool = False) -> bool:
    """Whether `pattern` has an unescaped glob character."""
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch in GLOB_CHARS and (ch != "[" or _bracket(pattern, i, False) is not None):
            return True
        if extglob and ch in "?*+@!" and i + 1 < n and pattern[i + 1] == "(":
            return True
        i += 1
    return False


def unescape(pattern: str) -> str:
    """Quote removal on a pattern that matched nothing (backslashes dropped)."""
    if "\\" not in pattern:
        return pattern
    return re.sub(r"\\(.)", r"\1", pattern, flags=re.S)


def _bracket(p: str, i: int, path: bool) -> tuple[str, int] | None:
    """Translate the bracket expression starting at `p[i] == '['`: (regex, end index)."""
    j = i + 1
    n = len(p)
    negate = False
    if j < n and p[j] in "!^":
        negate = True
        j += 1
    items: list[str] = []
    first = True
    while j < n:
        ch = p[j]
        if ch == "]" and not first:
            body = "".join(items)
            if not body:
                return None
            if negate:
                return (f"[^{body}{'/' if path else ''}]", j + 1)
            return (f"[{body}]", j + 1)
        first = False
        if ch == "[" and j + 1 < n and p[j + 1] in ":=.":
            kind = p[j + 1]
            end = p.find(kind + "]", j + 2)
            if end < 0:
                items.append("\\[")
                j += 1
                continue
            name = p[j + 2 : end]
            if kind == ":":
                cls = _CLASSES.get(name)
                if cls is None:
                    return None
                items.append(cls)
            else:
                items.append(re.escape(name))
            j = end + 2
            continue
        if ch == "\\" and j + 1 < n:
            ch = p[j + 1]
            j += 1
        if j + 2 < n and p[j + 1] == "-" and p[j + 2] != "]":
            hi = p[j + 2]
            k = j + 2
            if hi == "\\" and k + 1 < n:
                k += 1
                hi = p[k]
            if ord(hi) >= ord(ch):
                items.append(f"{re.escape(ch)}-{re.escape(hi)}")
            j = k + 1
            continue
        items.append(re.escape(ch))
        j += 1
    return None


def _split_alternatives(p: str, i: int) -> tuple[list[str], int] | None:
    """The `|`-separated patterns of an extglob whose `(` is at `p[i]`, and the index after
    its `)`."""
    depth = 0
    j = i + 1
    start = j
    alts: list[str] = []
    while j < len(p):
        ch = p[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                alts.append(p[start:j])
                return alts, j + 1
            depth -= 1
        elif ch == "|" and depth == 0:
            alts.append(p[start:j])
            start = j + 1
        j += 1
    return None


def translate(p: str, path: bool = False, extglob: bool = False) -> str:
    """The regular expression for pattern `p` (`path`: wildcards do not match `/`)."""
    out: list[str] = []
    i = 0
    n = len(p)
    anychar = "[^/]" if path else "."
    while i < n:
        ch = p[i]
        if extglob and ch in "?*+@!" and i + 1 < n and p[i + 1] == "(":
            split = _split_alternatives(p, i + 1)
            if split is not None:
                alts, end = split
                inner = "|".join(translate(a, path, extglob) for a in alts)
                if ch == "!":
                    rest = translate(p[end:], path, extglob)
                    out.append(f"(?:(?!(?:{inner}){rest}\\Z){anychar}*?)")
                else:
                    suffix = {"?": "?", "*": "*", "+": "+", "@": ""}[ch]
                    out.append(f"(?:{inner}){suffix}")
                i = end
                continue
        if ch == "\\":
            if i + 1 < n:
                out.append(re.escape(p[i + 1]))
                i += 2
            else:
                out.append("\\\\")
                i += 1
        elif ch == "*":
            while i + 1 < n and p[i + 1] == "*" and not (extglob and i + 2 < n and p[i + 2] == "("):
                i += 1
            out.append(f"{anychar}*")
            i += 1
        elif ch == "?":
            out.append(anychar)
            i += 1
        elif ch == "[":
            br = _bracket(p, i, path)
            if br is None:
                out.append("\\[")
                i += 1
            else:
                out.append(br[0])
                i = br[1]
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def compile_pattern(
    p: str, *, path: bool = False, extglob: bool = False, nocase: bool = False
) -> re.Pattern[str]:
    key = (p, path, extglob, nocase)
    rx = _cache.get(key)
    if rx is None:
        flags = re.S | (re.I if nocase else 0)
        rx = re.compile(translate(p, path, extglob), flags)
        if len(_cache) > 2048:
            _cache.clear()
        _cache[key] = rx
    return rx


def match(p: str, s: str, *, extglob: bool = False, nocase: bool = False) -> bool:
    """Whether all of `s` matches pattern `p` (`case`, `[[ == ]]`)."""
    return compile_pattern(p, extglob=extglob, nocase=nocase).fullmatch(s) is not None


def strip(p: str, s: str, op: str, *, extglob: bool = False) -> str:
    """`${s#p}` `${s##p}` `${s%p}` `${s%%p}`."""
    rx = compile_pattern(p, extglob=extglob)
    n = len(s)
    if op == "#":
        for i in range(n + 1):
            if rx.fullmatch(s, 0, i):
                return s[i:]
    elif op == "##":
        for i in range(n, -1, -1):
            if rx.fullmatch(s, 0, i):
                return s[i:]
    elif op == "%":
        for i in range(n, -1, -1):
            if rx.fullmatch(s, i, n):
                return s[:i]
    else:
        for i in range(n + 1):
            if rx.fullmatch(s, i, n):
                return s[:i]
    return s


def replace(
    p: str, s: str, rep: str, mode: str, *, extglob: bool = False, amp: str | None = None
) -> str:
    """`${s/p/rep}` (mode `/`), `//` (all), `/#` (anchored at start), `/%` (at end).
    `amp` is the replacement with `&` marks (patsub_replacement) split out: when given,
    each unescaped `&` in it is the matched text."""
    if p == "" and mode in ("/", "//"):
        return s
    rx = compile_pattern(p, extglob=extglob)
    n = len(s)

    def rep_for(m: str) -> str:
        return rep if amp is None else amp.replace("\0", m)

    if mode == "/#":
        for j in range(n, -1, -1):
            if rx.fullmatch(s, 0, j):
                return rep_for(s[:j]) + s[j:]
        return s
    if mode == "/%":
        for i in range(n + 1):
            if rx.fullmatch(s, i, n):
                return s[:i] + rep_for(s[i:])
        return s
    out: list[str] = []
    i = 0
    last = 0
    while i <= n:
        found = -1
        for j in range(n, i - 1, -1):
            if rx.fullmatch(s, i, j):
                found = j
                break
        if found <= i:
            i += 1
            continue
        out.append(s[last:i])
        out.append(rep_for(s[i:found]))
        last = i = found
        if mode != "//":
            break
    out.append(s[last:])
    return "".join(out)


# ---------------------------------------------------------------------- pathname expansion


def glob(
    pattern: str,
    *,
    dotglob: bool = False,
    extglob: bool = False,
    nocase: bool = False,
    globstar: bool = False,
) -> list[str]:
    """The sorted paths matching `pattern` (empty when none)."""
    if pattern.startswith("/"):
        bases = ["/"]
        comps = pattern.lstrip("/").split("/")
        prefix = "/"
    else:
        bases = [""]
        comps = pattern.split("/")
        prefix = ""
    del prefix
    results = bases
    for idx, comp in enumerate(comps):
        last = idx == len(comps) - 1
        if comp == "":
            results = [r + "/" if not r.endswith("/") else r for r in results if r]
            if last:
                results = [r for r in results if os.path.isdir(r or ".")]
            continue
        if not has_glob(comp, extglob):
            lit = unescape(comp)
            nxt = []
            for r in results:
                path = _join(r, lit)
                if last:
                    if os.path.lexists(path):
                        nxt.append(path)
                elif os.path.isdir(path):
                    nxt.append(path)
            results = nxt
            continue
        if globstar and comp == "**":
            nxt = []
            for r in results:
                nxt.extend(_walk(r, dotglob, last))
            results = nxt
            continue
        rx = compile_pattern(comp, path=True, extglob=extglob, nocase=nocase)
        dot_ok = dotglob or comp.startswith(".") or comp.startswith("\\.")
        nxt = []
        for r in results:
            try:
                names = os.listdir(r or ".")
            except OSError:
                continue
            for name in sorted(names):
                if name.startswith(".") and not dot_ok:
                    continue
                if name in (".", ".."):
                    continue
                if rx.fullmatch(name):
                    path = _join(r, name)
                    if last or os.path.isdir(path):
                        nxt.append(path)
        results = nxt
    out = sorted(results)
    return out


def _join(base: str, name: str) -> str:
    if not base:
        return name
    if base.endswith("/"):
        return base + name
    return base + "/" + name


def _walk(base: str, dotglob: bool, last: bool) -> list[str]:
    """`**`: the base itself and every directory (and, when last, file) under it."""
    out: list[str] = []
    if last:
        start = base
    else:
        out.append(base)
        start = base
    stack = [start]
    while stack:
        d = stack.pop()
        try:
            names = sorted(os.listdir(d or "."))
        except OSError:
            continue
        subdirs = []
        for name in names:
            if name.startswith(".") and not dotglob:
                continue
            path = _join(d, name)
            isdir = os.path.isdir(path) and not os.path.islink(path)
            if last or isdir:
                out.append(path)
            if isdir:
                subdirs.append(path)
        stack.extend(reversed(subdirs))
    if last and base == "":
        return out
    return out
