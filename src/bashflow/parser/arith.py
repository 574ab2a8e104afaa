"""parser/arith - shell arithmetic: a tokenizer over the script text and the lark grammar
`grammar/arith.lark` for structure.

bash evaluates arithmetic text only when it runs it, so an invalid expression is not a
syntax error of the script: `Arith.expr` is then None and `Arith.error` holds the message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bashflow.parser import syntax as s
from bashflow.parser.grammars import parse_tokens
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.parser.words import WordParser

_OPS = (
    ("<<=", "ASSIGN"), (">>=", "ASSIGN"),
    ("**", "POW"), ("<<", "SHIFTOP"), (">>", "SHIFTOP"), ("<=", "RELOP"), (">=", "RELOP"),
    ("==", "EQOP"), ("!=", "EQOP"), ("&&", "ANDAND"), ("||", "OROR"),
    ("*=", "ASSIGN"), ("/=", "ASSIGN"), ("%=", "ASSIGN"), ("+=", "ASSIGN"), ("-=", "ASSIGN"),
    ("&=", "ASSIGN"), ("^=", "ASSIGN"), ("|=", "ASSIGN"),
    ("+", "PLUS"), ("-", "MINUS"), ("*", "MULOP"), ("/", "MULOP"), ("%", "MULOP"),
    ("<", "RELOP"), (">", "RELOP"), ("=", "ASSIGN"), ("!", "BANG"), ("~", "TILDE"),
    ("&", "AMP"), ("^", "CARET"), ("|", "PIPE"), ("?", "QUESTION"), (":", "COLON"),
    (",", "COMMA"), ("(", "LPAR"), (")", "RPAR"), ("[", "LSQB"), ("]", "RSQB"),
)  # fmt: skip
_OPERAND_CHARS = re.compile(r"[A-Za-z0-9_@#]+")
_NUMBER = re.compile(r"[0-9][A-Za-z0-9_@#]*\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SPACE = re.compile(r"(?:[ \t\n]|\\\n)*")


_Token: Any = None  # lark.Token, bound when lark is first loaded


class ArithSyntaxError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def _tokenize(p: WordParser, start: int, end: int, words: list[s.Word]) -> list[Any]:
    from lark import Token  # lark loads with the first arithmetic in a script

    text = p.text
    sp = p._sp
    toks: list[Any] = []
    i = start
    while True:
        i = _SPACE.match(text, i, end).end()  # type: ignore[union-attr]
        if i >= end:
            break
        ch = text[i]
        if ch.isalnum() or ch in '_$`"@#':
            # an operand: identifier / number characters and expansions, joined
            parts: list[s.WordPart] = []
            j = i
            plain = True
            while j < end:
                c = text[j]
                m = _OPERAND_CHARS.match(text, j, end)
                if m is not None:
                    parts.append(s.Literal(sp(j, m.end()), m.group()))
                    j = m.end()
                elif c == "$":
                    part, j = p.read_dollar(j, in_dq=True)
                    parts.append(part)
                    plain = False
                elif c == "`":
                    part, j = p.read_backquote(j, in_dq=True)
                    parts.append(part)
                    plain = False
                elif c == '"':
                    part, j = p.read_double_quoted(j)
                    parts.append(part)
                    plain = False
                elif c == "\\" and j + 1 < end:
                    parts.append(s.Escaped(sp(j, j + 2), text[j + 1]))
                    j += 2
                    plain = False
                else:
                    break
            if j > end:
                raise ArithSyntaxError("expansion runs past the end of the expression", i)
            raw = text[i:j]
            if plain and _NUMBER.match(raw):
                toks.append(Token("NUMBER", raw, start_pos=i, end_pos=j))
            elif plain and _NAME.match(raw):
                toks.append(Token("NAME", raw, start_pos=i, end_pos=j))
            elif plain:
                raise ArithSyntaxError(f'invalid arithmetic operand (error token is "{raw}")', i)
            else:
                words.append(s.Word(sp(i, j), tuple(parts)))
                toks.append(Token("WORD", str(len(words) - 1), start_pos=i, end_pos=j))
            i = j
            continue
        found = _operator_at(text, i, end)
        if found is None:
            raise ArithSyntaxError(
                f'syntax error: invalid arithmetic operator (error token is "{text[i:end].strip()}")',
                i,
            )
        op, kind = found
        if op in ("+", "-") and text.startswith(op * 2, i) and i + 2 <= end:
            prev = toks[-1].type if toks else None
            if prev in ("NAME", "RSQB"):
                toks.append(Token("POSTINC", op * 2, start_pos=i, end_pos=i + 2))
                i += 2
                continue
            k = _SPACE.match(text, i + 2, end).end()  # type: ignore[union-attr]
            if k < end and (text[k].isalpha() or text[k] == "_"):
                toks.append(Token("PREINC", op * 2, start_pos=i, end_pos=i + 2))
                i += 2
                continue
        toks.append(Token(kind, op, start_pos=i, end_pos=i + len(op)))
        i += len(op)
    return toks


def _operator_at(text: str, i: int, end: int) -> tuple[str, str] | None:
    for op, kind in _OPS:
        if text.startswith(op, i) and i + len(op) <= end:
            return op, kind
    return None


def parse_arith_region(p: WordParser, start: int, end: int) -> s.Arith:
    """Parse the arithmetic text `p.text[start:end]` (absolute positions)."""
    raw = p.text[start:end]
    span = p._sp(start, end)
    words: list[s.Word] = []
    try:
        toks = _tokenize(p, start, end, words)
    except ArithSyntaxError as err:
        return s.Arith(span, raw, None, err.args[0], _as_word(p, start, end))
    if not toks:
        return s.Arith(span, raw, None, None)
    from lark.exceptions import UnexpectedInput

    try:
        tree = parse_tokens("arith", toks)
    except UnexpectedInput as err:
        tok = getattr(err, "token", None)
        if tok is None or tok.type == "$END":
            msg = "syntax error: operand expected (error token is end of expression)"
        else:
            rest = p.text[tok.start_pos : end].strip()
            msg = f'syntax error in expression (error token is "{rest}")'
        return s.Arith(span, raw, None, msg, _as_word(p, start, end))
    return s.Arith(span, raw, _Builder(p, words).build(tree))


def _as_word(p: WordParser, start: int, end: int) -> s.Word:
    """The arithmetic text as a word: literal text with its quotes and substitutions."""
    parts, _ = p.scan_parts(start, ")", end=end)
    return s.Word(p._sp(start, end), tuple(parts))


class _Builder:
    def __init__(self, p: WordParser, words: list[s.Word]) -> None:
        global _Token
        from lark import Token

        _Token = Token
        self.sp = p._sp
        self.words = words
        self._spans: dict[int, Span] = {}  # memo: deep unary chains would be quadratic

    def span_of(self, node: Any) -> Span:
        if type(node) is _Token:
            return self.sp(node.start_pos or 0, node.end_pos or 0)
        span = self._spans.get(id(node))
        if span is None:
            first = node.children[0]
            last = node.children[-1]
            span = Span(self.span_of(first).start, self.span_of(last).end)
            self._spans[id(node)] = span
        return span

    def build(self, node: Any) -> s.ArithNode:
        if type(node) is _Token:
            if node.type == "NUMBER":
                return s.ArithNumber(self.span_of(node), str(node))
            if node.type == "WORD":
                w = self.words[int(node)]
                return s.ArithWord(w.span, w)
            if node.type == "NAME":
                return s.ArithVar(self.span_of(node), str(node))
            raise ValueError(f"unexpected token {node.type}")  # pragma: no cover
        kind = node.data
        ch = node.children
        span = self.span_of(node)
        if kind == "number":
            return s.ArithNumber(span, str(ch[0]))
        if kind == "word":
            w = self.words[int(ch[0])]
            return s.ArithWord(w.span, w)
        if kind == "lvalue":
            sub = self.build(ch[2]) if len(ch) > 1 else None
            return s.ArithVar(span, str(ch[0]), sub)
        if kind == "group":
            return s.ArithGroup(span, self.build(ch[1]))
        if kind == "binary":
            return s.ArithBinary(span, str(ch[1]), self.build(ch[0]), self.build(ch[2]))
        if kind == "unary" or kind == "preinc":
            return s.ArithUnary(span, str(ch[0]), self.build(ch[1]))
        if kind == "postinc":
            return s.ArithPostfix(span, str(ch[1]), self.build(ch[0]))
        if kind == "assign_op":
            return s.ArithAssign(span, str(ch[1]), self.build(ch[0]), self.build(ch[2]))
        if kind == "ternary":
            return s.ArithTernary(span, self.build(ch[0]), self.build(ch[2]), self.build(ch[4]))
        if kind == "comma_op":
            items: list[s.ArithNode] = []
            cur = node
            while type(cur) is not _Token and cur.data == "comma_op":
                items.append(self.build(cur.children[2]))
                cur = cur.children[0]
            items.append(self.build(cur))
            items.reverse()
            return s.ArithComma(span, tuple(items))
        raise ValueError(f"unexpected arithmetic node {kind}")  # pragma: no cover
