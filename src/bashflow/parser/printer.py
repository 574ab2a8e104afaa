"""parser/printer - the syntax tree back to bash text, the way bash's `declare -f` prints it.

Two printers share one machine, a port of bash 5.2's `print_cmd.c` (its indentation,
`skip_this_indent`, deferred here-documents and `;` rules):

`print_function_body(body, source)` / `format_function(...)` print exactly what
`declare -f` prints for a function with that body: bash's own normalisations included
(`elif` becomes a nested `if`, `|&` becomes `2>&1 |`, `$'..'` is decoded and single-quoted,
`[[ $x ]]` becomes `[[ -n $x ]]`, `$( )` bodies are re-printed, redirections are spaced as
`> file`, comments and line continuations vanish). Words are printed from the tree's parts,
so a difference from bash's text is a difference in the tree. Where bash prints text as it
was written and the tree keeps no finer structure (backquoted substitutions, here-document
bodies, the text of `(( ))`), the `source` text is used, through the node's span.

`render(node)` prints any tree as bash that parses back to the same tree (spans aside): it
keeps what `declare -f` normalises away (`elif`, `|&`, `$'..'`, function style, ...) and
never needs the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bashflow.parser.syntax import (
    AndOr,
    AnsiCQuoted,
    Arith,
    ArithAssign,
    ArithBinary,
    ArithComma,
    ArithCommand,
    ArithFor,
    ArithGroup,
    ArithNode,
    ArithPostfix,
    ArithSub,
    ArithTernary,
    ArithUnary,
    ArithVar,
    ArithWord,
    ArrayElement,
    ArrayLiteral,
    Assignment,
    BadSubstitution,
    BraceExpansion,
    BraceGroup,
    BraceRange,
    Case,
    Command,
    CommandList,
    CommandSub,
    CondAnd,
    CondBinary,
    CondCommand,
    CondGroup,
    CondNode,
    CondNot,
    CondOr,
    CondUnary,
    Coproc,
    DoubleQuoted,
    Escaped,
    ExtGlob,
    For,
    FunctionDef,
    Glob,
    HereDoc,
    If,
    Literal,
    LocaleQuoted,
    ParamExpansion,
    Pipeline,
    ProcessSub,
    Redirect,
    Script,
    Select,
    SimpleCommand,
    SingleQuoted,
    Subshell,
    Tilde,
    While,
    Word,
    WordPart,
)
from bashflow.source import MISSING

__all__ = ["format_command", "format_function", "print_function_body", "render", "sh_single_quote"]

_INDENT = 4
_CONTINUATION = re.compile(r"\\\n")
_DIGITS = re.compile(r"[0-9]+")
# a backslash-newline whose backslash is not itself escaped
_ESCAPED_NEWLINE = re.compile(r"(?<!\\)((?:\\\\)*)\\\n")
# `${x OP word}` operators whose word bash reads as a pattern: a `$'..'` inside a
# double-quoted one is decoded and single-quoted (extquote), elsewhere decoded bare
_PATTERN_OPS = frozenset(
    {"#", "##", "%", "%%", "/", "//", "/#", "/%", "^", "^^", ",", ",,", "~", "~~"}
)


# ----------------------------------------------------------------- bash's command shapes


@dataclass(slots=True)
class _Leaf:
    """One command as bash holds it: flags from its pipeline, redirections `|&` added."""

    cmd: Command
    timed: str | None = None
    negated: bool = False
    extra: list[Redirect] = field(default_factory=list)


@dataclass(slots=True)
class _Conn:
    """bash's `cm_connection`: connector `;` `\\n` `&` `|` `&&` `||`; second may be None
    (`cmd &` at the end of a list)."""

    first: _BashCmd
    second: _BashCmd | None
    connector: str
    timed: str | None = None
    negated: bool = False
    extra: list[Redirect] = field(default_factory=list)


_BashCmd = _Leaf | _Conn

_STDERR_TO_STDOUT = Redirect(MISSING, ">&", Word(MISSING, (Literal(MISSING, "1"),)), fd=2)


def _connect_async(cmd: _BashCmd) -> _BashCmd:
    """bash's `connect_async_list`: `a; b &` backgrounds only `b`."""
    if not isinstance(cmd, _Conn) or cmd.connector != ";" or cmd.second is None:
        return _Conn(cmd, None, "&")
    parent = cmd
    last = cmd.second
    while isinstance(last, _Conn) and last.connector == ";" and last.second is not None:
        parent = last
        last = last.second
    parent.second = _Conn(last, None, "&")
    return cmd


# ----------------------------------------------------------------- quoting helpers


def sh_single_quote(text: str) -> str:
    """bash's `sh_single_quote`: `'...'` with each `'` written `'\\''`."""
    if text == "'":
        return "\\'"
    return "'" + text.replace("'", "'\\''") + "'"


def _ansi_c_quote(value: str) -> str:
    """`$'...'` text that decodes back to `value`."""
    out = ["$'"]
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


# ----------------------------------------------------------------- the printer


class _Printer:
    """A port of bash's print_cmd.c state machine (one instance per printed string)."""

    def __init__(self, source: str | None, *, faithful: bool, comsub: bool) -> None:
        self.source = source
        self.faithful = faithful
        self.comsub = comsub
        self.out: list[str] = []
        self.indentation = 0
        self.skip_this_indent = 0
        self.was_heredoc = False
        self.printing_connection = 0
        self.inside_function_def = 0
        self.deferred: list[Redirect] = []
        self.ends_unterminated = False  # `render`: the text ends inside a here-doc body

    # -- output primitives

    def emit(self, text: str) -> None:
        if text:
            self.out.append(text)

    def tail(self, n: int) -> str:
        acc = ""
        for piece in reversed(self.out):
            acc = piece + acc
            if len(acc) >= n:
                break
        return acc[-n:]

    def indent(self, amount: int) -> None:
        self.emit(" " * amount)

    def newline(self, text: str) -> None:
        self.emit("\n")
        self.indent(self.indentation)
        self.emit(text)

    def semicolon(self) -> None:
        if self.tail(1) == "\n" or self.tail(2) == " &":
            return
        self.emit(";")

    def text(self) -> str:
        return "".join(self.out)

    # -- lists

    def to_bash(self, lst: CommandList) -> _BashCmd | None:
        result: _BashCmd | None = None
        pending = ""
        for item in lst.items:
            cmd = self.andor_to_bash(item.command)
            result = cmd if result is None else _Conn(result, cmd, pending)
            pending = item.terminator or "\n"
        # `a & b`: the `&` between items is a connector; only a final one makes it async
        if result is not None and lst.items and lst.items[-1].terminator == "&":
            result = _connect_async(result)
        return result

    def andor_to_bash(self, andor: AndOr) -> _BashCmd:
        result = self.pipeline_to_bash(andor.first)
        for op, pipe in andor.rest:
            result = _Conn(result, self.pipeline_to_bash(pipe), op)
        return result

    def pipeline_to_bash(self, pipe: Pipeline) -> _BashCmd:
        if not pipe.commands:  # a bare `!` or `time`
            empty = SimpleCommand(pipe.span, (), (), ())
            return _Leaf(empty, timed=pipe.timed, negated=pipe.negated)
        result: _BashCmd = _Leaf(pipe.commands[0])
        for op, cmd in zip(pipe.ops, pipe.commands[1:], strict=True):
            if op == "|&" and self.faithful:
                result.extra.append(_STDERR_TO_STDOUT)
                op = "|"
            result = _Conn(result, _Leaf(cmd), op)
        result.timed = pipe.timed
        result.negated = pipe.negated
        return result

    # -- commands

    def command(self, cmd: _BashCmd | None) -> None:
        if cmd is None:
            return
        if self.skip_this_indent:
            self.skip_this_indent -= 1
        else:
            self.indent(self.indentation)
        if cmd.timed:
            self.emit(cmd.timed + " ")
        if cmd.negated:
            self.emit("! ")
        redirects: list[Redirect] = []
        if not self.faithful and isinstance(cmd, _Leaf):
            # bash's printer drops the separator after any command that follows a here-doc;
            # `render` must keep it (the flag is only about the command just printed)
            self.was_heredoc = False
        if isinstance(cmd, _Conn):
            self.connection(cmd)
        else:
            redirects = self.leaf(cmd.cmd)
        redirects = redirects + cmd.extra
        if redirects:
            self.emit(" ")
            self.redirect_list(redirects)

    def connection(self, cmd: _Conn) -> None:
        self.skip_this_indent += 1
        self.printing_connection += 1
        self.command(cmd.first)
        c = cmd.connector
        if c in ("&", "|", "|&"):
            self.print_deferred(" " + c)
            if c != "&" or cmd.second is not None:
                self.emit(" ")
                self.skip_this_indent += 1
        elif c in ("&&", "||"):
            self.print_deferred(" " + c + " ")
            if cmd.second is not None:
                self.skip_this_indent += 1
        else:  # ";" or "\n"
            s = c if self.comsub else ";"
            if not self.deferred:
                if not self.was_heredoc:
                    self.emit(s)
                else:
                    self.was_heredoc = False
            else:
                self.print_deferred("" if self.inside_function_def else ";")
            if self.inside_function_def:
                self.emit("\n")
            else:
                if c == ";":
                    self.emit(" ")
                if cmd.second is not None:
                    self.skip_this_indent += 1
        self.command(cmd.second)
        self.flush_deferred()
        self.printing_connection -= 1

    def leaf(self, cmd: Command) -> list[Redirect]:
        """Print one command; returns the redirections still to print after it."""
        if isinstance(cmd, SimpleCommand):
            words = [self.assignment(a) for a in cmd.assignments]
            words += [self.word(w) for w in cmd.words]
            self.emit(" ".join(words))
            if cmd.redirects and words:
                self.emit(" ")
            if cmd.redirects:
                self.redirect_list(list(cmd.redirects))
            return []
        if isinstance(cmd, BraceGroup):
            self.group(cmd.body)
        elif isinstance(cmd, Subshell):
            self.emit("( ")
            self.skip_this_indent += 1
            self.command(self.to_bash(cmd.body))
            self.flush_deferred()
            self.emit(" )")
        elif isinstance(cmd, If):
            self.if_command(cmd, 0)
        elif isinstance(cmd, While):
            self.while_command(cmd)
        elif isinstance(cmd, For | Select):
            self.for_command(cmd)
        elif isinstance(cmd, ArithFor):
            self.arith_for(cmd)
        elif isinstance(cmd, Case):
            self.case_command(cmd)
        elif isinstance(cmd, CondCommand):
            self.emit("[[ " + self.cond(cmd.expr) + " ]]")
        elif isinstance(cmd, ArithCommand):
            self.emit("((" + self.arith_text(cmd.arith) + "))")
        elif isinstance(cmd, FunctionDef):
            self.function_def(cmd)
            return []
        elif isinstance(cmd, Coproc):
            self.coproc(cmd)
            return []
        return list(cmd.redirects)

    def body(self, lst: CommandList | None) -> None:
        self.command(self.to_bash(lst) if lst is not None else None)

    def group(self, lst: CommandList) -> None:
        self.emit("{ ")
        if not self.inside_function_def:
            self.skip_this_indent += 1
        else:
            self.emit("\n")
            self.indentation += _INDENT
        self.body(lst)
        self.flush_deferred()
        if self.inside_function_def:
            self.emit("\n")
            self.indentation -= _INDENT
            self.indent(self.indentation)
        else:
            self.semicolon()
            self.emit(" ")
        self.emit("}")

    def if_command(self, cmd: If, index: int) -> None:
        clause = cmd.clauses[index]
        if index and not self.faithful:
            self.emit("elif ")
        else:
            self.emit("if ")
        self.skip_this_indent += 1
        self.body(clause.condition)
        self.semicolon()
        self.emit(" then\n")
        self.indentation += _INDENT
        self.body(clause.body)
        self.flush_deferred()
        self.indentation -= _INDENT
        more = index + 1 < len(cmd.clauses)
        if more and not self.faithful:
            self.semicolon()
            self.emit("\n")
            self.indent(self.indentation)
            self.if_command(cmd, index + 1)
            return
        if more or cmd.else_body is not None:
            self.semicolon()
            self.newline("else\n")
            self.indentation += _INDENT
            if more:
                self.indent(self.indentation)
                self.if_command(cmd, index + 1)
            else:
                self.body(cmd.else_body)
            self.flush_deferred()
            self.indentation -= _INDENT
        self.semicolon()
        self.newline("fi")

    def while_command(self, cmd: While) -> None:
        self.emit("until " if cmd.until else "while ")
        self.skip_this_indent += 1
        self.body(cmd.condition)
        self.flush_deferred()
        self.semicolon()
        self.emit(" do\n")
        self.indentation += _INDENT
        self.body(cmd.body)
        self.flush_deferred()
        self.indentation -= _INDENT
        self.semicolon()
        self.newline("done")

    def loop_body(self, lst: CommandList) -> None:
        self.newline("do\n")
        self.indentation += _INDENT
        self.body(lst)
        self.flush_deferred()
        self.semicolon()
        self.indentation -= _INDENT
        self.newline("done")

    def for_command(self, cmd: For | Select) -> None:
        keyword = "for" if isinstance(cmd, For) else "select"
        if cmd.words is None and not self.faithful:
            self.emit(f"{keyword} {cmd.name}")
        else:
            words = ['"$@"'] if cmd.words is None else [self.word(w) for w in cmd.words]
            self.emit(f"{keyword} {cmd.name} in " + " ".join(words))
        self.emit(";")
        self.loop_body(cmd.body)

    def arith_for(self, cmd: ArithFor) -> None:
        parts = []
        for arith in (cmd.init, cmd.condition, cmd.step):
            if not self.faithful:
                parts.append(arith.raw if arith is not None else "")
                continue
            text = self.arith_text(arith).lstrip(" \t\n") if arith is not None else ""
            parts.append(text or "1")
        self.emit("for ((" + ("; " if self.faithful else ";").join(parts) + "))")
        self.loop_body(cmd.body)

    def case_command(self, cmd: Case) -> None:
        self.emit(f"case {self.word(cmd.word)} in ")
        self.indentation += _INDENT
        for i, item in enumerate(cmd.items):
            self.newline("")
            patterns = [self.word(p) for p in item.patterns]
            if not self.faithful and patterns and patterns[0] == "esac":
                self.emit("(")
            self.emit(" | ".join(patterns))
            self.emit(")\n")
            self.indentation += _INDENT
            self.body(item.body)
            self.indentation -= _INDENT
            self.flush_deferred()
            last = i == len(cmd.items) - 1
            if not self.faithful and last and not item.terminator:
                self.newline("")
            else:
                self.newline(item.terminator or ";;")
        self.indentation -= _INDENT
        self.newline("esac")

    def function_def(self, fn: FunctionDef) -> None:
        if self.faithful or fn.style == "keyword-parens":
            self.emit(f"function {fn.name} () \n")
        elif fn.style == "keyword":
            self.emit(f"function {fn.name} \n")
        else:
            self.emit(f"{fn.name} () \n")
        self.function_body(fn.body, indent_brace=True)

    def function_body(self, body: Command, *, indent_brace: bool) -> None:
        if indent_brace:
            self.indent(self.indentation)
        self.emit("{ \n")
        self.inside_function_def += 1
        self.indentation += _INDENT
        func_redirects: list[Redirect] = []
        if isinstance(body, BraceGroup):
            func_redirects = list(body.redirects)
            self.body(body.body)
        else:
            self.command(_Leaf(body))
        self.flush_deferred()
        self.indentation -= _INDENT
        self.inside_function_def -= 1
        if func_redirects:
            self.newline("} ")
            self.redirect_list(func_redirects)
        else:
            self.newline("}")
            self.was_heredoc = False

    def coproc(self, cmd: Coproc) -> None:
        name = cmd.name
        if name is None and self.faithful:
            name = "COPROC"
        self.emit("coproc " + (f"{name} " if name is not None else ""))
        self.skip_this_indent += 1
        self.command(_Leaf(cmd.body))

    # -- redirections

    def tree(self, node: Script | CommandList | Command) -> str:
        """Print a whole tree (a script, a list or one command) and return the text."""
        if isinstance(node, Script):
            node = node.body
        if isinstance(node, CommandList):
            self.body(node)
        else:
            self.command(_Leaf(node))
        self.flush_deferred()
        return self.text()

    def flush_deferred(self) -> None:
        """Print the bodies of here-docs still waiting for the end of their line."""
        self.print_deferred("")

    def print_deferred(self, cstring: str) -> None:
        prints = bool(cstring) and (cstring[0] != ";" or len(cstring) > 1)
        if prints:
            self.emit(cstring)
        if self.deferred:
            self.heredoc_bodies(self.deferred)
            if prints:
                self.emit(" ")
            self.was_heredoc = True
        self.deferred = []

    def heredoc_bodies(self, heredocs: Sequence[Redirect]) -> None:
        self.emit("\n")
        for redirect in heredocs:
            assert isinstance(redirect.target, HereDoc)
            body = self.heredoc_body(redirect.target)
            if not self.faithful and not redirect.target.terminated:
                # a body that ran to the end of the file: there was no delimiter line
                self.emit(body)
                self.ends_unterminated = True
                continue
            self.emit(body + redirect.target.delimiter)
            self.emit("\n")
        self.was_heredoc = True

    def redirect_list(self, redirects: Sequence[Redirect]) -> None:
        heredocs: list[Redirect] = []
        self.was_heredoc = False
        for i, redirect in enumerate(redirects):
            if isinstance(redirect.target, HereDoc):
                self.emit(self.heredoc_header(redirect, redirect.target))
                heredocs.append(redirect)
            else:
                self.emit(self.redirection(redirect, redirect.target))
            if i + 1 < len(redirects):
                self.emit(" ")
        if heredocs and self.printing_connection:
            self.deferred = heredocs
        elif heredocs:
            self.heredoc_bodies(heredocs)

    def _fd_prefix(self, redirect: Redirect, default: int) -> str:
        if redirect.fd_var is not None:
            return "{" + redirect.fd_var + "}"
        if redirect.fd is not None and (redirect.fd != default or not self.faithful):
            return str(redirect.fd)
        return ""

    def heredoc_header(self, redirect: Redirect, doc: HereDoc) -> str:
        head = self._fd_prefix(redirect, 0) + ("<<-" if doc.strip_tabs else "<<")
        return head + (sh_single_quote(doc.delimiter) if doc.quoted else doc.delimiter)

    def redirection(self, redirect: Redirect, target: Word) -> str:
        op = redirect.op
        word = self.word(target)
        if op in ("<", "<<<"):
            return self._fd_prefix(redirect, 0) + op + " " + word
        if op in (">", ">>", ">|"):
            return self._fd_prefix(redirect, 1) + op + " " + word
        if op == "<>":
            if not self.faithful:
                return self._fd_prefix(redirect, 0) + "<> " + word
            # bash 5.2 prints the default fd of `<>` (0) because it compares with 1
            prefix = self._fd_prefix(redirect, 1)
            return (prefix or ("0" if redirect.fd is None else "")) + "<> " + word
        if op in ("&>", "&>>"):
            return op + " " + word
        if op in (">&", "<&"):
            default = 1 if op == ">&" else 0
            if not self.faithful:
                return self._fd_prefix(redirect, default) + op + word
            fd = redirect.fd if redirect.fd is not None else default
            var = "{" + redirect.fd_var + "}" if redirect.fd_var is not None else None
            literal = _plain_text(target)
            if literal == "-":
                return (var or str(fd)) + ">&-"
            if literal is not None and _DIGITS.fullmatch(literal):
                return (var or str(fd)) + op + str(int(literal))
            if var is not None:
                return var + op + word
            return ("" if fd == default else str(fd)) + op + word
        raise ValueError(f"unknown redirection operator {op!r}")

    # -- [[ ]] and (( ))

    def cond(self, node: CondNode) -> str:
        if isinstance(node, CondNot):
            inner = node.operand
            invert = True
            if self.faithful:
                while isinstance(inner, CondNot):  # bash toggles: `! ! x` is `x`
                    inner = inner.operand
                    invert = not invert
            return ("! " if invert else "") + self.cond(inner)
        if isinstance(node, CondGroup):
            return "( " + self.cond(node.expr) + " )"
        if isinstance(node, CondAnd):
            return self.cond(node.left) + " && " + self.cond(node.right)
        if isinstance(node, CondOr):
            return self.cond(node.left) + " || " + self.cond(node.right)
        if isinstance(node, CondUnary):
            return node.op + " " + self.word(node.operand)
        if isinstance(node, CondBinary):
            return self.word(node.left) + " " + node.op + " " + self.word(node.right)
        if self.faithful:
            return "-n " + self.word(node.word)
        return self.word(node.word)

    def arith_text(self, arith: Arith) -> str:
        """The text of an arithmetic expression: as written, but, like bash, with line
        continuations removed and `$( )` / `$'..'` inside it re-printed."""
        if not self.faithful or self.source is None or arith.span == MISSING:
            return arith.raw
        start = arith.span.start
        text = self.source[start : arith.span.end]
        if text != arith.raw:
            return arith.raw
        replacements: list[tuple[int, int, str]] = []
        words = [arith.word] if arith.word is not None else _arith_words(arith.expr)
        for word in words:
            for part in _walk_parts(word.parts):
                if isinstance(part, CommandSub | AnsiCQuoted | LocaleQuoted | ProcessSub):
                    replacements.append((part.span.start, part.span.end, self.part(part, False)))
        return _splice(text, start, replacements)

    # -- words

    def assignment(self, a: Assignment) -> str:
        sub = "[" + self.word(a.subscript) + "]" if a.subscript is not None else ""
        op = "+=" if a.append else "="
        value = self.array(a.value) if isinstance(a.value, ArrayLiteral) else self.word(a.value)
        return a.name + sub + op + value

    def array(self, arr: ArrayLiteral) -> str:
        items = []
        for el in arr.elements:
            if isinstance(el, ArrayElement):
                op = "+=" if el.append else "="
                items.append("[" + self.word(el.key) + "]" + op + self.word(el.value))
            else:
                items.append(self.word(el))
        return "(" + " ".join(items) + ")"

    def word(self, word: Word, in_dquote: bool | str = False) -> str:
        return "".join(self.part(p, in_dquote) for p in word.parts)

    def part(self, part: WordPart, in_dquote: bool | str) -> str:
        if isinstance(part, Literal | Glob):
            return part.text
        if isinstance(part, Escaped):
            return "\\" + part.char
        if isinstance(part, SingleQuoted):
            return "'" + part.text + "'"
        if isinstance(part, AnsiCQuoted):
            if not self.faithful:
                return _ansi_c_quote(part.value)
            value = part.value.split("\0", 1)[0]  # bash's strings end at a NUL
            return value if in_dquote == "bare" else sh_single_quote(value)
        if isinstance(part, DoubleQuoted):
            return '"' + "".join(self.part(p, True) for p in part.parts) + '"'
        if isinstance(part, LocaleQuoted):
            inner = "".join(self.part(p, True) for p in part.parts)
            return '"' + inner + '"' if self.faithful else '$"' + inner + '"'
        if isinstance(part, ParamExpansion):
            return self.param(part, in_dquote)
        if isinstance(part, CommandSub):
            return self.command_sub(part)
        if isinstance(part, ArithSub):
            legacy = (
                self.source is not None
                and part.span != MISSING
                and self.source.startswith("$[", part.span.start)
            )
            text = self.arith_text(part.arith)
            return "$[" + text + "]" if legacy else "$((" + text + "))"
        if isinstance(part, ProcessSub):
            return part.direction + "(" + self.sub_body(part.body) + ")"
        if isinstance(part, BadSubstitution):
            return part.text
        if isinstance(part, ExtGlob):
            if self.faithful and self.source is not None and part.span != MISSING:
                # bash reads an extglob group as raw text: nothing inside is re-printed
                return _remove_continuations(self.source[part.span.start : part.span.end])
            return part.op + "(" + "|".join(self.word(w) for w in part.patterns) + ")"
        if isinstance(part, BraceExpansion):
            return "{" + ",".join(self.word(w) for w in part.alternatives) + "}"
        if isinstance(part, BraceRange):
            step = ".." + part.step if part.step is not None else ""
            return "{" + part.start + ".." + part.end + step + "}"
        if isinstance(part, Tilde):
            return "~" + part.user
        return self.array(part)

    def param(self, p: ParamExpansion, in_dquote: bool | str) -> str:
        if not p.braced:
            return "$" + p.name
        out = ["${"]
        if p.length:
            out.append("#")
        if p.indirect or p.op in ("!*", "!@"):
            out.append("!")
        out.append(p.name)
        if p.subscript is not None:
            out.append("[" + self.word(p.subscript, in_dquote) + "]")
        if p.op in ("!*", "!@"):
            out.append(p.op[1])
        elif p.op is not None:
            out.append(p.op)
            ctx: bool | str = in_dquote
            if in_dquote and p.op not in _PATTERN_OPS:
                ctx = "bare"
            if p.arg is not None:
                out.append(self.word(p.arg, ctx))
            if p.arg2 is not None:
                out.append(("/" if p.op.startswith("/") else ":") + self.word(p.arg2, ctx))
        out.append("}")
        return "".join(out)

    def command_sub(self, sub: CommandSub) -> str:
        if sub.backquoted:
            if self.faithful and self.source is not None and sub.span != MISSING:
                return _CONTINUATION.sub("", self.source[sub.span.start : sub.span.end])
            body = self.sub_body(sub.body)
            return "`" + re.sub(r"([\\`$])", r"\\\1", body) + "`"
        text = self.sub_body(sub.body)
        if text.startswith("("):
            text = " " + text
        return "$(" + text + ")"

    def sub_body(self, body: CommandList) -> str:
        """A `$( )` / `<( )` body, printed as bash re-prints it when parsing it."""
        inner = _Printer(self.source, faithful=self.faithful, comsub=True)
        inner.body(body)
        inner.flush_deferred()
        return inner.text()

    def heredoc_body(self, doc: HereDoc) -> str:
        if self.faithful and self.source is not None and doc.body.span != MISSING:
            text = self.source[doc.body.span.start : doc.body.span.end]
            if not doc.quoted:
                text = _remove_continuations(text)
            if doc.strip_tabs:
                text = "".join(line.lstrip("\t") for line in text.splitlines(keepends=True))
            return text
        return "".join(self.heredoc_part(p) for p in doc.body.parts)

    def heredoc_part(self, part: WordPart) -> str:
        if isinstance(part, Literal):
            return part.text
        if isinstance(part, Escaped):
            return "\\" + part.char
        return self.part(part, True)


def _remove_continuations(text: str) -> str:
    """Drop backslash-newline pairs (a backslash escaped by a backslash stays)."""
    return _ESCAPED_NEWLINE.sub(r"\1", text)


def _plain_text(word: Word) -> str | None:
    if all(isinstance(p, Literal) for p in word.parts):
        return "".join(p.text for p in word.parts if isinstance(p, Literal))
    return None


def _splice(text: str, base: int, replacements: list[tuple[int, int, str]]) -> str:
    out = []
    pos = 0
    for start, end, new in sorted(replacements):
        if start - base < pos:
            continue
        out.append(_remove_continuations(text[pos : start - base]))
        out.append(new)
        pos = end - base
    out.append(_remove_continuations(text[pos:]))
    return "".join(out)


def _walk_parts(parts: Iterable[WordPart]) -> Iterable[WordPart]:
    for part in parts:
        yield part
        if isinstance(part, DoubleQuoted | LocaleQuoted):
            yield from _walk_parts(part.parts)
        elif isinstance(part, ParamExpansion):
            for w in (part.subscript, part.arg, part.arg2):
                if w is not None:
                    yield from _walk_parts(w.parts)


def _arith_words(node: ArithNode | None) -> Iterable[Word]:
    if node is None:
        return
    if isinstance(node, ArithWord):
        yield node.word
    elif isinstance(node, ArithVar):
        yield from _arith_words(node.subscript)
    elif isinstance(node, ArithUnary | ArithPostfix):
        yield from _arith_words(node.operand)
    elif isinstance(node, ArithBinary):
        yield from _arith_words(node.left)
        yield from _arith_words(node.right)
    elif isinstance(node, ArithAssign):
        yield from _arith_words(node.target)
        yield from _arith_words(node.value)
    elif isinstance(node, ArithTernary):
        yield from _arith_words(node.cond)
        yield from _arith_words(node.then)
        yield from _arith_words(node.otherwise)
    elif isinstance(node, ArithComma):
        for item in node.items:
            yield from _arith_words(item)
    elif isinstance(node, ArithGroup):
        yield from _arith_words(node.expr)


# ----------------------------------------------------------------- public entry points


def print_function_body(body: CommandList | Script, source: str | None = None) -> str:
    """What `declare -f f` prints for `f() { BODY }`, given BODY's tree and source text."""
    return format_function("f", body, source)


def format_function(name: str, body: CommandList | Script, source: str | None = None) -> str:
    """bash's `named_function_string(name, body, FUNC_MULTILINE)`: `declare -f NAME`'s text
    (without the trailing newline) for a function whose body group holds `body`."""
    if isinstance(body, Script):
        body = body.body
    printer = _Printer(source, faithful=True, comsub=False)
    printer.emit(f"{name} () \n")
    printer.indentation = _INDENT
    printer.inside_function_def += 1
    printer.emit("{ \n")
    printer.body(body)
    printer.flush_deferred()
    printer.indentation = 0
    printer.inside_function_def -= 1
    printer.newline("}")
    return printer.text()


def render(node: Script | CommandList | Command | Word) -> str:
    """Print a tree as bash text that parses back to the same tree (spans aside).

    One shape does not round-trip: a here-doc whose delimiter never appears (its body runs
    to the end of the file) followed by more commands on its own line; those commands are
    printed after the body, so they become part of it."""
    printer = _Printer(None, faithful=False, comsub=True)
    if isinstance(node, Word):
        return printer.word(node)
    text = printer.tree(node)
    if text.endswith(("\n", "\\")) or printer.ends_unterminated:
        # a final newline would join a trailing backslash or an unterminated here-doc body
        return text
    return text + "\n"


def format_command(node: Script | CommandList | Command, source: str | None = None) -> str:
    """A command as bash prints it outside a function (how `$( )` bodies are re-printed)."""
    return _Printer(source, faithful=True, comsub=True).tree(node)
