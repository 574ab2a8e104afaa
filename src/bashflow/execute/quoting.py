"""execute/quoting - the ways bash quotes text back: `${x@Q}` and `declare -p`
(single quotes), `printf %q` (backslashes), `set -x` traces, and `$'...'` for control
characters; and the decoding of backslash escapes (`echo -e`, `printf %b` and printf's
format; `${x@E}` is `$'...'`, the parser's `decode_ansi_c`)."""

from __future__ import annotations

import re

from bashflow.parser.words import byte_char, code_point

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ANSI = {"\a": "\\a", "\b": "\\b", "\x1b": "\\E", "\f": "\\f", "\n": "\\n", "\r": "\\r",
         "\t": "\\t", "\v": "\\v", "\\": "\\\\", "'": "\\'"}  # fmt: skip


def ansi_c_quote(text: str) -> str:
    out = []
    for ch in text:
        e = _ANSI.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):03o}")
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\{ord(ch) - 0xDC00:03o}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def single_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def quote_q(text: str) -> str:
    """`${x@Q}`: always quoted."""
    if _CONTROL.search(text):
        return ansi_c_quote(text)
    return single_quote(text)


_METAS = frozenset(" \t\n'\"\\|&;()<>!{}*[]?^$`")
_ODD_CONTROL = re.compile(r"[\x01\x7f]")  # bash's internal quoting bytes (CTLESC, CTLNUL)


def quote_trace(text: str) -> str:
    """How `set -x` shows a word: bare when safe, else single-quoted or `$'...'`."""
    if text == "":
        return "''"
    if _ODD_CONTROL.search(text):
        return ansi_c_quote(text)
    if any(c in _METAS for c in text) or text[0] in "~#":
        return single_quote(text)
    return text


def quote_printf(text: str) -> str:
    """`printf %q`: backslash-escaped."""
    if text == "":
        return "''"
    if _CONTROL.search(text):
        return ansi_c_quote(text)
    out = []
    for i, ch in enumerate(text):
        if ch in " \t!\"#$&'()*;<>?[\\]^`{|}" or (ch == "~" and i == 0):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


_ECHO_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n",
                 "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}  # fmt: skip
_FORMAT_ESCAPES = {**_ECHO_ESCAPES, "'": "'", '"': '"', "?": "?"}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


def echo_escapes(
    text: str, bare_octal: bool = False, *, printf_format: bool = False
) -> tuple[str, bool]:
    """`echo -e` / `printf %b` / a printf format: the decoded text and whether `\\c`
    stopped the output. Octal is `\\0nnn` for echo; `printf %b` also takes `\\nnn`
    (`bare_octal`). A printf format (`printf_format`) takes `\\nnn` with any first digit
    (so `\\0101` is `\\010` then `1`), also `\\'`, `\\"` and `\\?`, and `\\c` is not special."""
    simple = _FORMAT_ESCAPES if printf_format else _ECHO_ESCAPES
    bare_octal = bare_octal or printf_format
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        c = text[i + 1]
        if c in simple:
            out.append(simple[c])
            i += 2
        elif c == "c" and not printf_format:
            return "".join(out), True
        elif c == "0" and not printf_format:
            k = i + 2
            while k < n and k < i + 5 and text[k] in _OCTAL:
                k += 1
            out.append(byte_char(int(text[i + 2 : k] or "0", 8) & 0xFF))
            i = k
        elif c in _OCTAL and bare_octal:
            k = i + 1
            while k < n and k < i + 4 and text[k] in _OCTAL:
                k += 1
            out.append(byte_char(int(text[i + 1 : k], 8) & 0xFF))
            i = k
        elif c == "x":
            k = i + 2
            while k < n and k < i + 4 and text[k] in _HEX:
                k += 1
            if k == i + 2:
                out.append("\\x")
                i += 2
            else:
                out.append(byte_char(int(text[i + 2 : k], 16)))
                i = k
        elif c in "uU":
            limit = 4 if c == "u" else 8
            k = i + 2
            while k < n and k < i + 2 + limit and text[k] in _HEX:
                k += 1
            if k == i + 2:
                out.append("\\" + c)
                i += 2
            else:
                out.append(code_point(int(text[i + 2 : k], 16)))
                i = k
        else:
            out.append("\\" + c)
            i += 2
    return "".join(out), False
