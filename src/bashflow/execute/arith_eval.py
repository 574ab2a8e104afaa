"""execute/arith_eval - shell arithmetic on expanded text, with bash's 64-bit wrap and errors.

bash expands an arithmetic expression as a string first (so `x=1+2; $(($x*3))` is 7) and
then parses and evaluates the text; variables whose values are not numbers are evaluated
as expressions in turn. Text is compiled once into closures (cached per text), which
evaluate lazily, so `&&`, `||` and `?:` skip their unevaluated side as bash does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from bashflow.execute.errors import ExpansionError, FatalError

if TYPE_CHECKING:
    from bashflow.execute.state import State

Thunk = Callable[[], int]

_MASK = (1 << 64) - 1
_SIGN = 1 << 63
_DEC = re.compile(r"[ \t\n]*-?(?:0|[1-9][0-9]*)[ \t\n]*\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][A-Za-z0-9_@#]*")
_SPACE = re.compile(r"[ \t\n\r]*")
_OPS = (
    "<<=", ">>=", "**", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=",
    "+=", "-=", "&=", "^=", "|=", "++", "--", "+", "-", "*", "/", "%", "<", ">", "=", "!",
    "~", "&", "^", "|", "?", ":", ",", "(", ")",
)  # fmt: skip
_ASSIGN_OPS = frozenset(("=", "*=", "/=", "%=", "+=", "-=", "<<=", ">>=", "&=", "^=", "|="))
_BINARY = (
    ("||",),
    ("&&",),
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<", ">", "<=", ">="),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
)


def wrap(n: int) -> int:
    """`n` as a signed 64-bit integer (bash's intmax_t arithmetic)."""
    n &= _MASK
    return n - (1 << 64) if n & _SIGN else n


class ArithError(Exception):
    def __init__(self, message: str, pos: int, number: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.number = number  # a bad constant: bash names it as the expression and token


def error_message(text: str, err: ArithError, context: str) -> str:
    """`EXPR: MESSAGE (error token is "TOKEN")`, as bash words arithmetic errors."""
    expr = text.lstrip(" \t\n")
    token = text[max(err.pos, len(text) - len(expr)) :]
    if err.number is not None:  # bash cuts the expression after the bad constant
        expr = text[: err.pos + len(err.number)].lstrip(" \t\n")
        token = err.number
    prefix = f"{context}: " if context else ""
    return f'{prefix}{expr}: {err.message} (error token is "{token}")'


def parse_number(text: str) -> int:
    """A bash integer constant: decimal, 0x hex, 0 octal, BASE#DIGITS. Raises ValueError
    with bash's message."""
    base = 10
    digits = text
    if "#" in text:
        b, _, digits = text.partition("#")
        base = parse_number(b) if b.isalnum() else 0
        if not 2 <= base <= 64:
            raise ValueError("invalid arithmetic base")
        if not digits:
            raise ValueError("invalid integer constant")
    elif len(text) > 1 and text[0] == "0":
        if text[1] in "xX":
            base, digits = 16, text[2:]
            if not digits:
                return 0
        else:
            base, digits = 8, text[1:]
    value = 0
    for ch in digits:
        if "0" <= ch <= "9":
            d = ord(ch) - 48
        elif "a" <= ch <= "z":
            d = ord(ch) - 87
        elif "A" <= ch <= "Z":
            d = ord(ch) - 29 if base > 36 else ord(ch) - 55
        elif ch == "@":
            d = 62
        elif ch == "_":
            d = 63
        else:
            raise ValueError("invalid number")
        if d >= base:
            raise ValueError("value too great for base")
        value = value * base + d
    return wrap(value)


class _Parser:
    """Recursive descent in bash's precedence order, building closures."""

    def __init__(self, ev: Evaluator, text: str) -> None:
        self.ev = ev
        self.text = text
        self.pos = 0
        self.tok = ""
        self.tok_start = 0
        self.prev_start = 0
        self.value = ""
        self.advance()

    def advance(self) -> None:
        text = self.text
        self.prev_start = self.tok_start
        i = _SPACE.match(text, self.pos).end()  # type: ignore[union-attr]
        self.tok_start = i
        if i >= len(text):
            self.tok = "EOF"
            self.pos = i
            return
        m = _NUMBER.match(text, i)
        if m:
            self.tok, self.value, self.pos = "NUM", m.group(), m.end()
            return
        m = _NAME.match(text, i)
        if m:
            self.tok, self.value, self.pos = "NAME", m.group(), m.end()
            return
        for op in _OPS:
            if text.startswith(op, i):
                if op in ("++", "--") and self.tok in ("NUM", ")"):
                    op = op[0]  # after an operand that is not a variable: two signs
                self.tok, self.pos = op, i + len(op)
                return
        raise ArithError("syntax error: invalid arithmetic operator", i)

    def fail_operand(self) -> ArithError:
        if self.tok == "EOF":
            return ArithError("syntax error: operand expected", self.prev_start)
        return ArithError("syntax error: operand expected", self.tok_start)

    def parse(self) -> Thunk:
        if self.tok == "EOF":
            return lambda: 0
        f = self.comma()
        if self.tok != "EOF":
            raise ArithError("syntax error in expression", self.tok_start)
        return f

    def comma(self) -> Thunk:
        f = self.assign()
        while self.tok == ",":
            self.advance()
            g = self.assign()
            f = _seq(f, g)
        return f

    def assign(self) -> Thunk:
        start = self.tok_start
        lv = self.lvalue_here()
        f = self.cond()
        if self.tok in _ASSIGN_OPS:
            op = self.tok
            if lv is None or self.tok_start != lv[2]:
                raise ArithError("attempted assignment to non-variable", self.tok_start)
            self.advance()
            rhs = self.assign()
            return self.ev.make_assign(lv[0], lv[1], op, rhs, self.text, start)
        return f

    def lvalue_here(self) -> tuple[str, str | None, int] | None:
        """When the current token is a variable (maybe subscripted) that ends where the
        next token starts: its name, subscript text and the start of its last token."""
        if self.tok != "NAME":
            return None
        text = self.text
        end = self.pos
        sub = None
        if end < len(text) and text[end] == "[":
            close = _bracket_end(text, end)
            if close < 0:
                return None
            sub = text[end + 1 : close]
            end = close + 1
        j = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        return (self.value, sub, j)

    def cond(self) -> Thunk:
        c = self.binary(0)
        if self.tok == "?":
            self.advance()
            if self.tok in (":", "EOF"):
                raise self.fail_operand()
            a = self.comma()
            if self.tok != ":":
                raise ArithError("`:' expected for conditional expression", self.tok_start)
            self.advance()
            if self.tok == "EOF":
                raise self.fail_operand()
            b = self.cond()
            return lambda: a() if c() else b()
        return c

    def binary(self, level: int) -> Thunk:
        if level == len(_BINARY):
            return self.power()
        ops = _BINARY[level]
        f = self.binary(level + 1)
        while self.tok in ops:
            op = self.tok
            pos = self.tok_start
            self.advance()
            g = self.binary(level + 1)
            f = self.ev.make_binary(op, f, g, self.text, pos)
        return f

    def power(self) -> Thunk:
        f = self.unary()
        if self.tok == "**":
            self.advance()
            g = self.power()
            return self.ev.make_binary("**", f, g, self.text, self.prev_start)
        return f

    def unary(self) -> Thunk:
        tok = self.tok
        if tok in ("!", "~", "-", "+"):
            self.advance()
            f = self.unary()
            if tok == "!":
                return lambda: int(not f())
            if tok == "~":
                return lambda: ~f()
            if tok == "-":
                return lambda: wrap(-f())
            return f
        if tok in ("++", "--"):
            self.advance()
            lv = self.lvalue_here()
            if lv is None:
                # not followed by a variable: two signs
                return self.unary()
            self.primary()
            return self.ev.make_incdec(lv[0], lv[1], 1 if tok == "++" else -1, True)
        return self.postfix()

    def postfix(self) -> Thunk:
        lv = self.lvalue_here()
        f = self.primary()
        if lv is not None and self.tok in ("++", "--") and self.tok_start == lv[2]:
            delta = 1 if self.tok == "++" else -1
            self.advance()
            return self.ev.make_incdec(lv[0], lv[1], delta, False)
        return f

    def primary(self) -> Thunk:
        tok = self.tok
        if tok == "NUM":
            text = self.value
            start = self.tok_start
            try:
                n = parse_number(text)
            except ValueError as err:
                raise ArithError(str(err), start, text) from None
            self.advance()
            return lambda: n
        if tok == "NAME":
            name = self.value
            sub = None
            if self.pos < len(self.text) and self.text[self.pos] == "[":
                close = _bracket_end(self.text, self.pos)
                if close < 0:
                    raise ArithError("syntax error: invalid arithmetic operator", self.pos)
                sub = self.text[self.pos + 1 : close]
                self.pos = close + 1
            self.advance()
            return self.ev.make_var(name, sub)
        if tok == "(":
            self.advance()
            f = self.comma()
            if self.tok != ")":
                raise ArithError("missing `)'", self.tok_start)
            self.advance()
            return f
        raise self.fail_operand()


def _bracket_end(text: str, i: int) -> int:
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _seq(f: Thunk, g: Thunk) -> Thunk:
    def run() -> int:
        f()
        return g()

    return run


class Evaluator:
    """Evaluates arithmetic text against a `State`."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.cache: dict[str, Thunk | ArithError] = {}
        self.depth = 0
        self.current = ""
        self.context = ""  # evaluate()'s prefix, which bash keeps for a variable's bad value

    def evaluate(self, text: str, context: str = "") -> int:
        """Evaluate `text`; errors raise `ExpansionError` worded as bash words them
        (`context` is a prefix such as `((` or `let`)."""
        m = _DEC.match(text)
        if m is not None:
            return wrap(int(text))
        outer, self.context = self.context, context
        try:
            return self._eval(text)
        except ArithError as err:
            raise ExpansionError(error_message(text, err, context)) from None
        finally:
            self.context = outer

    def _eval(self, text: str) -> int:
        f = self.cache.get(text)
        if f is None:
            try:
                f = _Parser(self, text).parse()
            except ArithError as err:
                f = err
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[text] = f
        if isinstance(f, ArithError):
            raise ArithError(f.message, f.pos, f.number)
        return f()

    # ------------------------------------------------------------------ variables

    def value_of(self, text: str | None, name: str) -> int:
        if text is None:
            if self.state.options["nounset"]:
                raise FatalError(f"{name}: unbound variable")
            return 0
        if not text:
            return 0
        if text.isdigit():
            if text[0] != "0" or text == "0":
                return wrap(int(text))
            return self.sub_eval(text, self.context)
        return self.sub_eval(text, self.context)

    def sub_eval(self, text: str, context: str = "") -> int:
        self.depth += 1
        try:
            if self.depth > 1024:
                raise ArithError("expression recursion level exceeded", 0)
            try:
                return self._eval(text)
            except ArithError as err:
                raise ExpansionError(error_message(text, err, context)) from None
        finally:
            self.depth -= 1

    def subscript(self, name: str, sub: str) -> str:
        from bashflow.execute.state import ASSOC

        v = self.state.lookup(name)
        if v is not None and v.flags & ASSOC:
            return sub
        if not sub.strip():
            return str(self.bad_subscript(name, sub))
        outer, self.context = self.context, ""  # bash names no command inside a subscript
        try:
            return str(self.sub_eval(sub))
        finally:
            self.context = outer

    def bad_subscript(self, name: str, sub: str) -> int:
        raise ExpansionError(f"{name}[{sub}]: bad array subscript")

    def get_element(self, name: str, key: str) -> str | None:
        from bashflow.execute.state import ASSOC

        v = self.state.lookup(name)
        if v is None or v.value is None:
            return None
        value = v.value
        if isinstance(value, str):
            return value if key == "0" else None
        if v.flags & ASSOC:
            return value.get(key)
        idx = int(key)
        if idx < 0 and value:
            idx += max(value) + 1
        return value.get(idx)

    def make_var(self, name: str, sub: str | None) -> Thunk:
        state = self.state
        if sub is None:
            return lambda: self.value_of(state.get(name), name)

        def element() -> int:
            key = self.subscript(name, sub)
            return self.value_of(self.get_element(name, key), f"{name}[{sub}]")

        return element

    def store(self, name: str, sub: str | None, value: int, key: str | None = None) -> None:
        if sub is None:
            self.state.set(name, str(value))
        else:
            k = key if key is not None else self.subscript(name, sub)
            self.state.set_elem(name, k, str(value))

    def load(self, name: str, sub: str | None, key: str | None = None) -> int:
        if sub is None:
            return self.value_of(self.state.get(name), name)
        k = key if key is not None else self.subscript(name, sub)
        return self.value_of(self.get_element(name, k), f"{name}[{sub}]")

    def make_incdec(self, name: str, sub: str | None, delta: int, prefix: bool) -> Thunk:
        def run() -> int:
            # the subscript is evaluated once (`a[i++]++` moves i by one)
            key = self.subscript(name, sub) if sub is not None else None
            old = self.load(name, sub, key)
            new = wrap(old + delta)
            self.store(name, sub, new, key)
            return new if prefix else old

        return run

    def make_assign(
        self, name: str, sub: str | None, op: str, rhs: Thunk, text: str, pos: int
    ) -> Thunk:
        if op == "=":

            def plain() -> int:
                value = rhs()
                self.store(name, sub, value)
                return value

            return plain
        keys: list[str | None] = [None]  # the element's key, evaluated once per assignment
        binop = self.make_binary(op[:-1], lambda: self.load(name, sub, keys[-1]), rhs, text, pos)

        def compound() -> int:
            keys.append(self.subscript(name, sub) if sub is not None else None)
            try:
                value = binop()
                self.store(name, sub, value, keys[-1])
            finally:
                keys.pop()
            return value

        return compound

    def make_binary(self, op: str, f: Thunk, g: Thunk, text: str, pos: int) -> Thunk:
        if op == "+":
            return lambda: wrap(f() + g())
        if op == "-":
            return lambda: wrap(f() - g())
        if op == "*":
            return lambda: wrap(f() * g())
        if op in ("/", "%"):
            rest = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]

            def divide() -> int:
                a = f()
                b = g()
                if b == 0:
                    raise ArithError("division by 0", rest)
                q = abs(a) // abs(b)
                if (a < 0) != (b < 0):
                    q = -q
                return wrap(q) if op == "/" else wrap(a - b * q)

            return divide
        if op == "**":

            def power() -> int:
                a = f()
                b = g()
                if b < 0:
                    raise ArithError("exponent less than 0", pos)
                return wrap(pow(a, b, 1 << 64))

            return power
        if op == "<<":
            return lambda: wrap(f() << (g() & 63))
        if op == ">>":
            return lambda: f() >> (g() & 63)
        if op == "&":
            return lambda: f() & g()
        if op == "|":
            return lambda: f() | g()
        if op == "^":
            return lambda: f() ^ g()
        if op == "&&":
            return lambda: int(bool(f()) and bool(g()))
        if op == "||":
            return lambda: int(bool(f()) or bool(g()))
        if op == "==":
            return lambda: int(f() == g())
        if op == "!=":
            return lambda: int(f() != g())
        if op == "<":
            return lambda: int(f() < g())
        if op == ">":
            return lambda: int(f() > g())
        if op == "<=":
            return lambda: int(f() <= g())
        if op == ">=":
            return lambda: int(f() >= g())
        raise ArithError("syntax error in expression", pos)  # pragma: no cover
