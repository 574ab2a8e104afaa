"""execute/builtins/io - `read` (every flag) and `mapfile`/`readarray`.

Input is read without over-reading, as bash does: a byte at a time from pipes and
terminals, in blocks (then seeking back) from regular files, so the next command sees the
rest of the input."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import os
import re
import select
import stat
from typing import TYPE_CHECKING

from bashflow.execute.errors import CommandError, ShellError
from bashflow.execute.quoting import single_quote
from bashflow.execute.state import ASSOC

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


def _seekable(fd: int) -> bool:
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


class IOBuiltins:
    def read_until(
        self: Interpreter,
        fd: int,
        delim: str | None,
        limit: int | None,
        timeout: float | None = None,
    ) -> tuple[str, bool]:
        """Read up to `delim` (None: exactly `limit` chars / to EOF); (text, hit EOF)."""
        data = bytearray()
        dbyte = delim.encode("utf-8", "surrogateescape")[:1] if delim is not None else None
        if delim == "":
            dbyte = b"\0"
        seek = _seekable(fd)
        while True:
            if limit is not None and len(data.decode("utf-8", "surrogateescape")) >= limit:
                return data.decode("utf-8", "surrogateescape"), False
            if timeout is not None:
                ready, _, _ = select.select([fd], [], [], timeout)
                if not ready:
                    raise TimeoutError
            if seek:
                try:
                    chunk = os.read(fd, 4096)
                except OSError as err:
                    raise CommandError(
                        f"read: read error: {fd}: {os.strerror(err.errno or 5)}"
                    ) from None
                if not chunk:
                    return data.decode("utf-8", "surrogateescape"), True
                take = len(chunk)
                if dbyte is not None:
                    pos = chunk.find(dbyte)
                    if pos >= 0:
                        take = pos + 1
                if limit is not None:
                    take = min(take, limit - len(data))
                data += chunk[:take]
                if take < len(chunk):
                    os.lseek(fd, take - len(chunk), os.SEEK_CUR)
                if dbyte is not None and chunk[:take].endswith(dbyte):
                    return data[:-1].decode("utf-8", "surrogateescape"), False
                continue
            try:
                b = os.read(fd, 1)
            except OSError as err:
                raise CommandError(
                    f"read: read error: {fd}: {os.strerror(err.errno or 5)}"
                ) from None
            if not b:
                return data.decode("utf-8", "surrogateescape"), True
            if dbyte is not None and b == dbyte:
                return data.decode("utf-8", "surrogateescape"), False
            data += b

    def assign_name(self: Interpreter, name: str, value: str) -> None:
        """`name` or `name[key]` (read's targets may be array elements)."""
        if name.endswith("]") and "[" in name:
            base, _, key = name[:-1].partition("[")
            var = self.state.lookup(base)
            if var is None or not var.flags & ASSOC:
                key = str(self.arith.evaluate(key))
            self.state.set_elem(base, key, value)
        else:
            self.state.set(name, value)

    def read_line(self: Interpreter, fd: int) -> str | None:
        text, eof = self.read_until(fd, "\n", None)
        if eof and not text:
            return None
        return text + ("" if eof else "\n")

    def b_mapfile(self: Interpreter, argv: list[str]) -> int:
        return mapfile(self, argv)

    def b_read(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        raw = False
        delim = "\n"
        nchars: int | None = None
        exact = False
        prompt = ""
        array: str | None = None
        fd = 0
        timeout: float | None = None
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            j = 1
            while j < len(a):
                ch = a[j]
                if ch in "rse":
                    raw = raw or ch == "r"
                    j += 1
                    continue
                if ch not in "adnNptui":
                    raise CommandError(
                        f"read: -{ch}: invalid option\nread: usage: read [-ers] [-a array] [-d delim] [-i text] [-n nchars] [-N nchars] [-p prompt] [-t timeout] [-u fd] [name ...]",
                        2,
                    )
                value = a[j + 1 :]
                if not value:
                    if not args:
                        raise CommandError(f"read: -{ch}: option requires an argument", 2)
                    value = args.pop(0)
                if ch == "a":
                    array = value
                elif ch == "d":
                    delim = value[:1]
                elif ch in "nN":
                    if not value.isdigit():
                        raise CommandError(f"read: {value}: invalid number")
                    nchars = int(value)
                    exact = ch == "N"
                elif ch == "p":
                    prompt = value
                elif ch == "t":
                    try:
                        timeout = float(value)
                    except ValueError:
                        raise CommandError(
                            f"read: {value}: invalid timeout specification"
                        ) from None
                elif ch == "u":
                    if not value.isdigit():
                        raise CommandError(f"read: {value}: invalid file descriptor specification")
                    fd = int(value)
                break
        for name in args:
            if not re.match(r"[A-Za-z_][A-Za-z0-9_]*(\[.+\])?\Z", name, re.S):
                self.error(f"read: `{name}': not a valid identifier")
                return 1
        reply = not args and array is None
        if fd != 0 and not _fd_open(fd):
            raise CommandError(f"read: {fd}: invalid file descriptor: Bad file descriptor")
        names = args or ([] if array else ["REPLY"])
        if prompt and os.isatty(fd):
            self.write(2, prompt)
        if timeout == 0:
            ready, _, _ = select.select([fd], [], [], 0)
            return 0 if ready else 1
        try:
            text, eof = self.read_input(fd, delim, nchars, exact, raw, timeout)
        except TimeoutError:
            return 142
        except OSError:
            raise CommandError(
                f"read: {fd}: invalid file descriptor: Bad file descriptor"
            ) from None
        ifs = self.state.get("IFS")
        if ifs is None:
            ifs = " \t\n"
        if exact:
            fields = [text]
            if array is None and names:
                self.state.set(names[0], text)
                return 1 if eof and not text else (1 if eof and len(text) < (nchars or 0) else 0)
        try:
            if array is not None:
                fields = _split_all(text, ifs, raw)
                self.state.unset(array)
                self.state.set_array(array, [f for f in fields])
            elif reply:
                self.state.set("REPLY", "".join(c for c, _ in _unescape_fields(text, raw)))
            else:
                fields = _split_fields(text, ifs, len(names), raw)
                for i, name in enumerate(names):
                    self.assign_name(name, fields[i] if i < len(fields) else "")
        except ShellError as err:
            self.error(err.message)
            return 1
        return 1 if eof else 0

    def read_input(
        self: Interpreter,
        fd: int,
        delim: str,
        nchars: int | None,
        exact: bool,
        raw: bool,
        timeout: float | None,
    ) -> tuple[str, bool]:
        if exact:
            return self.read_until(fd, None, nchars, timeout)
        if nchars is not None and not raw:
            return self.read_counted(fd, delim, nchars, timeout)
        out: list[str] = []
        while True:
            text, eof = self.read_until(fd, delim, nchars, timeout)
            if raw or eof:
                out.append(text)
                break
            # an odd trailing backslash continues the line
            if _odd_backslashes(text):
                out.append(text[:-1])
                continue
            out.append(text)
            break
        return "".join(out), eof

    def read_counted(
        self: Interpreter, fd: int, delim: str, nchars: int, timeout: float | None
    ) -> tuple[str, bool]:
        """`read -n N` without -r: N characters after backslash escapes (an escaped
        character counts once, a backslash-newline not at all)."""
        out: list[str] = []
        count = 0
        while count < nchars:
            ch, eof = self.read_until(fd, None, 1, timeout)
            if eof and not ch:
                return "".join(out), True
            if ch == delim:
                break
            if ch == "\\":
                nxt, eof = self.read_until(fd, None, 1, timeout)
                if eof and not nxt:
                    return "".join(out), True
                if nxt == "\n":
                    continue
                out.append("\\" + nxt)
            else:
                out.append(ch)
            count += 1
        return "".join(out), False


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _odd_backslashes(text: str) -> bool:
    n = len(text) - len(text.rstrip("\\"))
    return n % 2 == 1


def _unescape_fields(text: str, raw: bool) -> list[tuple[str, bool]]:
    """Characters with whether each was escaped by a backslash (without -r)."""
    if raw:
        return [(c, False) for c in text]
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append((text[i + 1], True))
            i += 2
            continue
        if c == "\\":
            i += 1
            continue
        out.append((c, False))
        i += 1
    return out


def _split_fields(text: str, ifs: str, count: int, raw: bool) -> list[str]:
    chars = _unescape_fields(text, raw)
    ws = "".join(c for c in ifs if c in " \t\n")
    fields: list[str] = []
    i = 0
    n = len(chars)
    while i < n and chars[i][0] in ws and not chars[i][1]:
        i += 1
    while i < n:
        if len(fields) == count - 1:
            rest = chars[i:]
            # trailing IFS whitespace is removed from the last field
            while rest and rest[-1][0] in ws and not rest[-1][1]:
                rest.pop()
            # and a single trailing non-whitespace delimiter when it is the only one left
            if rest and rest[-1][0] in ifs and rest[-1][0] not in ws and not rest[-1][1]:
                body = rest[:-1]
                if not any(c in ifs and not e for c, e in body):
                    rest = body
                    while rest and rest[-1][0] in ws and not rest[-1][1]:
                        rest.pop()
            fields.append("".join(c for c, _ in rest))
            return fields
        cur: list[str] = []
        while i < n and not (chars[i][0] in ifs and not chars[i][1]):
            cur.append(chars[i][0])
            i += 1
        fields.append("".join(cur))
        if i < n:
            sep = chars[i][0]
            i += 1
            while i < n and chars[i][0] in ws and not chars[i][1]:
                i += 1
            if (
                sep in ws
                and i < n
                and chars[i][0] in ifs
                and chars[i][0] not in ws
                and not chars[i][1]
            ):
                i += 1
                while i < n and chars[i][0] in ws and not chars[i][1]:
                    i += 1
    return fields


def _split_all(text: str, ifs: str, raw: bool) -> list[str]:
    from bashflow.execute.expand import SPLIT, ifs_split

    if raw:
        return ["".join(t for t, _ in f) for f in ifs_split([(text, SPLIT)], ifs)]
    return _split_fields(text, ifs, 1 << 30, raw)


def mapfile(interp: Interpreter, argv: list[str]) -> int:
    args = argv[1:]
    strip = False
    delim = "\n"
    callback = ""
    quantum = 5000
    count = 0
    origin: int | None = None
    skip = 0
    fd = 0
    while args and args[0].startswith("-") and len(args[0]) > 1:
        a = args.pop(0)
        if a == "--":
            break
        ch = a[1]
        if ch == "t":
            strip = True
            continue
        value = a[2:] or (args.pop(0) if args else "")
        if ch == "d":
            delim = value[:1] if value else "\0"
        elif ch == "n":
            if not value.lstrip("-").isdigit() or int(value) < 0:
                raise CommandError(f"{argv[0]}: {value}: invalid line count")
            count = int(value)
        elif ch == "O":
            origin = int(value)
        elif ch == "s":
            skip = int(value)
        elif ch == "u":
            fd = int(value)
        elif ch == "C":
            callback = value
        elif ch == "c":
            quantum = int(value)
        else:
            raise CommandError(f"{argv[0]}: -{ch}: invalid option", 2)
    name = args[0] if args else "MAPFILE"
    if not _fd_open(fd):
        raise CommandError(f"{argv[0]}: {fd}: invalid file descriptor: Bad file descriptor")
    lines: list[str] = []
    while count == 0 or len(lines) < count + skip:
        text, eof = interp.read_until(fd, delim, None)
        if eof and not text:
            break
        lines.append(text if strip or eof else text + delim)
        if eof:
            break
    lines = lines[skip:]
    st = interp.state
    if callback:
        base = origin or 0
        for i, line in enumerate(lines):
            if (i + 1) % quantum == 0:
                interp.run_string(f"{callback} {base + i} {single_quote(line)}\n", "eval")
    if origin is None:
        st.unset(name)
        st.set_array(name, lines)
    else:
        for i, line in enumerate(lines):
            st.set_elem(name, str(origin + i), line)
    return 0
