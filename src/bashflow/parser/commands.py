"""parser/commands - the command layer: tokens, lists, pipelines, compound commands,
redirections and here-documents (recursive descent, as bash's grammar)."""

from __future__ import annotations

import re
from collections.abc import Callable

from bashflow.errors import ParseError
from bashflow.parser import syntax as s
from bashflow.parser.words import (
    M_REGEX,
    M_UNQUOTED,
    WordParser,
    _merge_literals,
)
from bashflow.source import Source, Span

# Token kinds
WORD = 0
OP = 1
NEWLINE = 2
EOF = 3
IONUMBER = 4
IOVAR = 5

_OPERATORS = (
    ";;&", "&>>", "<<<", "<<-",
    ";;", ";&", "&&", "||", "|&", "&>", "<<", ">>", "<&", ">&", "<>", ">|",
    ";", "&", "|", "(", ")", "<", ">",
)  # fmt: skip
_OP_BY_CHAR: dict[str, tuple[str, ...]] = {}
for _op in _OPERATORS:
    _OP_BY_CHAR.setdefault(_op[0], ())
    _OP_BY_CHAR[_op[0]] += (_op,)

HEREDOC_MAX = 16
"""bash refuses more here-documents than this pending on one line."""
REDIRECT_OPS = frozenset(("<", ">", ">>", ">|", "<>", "&>", "&>>", ">&", "<&", "<<", "<<-", "<<<"))
RESERVED_WORDS = frozenset(
    ("!", "[[", "]]", "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for",
     "function", "if", "in", "select", "then", "time", "until", "while", "{", "}")
)  # fmt: skip
"""bash's reserved words (`compgen -k`): special only where a command may start (and `in`,
`do` after `for`/`case`/`select` words); the one list the checker and `type` use."""
_LIST_END_WORDS = frozenset(("then", "else", "elif", "fi", "do", "done", "esac", "}"))
_LIST_END_OPS = frozenset((")", ";;", ";&", ";;&"))
_COMPOUND_WORDS = frozenset(
    ("{", "if", "while", "until", "for", "select", "case", "[[", "function", "coproc")
)
# After these command names bash parses `name=(...)` arguments as array assignments.
_DECL_BUILTINS = frozenset(
    ("declare", "typeset", "local", "export", "readonly", "eval", "let", "alias")
)
# `{name}>` or `{name[subscript]}>` (bash's valid_array_reference: a closing `]` ends it)
_IOVAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\[[^\]\n]+\])?)\}(?=[<>])")
_DIGITS_REDIR = re.compile(r"[0-9]+(?=[<>])")
_NAME_AT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_DECL_ARRAY = re.compile(_ASSIGN_PREFIX.pattern + r"\(")
# A word made only of characters that are never special, ended by a blank or metacharacter.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:=,%^-]+(?=[ \t\n;&|()<>]|\Z)")
_BLANKS = re.compile(r"(?:[ \t]|\\\n)*")
_VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Token:
    __slots__ = ("end", "kind", "lit", "op", "start", "word")

    def __init__(
        self,
        kind: int,
        start: int,
        end: int,
        op: str = "",
        word: s.Word | None = None,
        lit: str | None = None,
    ) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.op = op
        self.word = word
        self.lit = lit


class _PendingHereDoc:
    __slots__ = ("delimiter", "key", "node", "quoted", "strip_tabs")

    def __init__(
        self, key: int, node: s.HereDoc, delimiter: str, quoted: bool, strip_tabs: bool
    ) -> None:
        self.key = key
        self.node = node
        self.delimiter = delimiter
        self.quoted = quoted
        self.strip_tabs = strip_tabs


class CommandParser(WordParser):
    """Parses a whole script (or a substitution body) into the typed tree."""

    def __init__(
        self,
        text: str,
        source: Source,
        *,
        span_map: Callable[[int, int], Span] | None = None,
        depth: int = 0,
    ) -> None:
        super().__init__(text, source, span_map=span_map, depth=depth)
        self._peek_pos = -1
        self._peek_tok: Token | None = None
        self._peek_braces = True
        self.pending: list[_PendingHereDoc] = []

    # ------------------------------------------------------------------ tokens

    def lex(self, pos: int, braces: bool = True) -> Token:
        text = self.text
        n = self.n
        i = _BLANKS.match(text, pos).end()  # type: ignore[union-attr]
        while i < n and text[i] == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            i = _BLANKS.match(text, i).end()  # type: ignore[union-attr]
        if i >= n:
            return Token(EOF, n, n)
        ch = text[i]
        if ch == "\n":
            return Token(NEWLINE, i, i + 1, "\n")
        ops = _OP_BY_CHAR.get(ch)
        if ops is not None and not (ch in "<>" and i + 1 < n and text[i + 1] == "("):
            for op in ops:
                if text.startswith(op, i):
                    return Token(OP, i, i + len(op), op)
        if "0" <= ch <= "9":
            m = _DIGITS_REDIR.match(text, i)
            if (
                m is not None
                and not text.startswith("<(", m.end())
                and not text.startswith(">(", m.end())
            ):
                return Token(IONUMBER, i, m.end(), lit=m.group())
        elif ch == "{":
            m = _IOVAR.match(text, i)
            if m is not None:
                return Token(IOVAR, i, m.end(), lit=m.group(1))
        m = _PLAIN_WORD.match(text, i)
        if m is not None:
            # fast path: a word of plain characters only (no quotes, expansions, patterns)
            end = m.end()
            lit = m.group()
            span = self._sp(i, end)
            plain = s.Word(span, (s.Literal(span, lit),))
            return Token(WORD, i, end, word=plain, lit=lit)
        word = self.read_word(i, braces=braces)
        end = self._last_word_end
        if end == i:  # pragma: no cover - every character starts a token or a word
            raise self.error(f"internal: cannot read a token at {text[i]!r}", i)
        parts = word.parts
        only = parts[0] if len(parts) == 1 else None
        return Token(WORD, i, end, word=word, lit=only.text if type(only) is s.Literal else None)

    def peek(self, braces: bool = True) -> Token:
        if self._peek_pos == self.pos and self._peek_braces == braces and self._peek_tok:
            return self._peek_tok
        tok = self.lex(self.pos, braces)
        self._peek_pos = self.pos
        self._peek_tok = tok
        self._peek_braces = braces
        return tok

    def advance(self, tok: Token) -> None:
        self.pos = tok.end
        if tok.kind == NEWLINE and self.pending:
            self.read_heredocs()

    def skip_newlines(self) -> None:
        while True:
            tok = self.peek()
            if tok.kind != NEWLINE:
                return
            self.advance(tok)

    def describe(self, tok: Token) -> str:
        if tok.kind == EOF:
            return "end of file"
        if tok.kind == NEWLINE:
            return "newline"
        return "`" + self.text[tok.start : tok.end] + "'"

    def unexpected(self, tok: Token, expected: str = "") -> ParseError:
        found = self.describe(tok)
        if tok.kind == EOF:
            msg = "syntax error: unexpected end of file"
        else:
            msg = f"syntax error near unexpected token {found}"
        if expected:
            msg += f" (expected {expected})"
        return self.error(msg, tok.start, tok.end, found=found, expected=expected)

    def is_word(self, tok: Token, lit: str) -> bool:
        return tok.kind == WORD and tok.lit == lit

    def expect_word(self, lit: str, opened: str, opened_at: int) -> Token:
        tok = self.peek()
        if tok.kind == WORD and tok.lit == lit:
            self.advance(tok)
            return tok
        line = self.source.line_col(opened_at)[0] if self._sp is Span else 0
        where = f" for `{opened}' on line {line}" if line else f" for `{opened}'"
        raise self.unexpected(tok, f"`{lit}'{where}")

    # ------------------------------------------------------------------ here-docs

    def read_heredocs(self) -> None:
        """Read the bodies of the here-docs whose redirections ended the line just read."""
        pending = self.pending
        self.pending = []
        text = self.text
        n = self.n
        for hd in pending:
            body_start = self.pos
            i = body_start
            end_of_body = n
            after = n
            found = False
            delim = hd.delimiter
            while i < n:
                j = text.find("\n", i)
                line_end = n if j < 0 else j
                line = text[i:line_end]
                if hd.strip_tabs:
                    line = line.lstrip("\t")
                if line == delim:
                    end_of_body = i
                    after = line_end + 1 if j >= 0 else n
                    found = True
                    break
                i = line_end + 1
                if j < 0:
                    break
            self._fill_heredoc(hd, body_start, end_of_body, found)
            self.pos = min(after, n)
        self._peek_pos = -1

    def _fill_heredoc(
        self, hd: _PendingHereDoc, start: int, end: int, terminated: bool = True
    ) -> None:
        sp = self._sp
        if hd.quoted:
            parts: list[s.WordPart] = []
            i = start
            while i < end:
                if hd.strip_tabs:
                    while i < end and self.text[i] == "\t":
                        i += 1
                j = self.text.find("\n", i, end)
                line_end = end if j < 0 else j + 1
                if line_end > i:
                    parts.append(s.Literal(sp(i, line_end), self.text[i:line_end]))
                i = line_end
            parts = _merge_literals(parts, sp)
        else:
            parts, _ = self.read_dq_parts(start, "", end, heredoc=True, strip_tabs=hd.strip_tabs)
        body = s.Word(sp(start, end), tuple(parts))
        object.__setattr__(hd.node, "body", body)
        object.__setattr__(hd.node, "span", sp(start, end))
        if not terminated:
            object.__setattr__(hd.node, "terminated", False)

    # ------------------------------------------------------------------ lists

    def parse_script(self) -> s.CommandList:
        body = self.parse_list()
        tok = self.peek()
        if tok.kind != EOF:
            raise self.unexpected(tok)
        if self.pending:
            self.read_heredocs()
        return body

    def parse_list(self) -> s.CommandList:
        """A compound list: and-or lists separated by `;`, `&` or newlines, up to a token
        that cannot start a command (a closing reserved word or operator, or EOF)."""
        self.skip_newlines()
        start = self.peek().start
        items: list[s.ListItem] = []
        while True:
            tok = self.peek()
            kind = tok.kind
            if kind == EOF:
                break
            if kind == OP and tok.op in _LIST_END_OPS:
                break
            if kind == WORD and tok.lit in _LIST_END_WORDS:
                break
            and_or = self.parse_and_or()
            tok = self.peek()
            a = and_or.span.start
            if tok.kind == OP and (tok.op == ";" or tok.op == "&"):
                self.advance(tok)
                items.append(s.ListItem(self._span_to(a, tok.end), and_or, tok.op))
                self.skip_newlines()
            elif tok.kind == NEWLINE:
                self.advance(tok)
                items.append(s.ListItem(and_or.span, and_or, "\n"))
                self.skip_newlines()
            else:
                items.append(s.ListItem(and_or.span, and_or, ""))
                break
        span = Span(items[0].span.start, items[-1].span.end) if items else self._sp(start, start)
        return s.CommandList(span, tuple(items))

    def _span_to(self, mapped_start: int, raw_end: int) -> Span:
        """A span from an already-mapped start to a raw position (the `;`/`&` after it)."""
        return Span(mapped_start, self._sp(raw_end, raw_end).end)

    def nonempty_list(self, what: str) -> s.CommandList:
        body = self.parse_list()
        if not body.items:
            raise self.unexpected(self.peek(), f"a command in the {what}")
        return body

    def parse_and_or(self) -> s.AndOr:
        first = self.parse_pipeline()
        rest: list[tuple[str, s.Pipeline]] = []
        while True:
            tok = self.peek()
            if tok.kind == OP and (tok.op == "&&" or tok.op == "||"):
                self.advance(tok)
                self.skip_newlines()
                rest.append((tok.op, self.parse_pipeline()))
            else:
                break
        end = rest[-1][1].span.end if rest else first.span.end
        return s.AndOr(Span(first.span.start, end), first, tuple(rest))

    def parse_pipeline(self) -> s.Pipeline:
        tok = self.peek()
        start_tok = tok
        subst_start = self._subst_start
        self._subst_start = False
        negated = False
        timed: str | None = None
        end = tok.start
        while tok.kind == WORD and (tok.lit == "!" or tok.lit == "time"):
            self.advance(tok)
            end = tok.end
            if tok.lit == "!":
                negated = not negated
            else:
                timed = "time"
                nxt = self.peek()
                if nxt.kind == WORD and nxt.lit == "-p":
                    self.advance(nxt)
                    end = nxt.end
                    timed = "time -p"
                    nxt = self.peek()
                if nxt.kind == WORD and nxt.lit == "--":
                    self.advance(nxt)
                    end = nxt.end
                if subst_start:
                    self._time_quirk(self.peek())
            tok = self.peek()
        commands: list[s.Command] = []
        ops: list[str] = []
        if start_tok is not tok and not self._starts_command(tok):
            # `time` or `!` alone
            return s.Pipeline(self._sp(start_tok.start, end), (), (), negated, timed)
        self.enter(tok.start)
        commands.append(self.parse_command())
        while True:
            tok = self.peek()
            if tok.kind == OP and (tok.op == "|" or tok.op == "|&"):
                self.advance(tok)
                self.skip_newlines()
                ops.append(tok.op)
                nxt = self.peek()
                if nxt.kind == WORD and nxt.lit == "!":
                    raise self.unexpected(nxt)  # `!` only starts a pipeline
                commands.append(self.parse_command())
            else:
                break
        self.leave()
        first_start = (
            commands[0].span.start
            if start_tok is tok
            else self._sp(start_tok.start, start_tok.start).start
        )
        return s.Pipeline(
            Span(first_start, commands[-1].span.end), tuple(commands), tuple(ops), negated, timed
        )

    _subst_start = False

    def _time_quirk(self, tok: Token) -> None:
        """bash 5.2 quirk: when `time` is the first word of a `$( )` or `<( )` body, the
        command after it is not in command position, so compound commands and array
        assignments there are syntax errors (`$(time (x))`, `$(time a=(1) cmd)`)."""
        if tok.kind == OP and tok.op == "(":
            raise self.unexpected(tok)
        if tok.kind == WORD and tok.lit in _COMPOUND_WORDS - {"[["}:
            raise self.unexpected(tok)
        m = _DECL_ARRAY.match(self.text, tok.start) if tok.kind == WORD else None
        if m is not None:
            raise self.unexpected(self.lex(m.end() - 1))

    def _starts_command(self, tok: Token) -> bool:
        if tok.kind == WORD:
            return tok.lit not in _LIST_END_WORDS
        if tok.kind in (IONUMBER, IOVAR):
            return True
        return tok.kind == OP and (tok.op == "(" or tok.op in REDIRECT_OPS)

    # ------------------------------------------------------------------ commands

    def parse_command(self) -> s.Command:
        tok = self.peek()
        if tok.kind == WORD:
            lit = tok.lit
            if lit is not None and lit in _COMPOUND_WORDS:
                if lit == "function":
                    return self.parse_function_keyword(tok)
                if lit == "coproc":
                    return self.parse_coproc(tok)
                return self.parse_compound(tok)
            if lit is not None and lit in _LIST_END_WORDS:
                raise self.unexpected(tok)
            # `name ( )` function definition?
            j = _BLANKS.match(self.text, tok.end).end()  # type: ignore[union-attr]
            if (
                lit is not None
                and j < self.n
                and self.text[j] == "("
                and not _ASSIGN_PREFIX.match(self.text, tok.start)
            ):
                nxt = self.lex(tok.end)
                after = self.lex(nxt.end)
                if after.kind == OP and after.op == ")":
                    return self.parse_function_posix(tok, after)
                raise self.unexpected(nxt)
            return self.parse_simple()
        if tok.kind == OP:
            if tok.op == "(":
                return self.parse_compound(tok)
            if tok.op in REDIRECT_OPS:
                return self.parse_simple()
            raise self.unexpected(tok)
        if tok.kind in (IONUMBER, IOVAR):
            return self.parse_simple()
        raise self.unexpected(tok)

    def parse_compound(self, tok: Token) -> s.Command:
        kind = tok.lit if tok.kind == WORD else tok.op
        start = tok.start
        node: s.Command
        if kind == "(":
            if self.text.startswith("((", start):
                close = self.find_arith_end(start + 2)
                if close is not None:
                    arith = self.parse_arith_text(start + 2, close)
                    self.pos = close + 2
                    return self._with_redirects(
                        s.ArithCommand(self._sp(start, close + 2), arith), start
                    )
            self.advance(tok)
            self.enter(start)
            body = self.nonempty_list("subshell")
            close_tok = self.peek()
            if not (close_tok.kind == OP and close_tok.op == ")"):
                raise self.unexpected(close_tok, "`)'")
            self.advance(close_tok)
            self.leave()
            node = s.Subshell(self._sp(start, close_tok.end), body)
        elif kind == "{":
            self.advance(tok)
            self.enter(start)
            body = self.nonempty_list("group")
            end_tok = self.expect_word("}", "{", start)
            self.leave()
            node = s.BraceGroup(self._sp(start, end_tok.end), body)
        elif kind == "if":
            node = self.parse_if(tok)
        elif kind == "while" or kind == "until":
            self.advance(tok)
            self.enter(start)
            cond = self.nonempty_list(f"`{kind}' condition")
            self.expect_word("do", kind, start)
            body = self.nonempty_list(f"`{kind}' body")
            end_tok = self.expect_word("done", kind, start)
            self.leave()
            node = s.While(self._sp(start, end_tok.end), cond, body, kind == "until")
        elif kind == "for" or kind == "select":
            node = self.parse_for(tok)
        elif kind == "case":
            node = self.parse_case(tok)
        elif kind == "[[":
            from bashflow.parser.cond import parse_cond_command

            node = parse_cond_command(self, tok)
        else:  # pragma: no cover - callers only pass compound starts
            raise self.unexpected(tok)
        return self._with_redirects(node, start)

    def _with_redirects(self, node: s.Command, start: int) -> s.Command:
        redirects: list[s.Redirect] = []
        while True:
            tok = self.peek()
            if tok.kind in (IONUMBER, IOVAR) or (tok.kind == OP and tok.op in REDIRECT_OPS):
                redirects.append(self.parse_redirect(tok))
            else:
                break
        if not redirects:
            return node
        span = Span(node.span.start, redirects[-1].span.end)
        return _replace_redirects(node, span, tuple(redirects))

    def parse_if(self, tok: Token) -> s.If:
        start = tok.start
        self.advance(tok)
        self.enter(start)
        clauses: list[s.IfClause] = []
        kw = tok
        while True:
            cond = self.nonempty_list(f"`{kw.lit}' condition")
            self.expect_word("then", "if", start)
            body = self.nonempty_list("`then' body")
            clauses.append(s.IfClause(Span(cond.span.start, body.span.end), cond, body))
            nxt = self.peek()
            if self.is_word(nxt, "elif"):
                self.advance(nxt)
                kw = nxt
                continue
            else_body = None
            if self.is_word(nxt, "else"):
                self.advance(nxt)
                else_body = self.nonempty_list("`else' body")
            end_tok = self.expect_word("fi", "if", start)
            self.leave()
            return s.If(self._sp(start, end_tok.end), tuple(clauses), else_body)

    def _loop_body(self, keyword: str, start: int) -> tuple[s.CommandList, int]:
        """`do list done`, or bash's `{ list }` form, after for/select."""
        tok = self.peek()
        if self.is_word(tok, "{"):
            self.advance(tok)
            body = self.nonempty_list("group")
            end_tok = self.expect_word("}", "{", tok.start)
            return body, end_tok.end
        self.expect_word("do", keyword, start)
        body = self.nonempty_list(f"`{keyword}' body")
        end_tok = self.expect_word("done", keyword, start)
        return body, end_tok.end

    def parse_for(self, tok: Token) -> s.Command:
        keyword = tok.lit or "for"
        start = tok.start
        self.advance(tok)
        self.enter(start)
        text = self.text
        i = _BLANKS.match(text, self.pos).end()  # type: ignore[union-attr]
        if keyword == "for" and text.startswith("((", i):
            return self.parse_arith_for(start, i)
        name_tok = self.peek()
        if name_tok.kind != WORD or name_tok.lit is None or not _VALID_NAME.match(name_tok.lit):
            if name_tok.kind == WORD:
                raise self.error(
                    f"`{text[name_tok.start : name_tok.end]}': not a valid identifier",
                    name_tok.start,
                    name_tok.end,
                )
            raise self.unexpected(name_tok, "a variable name")
        self.advance(name_tok)
        words: list[s.Word] | None = None
        nxt = self.peek()
        if nxt.kind == OP and nxt.op == ";":
            self.advance(nxt)
            self.skip_newlines()
        else:
            self.skip_newlines()
            nxt = self.peek()
            if self.is_word(nxt, "in"):
                self.advance(nxt)
                words = []
                while True:
                    w = self.peek()
                    if w.kind != WORD:
                        break
                    assert w.word is not None
                    words.append(w.word)
                    self.advance(w)
                term = self.peek()
                if (term.kind == OP and term.op == ";") or term.kind == NEWLINE:
                    self.advance(term)
                    self.skip_newlines()
                else:
                    raise self.unexpected(term, "`;' or a newline")
        body, end = self._loop_body(keyword, start)
        self.leave()
        cls = s.For if keyword == "for" else s.Select
        ws = tuple(words) if words is not None else None
        return cls(self._sp(start, end), name_tok.lit, ws, body)

    def parse_arith_for(self, start: int, paren: int) -> s.ArithFor:
        close = self.find_arith_end(paren + 2)
        if close is None:
            raise self.error("syntax error: `((' without a matching `))'", paren)
        sections = self._split_arith_for(paren + 2, close)
        if len(sections) != 3:
            raise self.error(
                "syntax error: arithmetic for needs three expressions `((init; cond; step))'",
                paren,
                close + 2,
            )
        ariths: list[s.Arith | None] = []
        for a, b in sections:
            if self.text[a:b].strip():
                ariths.append(self.parse_arith_text(a, b))
            else:
                ariths.append(None)
        self.pos = close + 2
        tok = self.peek()
        if tok.kind == OP and tok.op == ";":
            self.advance(tok)
        self.skip_newlines()
        body, end = self._loop_body("for", start)
        self.leave()
        return s.ArithFor(self._sp(start, end), ariths[0], ariths[1], ariths[2], body)

    def _split_arith_for(self, a: int, b: int) -> list[tuple[int, int]]:
        text = self.text
        out: list[tuple[int, int]] = []
        depth = 0
        i = a
        seg = a
        while i < b:
            ch = text[i]
            if ch in "'\"":
                j = text.find(ch, i + 1)
                i = b if j < 0 else j + 1
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == ";" and depth == 0:
                out.append((seg, i))
                seg = i + 1
            i += 1
        out.append((seg, b))
        return out

    def parse_case(self, tok: Token) -> s.Case:
        start = tok.start
        self.advance(tok)
        self.enter(start)
        wtok = self.peek()
        if wtok.kind != WORD:
            raise self.unexpected(wtok, "a word after `case'")
        assert wtok.word is not None
        self.advance(wtok)
        self.skip_newlines()
        self.expect_word("in", "case", start)
        self.skip_newlines()
        items: list[s.CaseItem] = []
        while True:
            tok = self.peek()
            if self.is_word(tok, "esac"):
                self.advance(tok)
                end = tok.end
                break
            item_start = tok.start
            if tok.kind == OP and tok.op == "(":
                self.advance(tok)
                tok = self.peek()
            patterns: list[s.Word] = []
            while True:
                if tok.kind != WORD:
                    raise self.unexpected(tok, "a pattern")
                assert tok.word is not None
                patterns.append(tok.word)
                self.advance(tok)
                tok = self.peek()
                if tok.kind == OP and tok.op == "|":
                    self.advance(tok)
                    tok = self.peek()
                    continue
                break
            if not (tok.kind == OP and tok.op == ")"):
                raise self.unexpected(tok, "`)' after the case pattern")
            self.advance(tok)
            item_end = tok.end
            body = self.parse_list()
            if body.items:
                item_end = body.span.end
            tok = self.peek()
            term = ""
            if tok.kind == OP and tok.op in (";;", ";&", ";;&"):
                self.advance(tok)
                term = tok.op
                item_end = self._sp(tok.end, tok.end).end
                self.skip_newlines()
            elif not self.is_word(tok, "esac"):
                raise self.unexpected(tok, "`;;' or `esac'")
            body_or_none = body if body.items else None
            items.append(
                s.CaseItem(
                    Span(self._sp(item_start, item_start).start, item_end),
                    tuple(patterns),
                    body_or_none,
                    term,
                )
            )
        self.leave()
        return s.Case(self._sp(start, end), wtok.word, tuple(items))

    def parse_function_keyword(self, tok: Token) -> s.Command:
        start = tok.start
        self.advance(tok)
        name_tok = self.peek()
        if name_tok.kind != WORD or name_tok.lit is None:
            raise self.unexpected(name_tok, "a function name")
        self.advance(name_tok)
        style = "keyword"
        nxt = self.peek()
        if nxt.kind == OP and nxt.op == "(":
            after = self.lex(nxt.end)
            if after.kind == OP and after.op == ")":
                self.advance(nxt)
                self.advance(after)
                style = "keyword-parens"
            else:
                # `function f (...)`: the body is a subshell
                pass
        return self._function_body(start, name_tok.lit, style)

    def parse_function_posix(self, name_tok: Token, close: Token) -> s.Command:
        self.pos = close.end
        assert name_tok.lit is not None
        return self._function_body(name_tok.start, name_tok.lit, "posix")

    def _function_body(self, start: int, name: str, style: str) -> s.FunctionDef:
        self.skip_newlines()
        tok = self.peek()
        is_compound = (
            tok.kind == WORD and tok.lit in _COMPOUND_WORDS - {"function", "coproc"}
        ) or (tok.kind == OP and tok.op == "(")
        if not is_compound:
            raise self.unexpected(tok, f"a compound command as the body of function `{name}'")
        self.enter(start)
        body = self.parse_compound(tok)
        self.leave()
        return s.FunctionDef(Span(self._sp(start, start).start, body.span.end), name, body, style)

    def parse_coproc(self, tok: Token) -> s.Coproc:
        start = tok.start
        self.advance(tok)
        nxt = self.peek()
        name: str | None = None
        if nxt.kind == WORD and nxt.lit is not None and nxt.lit not in _COMPOUND_WORDS:
            after = self.lex(nxt.end)
            if (
                (after.kind == WORD and after.lit in _COMPOUND_WORDS)
                or (after.kind == OP and after.op == "(")
            ) and _VALID_NAME.match(nxt.lit):
                name = nxt.lit
                self.advance(nxt)
        self.enter(start)
        body = self.parse_command()
        self.leave()
        return s.Coproc(Span(self._sp(start, start).start, body.span.end), name, body)

    # ------------------------------------------------------------------ simple commands

    def parse_simple(self) -> s.SimpleCommand:
        assignments: list[s.Assignment] = []
        words: list[s.Word] = []
        redirects: list[s.Redirect] = []
        first = self.peek()
        start_mapped = -1
        end_mapped = -1
        decl = False
        while True:
            tok = self.peek()
            kind = tok.kind
            if kind == WORD:
                node: s.Assignment | s.Word | None = None
                if not words:
                    node = self.try_assignment(tok.start)
                elif decl:
                    node = self.try_decl_array(tok.start)
                if node is None:
                    assert tok.word is not None
                    self.advance(tok)
                    w = tok.word
                    if not words and tok.lit in _DECL_BUILTINS:
                        decl = True
                    if words and self._sp is Span and _is_assign_like_word(w):
                        w = self._assign_like_tildes(w)
                    words.append(w)
                    span = w.span
                elif isinstance(node, s.Assignment):
                    assignments.append(node)
                    span = node.span
                else:
                    words.append(node)
                    span = node.span
            elif kind in (IONUMBER, IOVAR) or (kind == OP and tok.op in REDIRECT_OPS):
                r = self.parse_redirect(tok)
                redirects.append(r)
                span = r.span
            else:
                break
            if start_mapped < 0:
                start_mapped = span.start
            end_mapped = span.end
        if start_mapped < 0:
            raise self.unexpected(first)
        return s.SimpleCommand(
            Span(start_mapped, end_mapped), tuple(assignments), tuple(words), tuple(redirects)
        )

    def _assign_like_tildes(self, w: s.Word) -> s.Word:
        """bash expands tildes after the `=` of an argument shaped like an assignment."""
        head = w.parts[0]
        assert type(head) is s.Literal
        eq = head.text.index("=") + 1
        a = head.span.start
        rest: list[s.WordPart] = []
        if eq < len(head.text):
            rest.append(s.Literal(Span(a + eq, head.span.end), head.text[eq:]))
        rest.extend(w.parts[1:])
        value = self.assignment_tildes(rest)
        if not any(type(p) is s.Tilde for p in value):
            return w
        first = s.Literal(Span(a, a + eq), head.text[:eq])
        return s.Word(w.span, (first, *value))

    def _target_and_op(self, i: int) -> tuple[s.Word | None, bool, int] | None:
        """After a name (or at an array element's `[`): an optional `[subscript]`, then `=`
        or `+=`. Returns the subscript, whether it appends, and where the value starts."""
        text = self.text
        subscript: s.Word | None = None
        if text.startswith("[", i):
            found = self.read_subscript(i + 1)
            if found is None:
                return None
            sparts, close = found
            subscript = s.Word(self._sp(i + 1, close), tuple(sparts))
            i = close + 1
        if text.startswith("+=", i):
            return subscript, True, i + 2
        if text.startswith("=", i):
            return subscript, False, i + 1
        return None

    def _assigned_word(self, i: int) -> tuple[s.Word, int]:
        """An assignment's value word (no brace expansion; tildes after `=` and `:`)."""
        parts, end = self.read_parts(i, M_UNQUOTED)
        parts = _merge_literals(parts, self._sp)
        return s.Word(self._sp(i, end), tuple(self.assignment_tildes(parts))), end

    def try_assignment(self, pos: int) -> s.Assignment | None:
        m = _NAME_AT.match(self.text, pos)
        if m is None:
            return None
        target = self._target_and_op(m.end())
        if target is None:
            return None
        subscript, append, i = target
        value: s.Word | s.ArrayLiteral
        if self.text.startswith("(", i):
            value, end = self.parse_array_literal(i)
        else:
            value, end = self._assigned_word(i)
        self.pos = end
        return s.Assignment(self._sp(pos, end), m.group(), value, subscript, append)

    def try_decl_array(self, pos: int) -> s.Word | None:
        """`declare a=(…)`: an array value in an argument of a declaration builtin."""
        m = _DECL_ARRAY.match(self.text, pos)
        if m is None:
            return None
        head_end = m.end() - 1
        arr, end = self.parse_array_literal(head_end)
        head = s.Literal(self._sp(pos, head_end), self.text[pos:head_end])
        self.pos = end
        return s.Word(self._sp(pos, end), (head, arr))

    def parse_array_literal(self, start: int) -> tuple[s.ArrayLiteral, int]:
        self.pos = start + 1
        self._peek_pos = -1
        elements: list[s.Word | s.ArrayElement] = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.kind == OP and tok.op == ")":
                self.advance(tok)
                return s.ArrayLiteral(self._sp(start, tok.end), tuple(elements)), tok.end
            if tok.kind != WORD:
                if tok.kind == EOF:
                    raise self.unclosed(")", start)
                raise self.unexpected(tok, "an array element or `)'")
            elem = self._array_element(tok.start)
            if elem is not None:
                elements.append(elem)
                continue
            assert tok.word is not None
            elements.append(tok.word)
            self.advance(tok)

    def _array_element(self, pos: int) -> s.ArrayElement | None:
        target = self._target_and_op(pos)
        if target is None:
            return None
        key, append, i = target
        if key is None:  # `=v` alone is a plain word
            return None
        value, end = self._assigned_word(i)
        self.pos = end
        return s.ArrayElement(self._sp(pos, end), key, value, append)

    def parse_redirect(self, tok: Token) -> s.Redirect:
        start = tok.start
        fd: int | None = None
        fd_var: str | None = None
        if tok.kind == IONUMBER:
            assert tok.lit is not None
            fd = int(tok.lit)
            self.advance(tok)
            tok = self.peek()
        elif tok.kind == IOVAR:
            fd_var = tok.lit
            self.advance(tok)
            tok = self.peek()
        if not (tok.kind == OP and tok.op in REDIRECT_OPS):
            raise self.unexpected(tok, "a redirection operator")
        op = tok.op
        self.advance(tok)
        target_tok = self.peek(braces=op not in ("<<", "<<-"))
        if target_tok.kind != WORD:
            raise self.unexpected(target_tok, f"a word after `{op}'")
        assert target_tok.word is not None
        self.advance(target_tok)
        word = target_tok.word
        if op == "<<" or op == "<<-":
            delim, quoted = self._heredoc_delimiter(word, target_tok)
            node = s.HereDoc(
                self._sp(target_tok.end, target_tok.end),
                delim,
                quoted,
                op == "<<-",
                s.Word(self._sp(target_tok.end, target_tok.end), ()),
            )
            if len(self.pending) >= HEREDOC_MAX:
                raise self.error("maximum here-document count exceeded", start, target_tok.end)
            self.pending.append(_PendingHereDoc(start, node, delim, quoted, op == "<<-"))
            return s.Redirect(
                Span(self._sp(start, start).start, word.span.end), op, node, fd, fd_var
            )
        return s.Redirect(Span(self._sp(start, start).start, word.span.end), op, word, fd, fd_var)

    def _heredoc_delimiter(self, word: s.Word, tok: Token) -> tuple[str, bool]:
        raw = self.text[tok.start : tok.end]
        quoted = any(ch in raw for ch in "'\"\\")
        out: list[str] = []
        i = 0
        n = len(raw)
        while i < n:
            ch = raw[i]
            if ch == "\\" and i + 1 < n:
                out.append(raw[i + 1])
                i += 2
            elif ch == "'":
                j = raw.find("'", i + 1)
                j = n if j < 0 else j
                out.append(raw[i + 1 : j])
                i = j + 1
            elif ch == '"':
                i += 1
                while i < n and raw[i] != '"':
                    if raw[i] == "\\" and i + 1 < n and raw[i + 1] in '"\\$`':
                        i += 1
                    out.append(raw[i])
                    i += 1
                i += 1
            elif ch == "$" and i + 1 < n and raw[i + 1] in "'\"":
                i += 1  # $'..' / $".." delimiters: the quotes are removed
            else:
                out.append(ch)
                i += 1
        return "".join(out), quoted

    # ------------------------------------------------------------------ substitutions

    def parse_subst_body(self, start: int, closer: str) -> tuple[s.CommandList, int]:
        saved = (self.pos, self._peek_pos, self._peek_tok, self._peek_braces, self.pending)
        self.pos = start
        self._peek_pos = -1
        self.pending = []
        self._subst_start = True
        try:
            body = self.parse_list()
            tok = self.peek()
            if not (tok.kind == OP and tok.op == closer):
                if tok.kind == EOF:
                    raise self.unclosed(closer, start - 2 if start >= 2 else start)
                raise self.unexpected(tok, f"`{closer}'")
            close = tok.start
            inner_pending = self.pending
        finally:
            (self.pos, self._peek_pos, self._peek_tok, self._peek_braces, self.pending) = saved
            self._subst_start = False
        # A here-doc started in a substitution that closes on the same line: bash reads its
        # body after the end of that line, so it joins the enclosing parser's pending list
        # (keyed by position: a word lexed twice must not read the body twice).
        for hd in inner_pending:
            self.pending = [p for p in self.pending if p.key != hd.key]
            self.pending.append(hd)
        return body, close

    def parse_backquote_body(self, body: str, offsets: list[int] | int) -> s.CommandList:
        if isinstance(offsets, int):
            shift = offsets
            base = self._sp

            def span_map(a: int, b: int) -> Span:
                return base(a + shift, b + shift)
        else:
            table = offsets
            base = self._sp

            def span_map(a: int, b: int) -> Span:
                return base(table[a], table[b])

        sub = CommandParser(body, self.source, span_map=span_map, depth=self.depth)
        return sub.parse_script()

    def parse_arith_text(self, start: int, end: int) -> s.Arith:
        from bashflow.parser.arith import parse_arith_region

        return parse_arith_region(self, start, end)

    def parse_regex_word(self, pos: int) -> s.Word:
        return self.read_word(pos, M_REGEX, braces=False)


def _is_assign_like_word(w: s.Word) -> bool:
    p = w.parts[0] if w.parts else None
    if type(p) is not s.Literal:
        return False
    text = p.text
    eq = text.find("=")
    if eq <= 0:
        return False
    head = text[:eq].removesuffix("+")
    return _VALID_NAME.match(head) is not None


def _replace_redirects(node: s.Command, span: Span, redirects: tuple[s.Redirect, ...]) -> s.Command:
    if isinstance(node, s.FunctionDef | s.Coproc | s.SimpleCommand):  # pragma: no cover
        raise TypeError("redirections attach to compound commands only")
    return s.replace(node, span=span, redirects=node.redirects + redirects)
