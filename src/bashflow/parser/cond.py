"""parser/cond - the conditional command `[[ ... ]]`.

A tokenizer classifies the words between `[[` and `]]` exactly as bash's `cond_term` does
(unary operators only at the start of a term, binary operators only after an operand, the
right side of `=~` read as a regex word); the lark grammar `grammar/cond.lark` then gives
`!`, `&&`, `||` and parentheses their structure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bashflow.errors import ParseError
from bashflow.parser import syntax as s
from bashflow.parser.grammars import parse_tokens
from bashflow.source import Span

if TYPE_CHECKING:
    from bashflow.parser.commands import CommandParser, Token

Tree: Any = None  # lark.Tree, bound when lark is first loaded

UNARY_OPS = frozenset("-" + c for c in "abcdefghknoprstuvwxzGLNOSR")
BINARY_OPS = frozenset(
    ("=", "==", "!=", "=~", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot", "-ef")
)


def parse_cond_command(p: CommandParser, open_tok: Token) -> s.CondCommand:
    from lark import Token as LarkToken
    from lark.exceptions import UnexpectedInput

    from bashflow.parser.commands import _BLANKS, NEWLINE, OP, WORD

    start = open_tok.start
    p.advance(open_tok)
    p.enter(start)
    words: list[s.Word] = []
    toks: list[Any] = []

    def emit(kind: str, tok: Token, value: str | None = None) -> None:
        toks.append(LarkToken(kind, value or kind, start_pos=tok.start, end_pos=tok.end))

    def emit_word(word: s.Word, start: int, end: int) -> None:
        words.append(word)
        toks.append(LarkToken("WORD", str(len(words) - 1), start_pos=start, end_pos=end))

    def nxt(skip_newlines: bool = False) -> Token:
        # bash skips newlines only where a term starts (after `[[`, `(`, `!`, `&&`, `||`)
        while True:
            tok = p.peek(braces=False)
            if tok.kind != NEWLINE or not skip_newlines:
                return tok
            p.advance(tok)

    def is_end(tok: Token) -> bool:
        return tok.kind == WORD and tok.lit == "]]"

    def fail(message: str, tok: Token, expected: str) -> ParseError:
        found = p.describe(tok)
        return p.error(message.format(found), tok.start, tok.end, found=found, expected=expected)

    def operand(tok: Token, operator: str, expected: str) -> None:
        """The word after a unary or binary operator (`]]` is never one)."""
        if tok.kind != WORD or is_end(tok):
            raise fail("unexpected argument {} to conditional " + operator, tok, expected)
        assert tok.word is not None
        p.advance(tok)
        emit_word(tok.word, tok.start, tok.end)

    at_term = True
    while True:
        tok = nxt(skip_newlines=at_term)
        if tok.kind not in (WORD, OP):
            raise p.unexpected(tok, "`]]'")
        if not at_term:  # after a complete term
            if is_end(tok):
                p.advance(tok)
                break
            if tok.kind == OP and tok.op in ("&&", "||", ")"):
                p.advance(tok)
                emit({"&&": "ANDAND", "||": "OROR", ")": "RPAR"}[tok.op], tok)
                at_term = tok.op != ")"
                continue
            raise fail(
                "syntax error in conditional expression: unexpected token {}",
                tok,
                "`&&', `||' or `]]'",
            )
        if tok.kind == WORD and tok.lit == "!":
            p.advance(tok)
            emit("BANG", tok)
            continue
        if tok.kind == OP and tok.op == "(":
            p.advance(tok)
            emit("LPAR", tok)
            continue
        if tok.kind != WORD or is_end(tok):
            raise fail("unexpected token {} in conditional command", tok, "an operand")
        at_term = False
        if tok.lit in UNARY_OPS:
            p.advance(tok)
            emit("UNOP", tok, tok.lit)
            operand(nxt(), "unary operator", "an operand")
            continue
        assert tok.word is not None
        p.advance(tok)
        emit_word(tok.word, tok.start, tok.end)
        op = nxt()
        op_text = p.text[op.start : op.end]
        if (op.kind == WORD and op.lit in BINARY_OPS) or (op.kind == OP and op.op in ("<", ">")):
            p.advance(op)
            emit("BINOP", op, op_text)
            if op_text != "=~":
                operand(nxt(), "binary operator", "an operand")
                continue
            # the right side of `=~` is read as a regex word: `(`, `)` and `|` are its own
            i = _BLANKS.match(p.text, p.pos).end()  # type: ignore[union-attr]
            word = p.parse_regex_word(i)
            end = p._last_word_end
            if end == i or p.text[i:end] == "]]":  # bash never reads `]]` as the regex
                raise fail(
                    "unexpected argument {} to conditional binary operator",
                    p.peek(braces=False),
                    "a regular expression",
                )
            emit_word(word, i, end)
            p.pos = end
            p._peek_pos = -1
        elif not (is_end(op) or (op.kind == OP and op.op in ("&&", "||", ")"))):
            raise fail("conditional binary operator expected, found {}", op, "a binary operator")
    end = tok.end
    try:
        tree = parse_tokens("cond", toks)
    except UnexpectedInput as err:
        bad = getattr(err, "token", None)
        pos = bad.start_pos if bad is not None and bad.type != "$END" else tok.start
        raise p.error(
            "syntax error in conditional expression (unbalanced parentheses or operator)", pos
        ) from None
    p.leave()
    expr = _Builder(p, words).build(tree)
    return s.CondCommand(p._sp(start, end), expr)


class _Builder:
    def __init__(self, p: CommandParser, words: list[s.Word]) -> None:
        global Tree
        from lark import Tree

        self.sp = p._sp
        self.words = words
        self._spans: dict[int, Span] = {}  # memo: deep `!` chains would be quadratic

    def span_of(self, node: Any) -> Span:
        if type(node) is not Tree:
            if node.type == "WORD":
                return self.words[int(node)].span
            return self.sp(node.start_pos or 0, node.end_pos or 0)
        span = self._spans.get(id(node))
        if span is None:
            first = self.span_of(node.children[0])
            span = Span(first.start, self.span_of(node.children[-1]).end)
            self._spans[id(node)] = span
        return span

    def build(self, node: Any) -> s.CondNode:
        if type(node) is not Tree:  # a lone WORD collapsed by `?`
            w = self.words[int(node)]
            return s.CondWord(w.span, w)
        ch = node.children
        span = self.span_of(node)
        kind = node.data
        if kind == "single":
            w = self.words[int(ch[0])]
            return s.CondWord(span, w)
        if kind == "unary":
            return s.CondUnary(span, str(ch[0]), self.words[int(ch[1])])
        if kind == "binary":
            return s.CondBinary(span, str(ch[1]), self.words[int(ch[0])], self.words[int(ch[2])])
        if kind == "not_":
            return s.CondNot(span, self.build(ch[1]))
        if kind == "group":
            return s.CondGroup(span, self.build(ch[1]))
        if kind == "and_":
            return s.CondAnd(span, self.build(ch[0]), self.build(ch[2]))
        if kind == "or_":
            return s.CondOr(span, self.build(ch[0]), self.build(ch[2]))
        raise ValueError(f"unexpected conditional node {kind}")  # pragma: no cover
