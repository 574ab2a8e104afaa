"""execute/redirect - redirections applied to the interpreter's real file descriptors.

Each redirection saves the descriptor it replaces (duplicated above 10, close-on-exec) so
the caller can restore it when the command ends; `exec` keeps them. Here-documents and
here-strings are fed through a pipe when they fit in its buffer, else a deleted temp file.
"""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from typing import TYPE_CHECKING

from bashflow.execute.errors import CommandError
from bashflow.execute.state import ASSOC
from bashflow.parser import syntax as s

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

Saved = list[tuple[int, int]]  # (fd, saved copy or -1 when it was closed)
_PIPE_LIMIT = 60000


def _strerror(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else str(err)


def is_open(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True


def heredoc_fd(data: bytes) -> int:
    """A readable descriptor whose content is `data`."""
    if len(data) <= _PIPE_LIMIT:
        r, w = os.pipe()
        if data:
            os.write(w, data)
        os.close(w)
        return r
    fd, path = tempfile.mkstemp(prefix="bashflow-heredoc-")
    os.unlink(path)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Redirector:
    """Applying and undoing redirections (a mixin of `Interpreter`)."""

    def save_fd(self: Interpreter, fd: int, saved: Saved | None) -> None:
        if saved is None:
            return
        for f, _ in saved:
            if f == fd:
                return
        try:
            copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        except OSError:
            copy = -1
        saved.append((fd, copy))

    def restore(self: Interpreter, saved: Saved) -> None:
        for fd, copy in reversed(saved):
            if copy >= 0:
                os.dup2(copy, fd)
                os.close(copy)
            else:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def redirect_target(self: Interpreter, r: s.Redirect) -> str:
        word = r.target
        assert isinstance(word, s.Word)
        words = self.expand_words([word])
        if len(words) != 1:
            raise CommandError(f"{self.source_text(word.span)}: ambiguous redirect")
        return words[0]

    def apply_redirects(
        self: Interpreter, redirects: tuple[s.Redirect, ...], saved: Saved | None
    ) -> None:
        """Apply `redirects` in order; on error, what was applied stays recorded in `saved`
        (the caller restores) and CommandError is raised."""
        for r in redirects:
            self.apply_one(r, saved)

    def apply_one(self: Interpreter, r: s.Redirect, saved: Saved | None) -> None:
        op = r.op
        if op in ("<<", "<<-"):
            doc = r.target
            assert isinstance(doc, s.HereDoc)
            text = self.expand_heredoc(doc)
            self.install(r, 0, heredoc_fd(self.encode(text)), saved)
            return
        if op == "<<<":
            assert isinstance(r.target, s.Word)
            text = self.expand_str(r.target) + "\n"
            self.install(r, 0, heredoc_fd(self.encode(text)), saved)
            return
        default = 0 if op in ("<", "<>", "<&") else 1
        if op in (">&", "<&"):
            target = self.redirect_target(r)
            if target == "-" or (target.endswith("-") and target[:-1].isdigit()):
                fd = r.fd if r.fd is not None else default
                if r.fd_var is not None:
                    held = self.fd_var_get(r.fd_var) or ""
                    if not held.isdigit():
                        raise CommandError(f"{r.fd_var}: ambiguous redirect")
                    fd = int(held)
                    if target == "-":
                        with contextlib.suppress(OSError):
                            os.close(fd)
                        return
                src = int(target[:-1]) if target != "-" else -1
                if src >= 0:
                    # move: duplicate onto fd, then close the source
                    self.dup_to(r, src, fd, saved)
                    self.save_fd(src, saved)
                    with contextlib.suppress(OSError):
                        os.close(src)
                    return
                self.save_fd(fd, saved)
                with contextlib.suppress(OSError):
                    os.close(fd)
                return
            if target.isdigit():
                fd = r.fd if r.fd is not None else default
                self.dup_to(r, int(target), fd, saved)
                return
            if op == "<&" or r.fd is not None:
                raise CommandError(f"{target}: ambiguous redirect")
            op = "&>"
        path = self.redirect_target(r)
        flags = {
            "<": os.O_RDONLY,
            ">": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
            ">|": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
            ">>": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            "<>": os.O_RDWR | os.O_CREAT,
            "&>": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
            "&>>": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
        }[op]
        if op in (">", "&>") and self.state.options["noclobber"]:
            try:
                st = os.stat(path)
            except OSError:
                flags |= os.O_EXCL
            else:
                import stat as stat_mod

                if stat_mod.S_ISREG(st.st_mode):
                    raise CommandError(f"{path}: cannot overwrite existing file")
        try:
            fd_new = self.open_target(path, flags)
        except OSError as err:
            if err.errno == errno.EEXIST:
                raise CommandError(f"{path}: cannot overwrite existing file") from None
            raise CommandError(f"{path}: {_strerror(err)}") from None
        if op in ("&>", "&>>"):
            self.save_fd(1, saved)
            self.save_fd(2, saved)
            os.dup2(fd_new, 1)
            os.dup2(fd_new, 2)
            os.close(fd_new)
            return
        self.install(r, default, fd_new, saved)

    def open_target(self: Interpreter, path: str, flags: int) -> int:
        """Open a redirection's file; `/dev/tcp/HOST/PORT` and `/dev/udp/HOST/PORT` are a
        socket connected there, as bash makes them (not in posix mode)."""
        if path.startswith(("/dev/tcp/", "/dev/udp/")) and not self.state.options["posix"]:
            host, sep, port = path[9:].partition("/")
            if sep:
                return self.net_open(path, path[5:8], host, port)
        return os.open(path, flags, 0o666)

    def net_open(self: Interpreter, path: str, proto: str, host: str, port: str) -> int:
        """bash's netopen: resolve HOST and PORT, connect to each address in turn; errors
        worded as bash words them (`connect: ...` without a line number, then the
        redirection's own error)."""
        import socket

        if self.policy is not None:
            denied = self.policy.judge_redirect(path)
            if denied is not None:
                line = f"({self.source.filename}:{self.state.lineno})"
                self.write(2, f"bashflow: denied: {denied} {line}\n")
                raise CommandError(f"{path}: {os.strerror(errno.EACCES)}")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        try:
            infos = socket.getaddrinfo(host, port, 0, kind)
        except socket.gaierror as err:
            what = port if err.errno == socket.EAI_SERVICE else host
            self.error(f"{what}: {err.strerror}")
            raise CommandError(f"{path}: {os.strerror(errno.EINVAL)}") from None
        failed, reason = "connect", os.strerror(errno.EINVAL)
        for family, socktype, protocol, _, address in infos:
            try:
                sock = socket.socket(family, socktype, protocol)
            except OSError as err:
                failed, reason = "socket", _strerror(err)
                continue
            try:
                sock.connect(address)
            except OSError as err:
                sock.close()
                failed, reason = "connect", _strerror(err)
                continue
            return sock.detach()
        # only the last address's failure is reported, as bash reports it
        self.write(2, f"{self.error_name}: {failed}: {reason}\n")
        raise CommandError(f"{path}: {reason}")

    def fd_var_ref(self: Interpreter, name: str) -> tuple[str, str | None]:
        """`{name}` or `{name[sub]}`: the variable and the element's key (None: a plain
        variable); the subscript is expanded and, for an indexed array, evaluated."""
        if not name.endswith("]"):
            return name, None
        base, _, sub = name[:-1].partition("[")
        if "$" in sub or "`" in sub:
            sub = self.expand_prompt(sub)
        return base, self.arith.subscript(base, sub)

    def fd_var_get(self: Interpreter, name: str) -> str | None:
        base, key = self.fd_var_ref(name)
        if key is None:
            return self.state.get(name)
        v = self.state.lookup(base)
        if v is None:
            return None
        if not isinstance(v.value, dict):
            return v.value if key == "0" else None
        return v.value.get(key if v.flags & ASSOC else int(key))

    def fd_var_set(self: Interpreter, name: str, value: str) -> None:
        base, key = self.fd_var_ref(name)
        if key is None:
            self.state.set(name, value)
        else:
            self.state.set_elem(base, key, value)

    def install(
        self: Interpreter, r: s.Redirect, default: int, fd_new: int, saved: Saved | None
    ) -> None:
        if r.fd_var is not None:
            fd = fcntl.fcntl(fd_new, fcntl.F_DUPFD, 10)
            os.close(fd_new)
            os.set_inheritable(fd, True)
            self.fd_var_set(r.fd_var, str(fd))
            return
        fd = r.fd if r.fd is not None else default
        if fd_new == fd:
            os.set_inheritable(fd, True)
            return
        self.save_fd(fd, saved)
        os.dup2(fd_new, fd)
        os.close(fd_new)

    def dup_to(self: Interpreter, r: s.Redirect, src: int, fd: int, saved: Saved | None) -> None:
        if r.fd_var is not None:
            try:
                new = fcntl.fcntl(src, fcntl.F_DUPFD, 10)
            except OSError:
                raise CommandError(f"{src}: Bad file descriptor") from None
            self.fd_var_set(r.fd_var, str(new))
            return
        if not is_open(src) or src in self.internal_fds:
            raise CommandError(f"{src}: Bad file descriptor")
        if src == fd:
            return
        self.save_fd(fd, saved)
        os.dup2(src, fd)

    def expand_heredoc(self: Interpreter, doc: s.HereDoc) -> str:
        if doc.quoted:
            return "".join(
                p.text for p in doc.body.parts if isinstance(p, s.Literal)
            ) or self.source_text(doc.body.span)
        return self.expand_str(doc.body)
