"""execute/builtins/printf - `printf [-v var] FORMAT [ARGS...]` with every conversion bash
has (`%s %b %q %c %d %i %o %u %x %X %e %E %f %F %g %G %a %A %(fmt)T %%`), flags, widths and
precisions (also `*`), the format reused until the arguments run out, and `echo`."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from bashflow.execute.arith_eval import wrap
from bashflow.execute.errors import CommandError
from bashflow.execute.quoting import echo_escapes, quote_printf

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

_SPEC = re.compile(r"%([-+ #0]*)(\*|[0-9]+)?(?:\.(\*|[0-9]*))?([hlLjzt]*)(\([^)]*\))?([a-zA-Z%])?")


def c_integer(conv: str, flags: str, w: int | None, p: int | None, v: int) -> str:
    """An integer conversion with C's rules (a precision is a minimum digit count, and
    `%.0d` of 0 is empty)."""
    base = {"o": "o", "x": "x", "X": "X"}.get(conv, "d")
    digits = format(abs(v), base)
    if p is not None:
        digits = "" if p == 0 and v == 0 else digits.zfill(p)
    sign = ""
    if base == "d":
        if v < 0:
            sign = "-"
        elif "+" in flags:
            sign = "+"
        elif " " in flags:
            sign = " "
    elif "#" in flags and v:
        if base == "o" and not digits.startswith("0"):
            digits = "0" + digits
        elif base in "xX":
            sign = "0" + base
    width = w or 0
    body = sign + digits
    if len(body) >= width:
        return body
    if "-" in flags:
        return body.ljust(width)
    if "0" in flags and p is None:
        return sign + digits.rjust(width - len(sign), "0")
    return body.rjust(width)


class _Args:
    def __init__(self, interp: Interpreter, args: list[str]) -> None:
        self.ip = interp
        self.args = args
        self.i = 0
        self.status = 0
        self.stop = False  # a `%b` argument's `\c` ends the output

    def next(self) -> str | None:
        if self.i < len(self.args):
            self.i += 1
            return self.args[self.i - 1]
        return None

    def integer(self) -> int:
        a = self.next()
        if a is None or a == "":
            return 0
        return self.to_int(a)

    def to_int(self, a: str) -> int:
        if a[:1] in "'\"":
            return ord(a[1]) if len(a) > 1 else 0
        t = a.strip()
        m = re.match(r"[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", t)
        if m is None or m.end() != len(t):
            self.ip.error(f"printf: {a}: invalid number")
            self.status = 1
            if m is None:
                return 0
            t = m.group()
        try:
            v = int(t, 0) if not re.match(r"[-+]?0[0-7]+\Z", t) else int(t, 8)
        except ValueError:
            v = 0
        if v > (1 << 63) - 1 or v < -(1 << 63):
            self.ip.error(f"printf: warning: {a}: Numerical result out of range")
            v = (1 << 63) - 1 if v > 0 else -(1 << 63)
        return v

    def number(self) -> float:
        a = self.next()
        if a is None or a == "":
            return 0.0
        if a[:1] in "'\"":
            return float(ord(a[1])) if len(a) > 1 else 0.0
        try:
            return float(a.strip())
        except ValueError:
            try:
                return float(self.to_int(a))
            except ValueError:
                return 0.0


class PrintfBuiltin:
    def b_printf(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        var = None
        if args and args[0] == "-v":
            if len(args) < 2:
                raise CommandError(
                    "printf: -v: option requires an argument\nprintf: usage: printf [-v var] format [arguments]",
                    2,
                )
            var = args[1]
            if not re.match(r"[A-Za-z_][A-Za-z0-9_]*(\[.*\])?\Z", var, re.S):
                self.error(f"printf: `{var}': not a valid identifier")
                return 2
            args = args[2:]
        if args and args[0] == "--":
            args = args[1:]
        if not args:
            raise CommandError("\0printf: usage: printf [-v var] format [arguments]", 2)
        fmt = args[0]
        a = _Args(self, args[1:])
        out: list[str] = []
        try:
            while True:
                stop = self.printf_once(fmt, a, out)
                if stop or a.i >= len(a.args) or a.i == 0:
                    break
        except CommandError:
            # bash prints what it formatted before the bad conversion, then the error
            if var is None and out:
                self.out("".join(out))
            raise
        text = "".join(out)
        if var is not None:
            if "[" in var and var.endswith("]"):
                name, _, key = var[:-1].partition("[")
                self.state.set_elem(name, key, text)
            else:
                self.state.set(var, text)
            return a.status
        st = self.out(text)
        return st or a.status

    def printf_once(self: Interpreter, fmt: str, a: _Args, out: list[str]) -> bool:
        i = 0
        n = len(fmt)
        while i < n:
            j = fmt.find("%", i)
            # the text up to the next conversion, its backslash escapes decoded (an escape
            # never contains a `%`, and one that decodes to `%` is literal, as in bash)
            text = fmt[i:] if j < 0 else fmt[i:j]
            out.append(echo_escapes(text, printf_format=True)[0])
            if j < 0:
                return False
            m = _SPEC.match(fmt, j)
            assert m is not None
            flags, width, prec, _, tfmt, conv = m.groups()
            if conv is None:
                raise CommandError(
                    f"printf: `{fmt[j + 1 : j + 2] or '%'}': missing format character"
                    if j + 1 >= n
                    else f"printf: `{fmt[m.end() : m.end() + 1] or fmt[m.end() - 1]}': invalid format character"
                )
            i = m.end()
            if conv == "%":
                if flags or width or prec is not None:
                    raise CommandError("printf: `%': invalid format character")
                out.append("%")
                continue
            w = a.integer() if width == "*" else (int(width) if width else None)
            p = a.integer() if prec == "*" else (int(prec) if prec else (0 if prec == "" else None))
            if w is not None and w < 0:
                flags += "-"
                w = -w
            out.append(self.convert(conv, flags, w, p, tfmt, a))
            if a.stop:
                return True
        return False

    def convert(
        self: Interpreter,
        conv: str,
        flags: str,
        w: int | None,
        p: int | None,
        tfmt: str | None,
        a: _Args,
    ) -> str:
        spec = (
            "%"
            + flags
            + (str(w) if w is not None else "")
            + ("." + str(p) if p is not None else "")
        )
        if conv in "sbqc" or tfmt:
            if tfmt is not None:
                arg = a.next()
                t = int(arg) if arg and arg.lstrip("-").isdigit() else int(time.time())
                if arg in ("-1", None, ""):
                    t = int(time.time())
                text = time.strftime(tfmt[1:-1] or "%X", time.localtime(t))
            else:
                arg = a.next()
                text = arg or ""
                if conv == "b":
                    text, a.stop = echo_escapes(text, bare_octal=True)
                elif conv == "q":
                    text = quote_printf(text) if arg is not None else "''"
                elif conv == "c":
                    # the first byte, as bash's printf (C locale semantics)
                    first = text.encode("utf-8", "surrogateescape")[:1]
                    text = first.decode("utf-8", "surrogateescape") if first else ""
                    if arg is not None and not text:
                        text = "\0"
            # widths and precisions count bytes, as bash's printf does
            raw = text.encode("utf-8", "surrogateescape")
            if p is not None and conv != "c":
                raw = raw[:p]
            if w is not None and len(raw) < w:
                pad = b" " * (w - len(raw))
                raw = raw + pad if "-" in flags else pad + raw
            return raw.decode("utf-8", "surrogateescape")
        if conv in "diouxX":
            v = a.integer()
            if conv in "ouxX":
                v &= (1 << 64) - 1
            else:
                v = wrap(v)
            return c_integer(conv, flags, w, p, v)
        if conv in "eEfFgGaA":
            x = a.number()
            if conv in "aA":
                return x.hex()
            return (spec + conv) % x
        raise CommandError(f"printf: `{conv}': invalid format character")

    def b_echo(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        newline = True
        escapes = self.state.shopt["xpg_echo"]
        while (
            args and len(args[0]) > 1 and args[0][0] == "-" and all(c in "neE" for c in args[0][1:])
        ):
            for c in args[0][1:]:
                if c == "n":
                    newline = False
                elif c == "e":
                    escapes = True
                else:
                    escapes = False
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text, stop = echo_escapes(text)
            if stop:
                return self.out(text)
        return self.out(text + "\n" if newline else text)
