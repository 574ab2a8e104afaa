"""parser/words - the word layer: quoting, expansions, globs, braces and tildes.

`WordParser` reads word parts at a position of the source text in one of a few lexer modes
(unquoted, inside `${...}`, inside double quotes, inside a here-doc body). It is the base of
the command parser (`parse/commands.py`), which it calls back for `$( )`, backquotes and
process substitution bodies.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from bashflow.errors import ParseError
from bashflow.parser import syntax as s
from bashflow.source import Source, Span

# Runs of characters that need no attention, per mode.
_LIT_UNQUOTED = re.compile(r"[^ \t\n|&;()<>'\"\\$`*?\[@+!]+")
_LIT_PARAM = re.compile(r"[^}'\"\\$`*?\[@+!/:]+")
_LIT_DQ = re.compile(r"[^\"\\$`]+")
_LIT_HEREDOC = re.compile(r"[^\\$`\n]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]+")
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_EXTGLOB_OPS = frozenset("@*+?!")
_BRACE_SEQ = re.compile(
    r"(?:(-?[0-9]+)\.\.(-?[0-9]+)|([^\\])\.\.([^\\]))(?:\.\.(-?[0-9]+))?\Z", re.DOTALL
)

# What ends a word in each mode (besides the mode's own closing character).
UNQUOTED_END = frozenset(" \t\n|&;()<>")

# Modes of `read_parts`.
M_UNQUOTED = 0  # an ordinary word: ends at a blank or metacharacter
M_PARAM = 1  # inside ${...}: ends at `}` (or the extra terminator given)
M_REGEX = 2  # right side of `=~`: parentheses group, `|` is literal, no globs


def decode_ansi_c(raw: str) -> str:
    """Decode the body of `$'...'` the way bash does."""
    out: list[str] = []
    i = 0
    n = len(raw)
    simple = {
        "a": "\a",
        "b": "\b",
        "e": "\x1b",
        "E": "\x1b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "v": "\v",
        "\\": "\\",
        "'": "'",
        '"': '"',
        "?": "?",
    }
    while i < n:
        ch = raw[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        c = raw[i + 1]
        i += 2
        if c in simple:
            out.append(simple[c])
        elif c in "01234567":
            j = i - 1
            k = j
            while k < n and k < j + 3 and raw[k] in "01234567":
                k += 1
            out.append(byte_char(int(raw[j:k], 8) & 0xFF))
            i = k
        elif c == "x":
            k = i
            while k < n and k < i + 2 and raw[k] in "0123456789abcdefABCDEF":
                k += 1
            if k == i:
                out.append("\\x")
            else:
                out.append(byte_char(int(raw[i:k], 16)))
                i = k
        elif c in "uU":
            limit = 4 if c == "u" else 8
            k = i
            while k < n and k < i + limit and raw[k] in "0123456789abcdefABCDEF":
                k += 1
            if k == i:
                out.append("\\" + c)
            else:
                out.append(code_point(int(raw[i:k], 16)))
                i = k
        elif c == "c":
            if i < n:
                ctl = raw[i]
                i += 1
                if ctl == "\\" and i < n and raw[i] == "\\":
                    i += 1
                out.append(chr(ord(ctl.upper()) ^ 0x40) if ctl != "?" else "\x7f")
            else:
                out.append("\\c")
        else:
            out.append("\\" + c)
    decoded = "".join(out)
    # bash strings end at a NUL byte: `$'a\0b'` is `a`
    return decoded.split("\0", 1)[0]


def byte_char(value: int) -> str:
    """A raw byte as bash produces it: ASCII as itself, others as a surrogate-escaped byte."""
    return chr(value) if value < 0x80 else bytes([value]).decode("utf-8", "surrogateescape")


def code_point(value: int) -> str:
    """`\\u`/`\\U` as bash writes it: the UTF-8 bytes of `value`, also for a surrogate and
    past U+10FFFF (UTF-8's original form, up to 6 bytes; nothing past 0x7FFFFFFF), kept as
    surrogate-escaped bytes where they are not valid UTF-8 (`$'\\U110000'` is F4 90 80 80)."""
    if value < 0x110000 and not 0xD800 <= value <= 0xDFFF:
        return chr(value)
    if value > 0x7FFFFFFF:
        return ""
    size = 3 if value < 0x10000 else 4 if value < 0x200000 else 5 if value < 0x4000000 else 6
    tail = bytearray()
    for _ in range(size - 1):
        tail.append(0x80 | (value & 0x3F))
        value >>= 6
    lead = (0xFF << (8 - size)) & 0xFF | value
    return bytes([lead, *reversed(tail)]).decode("utf-8", "surrogateescape")


class WordParser:
    """Character-level reader of words. Subclassed by the command parser."""

    def __init__(
        self,
        text: str,
        source: Source,
        *,
        span_map: Callable[[int, int], Span] | None = None,
        depth: int = 0,
    ) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.source = source
        # Spans are made through `_sp` so a parser over un-escaped backquote text can map
        # them back to the original source.
        self._sp: Callable[[int, int], Span] = span_map or Span
        self.depth = depth
        self._last_word_end = 0

    # ------------------------------------------------------------------ errors

    def error(
        self,
        message: str,
        start: int,
        end: int | None = None,
        *,
        found: str = "",
        expected: str = "",
    ) -> ParseError:
        span = self._sp(start, start if end is None else end)
        return ParseError(message, source=self.source, span=span, found=found, expected=expected)

    def unclosed(self, closer: str, start: int) -> ParseError:
        """bash's error for a quote or bracket opened at `start` that the file never closes."""
        return self.error(
            f"unexpected end of file while looking for matching `{closer}'",
            start,
            found="end of file",
            expected=f"`{closer}'",
        )

    def unsupported(self, what: str, start: int) -> ParseError:
        return self.error(f"unsupported: {what}", start)

    def enter(self, start: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting too deep (more than {MAX_DEPTH} levels)", start)

    def leave(self) -> None:
        self.depth -= 1

    # ------------------------------------------------------------------ hooks

    def parse_subst_body(self, start: int, closer: str) -> tuple[s.CommandList, int]:
        """Parse a command list from `start` up to an unmatched `closer` (`)`).

        Returns the list and the position of the closer. Implemented by the command parser."""
        raise NotImplementedError

    def parse_backquote_body(self, body: str, offsets: list[int] | int) -> s.CommandList:
        raise NotImplementedError

    def parse_arith_text(self, start: int, end: int) -> s.Arith:
        raise NotImplementedError

    # ------------------------------------------------------------------ words

    def read_word(self, pos: int, mode: int = M_UNQUOTED, *, braces: bool = True) -> s.Word:
        """Read an unquoted-context word starting at `pos` (which must not be at a word end).
        `_last_word_end` is set to its raw end (its span may be mapped through escapes)."""
        parts, end = self.read_parts(pos, mode)
        self._last_word_end = end
        parts = _merge_literals(parts, self._sp)
        if braces and parts:
            parts = self.brace_pass(parts)
        first = parts[0] if parts else None
        if type(first) is s.Literal and first.text.startswith("~"):
            parts[:1] = self._tilde(first, len(parts) > 1)
        return s.Word(self._sp(pos, end), tuple(parts))

    def read_parts(
        self, pos: int, mode: int, stop: str = "", in_dq: bool = False
    ) -> tuple[list[s.WordPart], int]:
        """Read parts until the mode's word end. Returns the parts and the end position."""
        text = self.text
        n = self.n
        parts: list[s.WordPart] = []
        append = parts.append
        sp = self._sp
        lit_re = _LIT_PARAM if mode == M_PARAM else _LIT_UNQUOTED
        i = pos
        while i < n:
            ch = text[i]
            m = lit_re.match(text, i)
            if m is not None:
                j = m.end()
                if mode == M_PARAM:
                    # `/` and `:` only end a word when they are the terminator asked for.
                    while j < n and text[j] in "/:" and text[j] not in stop:
                        m2 = lit_re.match(text, j + 1)
                        j = m2.end() if m2 is not None else j + 1
                append(s.Literal(sp(i, j), text[i:j]))
                i = j
                continue
            if mode == M_UNQUOTED:
                if ch in UNQUOTED_END:
                    if ch in "<>" and i + 1 < n and text[i + 1] == "(":
                        psub, i = self.read_process_sub(i)
                        append(psub)
                        continue
                    break
            elif mode == M_PARAM:
                if ch == "}" or ch in stop:
                    break
            else:  # M_REGEX
                if ch in UNQUOTED_END and ch != "(" and ch != "|":
                    break
            if ch == "\\":
                if i + 1 >= n:
                    append(s.Literal(sp(i, i + 1), "\\"))
                    i += 1
                elif text[i + 1] == "\n":
                    i += 2  # line continuation: removed
                else:
                    append(s.Escaped(sp(i, i + 2), text[i + 1]))
                    i += 2
            elif ch == "'":
                if mode == M_PARAM and in_dq and not self._dq_single_quotes_quote:
                    append(s.Literal(sp(i, i + 1), "'"))
                    i += 1
                else:
                    j = text.find("'", i + 1)
                    if j < 0:
                        raise self.unclosed("'", i)
                    append(s.SingleQuoted(sp(i, j + 1), text[i + 1 : j]))
                    i = j + 1
            elif ch == '"':
                dq, i = self.read_double_quoted(i)
                append(dq)
            elif ch == "$":
                # bash's `extquote` (on by default): $'..' and $".." are decoded inside
                # ${...} even within double quotes
                dollar, i = self.read_dollar(i, in_dq=in_dq, extquote=mode == M_PARAM)
                append(dollar)
            elif ch == "`":
                bq, i = self.read_backquote(i, in_dq=in_dq)
                append(bq)
            elif mode == M_REGEX:
                if ch == "(":
                    # The group is part of the regex as written, quotes kept as parts.
                    inner, j = self.scan_parts(i, ")", inclusive=True)
                    parts.extend(inner)
                    i = j + 1
                else:
                    append(s.Literal(sp(i, i + 1), ch))
                    i += 1
            elif ch in "*?" or ch in "@+!":
                if i + 1 < n and text[i + 1] == "(" and ch in _EXTGLOB_OPS:
                    ext, i = self.read_extglob(i)
                    append(ext)
                elif ch in "*?":
                    append(s.Glob(sp(i, i + 1), ch))
                    i += 1
                else:
                    append(s.Literal(sp(i, i + 1), ch))
                    i += 1
            elif ch == "[":
                j = _bracket_end(text, i, n, mode)
                if j > 0:
                    append(s.Glob(sp(i, j), text[i:j]))
                    i = j
                else:
                    append(s.Literal(sp(i, i + 1), "["))
                    i += 1
            elif mode == M_PARAM and ch in "/:":
                append(s.Literal(sp(i, i + 1), ch))
                i += 1
            else:  # pragma: no cover - every character is handled above
                raise self.error(f"internal: unexpected {ch!r} in word", i)
        return parts, i

    _dq_single_quotes_quote = True

    def scan_parts(
        self, start: int, closer: str, *, inclusive: bool = False, end: int | None = None
    ) -> tuple[list[s.WordPart], int]:
        """Parts up to the `closer` (`)` or `]`) that balances: quotes and expansions are
        parts, everything else literal, in one pass (nested substitutions are parsed once).

        With `inclusive`, `text[start]` is the opening bracket and both brackets are part of
        the result. Returns the parts and the position of the closer. With `end`, the scan
        covers exactly `text[start:end]` and brackets are plain text."""
        text = self.text
        n = self.n if end is None else end
        sp = self._sp
        opener = "(" if closer == ")" else "["
        parts: list[s.WordPart] = []
        i = start
        lit = i
        depth = 0
        while i < n:
            ch = text[i]
            if ch in "\\'\"$`":
                if lit < i:
                    parts.append(s.Literal(sp(lit, i), text[lit:i]))
                if ch == "\\":
                    if i + 1 < n and text[i + 1] != "\n":
                        parts.append(s.Escaped(sp(i, i + 2), text[i + 1]))
                    i += 2
                elif ch == "'":
                    j = text.find("'", i + 1)
                    if j < 0:
                        break
                    parts.append(s.SingleQuoted(sp(i, j + 1), text[i + 1 : j]))
                    i = j + 1
                elif ch == '"':
                    dq, i = self.read_double_quoted(i)
                    parts.append(dq)
                elif ch == "$":
                    dollar, i = self.read_dollar(i)
                    parts.append(dollar)
                else:
                    bq, i = self.read_backquote(i)
                    parts.append(bq)
                lit = i
                continue
            if end is not None:
                pass
            elif ch == opener:
                depth += 1
            elif ch == closer:
                if depth == 0 or (inclusive and depth == 1):
                    stop = i + 1 if inclusive else i
                    if lit < stop:
                        parts.append(s.Literal(sp(lit, stop), text[lit:stop]))
                    return _merge_literals(parts, sp), i
                depth -= 1
            i += 1
        if end is not None:
            if lit < end:
                parts.append(s.Literal(sp(lit, end), text[lit:end]))
            return _merge_literals(parts, sp), end
        raise self.unclosed(closer, start)

    def _skip_quoted(self, i: int, *, in_dq: bool = False, dollar: str = "({") -> int:
        """The position after the escape, quoted string or substitution starting at `i`
        (`$` followed by a character in `dollar`), or `i` itself when none starts there.
        Inside double quotes (`in_dq`) a single quote is an ordinary character."""
        text = self.text
        ch = text[i]
        if ch == "\\":
            return i + 2
        if ch == "'" and not in_dq:
            j = text.find("'", i + 1)
            if j < 0:
                raise self.unclosed("'", i)
            return j + 1
        if ch == '"':
            return self.read_double_quoted(i)[1]
        if ch == "`":
            return self.read_backquote(i)[1]
        if ch == "$" and i + 1 < self.n and text[i + 1] in dollar:
            return self.read_dollar(i, in_dq=in_dq)[1]
        return i

    def _skip_balanced(self, i: int, closer: str) -> int:
        """Position of the `closer` matching an already-open `(` or `[`, skipping quotes and
        nested substitutions by a character scan (used where bash does the same)."""
        text = self.text
        n = self.n
        depth = 0
        opener = "(" if closer == ")" else "["
        while i < n:
            j = self._skip_quoted(i)
            if j != i:
                i = j
                continue
            ch = text[i]
            if ch == opener:
                depth += 1
            elif ch == closer:
                if depth == 0:
                    return i
                depth -= 1
            i += 1
        raise self.unclosed(closer, min(i, n))

    # ------------------------------------------------------------------ quoting

    def read_double_quoted(self, start: int) -> tuple[s.DoubleQuoted, int]:
        parts, end = self.read_dq_parts(start + 1, '"')
        if end >= self.n:
            raise self.unclosed('"', start)
        return s.DoubleQuoted(self._sp(start, end + 1), tuple(parts)), end + 1

    def read_dq_parts(
        self,
        start: int,
        closer: str,
        end_limit: int | None = None,
        *,
        heredoc: bool = False,
        strip_tabs: bool = False,
    ) -> tuple[list[s.WordPart], int]:
        """Parts of double-quoted text (or a here-doc body when `heredoc`), up to `closer`
        or `end_limit`. Returns parts and the position of the closer (or the limit)."""
        text = self.text
        n = self.n if end_limit is None else end_limit
        sp = self._sp
        parts: list[s.WordPart] = []
        append = parts.append
        lit_re = _LIT_HEREDOC if heredoc else _LIT_DQ
        escapable = "$`\\\n" if heredoc else '$`"\\\n'
        i = start
        if strip_tabs:
            while i < n and text[i] == "\t":
                i += 1
        while i < n:
            m = lit_re.match(text, i, n)
            if m is not None:
                j = m.end()
                append(s.Literal(sp(i, j), text[i:j]))
                i = j
                continue
            ch = text[i]
            if ch == closer and not heredoc:
                break
            if ch == "\n":  # heredoc mode only: lines are where tabs get stripped
                append(s.Literal(sp(i, i + 1), "\n"))
                i += 1
                if strip_tabs:
                    while i < n and text[i] == "\t":
                        i += 1
            elif ch == "\\":
                if i + 1 < n and text[i + 1] in escapable:
                    if text[i + 1] != "\n":
                        append(s.Escaped(sp(i, i + 2), text[i + 1]))
                    i += 2
                else:
                    append(s.Literal(sp(i, i + 1), "\\"))
                    i += 1
            elif ch == "$":
                try:
                    dollar, i = self.read_dollar(i, in_dq=True, lenient=heredoc)
                except ParseError:
                    if not heredoc:
                        raise
                    # bash expands here-doc bodies only when it runs them: an unclosed
                    # `${` is a run-time "bad substitution", not a syntax error
                    dollar = s.BadSubstitution(sp(i, n), text[i:n], "bad substitution")
                    i = n
                append(dollar)
            else:  # backquote
                bq, i = self.read_backquote(i, in_dq=not heredoc, lenient=heredoc)
                append(bq)
        return _merge_literals(parts, sp), i

    # ------------------------------------------------------------------ $ forms

    def read_dollar(
        self, start: int, *, in_dq: bool = False, lenient: bool = False, extquote: bool = False
    ) -> tuple[s.WordPart, int]:
        text = self.text
        n = self.n
        sp = self._sp
        i = start + 1
        if i >= n:
            return s.Literal(sp(start, i), "$"), i
        ch = text[i]
        if ch == "{":
            return self.read_brace_param(start, in_dq=in_dq)
        if ch == "(":
            if i + 1 < n and text[i + 1] == "(":
                close = self.find_arith_end(i + 2)
                if close is not None:
                    arith = self.parse_arith_text(i + 2, close)
                    return s.ArithSub(sp(start, close + 2), arith), close + 2
            return self.read_command_sub(start, lenient=lenient)
        if ch == "[":
            j = self._skip_balanced(i + 1, "]")
            arith = self.parse_arith_text(i + 1, j)
            return s.ArithSub(sp(start, j + 1), arith), j + 1
        if ch == "'" and (not in_dq or extquote):
            j = i + 1
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "'":
                    break
                j += 1
            if j >= n:
                raise self.unclosed("'", start)
            return s.AnsiCQuoted(sp(start, j + 1), decode_ansi_c(text[i + 1 : j])), j + 1
        if ch == '"' and (not in_dq or extquote):
            parts, end = self.read_dq_parts(i + 1, '"')
            if end >= n:
                raise self.unclosed('"', start)
            return s.LocaleQuoted(sp(start, end + 1), tuple(parts)), end + 1
        m = _NAME.match(text, i)
        if m is not None:
            return s.ParamExpansion(sp(start, m.end()), m.group()), m.end()
        if ch.isdigit() or ch in _SPECIAL_PARAMS:
            return s.ParamExpansion(sp(start, i + 1), ch), i + 1
        return s.Literal(sp(start, i), "$"), i

    def find_arith_end(self, i: int) -> int | None:
        """For `$((` / `((` whose text starts at `i`: the position of the first `)` of the
        closing `))`, or None when the parentheses close as `) )` (then it is a command
        substitution or subshell holding a subshell)."""
        text = self.text
        n = self.n
        depth = 0
        while i < n:
            try:
                j = self._skip_quoted(i, dollar="{")
            except ParseError:
                return None
            if j != i:
                i = j
                continue
            ch = text[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    return i if i + 1 < n and text[i + 1] == ")" else None
                depth -= 1
            i += 1
        return None

    def read_command_sub(
        self, start: int, *, lenient: bool = False
    ) -> tuple[s.CommandSub | s.BadSubstitution, int]:
        self.enter(start)
        try:
            body, close = self.parse_subst_body(start + 2, ")")
        except ParseError as err:
            if not lenient:
                raise
            # Inside a here-doc body bash parses the substitution only when it expands it.
            try:
                close = self._skip_balanced(start + 2, ")")
            except ParseError:
                raise err from None
            self.leave()
            text = self.text[start : close + 1]
            return s.BadSubstitution(self._sp(start, close + 1), text, err.message), close + 1
        self.leave()
        return s.CommandSub(self._sp(start, close + 1), body), close + 1

    def read_process_sub(self, start: int) -> tuple[s.ProcessSub, int]:
        self.enter(start)
        body, close = self.parse_subst_body(start + 2, ")")
        self.leave()
        return s.ProcessSub(self._sp(start, close + 1), self.text[start], body), close + 1

    def read_backquote(
        self, start: int, *, in_dq: bool = False, lenient: bool = False
    ) -> tuple[s.CommandSub | s.BadSubstitution, int]:
        text = self.text
        n = self.n
        i = start + 1
        pieces: list[str] = []
        offsets: list[int] = []
        escaped = False
        unescape = '$`\\"' if in_dq else "$`\\"
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n:
                nxt = text[i + 1]
                if nxt in unescape:
                    escaped = True
                    pieces.append(nxt)
                    offsets.append(i)
                    i += 2
                    continue
                pieces.append(ch)
                offsets.append(i)
                i += 1
                continue
            if ch == "`":
                break
            pieces.append(ch)
            offsets.append(i)
            i += 1
        if i >= n:
            raise self.unclosed("`", start)
        offsets.append(i)
        body_text = "".join(pieces)
        self.enter(start)
        try:
            body = self.parse_backquote_body(body_text, offsets if escaped else start + 1)
        except ParseError as err:
            if not lenient:
                raise
            self.leave()
            text = self.text[start : i + 1]
            return s.BadSubstitution(self._sp(start, i + 1), text, err.message), i + 1
        self.leave()
        return s.CommandSub(self._sp(start, i + 1), body, True), i + 1

    def read_brace_param(self, start: int, *, in_dq: bool = False) -> tuple[s.WordPart, int]:
        """`${...}`: bash matches the braces when parsing; an invalid form inside is a
        run-time "bad substitution", kept here as a BadSubstitution part."""
        text = self.text
        n = self.n
        sp = self._sp
        i = start + 2
        length = indirect = False
        if i < n and text[i] == "#" and i + 1 < n and text[i + 1] != "}":
            nxt = text[i + 1]
            # `${#-}`/`${#?}` are lengths, but `${#-x}` is `$#` with a default.
            if (nxt.isalnum() or nxt == "_" or nxt in _SPECIAL_PARAMS) and not (
                nxt in "-?=+:%#/" and i + 2 < n and text[i + 2] != "}"
            ):
                length = True
                i += 1
        elif i < n and text[i] == "!" and i + 1 < n and text[i + 1] not in "}":
            nxt = text[i + 1]
            if nxt.isalnum() or nxt == "_" or nxt in _SPECIAL_PARAMS:
                indirect = True
                i += 1
        name = ""
        m = _NAME.match(text, i)
        if m is not None:
            name = m.group()
            i = m.end()
        elif i < n and text[i].isdigit():
            m = _DIGITS.match(text, i)
            assert m is not None
            name = m.group()
            i = m.end()
        elif i < n and text[i] in _SPECIAL_PARAMS:
            name = text[i]
            i += 1
        if not name:
            return self._bad_substitution(start, in_dq)
        subscript: s.Word | None = None
        if i < n and text[i] == "[" and (name[0].isalpha() or name[0] == "_"):
            found = self.read_subscript(i + 1)
            if found is None:
                return self._bad_substitution(start, in_dq)
            sparts, close = found
            subscript = s.Word(sp(i + 1, close), tuple(sparts))
            i = close + 1
        if i >= n:
            raise self.unclosed("}", start)
        ch = text[i]
        if ch == "}":
            return s.ParamExpansion(
                sp(start, i + 1), name, True, length, indirect, subscript
            ), i + 1
        if length:
            return self._bad_substitution(start, in_dq)
        if indirect and ch in "*@" and i + 1 < n and text[i + 1] == "}" and subscript is None:
            op = "!" + ch
            return s.ParamExpansion(sp(start, i + 2), name, True, False, False, None, op), i + 2
        op = ""
        arg: s.Word | None = None
        arg2: s.Word | None = None
        if ch == ":" and i + 1 < n and text[i + 1] in "-=?+":
            op = text[i : i + 2]
            i += 2
        elif ch in "-=?+":
            op = ch
            i += 1
        elif ch in "#%^,~":
            op = ch
            i += 1
            if i < n and text[i] == ch:
                op += ch
                i += 1
        elif ch == "/":
            op = "/"
            i += 1
            if i < n and text[i] in "/#%":
                op += text[i]
                i += 1
        elif ch == ":":
            op = ":"
            i += 1
        elif ch == "@":
            if i + 2 < n and text[i + 1] in "QEPAKaUuLk" and text[i + 2] == "}":
                letter = s.Word(sp(i + 1, i + 2), (s.Literal(sp(i + 1, i + 2), text[i + 1]),))
                return (
                    s.ParamExpansion(
                        sp(start, i + 3), name, True, False, indirect, subscript, "@", letter
                    ),
                    i + 3,
                )
            return self._bad_substitution(start, in_dq)
        else:
            return self._bad_substitution(start, in_dq)
        pattern_op = op[0] in "#%/^,~"
        saved = self._dq_single_quotes_quote
        self._dq_single_quotes_quote = pattern_op
        try:
            if op == "/" or op in ("//", "/#", "/%"):
                arg, i = self._param_word(i, "/", in_dq)
                if i < n and text[i] == "/":
                    self._dq_single_quotes_quote = False
                    arg2, i = self._param_word(i + 1, "", in_dq)
            elif op == ":":
                arg, i = self._param_word(i, ":", in_dq)
                if i < n and text[i] == ":":
                    arg2, i = self._param_word(i + 1, "", in_dq)
            else:
                arg, i = self._param_word(i, "", in_dq)
        finally:
            self._dq_single_quotes_quote = saved
        if i >= n or text[i] != "}":
            raise self.unclosed("}", start)
        return (
            s.ParamExpansion(
                sp(start, i + 1), name, True, False, indirect, subscript, op, arg, arg2
            ),
            i + 1,
        )

    def _param_word(self, i: int, stop: str, in_dq: bool) -> tuple[s.Word, int]:
        parts, end = self.read_parts(i, M_PARAM, stop, in_dq)
        parts = _merge_literals(parts, self._sp)
        return s.Word(self._sp(i, end), tuple(parts)), end

    def read_subscript(self, start: int) -> tuple[list[s.WordPart], int] | None:
        """`[...]` whose `[` is before `start`: its parts and the `]` position, or None
        when it does not close."""
        try:
            return self.scan_parts(start, "]")
        except ParseError:
            return None

    def _bad_substitution(self, start: int, in_dq: bool) -> tuple[s.BadSubstitution, int]:
        """Find the `}` that bash would match for `${` and keep the text as is."""
        text = self.text
        n = self.n
        i = start + 2
        while i < n:
            j = self._skip_quoted(i, in_dq=in_dq)
            if j != i:
                i = j
                continue
            if text[i] == "}":
                return s.BadSubstitution(self._sp(start, i + 1), text[start : i + 1]), i + 1
            i += 1
        raise self.unclosed("}", start)

    # ------------------------------------------------------------------ patterns

    def read_extglob(self, start: int) -> tuple[s.ExtGlob, int]:
        """`@(a|b)` and friends: alternatives split on top-level `|`."""
        text = self.text
        sp = self._sp
        op = text[start]
        i = start + 2
        patterns: list[s.Word] = []
        alt_start = i
        parts: list[s.WordPart] = []
        n = self.n
        while True:
            if i >= n:
                raise self.unclosed(")", start)
            ch = text[i]
            if ch == "|" or ch == ")":
                merged = _merge_literals(parts, sp)
                patterns.append(s.Word(sp(alt_start, i), tuple(merged)))
                parts = []
                i += 1
                if ch == ")":
                    break
                alt_start = i
                continue
            if ch in " \t\n;&<>" or ch == "(":
                if ch == "(":
                    # a nested plain group: keep it literal up to its match
                    inner, j = self.scan_parts(i, ")", inclusive=True)
                    parts.extend(inner)
                    i = j + 1
                    continue
                parts.append(s.Literal(sp(i, i + 1), ch))
                i += 1
                continue
            sub, j = self.read_parts(i, M_UNQUOTED)
            if j == i:
                parts.append(s.Literal(sp(i, i + 1), ch))
                i += 1
            else:
                parts.extend(sub)
                i = j
        return s.ExtGlob(sp(start, i), op, tuple(patterns)), i

    # ------------------------------------------------------------------ braces, tildes

    def brace_pass(self, parts: list[s.WordPart]) -> list[s.WordPart]:
        """Find brace expansions among a word's parts (only unquoted literal `{ , }` count)."""
        for p in parts:
            if type(p) is s.Literal and "{" in p.text:
                break
        else:
            return parts
        atoms: list[tuple[str, int] | s.WordPart] = []
        for p in parts:
            if type(p) is s.Literal:
                base = p.span.start
                if self._sp is Span:
                    atoms.extend((c, base + k) for k, c in enumerate(p.text))
                else:
                    # mapped spans: positions are only approximate, keep the part whole
                    atoms.append(p)
            else:
                atoms.append(p)
        return _merge_literals(self._braces(atoms, 0, len(atoms)), self._sp)

    def _braces(
        self, atoms: list[tuple[str, int] | s.WordPart], lo: int, hi: int
    ) -> list[s.WordPart]:
        sp = self._sp
        out: list[s.WordPart] = []
        i = lo
        while i < hi:
            a = atoms[i]
            if not isinstance(a, tuple):
                out.append(a)
                i += 1
                continue
            ch, pos = a
            if ch == "{":
                found = self._brace_at(atoms, i, hi)
                if found is not None:
                    node, i = found
                    out.append(node)
                    continue
            out.append(s.Literal(sp(pos, pos + 1), ch))
            i += 1
        return out

    def _brace_at(
        self, atoms: list[tuple[str, int] | s.WordPart], i: int, hi: int
    ) -> tuple[s.WordPart, int] | None:
        depth = 0
        commas: list[int] = []
        j = i + 1
        while j < hi:
            a = atoms[j]
            if isinstance(a, tuple):
                c = a[0]
                if c == "{":
                    depth += 1
                elif c == "}":
                    if depth == 0:
                        break
                    depth -= 1
                elif c == "," and depth == 0:
                    commas.append(j)
            j += 1
        else:
            return None
        start_pos = _atom_pos(atoms[i])
        end_pos = _atom_pos(atoms[j]) + 1
        sp = self._sp
        if commas:
            bounds = [i, *commas, j]
            alts: list[s.Word] = []
            for lo_i, hi_i in itertools.pairwise(bounds):
                inner = self._braces(atoms, lo_i + 1, hi_i)
                inner = _merge_literals(inner, sp)
                lo = _atom_pos(atoms[lo_i]) + 1
                hi_pos = _atom_pos(atoms[hi_i])
                alts.append(s.Word(sp(lo, hi_pos), tuple(inner)))
            return s.BraceExpansion(sp(start_pos, end_pos), tuple(alts)), j + 1
        inner_atoms = atoms[i + 1 : j]
        chars = [a[0] for a in inner_atoms if isinstance(a, tuple)]
        if len(chars) == len(inner_atoms):
            body = "".join(chars)
            m = _BRACE_SEQ.match(body)
            if m is not None:
                if m.group(1) is not None:
                    lo_s, hi_s = m.group(1), m.group(2)
                else:
                    lo_s, hi_s = m.group(3), m.group(4)
                return s.BraceRange(sp(start_pos, end_pos), lo_s, hi_s, m.group(5)), j + 1
        # Not an expansion: `{` stays literal, but what is inside may still expand.
        return None

    def _tilde(self, lit: s.Literal, followed: bool) -> list[s.WordPart]:
        """`lit` (a Literal starting with `~`) with its tilde prefix split off as a `Tilde`
        part: the unquoted characters up to the first `/` or `:`. `followed` says another
        part comes right after `lit`; a prefix running into it (`~$x`) is no tilde prefix."""
        text = lit.text
        j = 1
        while j < len(text) and text[j] not in "/:":
            j += 1
        user = text[1:j]
        if (j == len(text) and followed) or (user and not _valid_tilde_user(user)):
            return [lit]
        if self._sp is not Span:  # mapped spans (backquote bodies) cannot be split exactly
            return [lit]
        a = lit.span.start
        new: list[s.WordPart] = [s.Tilde(Span(a, a + j), user)]
        if j < len(text):
            new.append(s.Literal(Span(a + j, lit.span.end), text[j:]))
        return new

    def assignment_tildes(self, parts: list[s.WordPart]) -> list[s.WordPart]:
        """Tilde prefixes in an assignment value: at its start and after each unquoted `:`."""
        if self._sp is not Span:  # mapped spans (backquote bodies) cannot be split exactly
            return parts
        pieces: list[s.WordPart] = []
        for p in parts:
            pieces.extend(_split_keep(p, ":") if type(p) is s.Literal else (p,))
        out: list[s.WordPart] = []
        at_start = True
        for k, p in enumerate(pieces):
            if at_start and type(p) is s.Literal and p.text.startswith("~"):
                out.extend(self._tilde(p, k + 1 < len(pieces)))
            else:
                out.append(p)
            at_start = type(p) is s.Literal and p.text.endswith(":")
        return _merge_literals(out, self._sp)


MAX_DEPTH = 4000
"""Deepest nesting of commands and substitutions accepted (a located error beyond)."""


def _atom_pos(a: tuple[str, int] | s.WordPart) -> int:
    if isinstance(a, tuple):
        return a[1]
    return a.span.start


def _valid_tilde_user(user: str) -> bool:
    if user in ("+", "-"):
        return True
    if user[0] in "+-" and user[1:].isdigit():
        return True
    if user.isdigit():
        return True
    return all(c.isalnum() or c in "._-" for c in user)


def _split_keep(lit: s.Literal, sep: str) -> list[s.Literal]:
    text = lit.text
    if sep not in text:
        return [lit]
    out: list[s.Literal] = []
    a = lit.span.start
    start = 0
    for k, c in enumerate(text):
        if c == sep:
            out.append(s.Literal(Span(a + start, a + k + 1), text[start : k + 1]))
            start = k + 1
    if start < len(text):
        out.append(s.Literal(Span(a + start, lit.span.end), text[start:]))
    return out


def _bracket_end(text: str, i: int, n: int, mode: int) -> int:
    """End (exclusive) of a bracket expression starting at `text[i] == '['`, or 0 when the
    bracket is not closed within the word (it is then a literal `[`)."""
    j = i + 1
    if j < n and text[j] in "!^":
        j += 1
    if j < n and text[j] == "]":
        j += 1
    while j < n:
        c = text[j]
        if c == "]":
            return j + 1
        if c == "[" and j + 1 < n and text[j + 1] in ":=.":
            close = text.find(text[j + 1] + "]", j + 2)
            if close < 0:
                return 0
            j = close + 2
            continue
        if c in "'\"\\$`":
            return 0
        if mode == M_UNQUOTED and c in UNQUOTED_END:
            return 0
        if mode == M_PARAM and c == "}":
            return 0
        j += 1
    return 0


def _merge_literals(parts: list[s.WordPart], sp: Callable[[int, int], Span]) -> list[s.WordPart]:
    """Join adjacent Literal parts whose spans touch."""
    if len(parts) < 2:
        return parts
    out: list[s.WordPart] = []
    for p in parts:
        if (
            type(p) is s.Literal
            and out
            and type(out[-1]) is s.Literal
            and out[-1].span.end == p.span.start
        ):
            prev = out[-1]
            assert type(prev) is s.Literal
            out[-1] = s.Literal(Span(prev.span.start, p.span.end), prev.text + p.text)
        else:
            out.append(p)
    return out
