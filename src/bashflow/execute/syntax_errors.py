"""execute/syntax_errors - a parser error worded as bash words it for a script:
`NAME: line N: syntax error near unexpected token `X'` and the offending line."""

from __future__ import annotations

import re

from bashflow.errors import ParseError
from bashflow.source import Source

# reserved words after which a new command starts on the same line
_OPENERS = frozenset(["{", "}", "!", "if", "then", "else", "elif", "while", "until", "do", "time"])


def bash_message(err: ParseError, src: Source, name: str, what: str, base_line: int) -> list[str]:
    msg = err.message
    cut = msg.find(" (expected ")
    if cut >= 0:
        msg = msg[:cut]
    cut = msg.find(" (the script has CRLF")
    if cut >= 0:
        msg = msg[:cut]
    msg = msg.replace(
        "unexpected end of file while looking for", "unexpected EOF while looking for"
    )
    line = err.line
    if msg == "syntax error: unexpected end of file" and err.expected == "`)'":
        # an unclosed `$(` / `$((`: bash names the parenthesis, on the line it opened
        opened = src.text.rfind("$(")
        if opened >= 0:
            msg = "unexpected EOF while looking for matching `)'"
            line = src.line_col(opened)[0]
    before = re.split(r"[;&|()]", src.line_text(line)[: max(err.col - 1, 0)])[-1].split()
    while before and before[0] in _OPENERS:
        del before[0]
    if "near unexpected token `('" in msg and len(before) == 1:
        # bash read `word (` as the start of a function definition: the token it complains
        # about is the one after the parenthesis (`a b (` is an error at the parenthesis)
        rest = src.line_text(line)[err.col :].lstrip()
        if not rest:
            token = "newline"
        elif rest[:2] in (";;", "&&", "||", ">>", "<<") or rest[0] in ";&|<>()":
            token = rest[:2] if rest[:2] in (";;", "&&", "||", ">>", "<<") else rest[0]
        else:
            token = re.split(r"[\s;&|<>()]", rest, maxsplit=1)[0]
        msg = msg.replace("`('", f"`{token}'")
    if what == "eval":
        prefix = f"{name}: eval: line {base_line + line - 1}: "
    elif what == "trap":
        prefix = f"{name}: line {base_line}: "
    elif what == "-c":
        prefix = f"{name}: -c: line {line + base_line}: "
    else:
        prefix = f"{name}: line {line + base_line}: "
    out = [prefix + msg]
    if "near unexpected token" in msg:
        out.append(prefix + f"`{src.line_text(line)}'")
    return out
