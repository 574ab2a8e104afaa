"""execute/expand - word expansion in bash's order over the parser's word parts.

Brace expansion first (on the tree), then each word's parts become *segments* — pieces of
text marked literal, quoted, or the result of an unquoted expansion — so word splitting
(only of unquoted expansion results, by IFS) and pathname expansion (only of unquoted
pattern characters) see what was quoted; quote removal is joining the segments' text.
Parameter expansion with every `${...}` operator lives in `params.py`.
"""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bashflow.execute import pattern
from bashflow.execute.errors import ExpansionError
from bashflow.parser import syntax as s

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

LIT = 0  # unquoted literal text that is a pattern character (Glob, ExtGlob)
QUOTED = 1  # quoted (or literal) text: never split, never a pattern character
SPLIT = 2  # result of an unquoted expansion: split by IFS, pattern characters active
BREAK = 3  # a field boundary ("$@" between parameters)

Segment = tuple[str, int]
_PATTERN_SPECIAL = frozenset("*?[]\\!@+()|")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_]+")
_TRANSFORM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)@.\}\Z")


def glob_escape(text: str) -> str:
    if not any(c in _PATTERN_SPECIAL for c in text):
        return text
    return "".join("\\" + c if c in _PATTERN_SPECIAL else c for c in text)


def brace_expand(parts: Sequence[s.WordPart]) -> list[list[s.WordPart]]:
    """Brace expansion of one word's parts into the parts of each resulting word."""
    for i, part in enumerate(parts):
        if isinstance(part, s.BraceExpansion):
            head = list(parts[:i])
            tail = parts[i + 1 :]
            out: list[list[s.WordPart]] = []
            for alt in part.alternatives:
                for expanded in brace_expand(list(alt.parts) + list(tail)):
                    out.append(_rejoin_names(head + expanded))
            return out
        if isinstance(part, s.BraceRange):
            head = list(parts[:i])
            items = brace_range(part)
            if items is None:
                lit: s.WordPart = s.Literal(part.span, _range_text(part))
                return brace_expand([*head, lit, *list(parts[i + 1 :])])
            out = []
            rests = brace_expand(parts[i + 1 :])
            for item in items:
                piece: s.WordPart = (
                    s.Literal(part.span, item) if item else s.SingleQuoted(part.span, "")
                )
                for rest in rests:
                    out.append([*head, piece, *rest])
            return out
    return [list(parts)]


def _rejoin_names(parts: list[s.WordPart]) -> list[s.WordPart]:
    """Brace expansion is textual in bash: `{$x,y}post` gives `$xpost`, whose variable name
    runs on into the text that followed the braces."""
    out: list[s.WordPart] = []
    for part in parts:
        prev = out[-1] if out else None
        if (
            isinstance(part, s.Literal)
            and isinstance(prev, s.ParamExpansion)
            and not prev.braced
            and _IDENT.match(prev.name)
        ):
            m = _NAME_CHARS.match(part.text)
            if m is not None:
                out[-1] = s.ParamExpansion(prev.span, prev.name + m.group())
                if m.end() < len(part.text):
                    out.append(s.Literal(part.span, part.text[m.end() :]))
                continue
        out.append(part)
    return out


def _range_text(r: s.BraceRange) -> str:
    step = f"..{r.step}" if r.step is not None else ""
    return f"{{{r.start}..{r.end}{step}}}"


def brace_range(r: s.BraceRange) -> list[str] | None:
    step_text = r.step
    try:
        step = abs(int(step_text)) if step_text is not None else 1
    except ValueError:
        return None
    if step == 0:
        step = 1
    a, b = r.start, r.end
    if _is_int(a) and _is_int(b):
        x, y = int(a), int(b)
        width = 0
        for t in (a, b):
            digits = t.lstrip("-+")
            if len(digits) > 1 and digits[0] == "0":
                width = max(width, len(t))
        seq = range(x, y + 1, step) if x <= y else range(x, y - 1, -step)
        if width:
            return [f"{n:0{width}d}" if n >= 0 else "-" + f"{-n:0{width - 1}d}" for n in seq]
        return [str(n) for n in seq]
    if len(a) == 1 and len(b) == 1 and a.isascii() and b.isascii() and a.isalpha() and b.isalpha():
        x, y = ord(a), ord(b)
        seq = range(x, y + 1, step) if x <= y else range(x, y - 1, -step)
        return ["" if n == 92 else chr(n) for n in seq]
    return None


def _is_int(t: str) -> bool:
    t = t[1:] if t[:1] in "+-" else t
    return t.isdigit()


def ifs_split(segments: list[Segment], ifs: str) -> list[list[Segment]]:
    """Word splitting: fields as lists of segments."""
    fields: list[list[Segment]] = []
    cur: list[Segment] = []
    has = False
    state = 0  # 0 in a field / start, 1 after a whitespace delimiter, 2 after a delimiter
    ws = "".join(c for c in ifs if c in " \t\n")
    for text, flag in segments:
        if flag == BREAK:
            fields.append(cur)
            cur, has, state = [], False, 0
            continue
        if flag == 4:  # params.SOFT: between the elements of an unquoted list
            if has:
                fields.append(cur)
            cur, has, state = [], False, 0
            continue
        if flag != SPLIT or not ifs:
            if text or flag == QUOTED:
                cur.append((text, flag))
                has = True
                state = 0
            continue
        buf: list[str] = []
        for ch in text:
            if ch not in ifs:
                buf.append(ch)
                has = True
                state = 0
                continue
            if buf:
                cur.append(("".join(buf), SPLIT))
                buf = []
            if ch in ws:
                if has:
                    fields.append(cur)
                    cur, has = [], False
                    state = 1
            else:
                if has:
                    fields.append(cur)
                    cur, has = [], False
                elif state != 1:
                    fields.append([])
                state = 2
        if buf:
            cur.append(("".join(buf), SPLIT))
    if has:
        fields.append(cur)
    return fields


class Expander:
    """Word expansion (a mixin of `Interpreter`)."""

    # ------------------------------------------------------------------ entry points

    def expand_words(self: Interpreter, words: Sequence[s.Word]) -> list[str]:
        """Full expansion of command words into argv."""
        out: list[str] = []
        for word in words:
            parts = word.parts
            if len(parts) == 1 and type(parts[0]) is s.Literal:
                out.append(parts[0].text)
                continue
            if self.state.options["braceexpand"] and any(
                type(p) in (s.BraceExpansion, s.BraceRange) for p in parts
            ):
                variants = brace_expand(parts)
            else:
                variants = [list(parts)]
            for variant in variants:
                segs = self.expand_parts(variant, False)
                self.fields_of(segs, out)
        return out

    def fields_of(self: Interpreter, segs: list[Segment], out: list[str]) -> None:
        ifs = self.state.get("IFS")
        if ifs is None:
            ifs = " \t\n"
        noglob = self.state.options["noglob"]
        for field in ifs_split(segs, ifs):
            text = "".join(t for t, _ in field)
            if noglob or not any(f != QUOTED and f != BREAK for _, f in field):
                out.append(text)
                continue
            pat = "".join(t if f != QUOTED else glob_escape(t) for t, f in field)
            shopt = self.state.shopt
            if not pattern.has_glob(pat, shopt["extglob"]):
                out.append(text)
                continue
            gi = self.state.get("GLOBIGNORE")
            matches = pattern.glob(
                pat,
                dotglob=shopt["dotglob"] or bool(gi),  # a GLOBIGNORE turns dotglob on
                extglob=shopt["extglob"],
                nocase=shopt["nocaseglob"],
                globstar=shopt["globstar"],
            )
            if gi and matches:
                ignores = [g for g in gi.split(":") if g]
                matches = [
                    m
                    for m in matches
                    if m.rpartition("/")[2] not in (".", "..")
                    and not any(pattern.match(g, m, extglob=shopt["extglob"]) for g in ignores)
                ]
            if matches:
                out.extend(matches)
            elif shopt["failglob"]:
                raise ExpansionError(f"no match: {text}")
            elif not shopt["nullglob"]:
                out.append(text)

    def expand_str(self: Interpreter, word: s.Word, sep: str = " ") -> str:
        """Expansion without splitting or globbing (assignments, redirections, here-docs,
        `case` words, `[[ ]]` operands); `sep` joins the fields of a quoted "$@"."""
        parts = word.parts
        if len(parts) == 1:
            p = parts[0]
            if type(p) is s.Literal:
                return p.text
        segs = self.expand_parts(list(parts), True, assign=True)
        return "".join(t if f < BREAK else (sep if f == BREAK else " ") for t, f in segs)

    def expand_pattern(self: Interpreter, word: s.Word) -> str:
        """A word as a pattern: quoted characters escaped, the rest active."""
        segs = self.expand_parts(list(word.parts), False, pattern_ctx=True)
        return "".join(
            glob_escape(t) if f == QUOTED else (" " if f >= BREAK else t) for t, f in segs
        )

    # ------------------------------------------------------------------ parts

    def expand_parts(
        self: Interpreter,
        parts: Sequence[s.WordPart],
        quoted: bool,
        *,
        assign: bool = False,
        pattern_ctx: bool = False,
        split_literals: bool = False,
        in_dq: bool = False,
    ) -> list[Segment]:
        segs: list[Segment] = []
        lit_flag = SPLIT if split_literals else LIT
        for part in parts:
            kind = type(part)
            if kind is s.Literal:
                segs.append((part.text, lit_flag))  # type: ignore[union-attr]
            elif kind is s.DoubleQuoted or kind is s.LocaleQuoted:
                inner = self.expand_parts(part.parts, True)  # type: ignore[union-attr]
                if not self._has_at(part):
                    segs.append(("", QUOTED))
                segs.extend((t, QUOTED if f != BREAK else BREAK) for t, f in inner)
            elif kind is s.SingleQuoted:
                segs.append((part.text, QUOTED))  # type: ignore[union-attr]
            elif kind is s.Escaped:
                char = part.char  # type: ignore[union-attr]
                if in_dq and char not in '$`"\\\n':
                    char = "\\" + char  # inside double quotes `\e` keeps its backslash
                segs.append((char, QUOTED))
            elif kind is s.AnsiCQuoted:
                segs.append((part.value, QUOTED))  # type: ignore[union-attr]
            elif kind is s.ParamExpansion:
                segs.extend(self.expand_param(part, quoted, assign))  # type: ignore[arg-type]
            elif kind is s.CommandSub:
                text = self.command_sub(part)  # type: ignore[arg-type]
                segs.append((text, QUOTED if quoted else SPLIT))
            elif kind is s.ArithSub:
                value = self.eval_arith(part.arith)  # type: ignore[union-attr]
                segs.append((str(value), QUOTED if quoted else SPLIT))
            elif kind is s.ProcessSub:
                segs.append((self.process_sub(part), QUOTED))  # type: ignore[arg-type]
            elif kind is s.Glob:
                segs.append((part.text, QUOTED if quoted else LIT))  # type: ignore[union-attr]
            elif kind is s.ExtGlob:
                segs.extend(self._extglob(part, quoted))  # type: ignore[arg-type]
            elif kind is s.Tilde:
                segs.append((self.tilde(part.user), QUOTED))  # type: ignore[union-attr]
            elif kind is s.BraceExpansion or kind is s.BraceRange:
                # only reached where brace expansion does not apply (assignments)
                segs.append((self._brace_text(part), QUOTED))
            elif kind is s.BadSubstitution:
                text = part.text  # type: ignore[union-attr]
                m = _TRANSFORM.match(text)
                if m is not None and not self.state.is_set(m.group(1)):
                    continue  # bash checks a transform's letter only on a set variable
                raise ExpansionError(f"{text}: {part.error}")  # type: ignore[union-attr]
            elif kind is s.ArrayLiteral:
                segs.append((self.source_text(part.span), QUOTED))
            else:  # pragma: no cover - every WordPart kind is handled above
                raise ExpansionError(f"cannot expand {kind.__name__}")
        return segs

    def _has_at(self, part: s.WordPart) -> bool:
        """True when a double-quoted part holds a "$@"-like expansion (so an empty "$@"
        does not leave an empty word behind)."""
        return any(
            isinstance(p, s.ParamExpansion) and _is_at(p)
            for p in part.parts  # type: ignore[union-attr]
        )

    def _extglob(self: Interpreter, part: s.ExtGlob, quoted: bool) -> list[Segment]:
        if quoted:
            return [(self.source_text(part.span), QUOTED)]
        pats = [self.expand_pattern(w) for w in part.patterns]
        return [(f"{part.op}(" + "|".join(pats) + ")", LIT)]

    def _brace_text(self: Interpreter, part: s.WordPart) -> str:
        return self.source_text(part.span)

    def tilde(self: Interpreter, user: str) -> str:
        st = self.state
        if user == "":
            home = st.get("HOME")
            if home is not None:
                return home
            try:
                return pwd.getpwuid(os.getuid()).pw_dir
            except KeyError:
                return "~"
        if user == "+":
            return st.get("PWD") or "~+"
        if user == "-":
            return st.get("OLDPWD") or "~-"
        if (user[0] in "+-" and user[1:].isdigit()) or user.isdigit():
            n = int(user.lstrip("+-"))
            stack = [st.get("PWD") or os.getcwd(), *st.dirstack]
            if user[0] == "-":
                n = len(stack) - 1 - n
            if 0 <= n < len(stack):
                return stack[n]
            return "~" + user
        try:
            return pwd.getpwnam(user).pw_dir
        except KeyError:
            return "~" + user

    # ------------------------------------------------------------------ arithmetic

    def arith_text(self: Interpreter, arith: s.Arith) -> str:
        """The expression text after its expansions (as in double quotes)."""
        if arith.expr is None:
            if arith.word is not None:
                return self.expand_str(arith.word)
            return arith.raw
        raw = arith.raw
        known = self.arith_pure.get(id(arith))
        if known is not None and known[0] is arith:
            if known[1]:
                return raw
        elif not any(c in raw for c in "$`\"'\\"):
            self.arith_pure[id(arith)] = (arith, True)
            return raw
        else:
            self.arith_pure[id(arith)] = (arith, False)
        words = _arith_words(arith.expr)
        if not words:
            return raw
        text = self.source.text
        base = text.find(raw, arith.span.start, arith.span.end)
        if base < 0:
            return raw
        out: list[str] = []
        pos = base
        for w in sorted(words, key=lambda n: n.span.start):
            out.append(text[pos : w.span.start])
            out.append(self.expand_str(w.word))
            pos = w.span.end
        out.append(text[pos : base + len(raw)])
        return "".join(out)

    def eval_arith(self: Interpreter, arith: s.Arith, context: str = "") -> int:
        return self.arith.evaluate(self.arith_text(arith), context)


def _arith_words(node: Any) -> list[s.ArithWord]:
    """The ArithWord operands of an arithmetic tree (not the words inside them)."""
    out: list[s.ArithWord] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, s.ArithWord):
            out.append(n)
            continue
        for f in n._fields:
            v = getattr(n, f)
            if isinstance(v, tuple):
                stack.extend(x for x in v if isinstance(x, s.Node))
            elif isinstance(v, s.Node):
                stack.append(v)
    return out


def _is_at(p: s.ParamExpansion) -> bool:
    if p.length:
        return False
    if p.name == "@" and not p.indirect:
        return True
    sub = p.subscript
    if sub is not None and len(sub.parts) == 1:
        only = sub.parts[0]
        if isinstance(only, s.Literal) and only.text == "@":
            return True
    return p.indirect and p.op == "!@"
