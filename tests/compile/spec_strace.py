"""Helpers for the strace check of the command specs: what a real process opens and changes.

`trace(argv, cwd)` runs one command under `strace -ff -y -e trace=%file,chdir,fchdir` and
returns the absolute paths it read (a file opened for reading, a directory whose entries it
listed with getdents64) and wrote (opened for writing, created, removed, renamed, linked,
chmod'ed, chown'ed, touched). Only successful calls count; metadata reads (stat, access) and
opening a directory without listing it (a handle to come back to, a dirfd) are not reads.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

STRACE = "/usr/bin/strace"

_LINE = re.compile(r"^(?P<call>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)(?P<rest>.*)$")
_FD = re.compile(r"^(?:AT_FDCWD|-?\d+)<(?P<path>[^>]*)>$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")

# call -> (index of the first path argument among the call's arguments, dirfd index or None,
#          kind); for two-path calls the second path follows with its own dirfd.
_WRITE_CALLS: dict[str, tuple[tuple[int | None, int], ...]] = {
    "unlink": ((None, 0),),
    "unlinkat": ((0, 1),),
    "rmdir": ((None, 0),),
    "mkdir": ((None, 0),),
    "mkdirat": ((0, 1),),
    "mknod": ((None, 0),),
    "mknodat": ((0, 1),),
    "rename": ((None, 0), (None, 1)),
    "renameat": ((0, 1), (2, 3)),
    "renameat2": ((0, 1), (2, 3)),
    "link": ((None, 1),),
    "linkat": ((2, 3),),
    "symlink": ((None, 1),),
    "symlinkat": ((1, 2),),
    "chmod": ((None, 0),),
    "fchmodat": ((0, 1),),
    "chown": ((None, 0),),
    "lchown": ((None, 0),),
    "fchownat": ((0, 1),),
    "utimensat": ((0, 1),),
    "utime": ((None, 0),),
    "utimes": ((None, 0),),
    "truncate": ((None, 0),),
    "creat": ((None, 0),),
    "setxattr": ((None, 0),),
    "lsetxattr": ((None, 0),),
    "removexattr": ((None, 0),),
}


@dataclass
class Trace:
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    created_dirs: set[str] = field(default_factory=set)  # mkdir'ed (a parent made by -p)
    listed: set[str] = field(default_factory=set)  # directories whose entries were read
    returncode: int = 0
    stderr: str = ""


def _split_args(args: str) -> list[str]:
    """Top-level comma-separated arguments (strings, braces and brackets kept whole)."""
    out: list[str] = []
    depth = 0
    cur: list[str] = []
    i = 0
    while i < len(args):
        c = args[i]
        if c == '"':
            m = _STRING.match(args, i)
            end = m.end() if m else len(args)
            cur.append(args[i:end])
            i = end
            continue
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        out.append("".join(cur).strip())
    return out


def _unquote(s: str) -> str | None:
    m = _STRING.fullmatch(s.strip())
    if m is None:
        return None
    return m.group(1).encode("latin-1", "backslashreplace").decode("unicode_escape")


def _resolve(path: str, dirfd: str | None, cwd: str) -> str:
    if path.startswith("/"):
        return os.path.normpath(path)
    base = cwd
    if dirfd is not None:
        m = _FD.match(dirfd.strip())
        if m:
            base = m.group("path")
    return os.path.normpath(os.path.join(base, path))


def parse_log(text: str, cwd: str, out: Trace) -> None:
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None or m.group("ret") in ("?",) or int(m.group("ret")) < 0:
            continue
        call, args = m.group("call"), _split_args(m.group("args"))
        for a in args:  # the working directory, as strace -y shows it
            fd = _FD.match(a)
            if a.startswith("AT_FDCWD") and fd:
                cwd = fd.group("path")
        if call in ("chdir",):
            p = _unquote(args[0]) if args else None
            if p is not None:
                cwd = _resolve(p, None, cwd)
            continue
        if call == "fchdir":
            fd = _FD.match(args[0]) if args else None
            if fd:
                cwd = fd.group("path")
            continue
        if call in ("getdents64", "getdents"):
            fd = _FD.match(args[0]) if args else None
            if fd:
                out.reads.add(os.path.normpath(fd.group("path")))
                out.listed.add(os.path.normpath(fd.group("path")))
            continue
        if call in ("open", "openat"):
            pi = 0 if call == "open" else 1
            if len(args) <= pi + 1:
                continue
            flags = args[pi + 1]
            if "O_PATH" in flags:
                continue
            ret = re.match(r"\s*<(?P<p>[^>]*)>", m.group("rest"))
            p = _unquote(args[pi])
            if ret:
                path = os.path.normpath(ret.group("p"))
            elif p is not None:
                path = _resolve(p, args[0] if call == "openat" else None, cwd)
            else:
                continue
            if any(f in flags for f in _WRITE_FLAGS):
                out.writes.add(path)
            elif "O_DIRECTORY" not in flags:
                out.reads.add(path)
            continue
        spec = _WRITE_CALLS.get(call)
        if spec is None:
            continue
        if call == "utimensat" and (len(args) < 2 or _unquote(args[1]) in (None, "")):
            fd = _FD.match(args[0]) if args else None  # futimens on an open file
            if fd:
                out.writes.add(os.path.normpath(fd.group("path")))
            continue
        for dirfd_i, path_i in spec:
            if path_i >= len(args):
                continue
            p = _unquote(args[path_i])
            if p is None:
                continue
            dirfd = args[dirfd_i] if dirfd_i is not None else None
            path = _resolve(p, dirfd, cwd)
            out.writes.add(path)
            if call in ("mkdir", "mkdirat"):
                out.created_dirs.add(path)


def trace(
    argv: list[str], cwd: Path, stdin: bytes = b"", env: dict[str, str] | None = None
) -> Trace:
    """Run argv in cwd under strace; every process of the tree is followed."""
    with tempfile.TemporaryDirectory(prefix="bashflow-strace-") as logs:
        prefix = os.path.join(logs, "t")
        proc = subprocess.run(
            [
                STRACE,
                "-ff",
                "-qq",
                "-y",
                "-e",
                "trace=%file,chdir,fchdir,getdents64",
                "-o",
                prefix,
                "--",
                *argv,
            ],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        out = Trace(returncode=proc.returncode, stderr=proc.stderr.decode(errors="replace"))
        for name in sorted(os.listdir(logs)):
            with open(os.path.join(logs, name), encoding="utf-8", errors="replace") as f:
                parse_log(f.read(), str(cwd), out)
    # a directory opened without O_DIRECTORY (fts keeps "." to come back to) is not read:
    # its entries are read by getdents64, recorded as such
    out.reads = {p for p in out.reads if p in out.listed or not os.path.isdir(p)}
    return out
