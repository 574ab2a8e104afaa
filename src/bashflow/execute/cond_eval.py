"""execute/cond_eval - `[[ ]]` over the parser's tree, and `test` / `[` over argv (with
POSIX's argument-count rules and bash's error messages)."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import os
import re
import stat
from typing import TYPE_CHECKING

from bashflow.execute import pattern
from bashflow.execute.errors import CommandError, ExpansionError
from bashflow.execute.quoting import quote_trace
from bashflow.execute.state import NAMEREF
from bashflow.parser import syntax as s
from bashflow.parser.cond import BINARY_OPS, UNARY_OPS

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

# test's binary operators: those of `[[ ]]` and `<`, `>` (which `[[ ]]` reads as tokens)
_BINARY = BINARY_OPS | {"<", ">"}
_INT = re.compile(r"[ \t\n]*[-+]?[0-9]+[ \t\n]*\Z")


def file_test(op: str, path: str) -> bool:
    try:
        if op in ("-h", "-L"):
            return stat.S_ISLNK(os.lstat(path).st_mode)
        if op == "-t":
            return path.strip().lstrip("+-").isdigit() and os.isatty(int(path))
        if op in ("-r", "-w", "-x"):
            mode = {"-r": os.R_OK, "-w": os.W_OK, "-x": os.X_OK}[op]
            return bool(path) and os.access(path, mode)
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    m = st.st_mode
    if op in ("-a", "-e"):
        return True
    if op == "-f":
        return stat.S_ISREG(m)
    if op == "-d":
        return stat.S_ISDIR(m)
    if op == "-b":
        return stat.S_ISBLK(m)
    if op == "-c":
        return stat.S_ISCHR(m)
    if op == "-p":
        return stat.S_ISFIFO(m)
    if op == "-S":
        return stat.S_ISSOCK(m)
    if op == "-s":
        return st.st_size > 0
    if op == "-g":
        return bool(m & stat.S_ISGID)
    if op == "-u":
        return bool(m & stat.S_ISUID)
    if op == "-k":
        return bool(m & stat.S_ISVTX)
    if op == "-O":
        return st.st_uid == os.geteuid()
    if op == "-G":
        return st.st_gid == os.getegid()
    if op == "-N":
        return st.st_mtime > st.st_atime
    return False


class CondEvaluator:
    """`[[ ]]` and `test` (a mixin of `Interpreter`)."""

    def eval_cond(self: Interpreter, node: s.CondNode, neg: str = "") -> bool:
        """`neg` is "! " when a `!` applies to this primitive (set -x shows it with it)."""
        if isinstance(node, s.CondAnd):
            return self.eval_cond(node.left) and self.eval_cond(node.right)
        if isinstance(node, s.CondOr):
            return self.eval_cond(node.left) or self.eval_cond(node.right)
        if isinstance(node, s.CondNot):
            return not self.eval_cond(node.operand, "! " if not neg else "")
        if isinstance(node, s.CondGroup):
            return self.eval_cond(node.expr)
        trace = self.state.options["xtrace"]
        if isinstance(node, s.CondWord):
            value = self.expand_str(node.word)
            if trace:
                self.trace(f"[[ {neg}{quote_trace(value)} ]]")
            return value != ""
        if isinstance(node, s.CondUnary):
            value = self.expand_str(node.operand)
            if trace:
                self.trace(f"[[ {neg}{node.op} {quote_trace(value)} ]]")
            return self.unary_test(node.op, value, "[[")
        assert isinstance(node, s.CondBinary)
        op = node.op
        left = self.expand_str(node.left)
        if trace:
            shown = (
                self.expand_pattern(node.right)
                if op in ("==", "=", "!=", "=~")
                else self.expand_str(node.right)
            )
            self.trace(f"[[ {neg}{quote_trace(left)} {op} {shown} ]]")
        if op in ("==", "=", "!="):
            pat = self.expand_pattern(node.right)
            hit = pattern.match(pat, left, extglob=True, nocase=self.state.shopt["nocasematch"])
            return hit if op != "!=" else not hit
        if op == "=~":
            return self.regex_match(left, node.right)
        right = self.expand_str(node.right)
        if op in ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"):
            try:
                a = self.arith.evaluate(left, "[[")
                b = self.arith.evaluate(right, "[[")
            except ExpansionError as err:  # bash reports it and the test is false (status 1)
                self.error(err.message)
                return False
            return _compare(op, a, b)
        return self.binary_test(op, left, right, "[[")

    def regex_match(self: Interpreter, text: str, word: s.Word) -> bool:
        segs = self.expand_parts(word.parts, False, pattern_ctx=True)
        from bashflow.execute.expand import QUOTED

        rx_text = "".join(
            re.escape(t) if f == QUOTED and not _literal_part(t) else t for t, f in segs
        )
        rx_text = _posix_classes(rx_text)
        flags = re.I if self.state.shopt["nocasematch"] else 0
        try:
            rx = re.compile(rx_text, flags)
        except re.error:
            raise _CondStatus(2) from None
        m = rx.search(text)
        if m is None:
            self.state.set_array("BASH_REMATCH", [])
            return False
        groups = [m.group(0)] + [g if g is not None else "" for g in m.groups()]
        self.state.set_array("BASH_REMATCH", groups)
        return True

    def unary_test(self: Interpreter, op: str, arg: str, who: str) -> bool:
        if op == "-z":
            return arg == ""
        if op == "-n":
            return arg != ""
        if op == "-o":
            return bool(self.state.options.get(arg, False))
        if op == "-v":
            return self.var_is_set(arg)
        if op == "-R":
            v = self.state.find(arg)
            return v is not None and bool(v.flags & NAMEREF)
        return file_test(op, arg)

    def var_is_set(self: Interpreter, name: str) -> bool:
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\[(.*)\]\Z", name, re.S)
        if m is not None:
            base, sub = m.group(1), m.group(2)
            if sub in ("@", "*"):
                return bool(self.state.array_items(base))
            value, _ = self.element_value(base, sub)
            return value is not None
        if name.isdigit():
            return 0 < int(name) <= len(self.state.positional)
        return self.state.is_set(name)

    def binary_test(self: Interpreter, op: str, a: str, b: str, who: str) -> bool:
        if op in ("=", "=="):
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op in ("-nt", "-ot"):
            ma = _mtime(a)
            mb = _mtime(b)
            if op == "-nt":
                return ma is not None and (mb is None or ma > mb)
            return mb is not None and (ma is None or ma < mb)
        if op == "-ef":
            try:
                sa, sb = os.stat(a), os.stat(b)
            except OSError:
                return False
            return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
        # integer comparisons of `test`
        return _compare(op, _test_int(a, who), _test_int(b, who))

    # ------------------------------------------------------------------ test / [

    def run_test(self: Interpreter, args: list[str], who: str) -> int:
        if who == "[":
            if not args or args[-1] != "]":
                raise CommandError("[: missing `]'", 2)
            args = args[:-1]
        try:
            return 0 if _TestParser(self, args, who).run() else 1
        except _TestError as err:
            raise CommandError(f"{who}: {err.args[0]}", 2) from None


class _CondStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _TestError(Exception):
    pass


def _literal_part(t: str) -> bool:
    return False


def _posix_classes(rx: str) -> str:
    if "[:" not in rx:
        return rx
    table = {
        "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z",
        "lower": "a-z", "space": r" \t\n\r\f\v", "blank": r" \t", "xdigit": "0-9A-Fa-f",
        "punct": r"!-/:-@\[-`{-~", "cntrl": r"\x00-\x1f\x7f", "print": r"\x20-\x7e",
        "graph": r"\x21-\x7e", "word": r"\w",
    }  # fmt: skip
    return re.sub(r"\[:([a-z]+):\]", lambda m: table.get(m.group(1), m.group()), rx)


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _compare(op: str, a: int, b: int) -> bool:
    if op == "-eq":
        return a == b
    if op == "-ne":
        return a != b
    if op == "-lt":
        return a < b
    if op == "-le":
        return a <= b
    if op == "-gt":
        return a > b
    return a >= b


def _test_int(text: str, who: str) -> int:
    if not _INT.match(text):
        raise _TestError(f"{text}: integer expression expected")
    return int(text)


class _TestParser:
    """`test` expressions: POSIX rules for up to four arguments, then bash's grammar."""

    def __init__(self, interp: Interpreter, args: list[str], who: str) -> None:
        self.ip = interp
        self.args = args
        self.who = who
        self.i = 0

    def run(self) -> bool:
        a = self.args
        n = len(a)
        if n == 0:
            return False
        if n == 1:
            return a[0] != ""
        if n == 2:
            if a[0] == "!":
                return a[1] == ""
            if a[0] in UNARY_OPS:
                return self.ip.unary_test(a[0], a[1], self.who)
            raise _TestError(f"{a[0]}: unary operator expected")
        if n == 3:
            if a[1] in _BINARY and a[1] != "=~":
                return self.binary(a[0], a[1], a[2])
            if a[1] in ("-a", "-o"):
                pass
            elif a[0] == "!":
                self.args = a[1:]
                return not self.run()
            elif a[0] == "(" and a[2] == ")":
                return a[1] != ""
            else:
                raise _TestError(f"{a[1]}: binary operator expected")
        if n == 4 and a[0] == "!":
            self.args = a[1:]
            return not self.run()
        if n == 4 and a[0] == "(" and a[3] == ")":
            self.args = a[1:3]
            return self.run()
        value = self.expr_or()
        if self.i < len(self.args):
            raise _TestError("too many arguments")
        return value

    def binary(self, left: str, op: str, right: str) -> bool:
        return self.ip.binary_test(op, left, right, self.who)

    def peek(self) -> str | None:
        return self.args[self.i] if self.i < len(self.args) else None

    def expr_or(self) -> bool:
        v = self.expr_and()
        while self.peek() == "-o":
            self.i += 1
            w = self.expr_and()
            v = v or w
        return v

    def expr_and(self) -> bool:
        v = self.expr_not()
        while self.peek() == "-a":
            self.i += 1
            w = self.expr_not()
            v = v and w
        return v

    def expr_not(self) -> bool:
        if self.peek() == "!":
            self.i += 1
            return not self.expr_not()
        return self.primary()

    def primary(self) -> bool:
        a = self.args
        tok = self.peek()
        if tok is None:
            raise _TestError("argument expected")
        if tok == "(":
            self.i += 1
            v = self.expr_or()
            if self.peek() != ")":
                raise _TestError("`)' expected")
            self.i += 1
            return v
        if self.i + 2 < len(a) and a[self.i + 1] in _BINARY:
            left, op, right = a[self.i], a[self.i + 1], a[self.i + 2]
            self.i += 3
            return self.binary(left, op, right)
        if tok in UNARY_OPS and self.i + 1 < len(a):
            self.i += 2
            return self.ip.unary_test(tok, a[self.i - 1], self.who)
        self.i += 1
        return tok != ""


__all__ = ["CondEvaluator", "ExpansionError", "_CondStatus"]
