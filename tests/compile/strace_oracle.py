"""What a script really touches, per node: bash under `strace`, accesses attributed to nodes.

The script runs in an empty directory under `strace -f -ff -e trace=%file,%process,write`
with `set -x` turned on by `BASH_ENV` (xtrace to fd 9, `PS4='+LINENO@BASH_LINENO: '`). Every
process's accesses are attributed to the command its shell last announced on fd 9 (a child
inherits its parent's command at `clone`), so a command's redirections, the programs it runs
and their children all count for it. The announcement carries the line and the call stack's
lines, which place the command in a node of each body: the outermost line inside the body's
parent (the call site of a function, for the body that holds the call).

Only paths under the work directory count. Writes are opens for writing, creation, removal,
renaming, mode and time changes; reads are opens for reading, `stat`, `access`, `execve` and
the like. Directory listings are not counted (a listing only changes when names are added, and
which names matter depends on a pattern strace cannot see; the static oracle covers globs).
Two nodes' observed accesses conflict when one writes a path the other reads or writes, or a
path above it (a directory it made, removed or renamed).
"""

from __future__ import annotations

import codecs
import os
import posixpath
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STRACE = "/usr/bin/strace"
_LINE = re.compile(r"^(?P<call>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)")
_XTRACE = re.compile(r"^\++(\d+)@([\d ]*): (.*)$")
_STR = re.compile(r'"((?:[^"\\]|\\.)*)"')
_CLONES = ("clone", "clone3", "fork", "vfork")
_WRITES = frozenset(
    [
        "unlink",
        "unlinkat",
        "rmdir",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "chmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "lchown",
        "fchownat",
        "utime",
        "utimes",
        "utimensat",
        "futimesat",
        "truncate",
        "setxattr",
        "lsetxattr",
        "removexattr",
        "lremovexattr",
    ]
)
_OPENS = frozenset({"open", "openat", "openat2", "creat"})
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")


@dataclass
class Command:
    chain: tuple[int, ...]
    """Call-site lines from the outermost, then the command's own line."""
    text: str


@dataclass
class Access:
    command: Command
    path: str
    write: bool
    call: str
    before: Command | None = None
    """For an access made between two announcements (a compound's redirection): the command
    announced before it; the access belongs to a node between the two."""


@dataclass
class Trace:
    accesses: list[Access] = field(default_factory=list)
    returncode: int = 0
    work: str = ""


def _unescape(s: str) -> str:
    return codecs.escape_decode(s.encode("latin-1", "backslashreplace"))[0].decode(
        "utf-8", "replace"
    )


def run_traced(
    script: Path, workdir: Path, scratch: Path, has_redirect: Callable[[int, str], bool]
) -> Trace:
    """Run `script` in `workdir` under strace. `has_redirect(line, name)` says whether the
    command `name` on `line` has redirections (a builtin's happen in the shell itself)."""
    init = scratch / "init.sh"
    xt = scratch / "xtrace.txt"
    init.write_text(
        f"exec 9>>{xt}\nBASH_XTRACEFD=9\nPS4='+${{LINENO}}@${{BASH_LINENO[*]}}: '\nset -x\n"
    )
    prefix = scratch / "tr"
    env = dict(os.environ, BASH_ENV=str(init), LC_ALL="C")
    calls = "trace=%file,%process,write,chdir,dup2"
    argv = [STRACE, "-f", "-ff", "-qq", "-s", "65536", "-e", calls, "-o", str(prefix)]
    argv += ["/usr/bin/bash", str(script)]
    proc = subprocess.run(
        argv,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    files = {int(p.name.rsplit(".", 1)[1]): p for p in scratch.glob("tr.*")}
    work = str(workdir.resolve())
    trace = Trace(returncode=proc.returncode, work=work)
    if not files:
        return trace
    todo: list[tuple[int, Command | None, str, bool]] = [(min(files), None, work, False)]
    while todo:
        pid, cmd, cwd, child = todo.pop()
        if pid in files:
            _Process(files[pid], cmd, cwd, work, child, trace, todo, has_redirect).run()
    return trace


def _resolve(path: str, base: str | None) -> str | None:
    if not path.startswith("/"):
        if base is None:
            return None
        path = posixpath.join(base, path)
    return posixpath.normpath(path)


class _Process:
    """One process's trace file, read in order.

    Attribution: an access belongs to the command last announced in this process, except
    opens that cannot be that command's: after it forked (its redirections were in the child)
    or restored its descriptors, or when it has no redirections - those are the redirections
    of a compound command (`while ...; done < f`) entered before the next announcement, and
    wait for it. A child's accesses before it announces or execs anything wait the same way.
    """

    def __init__(
        self,
        path: Path,
        cmd: Command | None,
        cwd: str,
        work: str,
        child: bool,
        trace: Trace,
        todo: list[tuple[int, Command | None, str, bool]],
        has_redirect: Callable[[int, str], bool],
    ) -> None:
        self.path = path
        self.cmd = cmd
        self.cwd = cwd
        self.work = work
        self.fresh = child
        self.trace = trace
        self.todo = todo
        self.has_redirect = has_redirect
        self.pending: list[tuple[str, bool, str]] = []
        self.redirects = False
        self.forked = False
        self.done = False
        self.fds: dict[int, str] = {}

    def announce(self, cmd: Command) -> None:
        before, self.cmd = self.cmd, cmd
        self.flush(before)
        self.fresh = self.forked = self.done = False
        words = cmd.text.split(" ", 1)
        self.redirects = self.has_redirect(cmd.chain[-1], words[0])

    def flush(self, before: Command | None = None) -> None:
        for p, write, call in self.pending:
            self.add(p, write, call, before)
        self.pending = []

    def add(self, p: str, write: bool, call: str, before: Command | None = None) -> None:
        if self.cmd is not None:
            self.trace.accesses.append(Access(self.cmd, p, write, call, before))

    def run(self) -> None:
        for raw in self.path.read_text(errors="replace").splitlines():
            m = _LINE.match(raw)
            if m is not None:
                self.event(m.group("call"), m.group("args"), m.group("ret"))
        self.flush()

    def event(self, call: str, args: str, ret: str) -> None:
        if call == "write":
            if args.startswith("9,"):
                s = _STR.search(args)
                for line in _unescape(s.group(1)).splitlines() if s is not None else ():
                    x = _XTRACE.match(line)
                    if x is not None:
                        stack = [int(v) for v in x.group(2).split()]
                        chain = (*reversed(stack[:-1]), int(x.group(1)))
                        self.announce(Command(chain, x.group(3)))
            return
        if call in _CLONES:
            if ret.isdigit():
                self.todo.append((int(ret), self.cmd, self.cwd, True))
                self.forked = True
            return
        if call in ("dup2", "dup3"):
            if args.split(",", 1)[0].strip().isdigit() and int(args.split(",", 1)[0]) >= 10:
                self.done = True  # descriptors saved by the shell are being restored
            return
        strings = [_unescape(s) for s in _STR.findall(args)]
        if call == "chdir":
            if ret == "0" and strings:
                self.cwd = _resolve(strings[0], self.cwd) or self.cwd
            return
        if not strings:
            return
        if call == "execve" and self.fresh:
            self.fresh = False
            self.flush()  # the child runs the command it was forked for
        base: str | None = self.cwd
        first = args.split(",", 1)[0]
        if (call.endswith("at") or call[-1].isdigit()) and first.isdigit():
            base = self.fds.get(int(first))
        paths = strings[:2] if call.startswith(("rename", "link")) else strings[:1]
        if call.startswith("symlink"):
            paths = strings[1:2]  # the target text is not accessed
        is_open = call in _OPENS
        write = call in _WRITES or (is_open and any(f in args for f in _WRITE_FLAGS))
        if ret.startswith("-"):
            write = False  # a failed change (`mkdir` of what exists) only observed the path
        resolved = [_resolve(p, base) for p in paths if p]
        if is_open and ret.isdigit() and resolved and resolved[0] is not None:
            self.fds[int(ret)] = resolved[0]
            if "O_DIRECTORY" in args and not write:
                return  # a directory listing: not counted (see the module docstring)
        wait = self.fresh or (is_open and (self.forked or self.done or not self.redirects))
        for p in resolved:
            if p is None or not (p == self.work or p.startswith(self.work + "/")):
                continue
            if p == self.cwd and not write:
                continue  # bash checks its own working directory: not data
            if wait:
                self.pending.append((p, write, call))
            else:
                self.add(p, write, call)
        if is_open and not wait and ret.startswith("-"):
            self.done = True  # a failed redirection: bash skips the command, nothing follows


# --------------------------------------------------------------------------- attribution


def _lines(n: dict[str, Any]) -> tuple[int, int]:
    return n["span"]["start"]["line"], n["span"]["end"]["line"]


def observed_by_member(
    doc: dict[str, Any], parent: int | None, members: list[dict[str, Any]], trace: Trace
) -> dict[int, list[Access]]:
    """The accesses of each member of one body (a member holds the commands on its lines)."""
    by_id = {n["id"]: n for n in doc["nodes"]}
    kids: dict[int, list[dict[str, Any]]] = {}
    for n in doc["nodes"]:
        if n["parent"] is not None:
            kids.setdefault(n["parent"], []).append(n)

    def extent(n: dict[str, Any]) -> tuple[int, int]:
        lo, hi = _lines(n)
        for c in kids.get(n["id"], []):
            a, b = extent(c)
            lo, hi = min(lo, a), max(hi, b)
        return lo, hi

    def names(n: dict[str, Any]) -> set[str]:
        out = {n["name"]} if n["name"] else set()
        for c in kids.get(n["id"], []):
            out |= names(c)
        return out

    ranges = {m["id"]: extent(m) for m in members}
    pspan = extent(by_id[parent]) if parent is not None else None
    out: dict[int, list[Access]] = {m["id"]: [] for m in members}

    def place(cmd: Command) -> int | None:
        for line in cmd.chain:
            if pspan is None or pspan[0] <= line <= pspan[1]:
                return line
        return None

    for acc in trace.accesses:
        pos = place(acc.command)
        if pos is None:
            continue
        cands = [m for m in members if ranges[m["id"]][0] <= pos <= ranges[m["id"]][1]]
        if acc.before is not None:
            # made between two announcements: a member between them (whose text names the
            # path, when one does: `done < f` of a loop that never announced anything)
            lo = place(acc.before)
            lo = pos if lo is None or lo > pos else lo
            between = [m for m in members if ranges[m["id"]][1] >= lo and ranges[m["id"]][0] <= pos]
            rel = acc.path[len(trace.work) + 1 :] if acc.path.startswith(trace.work + "/") else ""
            redirect = re.compile(r"[<>]\s*[\"']?" + re.escape(rel) + r"(?![\w./-])")
            naming = [m for m in between if rel and redirect.search(m["text"])]
            cands = naming or between or cands
        if len(cands) > 1:
            word = acc.command.text.split(" ", 1)[0]
            named = [m for m in cands if word in names(m)]
            if not named and parent is not None and by_id[parent]["name"] == word:
                continue  # the parent command's own access (`diff <(a) <(b) > out`)
            cands = named or cands
        for m in cands:
            out[m["id"]].append(acc)
    return out


def observed_conflict(a: list[Access], b: list[Access]) -> str | None:
    for x, y in ((a, b), (b, a)):
        writes = {acc.path: acc for acc in x if acc.write}
        for acc in y:
            p = acc.path
            while True:
                w = writes.get(p)
                if w is not None:
                    return (
                        f"`{w.command.text}` {w.call} {w.path}; "
                        f"`{acc.command.text}` {acc.call} {acc.path}"
                    )
                if p in ("/", "") or "/" not in p:
                    break
                p = posixpath.dirname(p)
    return None


# --------------------------------------------------------------------------- the check


def redirect_lookup(doc: dict[str, Any]) -> Callable[[int, str], bool]:
    """Whether a command named `name` starting on `line` has redirections (from its text)."""
    found = {
        (n["span"]["start"]["line"], n["name"])
        for n in doc["nodes"]
        if n["kind"] == "command" and ("<" in n["text"] or ">" in n["text"])
    }
    return lambda line, name: (line, name) in found


def check_traced(script: Path, tmp_path: Path) -> tuple[list[str], int, int]:
    """Compile `script` for an empty work directory, run it there under strace, and list the
    unordered sibling pairs whose observed accesses conflict. Also returns bash's exit status
    and how many accesses were observed."""
    from compile_oracle import sibling_groups, unordered_pairs

    from bashflow.compile import compile_script

    work = tmp_path / "work"
    scratch = tmp_path / "scratch"
    work.mkdir(parents=True)
    scratch.mkdir(parents=True)
    copy = scratch / script.name
    shutil.copy(script, copy)
    data = compile_script(
        copy.read_bytes(), filename=script.name, cwd=str(work.resolve())
    ).to_json()
    trace = run_traced(copy, work, scratch, redirect_lookup(data))
    failures: list[str] = []
    pairs = {(a["id"], b["id"]) for a, b in unordered_pairs(data)}
    for parent, members in sibling_groups(data).items():
        seen = observed_by_member(data, parent, members, trace)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if (a["id"], b["id"]) not in pairs:
                    continue
                why = observed_conflict(seen[a["id"]], seen[b["id"]])
                if why:
                    failures.append(
                        f"nodes {a['id']} `{a['label']}` / {b['id']} `{b['label']}`: {why}"
                    )
    return failures, trace.returncode, len(trace.accesses)
