"""compile/cmdspec.py - per-command specs (data in `specs/*.toml`) and the argv interpreter.

What one invocation of an external command reads, writes, runs and whether it can run in
parallel comes from a spec: a TOML table per command in `compile/specs/` (format in
docs/specs.md), loaded lazily by `specload.py` (a name index from the files' table headers; a
command's table is parsed with `tomllib` only when first looked up). This module is
`usage(argv)`, which walks an argv the way the command's own option parser would (clusters,
`-ofile`, `--out=file`, `--out file`, `--`, subcommands, modes) and says what it touches.

Soundness first: when an argv cannot be read with confidence (an unknown option, an unknown
subcommand, an expansion of unknown length where positions matter) the answer is `opaque`
with a note, never a guess. Over-approximation (an extra read or write) only adds ordering.

Besides the contract's records (`Arg`, `PathUse`, `Usage`), this module is the interpreter
(`_Interp`), which gives every spec key its meaning and is one class for that reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bashflow.compile.specload import (
    _CLASS_ORDER,
    _NOT_PATHS,
    _NOT_UNIONED,
    _QUANT,
    _READS,
    CLASSES,
    NETWORK,
    CommandSpec,
    Library,
    Option,
    Slot,
    SpecError,
    library,
    load_all,
    lookup,
    names,
)
from bashflow.policy.records import record

__all__ = [
    "CLASSES",
    "NETWORK",
    "Arg",
    "CommandSpec",
    "Library",
    "PathUse",
    "SpecError",
    "Usage",
    "library",
    "load_all",
    "lookup",
    "names",
    "usage",
]

# --------------------------------------------------------------------------- the contract


@record
class Arg:
    """One word of a command's argv, as far as the compiler knows it."""

    text: str | None
    index: int
    glob: bool = False
    many: bool = False


@record
class PathUse:
    arg: Arg
    base: Arg | None


@record
class Usage:
    spec: str | None
    klass: str
    reads: tuple[PathUse, ...] = ()
    writes: tuple[PathUse, ...] = ()
    read_trees: tuple[PathUse, ...] = ()
    write_trees: tuple[PathUse, ...] = ()
    stdin: bool = False
    stdout: bool = False
    network: str = "none"
    runs: tuple[tuple[Arg, ...], ...] = ()
    code: tuple[Arg, ...] = ()
    opaque: bool = False
    notes: tuple[str, ...] = ()
    language: str | None = None  # language of `code` ("sh" for shell text); an addition


# --------------------------------------------------------------------------- interpretation


def usage(argv: Sequence[Arg]) -> Usage:
    """What one invocation does, from its spec and argv (no spec: unknown and opaque)."""
    if not argv:
        return Usage(None, "unknown", opaque=True, notes=("empty command",))
    name = argv[0].text
    if name is None:
        return Usage(None, "unknown", opaque=True, notes=("command name unknown until run",))
    spec = lookup(name)
    if spec is None:
        return Usage(None, "unknown", opaque=True, notes=(f"no spec for {name!r}",))
    return _Interp(spec, argv).run()


class _Opaque(Exception):
    """Interpretation stops: the argv cannot be read with confidence."""


_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_Unit = tuple[Arg, Arg | None]  # an operand and the base directory it is relative to


class _Interp:
    """One pass over an argv, as the command's own option parser would make it."""

    def __init__(self, spec: CommandSpec, argv: Sequence[Arg]) -> None:
        self.argv = argv
        self.chain: list[CommandSpec] = [spec]  # the command, then its subcommands
        self.mode: CommandSpec | None = None
        self.mode_owner: CommandSpec | None = None
        self.notes: list[str] = []
        self.operands: list[_Unit] = []
        self.pattern: tuple[Slot, ...] | None = None
        self.recursive = False
        self.inplace = False
        self.backup: str | None = None  # suffix of in-place backups
        self.over: dict[str, str] = {}  # stdin / stdout / network / klass set by options
        self.default: str | None = None
        self.out: dict[str, list[PathUse]] = {
            "reads": [],
            "writes": [],
            "read_trees": [],
            "write_trees": [],
        }
        self.runs: list[tuple[Arg, ...]] = []
        self.code: list[Arg] = []
        self.base: Arg | None = None  # later paths are relative to it (`git -C`)
        self.obase: Arg | None = None  # later operands are relative to it (`tar -C`)
        self.implicit: list[tuple[dict[str, tuple[str, ...]], Arg | None]] = []
        self.archives: list[tuple[Arg, Arg | None]] = []
        self.stdin = False
        self.stdout = False
        self.stop = False
        self.replace: str | None = None
        self.sub: Usage | None = None  # `python3 -m pip ...`: the module's own usage
        self.hidden: int | None = None  # first word that may expand to options

    @property
    def spec(self) -> CommandSpec:
        return self.chain[-1]

    @property
    def active_mode(self) -> CommandSpec | None:
        """The mode, if chosen by an option of the (sub)command being read: `git --version`
        picks git's "info" mode, which says nothing about `git --exec-path=x status`."""
        return self.mode if self.mode_owner is self.spec else None

    def _inherited(self, attr: str) -> Any:
        """A field from the mode, else the innermost (sub)command that sets it."""
        mode = self.active_mode
        for s in ([mode] if mode else []) + self.chain[::-1]:
            v = getattr(s, attr)
            if v is not None:
                return v
        return None

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def opaque(self, why: str) -> _Opaque:
        self.note(why)
        return _Opaque(why)

    # ------------------------------------------------------------------ the walk

    def run(self) -> Usage:
        opaque = False
        try:
            self.walk()
            if self.sub is None:
                self.finish()
            for s in self.chain:
                if s.barrier:
                    raise self.opaque(s.barrier)
        except _Opaque:
            opaque = True
            self.stdin = self.stdout = True  # not known: assume both streams are used
        # the spec's own notes first: the last note is the reason for an opaque usage
        said = [s.note for s in self.chain if s.note and s.note not in self.notes]
        self.notes[:0] = list(dict.fromkeys(said))
        if self.sub is not None:
            return self.merge(self.sub, opaque)
        spec = self.spec
        for kind, uses in self.out.items():
            self.out[kind] = list(dict.fromkeys(uses))  # once each, in order
        klass = self.over.get("klass") or self._inherited("klass") or "unknown"
        network = self.over.get("network") or self._inherited("network") or "none"
        return Usage(
            spec.name,
            klass,
            tuple(self.out["reads"]),
            tuple(self.out["writes"]),
            tuple(self.out["read_trees"]),
            tuple(self.out["write_trees"]),
            self.stdin,
            self.stdout,
            network,
            tuple(self.runs),
            tuple(self.code),
            opaque,
            tuple(self.notes),
            self._inherited("language") if self.code else None,
        )

    def merge(self, sub: Usage, opaque: bool) -> Usage:
        return Usage(
            sub.spec,
            sub.klass,
            tuple(self.out["reads"]) + sub.reads,
            tuple(self.out["writes"]) + sub.writes,
            tuple(self.out["read_trees"]) + sub.read_trees,
            tuple(self.out["write_trees"]) + sub.write_trees,
            self.stdin or sub.stdin,
            self.stdout or sub.stdout,
            sub.network,
            tuple(self.runs) + sub.runs,
            tuple(self.code) + sub.code,
            opaque or sub.opaque,
            tuple(self.notes) + sub.notes,
            sub.language,
        )

    def walk(self) -> None:
        argv = self.argv
        i = 1
        while i < len(argv):
            if self.sub is not None:
                return
            a = argv[i]
            t = a.text
            spec = self.spec
            if not self.stop and spec.plus_options and t and t.startswith("+") and len(t) > 1:
                i = self.cluster(i, t[1:], old=False)
            elif (
                self.stop
                or t is None
                or t == "-"
                or not t.startswith("-")
                or (spec.operand_like and re.fullmatch(spec.operand_like, t))
            ):
                i = self.operand(i)
            elif t == "--" and spec.words is None:
                self.stop = True
                i += 1
            else:
                i = self.option(i)

    def operand(self, i: int) -> int:
        a = self.argv[i]
        spec = self.spec
        if a.text is None and a.many and not a.glob and not self.stop and spec.risky:
            self.hidden = i if self.hidden is None else self.hidden  # see finish_hidden
        if spec.subcommands is not None:
            if a.text is None:
                raise self.opaque(f"{spec.name}: subcommand unknown until run")
            sub = spec.subcommands.get(a.text)
            if sub is not None:
                self.chain.append(sub)
                self.stop = False
                return i + 1
            if spec.subcommand_required:
                raise self.opaque(f"{spec.name}: no spec for subcommand {a.text!r}")
        if spec.old_style and i == 1 and a.text:
            return self.cluster(i, a.text, old=True)
        self.operands.append((a, self.obase or self.base))
        if not spec.options_anywhere or self._command_started():
            self.stop = True
        return i + 1

    def _command_started(self) -> bool:
        """The last operand is the name of the command a `cmd` slot runs: no options after it."""
        slots = self.slots()
        if not slots or slots[-1].role != "cmd":
            return False
        fixed = sum(s.low for s in slots[:-1] if s.role != "assign")
        t = self.operands[-1][0].text
        if any(s.role == "assign" for s in slots) and (t is None or _ASSIGN.match(t)):
            return False
        named = [a for a, _ in self.operands if not (a.text and _ASSIGN.match(a.text))]
        return len(named) > fixed

    def option(self, i: int) -> int:
        a = self.argv[i]
        t = a.text
        assert t is not None
        spec = self.spec
        if spec.words is not None:
            opt = spec.words.get(t)
            if opt is None:
                return self.unknown(i, t)
            return self.apply(opt, t, i, None)
        if t.startswith("--"):
            name, eq, value = t[2:].partition("=")
            found = self.find_long(name)
            if found is None:
                return self.unknown(i, t)
            opt, full = found
            if eq and opt.arg is None:
                raise self.opaque(f"--{full} takes no argument")
            return self.apply(opt, "--" + full, i, value if eq else None)
        return self.cluster(i, t[1:], old=False)

    def cluster(self, i: int, letters: str, old: bool) -> int:
        """`-abc` (an argument-taking letter takes the rest of the word, or the next word);
        in tar's old style (`tar czf out.tgz dir`) each argument is the next unused word."""
        nxt = i + 1
        short = self.table("short")  # the chain does not change inside a cluster
        for j, c in enumerate(letters):
            opt = short.get(c)
            if opt is None:
                self.unknown(i, "-" + c)
                continue
            if opt.arg is None:
                self.effects(opt)
                continue
            if old:
                if nxt >= len(self.argv):
                    raise self.opaque(f"-{c} needs an argument")
                self.effects(opt)
                self.role(opt.arg, self.argv[nxt], self.base, opt)
                nxt += 1
                continue
            rest = letters[j + 1 :]
            return self.apply(opt, "-" + c, i, rest or None)
        return nxt

    def find_long(self, name: str) -> tuple[Option, str] | None:
        table = self.table("long")
        if name in table:
            return table[name], name
        hits = {k: o for k, o in table.items() if k.startswith(name)}
        if len({id(o) for o in hits.values()}) == 1:
            k, o = next(iter(hits.items()))
            return o, k
        return None

    def table(self, kind: str) -> dict[str, Option]:
        """The options a word may be: the (sub)command's, and its parents' if it inherits."""
        out: dict[str, Option] = {}
        for s in self.chain[::-1]:
            for k, v in (getattr(s, kind) or {}).items():
                out.setdefault(k, v)
            if not s.inherit_options:
                break
        return out

    def unknown(self, i: int, spelled: str) -> int:
        if self.spec.unknown_options == "flag":
            return i + 1
        raise self.opaque(f"{self.spec.name}: unknown option {spelled}")

    def apply(self, opt: Option, spelled: str, i: int, attached: str | None) -> int:
        a = self.argv[i]
        if opt.arg is None:
            self.effects(opt)
            return i + 1
        nxt = i + 1
        value: Arg | None
        if attached is not None:
            value = Arg(attached, a.index, a.glob and any(c in attached for c in "*?["), False)
        elif opt.optional:
            value = Arg("{}", a.index) if opt.arg == "replace" else None
        elif opt.arg == "exec":
            self.effects(opt)
            return self.exec_words(i, spelled, opt.until)
        elif nxt < len(self.argv):
            value = self.argv[nxt]
            nxt += 1
        else:
            raise self.opaque(f"{spelled} needs an argument")
        self.effects(opt)
        if opt.inplace and value is not None:  # `sed -i.bak`: the backup is written too
            if value.text is None or "*" in value.text or "/" in value.text:
                raise self.opaque(f"{spelled}: backup name not known")
            self.backup = value.text
        if value is not None:
            if opt.arg == "module":
                self.module(value, nxt)
                return len(self.argv)
            self.role(opt.arg, value, self.base, opt)
        if opt.arg2 is not None:
            if nxt >= len(self.argv):
                raise self.opaque(f"{spelled} needs two arguments")
            self.role(opt.arg2, self.argv[nxt], self.base, opt)
            nxt += 1
        return nxt

    def effects(self, opt: Option) -> None:
        if opt.opaque:
            raise self.opaque(opt.opaque)
        if opt.operands is not None:
            self.pattern = opt.operands
        self.recursive = self.recursive or opt.recursive
        self.inplace = self.inplace or opt.inplace
        for key in ("stdin", "stdout", "network", "klass"):
            v = getattr(opt, key)
            if v is not None:
                self.over[key] = v
        if opt.mode is not None:
            modes = self.spec.modes or {}
            chosen = modes[opt.mode]
            if self.mode is not None and self.mode is not chosen:
                raise self.opaque(f"{self.spec.name}: more than one mode")
            self.mode = chosen
            self.mode_owner = self.spec
        if opt.stop:
            self.stop = True
        if opt.default is not None:
            self.default = opt.default
        if opt.implicit is not None:
            self.implicit.append((opt.implicit, self.base))

    def exec_words(self, i: int, spelled: str, until: tuple[str, ...]) -> int:
        """find -exec CMD ... ; (one file per run) or ... {} + (many files per run)."""
        words: list[Arg] = []
        j = i + 1
        while j < len(self.argv):
            a = self.argv[j]
            if a.text in until and (a.text == ";" or (words and words[-1].text == "{}")):
                many = a.text != ";"
                cmd = tuple(
                    Arg(None, w.index, False, many) if w.text is None or "{}" in w.text else w
                    for w in words
                )
                if not cmd:
                    raise self.opaque(f"{spelled} without a command")
                self.runs.append(cmd)
                return j + 1
            words.append(a)
            j += 1
        raise self.opaque(f"{spelled} without its terminator")

    def module(self, value: Arg, nxt: int) -> None:
        modules = self._inherited("modules") or {}
        target = modules.get(value.text) if value.text is not None else None
        if target is None:
            raise self.opaque(f"runs module {value.text or '(unknown)'}: no spec")
        self.sub = usage([Arg(target, value.index), *list(self.argv[nxt:])])

    # ------------------------------------------------------------------ roles

    def use(self, kind: str, arg: Arg, base: Arg | None) -> None:
        if arg.text is not None and arg.text.startswith("/"):
            base = None
        self.out[kind].append(PathUse(arg, base))

    def role(
        self,
        role: str,
        arg: Arg,
        base: Arg | None,
        opt: Option | None = None,
        derive: tuple[str, ...] = (),
    ) -> None:
        t = arg.text
        dash = t == "-" and self.spec.dash
        if role in ("value", "assign", "cmd", "exec"):
            return
        if role == "read":
            if dash:
                self.stdin = True
            else:
                self.use("reads", arg, base)
        elif role == "write":
            if dash:
                self.stdout = True
            else:
                self.use("writes", arg, base)
        elif role == "readwrite" and dash:
            self.stdin = self.stdout = True
        elif role == "readwrite":
            self.use("reads", arg, base)
            self.use("writes", arg, base)
            for d in derive:
                self.derived(arg, base, d)
        elif role in ("read_tree", "write_tree"):
            self.use(role + "s", arg, base)
        elif role == "dest":
            self.use("write_trees", arg, base)
        elif role == "move":
            self.use("read_trees", arg, base)
            self.use("write_trees", arg, base)
        elif role == "base":
            if opt is not None and opt.scope == "operands":
                self.obase = arg
            else:
                self.base = arg
        elif role == "code":
            self.code.append(arg)
        elif role == "program":
            rxs = self._inherited("code_if") or ()
            if t is None or any(re.search(rx, t) for rx in rxs):
                self.code.append(arg)
                self.note(f"{self.spec.name} program may run commands or open files")
        elif role == "script":
            if dash:
                self.stdin = True
            else:
                self.use("reads", arg, base)
            self.code.append(arg)
        elif role == "kv":
            if t is None:
                raise self.opaque(f"word {arg.index}: key=value operand unknown until run")
            key, eq, val = t.partition("=")
            keyrole = (self._inherited("keys") or {}).get(key)
            if not eq or keyrole is None:
                raise self.opaque(f"{self.spec.name}: unknown operand {t!r}")
            self.role(keyrole, Arg(val, arg.index, arg.glob, False), base)
        elif role == "at_read":
            if t is None:
                self.use("reads", Arg(None, arg.index), None)
                self.note(f"word {arg.index} may name a file (@file) read")
            elif t.startswith("@"):
                self.role("read", Arg(t[1:], arg.index, arg.glob, False), base)
        elif role == "bind":
            host = None if t is None else t.partition(":")[0]
            if host is None or host.startswith(("/", ".", "~")):
                self.use("write_trees", Arg(host, arg.index), None if host is None else base)
        elif role == "archive":
            self.archives.append((arg, base))
        elif role in ("url", "repo"):
            local = _local_url(t, role == "repo")
            if local is not None or t is None:
                kind = "read_trees" if role == "repo" else "reads"
                self.use(kind, Arg(local, arg.index, arg.glob, False), base)
        elif role == "replace":
            if t is None:
                raise self.opaque(f"word {arg.index}: replacement string unknown until run")
            self.replace = t
        elif role == "module":  # an operand slot naming a module
            raise self.opaque("module operand not supported")

    def derived(self, arg: Arg, base: Arg | None, rule: str) -> None:
        """gzip f writes f.gz (`+.gz`); gunzip f.gz writes f (`-.gz`), x.tgz -> x.tar (`-.tgz:.tar`)."""
        t = arg.text
        if t is None:
            return
        suffix, _, new = rule[1:].partition(":")
        if rule[0] == "+":
            self.use("writes", Arg(t + suffix, arg.index, arg.glob, False), base)
        elif t.endswith(suffix) and len(t) > len(suffix):
            self.use("writes", Arg(t[: -len(suffix)] + new, arg.index, arg.glob, False), base)

    # ------------------------------------------------------------------ operands

    def slots(self) -> tuple[Slot, ...]:
        if self.pattern is not None:
            return self.pattern
        return self._inherited("operands") or ()

    def finish(self) -> None:
        spec = self.spec
        if spec.subcommands is not None and spec.subcommand_required and self.active_mode is None:
            raise self.opaque(f"{spec.name}: no subcommand")
        if self.mode is None and any(s.mode_required for s in self.chain):
            raise self.opaque(f"{spec.name}: no mode option")
        if self.hidden is not None:
            self.finish_hidden()
            return
        slots = self.slots()
        assigned = self.allocate(slots, self.operands)
        files = 0
        maybe_none = True
        for slot, units in assigned:
            role = self._transform(slot.role)
            derive = slot.derive
            if role == "readwrite" and slot.role == "read":  # in place: the backup is written
                derive = ("+" + self.backup,) if self.backup else ()
            if role in _READS or role in ("read_tree", "write", "write_tree", "dest"):
                files += len(units)
                if any(not u[0].many or u[0].glob for u in units):
                    maybe_none = False  # a word that is surely there (a glob stays a word)
            if role == "cmd":
                self.command(units)
                continue
            for a, base in units:
                self.role(role, a, base, None, derive)
        stdin = self.over.get("stdin") or self._inherited("stdin") or "never"
        stdout = self.over.get("stdout") or self._inherited("stdout") or "always"
        default = self.default or self._inherited("default")
        if default is not None and files == 0:
            role = next((sl.role for sl in slots if sl.role not in _NOT_PATHS), "read")
            self.role(
                self._transform(role, inplace=False), Arg(default, -1), self.obase or self.base
            )
        elif stdin == "no_operands" and (files == 0 or maybe_none):
            self.stdin = True
        self.stdin = self.stdin or stdin == "always"
        none = files == 0 or maybe_none
        self.stdout = self.stdout or stdout == "always" or (stdout == "no_operands" and none)
        self.finish_archives()
        self.finish_implicit()

    def finish_hidden(self) -> None:
        """A word that may expand to any options: the union of what every option could do.

        Every operand, and every word after the first such word (an option there may take it
        as its argument, or a `--` make it an operand), gets every path role an operand or an
        option argument of the command can have; every flag effect is taken as present. When an
        option could run code, choose a mode, change the base directory or stop option parsing,
        no union is small enough to be useful: opaque."""
        assert self.hidden is not None
        spec = self.spec
        why = f"word {self.argv[self.hidden].index} may expand to options of {spec.name}"
        opts = list(
            {id(o): o for k in ("short", "long", "words") for o in self.table(k).values()}.values()
        )
        patterns = [self.slots(), *(o.operands for o in opts if o.operands is not None)]
        roles = {s.role for p in patterns for s in p} | {
            r for o in opts for r in (o.arg, o.arg2) if r
        }
        if roles & _NOT_UNIONED or any(o.mode or o.stop or o.opaque for o in opts):
            raise self.opaque(why)
        self.note(why + ": every role and flag is assumed")
        self.recursive = self.recursive or any(o.recursive for o in opts)
        if any(o.inplace for o in opts):
            self.inplace = True
            self.use("writes", Arg(None, -1), None)  # in-place backups, names unknown
        for o in opts:
            if o.implicit is not None:
                self.implicit.append((o.implicit, self.base))
            if o.default is not None:
                for r in roles - _NOT_PATHS:
                    self.role(self._transform(r), Arg(o.default, -1), self.obase or self.base)
        words = [u for u in self.operands] + [
            (a, self.obase or self.base)
            for a in self.argv[self.hidden + 1 :]
            if a.text is not None and not any(a is u[0] for u in self.operands)
        ]
        for a, base in words:
            for r in sorted(roles - {"value", "assign"}):
                self.role(self._transform(r), a, base)
        network = [o.network for o in opts if o.network] + [self._inherited("network") or "none"]
        self.over["network"] = max(network, key=NETWORK.index)
        classes = [o.klass for o in opts if o.klass] + [self._inherited("klass") or "unknown"]
        self.over["klass"] = max(classes, key=_CLASS_ORDER.index)
        self.stdin = self.stdout = True
        self.finish_archives()
        self.finish_implicit()

    def _transform(self, role: str, inplace: bool = True) -> str:
        """A role as the options change it: recursive (`-r`) reads and writes are of trees; an
        in-place edit (`-i`, unless `inplace` is False) writes what it reads."""
        if self.recursive:
            role = {"read": "read_tree", "write": "write_tree"}.get(role, role)
        if inplace and self.inplace and role == "read":
            role = "readwrite"
        return role

    def finish_archives(self) -> None:
        mode = self.active_mode
        if mode is None:
            return
        if not self.archives and mode.default_archive is not None:
            setattr(self, mode.default_archive, True)
        for a, base in self.archives:
            self.role(mode.archive or "readwrite", a, base)

    def finish_implicit(self) -> None:
        base = self.obase or self.base
        mode = self.active_mode
        if mode is not None and mode.implicit is not None:
            sources = [mode.implicit]  # a mode's implicit effects replace the command's
        else:
            sources = [s.implicit for s in self.chain if s.implicit]
        found = [(imp, base) for imp in sources if imp] + self.implicit
        for imp, b in found:
            for kind, paths in imp.items():
                for p in _expand_upward(paths):
                    arg = Arg(None if p == "?" else p, -1)
                    if kind == "scripts":
                        self.role("script", arg, b)
                    else:
                        self.use(kind, arg, b)

    def command(self, units: list[_Unit]) -> None:
        words = [a for a, _ in units]
        spec = self._inherited("default_cmd")
        if not words and spec is not None:
            words = [Arg(spec, -1)]
        if not words:
            return
        if self.spec.appends_input or any(s.appends_input for s in self.chain):
            if self.replace is not None:
                words = [
                    w if w.text is None or self.replace not in w.text else Arg(None, w.index)
                    for w in words
                ]
            else:
                words.append(Arg(None, -1, False, True))
        self.runs.append(tuple(words))

    def allocate(
        self, slots: tuple[Slot, ...], units: list[_Unit]
    ) -> list[tuple[Slot, list[_Unit]]]:
        """Operands to slots. A word of unknown length (`many`) is tried as 0 (a glob: 1), 1
        and 2 words: every other operand must keep its role, or the positions are not known.
        A count that fits no slot pattern is a usage error, after which the command does
        nothing: it is not a case to cover."""
        first = self._fit(slots, units, {})

        def role(place: int) -> tuple[str, tuple[str, ...]] | int:
            return (slots[place].role, slots[place].derive) if place >= 0 else place

        many = [k for k, (a, _) in enumerate(units) if a.many]
        for k in many:
            # a glob that matches nothing stays one word (bash without nullglob)
            for n in (1, 2) if units[k][0].glob else (0, 2):
                other = self._fit(slots, units, {k: n})
                if other is None:
                    continue
                if (
                    first is None
                    or any(role(first[j]) != role(other[j]) for j in range(len(units)) if j != k)
                    or (n == 2 and role(other[k]) != role(first[k]))
                ):
                    raise self.opaque(
                        f"word {units[k][0].index} may be any number of words and the "
                        f"operands of {self.spec.name} depend on their positions"
                    )
        if first is None:
            raise self.opaque(f"{self.spec.name}: operands do not fit {_show(slots)}")
        out: list[tuple[Slot, list[_Unit]]] = [(s, []) for s in slots]
        for k, unit in enumerate(units):
            out[first[k]][1].append(unit)
        return out

    def _fit(
        self, slots: tuple[Slot, ...], units: list[_Unit], counts: dict[int, int]
    ) -> list[int] | None:
        """The slot number of each operand (`counts` overrides how many words one stands for;
        a word standing for none gets the slot its neighbour would give it), or None."""
        expanded: list[int] = []  # unit index per word
        for k in range(len(units)):
            expanded.extend([k] * counts.get(k, 1))
        n = len(expanded)
        place: list[int] = []
        pos = 0
        for si, s in enumerate(slots):
            if s.role == "assign":
                while pos < n:
                    a = units[expanded[pos]][0]
                    if a.text is None or not _ASSIGN.match(a.text):
                        break  # an unknown word starts the command (it may be NAME=v too)
                    place.append(si)
                    pos += 1
                continue
            if s.role == "cmd":
                if n - pos < s.low:
                    return None
                place.extend([si] * (n - pos))
                pos = n
                continue
            rest = slots[si:]
            need = sum(t.low for t in rest)
            if n - pos < need:
                return None
            extra = n - pos - need
            optional_after = [t for t in rest[1:] if t.high == 1 and t.low == 0]
            if s.high is None:
                take = s.low + max(0, extra - len(optional_after))
            elif s.low == 0:
                take = 1 if extra > 0 else 0
            else:
                take = s.low
            place.extend([si] * take)
            pos += take
        if pos != n:
            return None
        result: list[int] = [-1] * len(units)  # -1: stands for no word
        for w, k in enumerate(expanded):
            result[k] = place[w] if result[k] in (-1, place[w]) else -2  # -2: split
        return result


def _local_url(text: str | None, plain_is_path: bool) -> str | None:
    """The local path a URL names: `file://[localhost]/p`; for git also a plain path (no
    scheme and no `host:` before the first slash). None: not local, or not known."""
    if text is None:
        return None
    if text.startswith("file://"):
        rest = text[len("file://") :]
        return rest[len("localhost") :] if rest.startswith("localhost/") else rest
    if not plain_is_path or "://" in text:
        return None
    head = text.split("/", 1)[0]
    return None if ":" in head else text


UPWARD_LEVELS = 32


def _expand_upward(paths: tuple[str, ...]) -> list[str]:
    """`^NAME`: NAME in the base directory or in any directory above it, the way git finds its
    repository: NAME, ../NAME, ../../NAME, ... (32 levels: past `/` they all normalise to
    `/NAME`). `^.` is the highest of those directories, which holds all the others."""
    out: list[str] = []
    for p in paths:
        if not p.startswith("^"):
            out.append(p)
        elif p == "^.":
            out.append("/".join([".."] * UPWARD_LEVELS))
        else:
            out += ["/".join([".."] * k + [p[1:]]) for k in range(UPWARD_LEVELS + 1)]
    return out


def _show(slots: tuple[Slot, ...]) -> str:
    q = {bounds: mark for mark, bounds in _QUANT.items()}
    return " ".join(s.role + q.get((s.low, s.high), "") for s in slots) or "(none)"
