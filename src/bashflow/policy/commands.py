"""policy/commands.py - argv rules: whole-word prefixes, deny by basename, flag normalisation.

Allow entries are whole-word argv prefixes matched on a *bare* program name (or one spelled in a
standard system bin directory): `git status` allows `git status -s`, never `git statusx`, never
`./git status`. Deny entries match the program by basename wherever it lives; their flag words
match anywhere in argv after normalisation (`-rf`, `-fr`, `-r -f`, `--recursive --force` are
one set), and their other words are the subcommand after global options (`git -C x push
--force` is `git push --force`). Deny beats allow; `"*"` allows any program that is not denied.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from bashflow.policy.groups import expand_commands
from bashflow.policy.records import record

SYSTEM_BIN_DIRS = frozenset(
    {"/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}
)

# Long options (and odd short spellings) that mean the same as a short flag, per program.
_ALIASES: dict[str, dict[str, str]] = {
    "rm": {"--recursive": "-r", "-R": "-r", "--force": "-f", "--dir": "-d"},
    "cp": {"--recursive": "-r", "-R": "-r", "--force": "-f"},
    "mv": {"--force": "-f"},
    "chmod": {"--recursive": "-R"},
    "chown": {"--recursive": "-R"},
    "git": {"--force": "-f", "--force-with-lease": "-f", "--force-if-includes": "-f"},
    "grep": {"--recursive": "-r", "-R": "-r", "--dereference-recursive": "-r"},
    "sed": {"--in-place": "-i"},
    "ln": {"--force": "-f", "--symbolic": "-s"},
}

# Global options that take the next word as their argument (so it is not the subcommand).
_GLOBAL_WITH_ARG: dict[str, frozenset[str]] = {
    "git": frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env"}),
    "docker": frozenset({"-H", "--host", "--context", "-c", "--config", "-l", "--log-level"}),
    "pip": frozenset({"--python", "--log", "--cache-dir"}),
    "pip3": frozenset({"--python", "--log", "--cache-dir"}),
    "npm": frozenset({"--prefix", "-C"}),
    "cargo": frozenset({"-C", "--config", "-Z"}),
    "make": frozenset({"-C", "-f", "--file", "--directory", "-j", "-l", "-o", "-W"}),
    "kubectl": frozenset({"-n", "--namespace", "--context", "--kubeconfig", "-s", "--server"}),
}


def basename(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1] if "/" in name else name


def is_system_path(name: str) -> bool:
    """`/bin/rm`, `/usr/bin/rm`: a program spelled in a standard system bin directory."""
    if not name.startswith("/"):
        return False
    norm = posixpath.normpath(name)
    return posixpath.dirname(norm) in SYSTEM_BIN_DIRS and norm == name.replace("//", "/")


def flag_set(program: str, args: Sequence[str]) -> frozenset[str]:
    """The normalised flags of `args`: short clusters split, long aliases mapped, `=value`
    dropped; stops at `--`. `git push origin +main` counts as `-f` (a forcing refspec)."""
    aliases = _ALIASES.get(program, {})
    out: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--") and len(arg) > 2:
            name = arg.split("=", 1)[0]
            out.add(aliases.get(name, name))
            if name not in aliases:  # getopt_long takes unambiguous prefixes: --rec, --forc
                out.update(v for k, v in aliases.items() if k.startswith(name) and k[:2] == "--")
        elif arg.startswith("-") and len(arg) > 1:
            for ch in arg[1:]:
                flag = "-" + ch
                out.add(aliases.get(flag, flag))
        elif program == "git" and arg.startswith("+") and len(arg) > 1:
            out.add("-f")
    return frozenset(out)


def positionals(program: str, args: Sequence[str]) -> list[str]:
    """The non-flag words of `args` in order, skipping the arguments of known global options."""
    takes_arg = _GLOBAL_WITH_ARG.get(program, frozenset())
    out: list[str] = []
    skip = False
    dashdash = False
    for arg in args:
        if skip:
            skip = False
            continue
        if not dashdash and arg == "--":
            dashdash = True
            continue
        if not dashdash and arg.startswith("-") and len(arg) > 1:
            if not out and arg in takes_arg:
                skip = True
            continue
        out.append(arg)
    return out


@record
class Entry:
    """One allow or deny entry, split into program, flags and subcommand words."""

    text: str
    program: str
    words: tuple[str, ...]
    flags: frozenset[str]
    sub: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Entry:
        parts = text.split()
        program = parts[0]
        rest = tuple(parts[1:])
        prog = basename(program)
        return cls(
            text=text,
            program=program,
            words=rest,
            flags=flag_set(prog, rest),
            sub=tuple(w for w in rest if not w.startswith("-")),
        )


@record
class DenyMatch:
    entry: Entry
    definite: bool


class CommandRules:
    """A policy's `commands` section compiled for matching; immutable, so safe to share."""

    __slots__ = (
        "allow",
        "allow_any",
        "allow_by_program",
        "allow_programs",
        "deny",
        "deny_programs",
    )

    def __init__(self, allow: Sequence[str], deny: Sequence[str]) -> None:
        allow_entries = [Entry.parse(e) for e in expand_commands(allow) if e != "*"]
        self.allow_any = "*" in allow
        self.allow: tuple[Entry, ...] = tuple(allow_entries)
        self.allow_programs = frozenset(e.program for e in allow_entries)
        by_program: dict[str, list[Entry]] = {}
        for e in allow_entries:
            by_program.setdefault(e.program, []).append(e)
        self.allow_by_program = {k: tuple(v) for k, v in by_program.items()}
        self.deny: tuple[Entry, ...] = tuple(Entry.parse(e) for e in expand_commands(deny))
        self.deny_programs = frozenset(basename(e.program) for e in self.deny)

    def is_allowed(self, argv: Sequence[str]) -> bool:
        """Whether some allow entry is a whole-word prefix of `argv` (bare or system-bin name)."""
        name = argv[0]
        if "/" in name:
            if not is_system_path(name):
                return self.allow_any
            name = basename(name)
        if self.allow_any:
            return True
        if name not in self.allow_programs:
            return False
        args = list(argv[1:])
        if name == "git":  # harmless global options do not hide the subcommand
            while args and args[0] in ("--no-pager", "-P", "--no-optional-locks"):
                args.pop(0)
        return any(
            tuple(args[: len(e.words)]) == e.words for e in self.allow_by_program.get(name, ())
        )

    def denied(
        self, argv: Sequence[str], *, unknown: Sequence[tuple[int, str]] = ()
    ) -> DenyMatch | None:
        """The first deny entry matching `argv` (the known words). `unknown` lists arguments
        that are not known statically, as (index in the full argv, literal prefix): an entry
        they could complete is returned as not definite."""
        prog = basename(argv[0])
        if prog not in self.deny_programs:
            return None
        args = list(argv[1:])
        flags = flag_set(prog, args)
        pos = positionals(prog, args)
        maybe: DenyMatch | None = None
        for e in self.deny:
            if basename(e.program) != prog:
                continue
            sub_ok = tuple(pos[: len(e.sub)]) == e.sub
            if sub_ok and e.flags <= flags:
                return DenyMatch(e, True)
            if maybe is None and any(
                _could_complete(e, prefix, after_dd)
                for prefix, after_dd in _unknowns(argv, unknown)
            ):
                maybe = DenyMatch(e, False)
        return maybe


def _unknowns(argv: Sequence[str], unknown: Sequence[tuple[int, str]]) -> list[tuple[str, bool]]:
    out = []
    for index, prefix in unknown:
        after_dd = "--" in argv[1:index] if index <= len(argv) else "--" in argv[1:]
        out.append((prefix, after_dd))
    return out


def _could_complete(e: Entry, prefix: str, after_dashdash: bool) -> bool:
    """Whether an argument known only by its literal prefix could supply a missing flag or
    subcommand word of `e` (a word after `--` is never a flag)."""
    if e.flags and not after_dashdash and (prefix == "" or prefix.startswith("-")):
        return True
    return any(w.startswith(prefix) or prefix.startswith(w) for w in e.sub) or not (
        e.flags or e.sub
    )
