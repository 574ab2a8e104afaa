"""compile/specload.py - the command-spec files: their format, checks and lazy loading.

The data half of `cmdspec.py`: `Library` indexes the TOML files in `compile/specs/` by their
table headers (no TOML parsed at import), parses a command's table with `tomllib` the first time
it is looked up, and `_Builder` checks every key (each error `file:line: message`) and builds
the `CommandSpec` objects that `cmdspec.usage()` interprets. Format: docs/specs.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from bashflow.policy.records import record

# parallelisability classes, from most to least parallel (a union takes the last)
_CLASS_ORDER = ("stateless", "parallelizable_pure", "pure", "side_effectful", "unknown")
CLASSES = frozenset(_CLASS_ORDER)
NETWORK = ("none", "read", "write")
STREAM = frozenset(["never", "always", "no_operands"])
# Roles an operand slot or an option argument can have (docs/specs.md, "Roles").
ROLES = frozenset(
    [
        "value",  # not a path: a pattern, a mode, a number, a name, a URL
        "read",
        "write",
        "readwrite",
        "read_tree",
        "write_tree",
        "dest",  # destination of a copy, move, link or install: a file or a directory
        "move",  # source of a move: read and removed
        "base",  # directory later paths are relative to (`-C dir`)
        "code",  # program text the command executes (`sh -c`, `python3 -c`)
        "program",  # program text that is only code when `code_if` matches (awk, sed)
        "script",  # file holding a program the command executes
        "cmd",  # the rest of the argv is a command it runs
        "assign",  # NAME=VALUE words (env, sudo)
        "kv",  # key=value operands whose role is in the spec's `keys` table (dd)
        "at_read",  # a value, or `@file` naming a file read (curl -d)
        "bind",  # HOST:CONTAINER mount (docker -v): the host side is a tree written
        "module",  # a module name run as a program (`python3 -m mod`): its spec is `modules`
        "archive",  # archive file: read or written according to the mode's `archive` key
        "exec",  # find -exec: words up to `;` or `+` are a command
        "replace",  # xargs -I: the string replaced by input words in the command
        "url",  # a URL: `file://PATH` is a local file read; unknown text may be one
        "repo",  # a git repository: a local path or `file://PATH` is a tree read
    ]
)
_QUANT = {"": (1, 1), "?": (0, 1), "*": (0, None), "+": (1, None)}
# roles whose union over unknown words is no better than opaque
_NOT_UNIONED = frozenset(
    ["cmd", "exec", "module", "base", "code", "program", "script", "replace", "kv", "archive"]
)
_NOT_PATHS = frozenset(
    ["value", "assign", "cmd", "code", "program", "kv", "module", "exec", "url", "repo"]
)
_READS = frozenset(["read", "readwrite", "read_tree", "move", "script", "archive"])


class SpecError(ValueError):
    """A spec file breaks the format: `path:line: message`."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


# --------------------------------------------------------------------------- spec objects


@record
class Slot:
    """One operand position: a role and how many words it takes."""

    role: str
    low: int
    high: int | None
    derive: tuple[str, ...] = ()


@record
class Option:
    """One option (all its spellings share it) and what it does."""

    arg: str | None = None  # role of its argument; None = a flag
    arg2: str | None = None  # role of a second argument (`jq --slurpfile NAME FILE`)
    optional: bool = False  # argument only when attached (`-iSUF`, `--backup=x`)
    operands: tuple[Slot, ...] | None = None  # replaces the operand pattern
    recursive: bool = False
    inplace: bool = False
    stdin: str | None = None
    stdout: str | None = None
    network: str | None = None
    klass: str | None = None
    mode: str | None = None
    stop: bool = False  # no options after this one
    scope: str = "all"  # for `base`: "all" later paths, or "operands" only (tar -C)
    default: str | None = None  # path read when there are no file operands (grep -r: ".")
    opaque: str | None = None  # reason the option is not interpreted
    implicit: dict[str, tuple[str, ...]] | None = None
    until: tuple[str, ...] = (";", "+")  # terminators of an `exec` argument


@record(frozen=False)
class CommandSpec:
    """A command's spec (or a subcommand's / mode's), parsed and checked."""

    name: str
    where: str  # "file:line" of its table
    klass: str | None = None  # None (subcommands, modes): the parent's
    stdin: str | None = None
    stdout: str | None = None
    network: str | None = None
    operands: tuple[Slot, ...] | None = None
    short: dict[str, Option] | None = None
    long: dict[str, Option] | None = None
    words: dict[str, Option] | None = None  # find-style whole-word options (`-name`)
    unknown_options: str = "opaque"
    options_anywhere: bool = True
    old_style: bool = False  # tar: a first word without `-` is a cluster of options
    operand_like: str | None = None  # options matching this regex are operands (chmod -x)
    subcommands: dict[str, CommandSpec] | None = None
    subcommand_required: bool = True
    modes: dict[str, CommandSpec] | None = None
    mode_required: bool = False
    archive: str | None = None  # a mode's role for `archive` arguments
    default_archive: str | None = None  # "stdin"/"stdout" when no archive option is given
    implicit: dict[str, tuple[str, ...]] | None = None
    keys: dict[str, str] | None = None
    code_if: tuple[str, ...] = ()
    modules: dict[str, str] | None = None
    dash: bool = True  # an operand `-` is the standard input/output
    default: str | None = None  # path operand assumed when none is given (find: ".")
    appends_input: bool = False  # xargs: the command gets words read from stdin
    default_cmd: str | None = None  # xargs: the command when none is given
    note: str | None = None  # said in every usage of this spec
    barrier: str | None = None  # the usage is always opaque, for this reason (chroot)
    plus_options: bool = False  # `+o name` is an option too (sh, bash)
    inherit_options: bool = False  # a subcommand that also takes its command's options
    language: str | None = None  # language of the code it runs ("sh", "python", "awk")
    risky: bool = False  # computed: some option changes roles, so hidden options matter


# --------------------------------------------------------------------------- loading

_HEADER = re.compile(r'^\[\s*(?:"([^"]+)"|([A-Za-z0-9_+.-]+?))\s*(?:\.|\])', re.M)
_PREAMBLE = re.compile(r"(\s*(#[^\n]*)?\n)*\s*")
SPEC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs")


class Library:
    """The specs in one directory of TOML files, each command parsed when first looked up.

    The index (name -> file and offsets of its tables) comes from the files' top-level table
    headers, found with one regular expression: no TOML is parsed until `lookup`.
    """

    def __init__(self, directory: str = SPEC_DIR) -> None:
        self.directory = directory
        self.texts: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.loaded: dict[str, CommandSpec] = {}
        self._index: dict[str, tuple[str, int, int]] | None = None

    def files(self) -> Iterator[tuple[str, str]]:
        """(file name, text) of every spec file; plain `open` (importlib.resources costs ~3 ms)."""
        for fname in sorted(os.listdir(self.directory)):
            if fname.endswith(".toml"):
                with open(os.path.join(self.directory, fname), encoding="utf-8") as f:
                    yield fname, f.read()

    @property
    def index(self) -> dict[str, tuple[str, int, int]]:
        if self._index is None:
            self._index = self._build_index()
        return self._index

    def _build_index(self) -> dict[str, tuple[str, int, int]]:
        index: dict[str, tuple[str, int, int]] = {}
        for fname, text in self.files():
            self.texts[fname] = text
            spans = [(m.group(1) or m.group(2), m.start()) for m in _HEADER.finditer(text)]
            first = spans[0][1] if spans else len(text)
            pre = _PREAMBLE.match(text, 0, first)
            if pre is None or pre.end() != first:
                line = text.count("\n", 0, pre.end() if pre else 0) + 1
                raise SpecError(fname, line, "only comments may come before the first table")
            i = 0
            while i < len(spans):
                name, start = spans[i]
                j = i + 1
                while j < len(spans) and spans[j][0] == name:
                    j += 1
                end = spans[j][1] if j < len(spans) else len(text)
                line = text.count("\n", 0, start) + 1
                if name in index or name in self.aliases:
                    raise SpecError(fname, line, f"{name!r} defined twice")
                if name == "_aliases":
                    parsed = _parse_chunk(fname, text, start, end)
                    if set(parsed) != {"_aliases"}:
                        raise SpecError(fname, line, f"stray tables {sorted(parsed)}")
                    table = parsed["_aliases"]
                    for alias, target in table.items():
                        if not isinstance(target, str) or alias in self.aliases:
                            raise SpecError(fname, line, f"bad alias {alias!r}")
                        self.aliases[alias] = target
                else:
                    index[name] = (fname, start, end)
                i = j
        for alias, target in self.aliases.items():
            if target not in index or alias in index:
                raise SpecError(
                    self.directory, 0, f"alias {alias!r} -> {target!r}: no such spec, or both"
                )
        return index

    def names(self) -> frozenset[str]:
        return frozenset(self.index) | frozenset(self.aliases)

    def lookup(self, name: str) -> CommandSpec | None:
        base = name.rpartition("/")[2]
        spec = self.loaded.get(base)
        if spec is not None:
            return spec
        target = self.aliases.get(base, base)
        where = self.index.get(target)
        if where is None:
            return None
        fname, start, end = where
        text = self.texts[fname]
        own, subs = _split_subcommands(target, text, start, end)
        data = _parse_chunk(fname, *_masked(text, start, own))
        if set(data) != {target}:  # e.g. `[[x]]`, which the header index does not see
            line = text.count("\n", 0, start) + 1
            raise SpecError(fname, line, f"[{target}]: stray tables {sorted(set(data) - {target})}")
        spec = _Builder(fname, text, start).command(target, data[target], (target,))
        if subs:  # `[cmd.subcommands.NAME...]` tables: each parsed when first used
            spec.subcommands = _Subcommands(spec.subcommands or {}, fname, text, start, subs)
        self.loaded[target] = spec
        self.loaded[base] = spec
        return spec

    def load_all(self) -> dict[str, CommandSpec]:
        """Every spec, loaded and checked (a bad file raises `SpecError` here)."""
        out = {n: spec for n in sorted(self.names()) if (spec := self.lookup(n)) is not None}
        for spec in out.values():
            _force(spec)
        return out


def _force(spec: CommandSpec) -> None:
    """Build every lazily parsed subcommand (and theirs)."""
    for sub in (spec.subcommands or {}).values():
        _force(sub)


_TABLE = re.compile(r"^\[([^\[\]\n]+)\]", re.M)
_KEY = re.compile(r'\s*(?:"([^"]*)"|([A-Za-z0-9_-]+))\s*(\.|$)')


def _dotted(header: str) -> tuple[str, ...]:
    keys: list[str] = []
    pos = 0
    while pos < len(header):
        m = _KEY.match(header, pos)
        if m is None:
            return ()  # not a plain dotted key: left to tomllib
        keys.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
    return tuple(keys)


def _split_subcommands(
    name: str, text: str, start: int, end: int
) -> tuple[list[tuple[int, int]], dict[str, list[tuple[int, int]]]]:
    """The command's own table blocks, and each `[NAME.subcommands.SUB...]` block by SUB."""
    heads = [(m.start(), _dotted(m.group(1))) for m in _TABLE.finditer(text, start, end)]
    own: list[tuple[int, int]] = []
    subs: dict[str, list[tuple[int, int]]] = {}
    for i, (pos, keys) in enumerate(heads):
        stop = heads[i + 1][0] if i + 1 < len(heads) else end
        if len(keys) >= 3 and keys[0] == name and keys[1] == "subcommands":
            subs.setdefault(keys[2], []).append((pos, stop))
        else:
            own.append((pos, stop))
    return own, subs


def _masked(text: str, start: int, keep: list[tuple[int, int]]) -> tuple[str, int, int]:
    """(text, start, end) where only `keep` blocks remain after `start`; the rest become blank
    lines, so line numbers in errors stay those of the file."""
    parts = [text[:start]]
    pos = start
    for s, e in keep:
        parts.append("\n" * text.count("\n", pos, s))
        parts.append(text[s:e])
        pos = e
    masked = "".join(parts)
    return masked, start, len(masked)


class _Subcommands(dict[str, CommandSpec]):
    """A command's subcommands, each parsed and built when first asked for."""

    def __init__(
        self,
        built: dict[str, CommandSpec],
        fname: str,
        text: str,
        start: int,
        blocks: dict[str, list[tuple[int, int]]],
    ) -> None:
        super().__init__(built)
        self._fname = fname
        self._text = text
        self._start = start
        self._blocks = blocks

    def _build(self, sub: str) -> CommandSpec | None:
        if dict.__contains__(self, sub):
            return dict.__getitem__(self, sub)
        blocks = self._blocks.get(sub)
        if blocks is None:
            return None
        text, start, end = _masked(self._text, self._start, blocks)
        data = _parse_chunk(self._fname, text, start, end)
        top = next(iter(data))
        if len(data) != 1 or set(data[top]) != {"subcommands"}:
            line = text.count("\n", 0, blocks[0][0]) + 1
            raise SpecError(self._fname, line, f"[{top}.subcommands.{sub}]: stray tables")
        path = (top, "subcommands", sub)
        spec = _Builder(self._fname, text, start).command(
            f"{top} {sub}", data[top]["subcommands"][sub], path
        )
        dict.__setitem__(self, sub, spec)
        return spec

    def get(self, key: str, default: Any = None) -> Any:
        spec = self._build(key)
        return default if spec is None else spec

    def __getitem__(self, key: str) -> CommandSpec:
        spec = self._build(key)
        if spec is None:
            raise KeyError(key)
        return spec

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (dict.__contains__(self, key) or key in self._blocks)

    def names(self) -> list[str]:
        return sorted(set(self._blocks) | set(dict.keys(self)))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def values(self) -> Any:
        return [self[k] for k in self.names()]

    def items(self) -> Any:
        return [(k, self[k]) for k in self.names()]

    def keys(self) -> Any:
        return self.names()


def _parse_chunk(fname: str, text: str, start: int, end: int) -> dict[str, Any]:
    import tomllib

    chunk = text[start:end]
    try:
        return tomllib.loads(chunk)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = text.count("\n", 0, start) + (int(m.group(1)) if m else 1)
        raise SpecError(fname, line, f"bad TOML: {e}") from None


_library: Library | None = None


def library() -> Library:
    """The package's own specs (one per process)."""
    global _library
    if _library is None:
        _library = Library()
    return _library


def names() -> frozenset[str]:
    """Every command name with a spec (aliases included)."""
    return library().names()


def lookup(name: str) -> CommandSpec | None:
    """The spec for a command, by basename or full path; None when there is none."""
    return library().lookup(name)


def load_all(directory: str | None = None) -> dict[str, CommandSpec]:
    """Load and check every spec, of the package or of `directory` (tests, new spec files)."""
    return (library() if directory is None else Library(directory)).load_all()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _plain(o: Option) -> bool:
    """An option whose presence changes nothing the compiler sees (a flag, or a value)."""
    return (
        o.arg in (None, "value")
        and o.arg2 in (None, "value")
        and o.operands is None
        and not (o.recursive or o.inplace or o.stop)
        and o.stdin is None
        and o.stdout is None
        and o.network is None
        and o.klass is None
        and o.mode is None
        and o.default is None
        and o.opaque is None
        and o.implicit is None
    )


class _Builder:
    """Turns one command's parsed TOML into checked `CommandSpec`s, with `file:line` errors."""

    COMMAND_KEYS = _words(
        "class stdin stdout network operands options unknown_options options_anywhere "
        "old_style operand_like subcommands subcommand_required modes mode_required archive "
        "default_archive implicit keys code_if modules dash note word_options barrier "
        "plus_options language inherit_options description default appends_input default_cmd"
    )
    OPTION_KEYS = _words(
        "arg arg2 optional operands recursive inplace stdin stdout network class mode stop "
        "scope default opaque implicit until"
    )
    IMPLICIT_KEYS = frozenset(["reads", "writes", "read_trees", "write_trees", "scripts"])

    def __init__(self, fname: str, text: str, start: int) -> None:
        self.fname = fname
        self.text = text
        self.start = start

    def fail(self, path: tuple[str, ...], message: str) -> SpecError:
        shown = ".".join(p if len(p) < 30 else p[:26] + " ..." for p in path)
        return SpecError(self.fname, self._line(path), f"[{shown}] {message}")

    def _header_line(self, path: tuple[str, ...]) -> int:
        """Line of a table's own header (`[git.subcommands.push]`), else of its command's."""
        header = "\n[" + ".".join(p if re.fullmatch(r"[\w-]+", p) else f'"{p}"' for p in path) + "]"
        pos = self.text.find(header, self.start - 1)
        return self.text.count("\n", 0, pos + 1 if pos >= 0 else self.start) + 1

    def _line(self, path: tuple[str, ...]) -> int:
        """Best-effort line of a key: the last path element found after its table header."""
        pos = self.start
        for part in path:
            m = re.compile(r"(^|[\s.\[{,])\"?" + re.escape(part) + r"\"?\s*[=.\]]", re.M).search(
                self.text, pos
            )
            if m is None:
                break
            pos = m.start() + 1
        return self.text.count("\n", 0, pos) + 1

    def _choice(self, path: tuple[str, ...], value: Any, allowed: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(path, f"must be one of {sorted(allowed)}, not {value!r}")
        return value

    def _bool(self, path: tuple[str, ...], value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, not {value!r}")
        return value

    def _str(self, path: tuple[str, ...], value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"must be a non-empty string, not {value!r}")
        return value

    def _regex(self, path: tuple[str, ...], value: str) -> str:
        try:
            re.compile(value)
        except re.error as e:
            raise self.fail(path, f"bad regular expression {value!r}: {e}") from None
        return value

    def _strs(self, path: tuple[str, ...], value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"must be a list of strings, not {value!r}")
        return tuple(value)

    def slots(self, path: tuple[str, ...], value: Any) -> tuple[Slot, ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of slots, not {value!r}")
        out: list[Slot] = []
        for item in value:
            derive: tuple[str, ...] = ()
            if isinstance(item, dict):
                unknown = set(item) - {"slot", "derive"}
                if unknown or "slot" not in item:
                    raise self.fail(path, f"a slot table has keys slot, derive: {item!r}")
                derive = self._strs((*path, "derive"), item.get("derive", []))
                for d in derive:
                    if not re.fullmatch(r"[+-][^:]+(:.+)?", d):
                        raise self.fail(path, f"derive {d!r} must be +SUFFIX or -SUFFIX[:NEW]")
                item = item["slot"]
            m = re.fullmatch(r"([a-z_]+)([?*+]?)", item) if isinstance(item, str) else None
            if m is None or m.group(1) not in ROLES:
                raise self.fail(path, f"bad slot {item!r}: ROLE[?*+] with ROLE in {sorted(ROLES)}")
            low, high = _QUANT[m.group(2)]
            out.append(Slot(m.group(1), low, high, derive))
        if sum(1 for s in out if s.high is None) > 1:
            raise self.fail(path, "at most one slot may take many words (* or +)")
        for i, s in enumerate(out):
            if s.role == "cmd" and i != len(out) - 1:
                raise self.fail(path, "a cmd slot must be the last")
            if s.role == "cmd" and any(t.low != t.high for t in out[:i] if t.role != "assign"):
                raise self.fail(path, "slots before a cmd slot must take a fixed number of words")
            if s.role == "assign" and any(t.role != "assign" for t in out[:i]):
                raise self.fail(path, "assign slots must come first")
        return tuple(out)

    def implicit(self, path: tuple[str, ...], value: Any) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, dict) or set(value) - self.IMPLICIT_KEYS:
            raise self.fail(path, f"must be a table with keys {sorted(self.IMPLICIT_KEYS)}")
        return {k: self._strs((*path, k), v) for k, v in value.items()}

    def option(self, path: tuple[str, ...], value: Any) -> Option:
        if not isinstance(value, dict):
            raise self.fail(path, f"an option is a table, not {value!r}")
        unknown = set(value) - self.OPTION_KEYS
        if unknown:
            raise self.fail((*path, sorted(unknown)[0]), f"unknown option key {sorted(unknown)}")
        kw: dict[str, Any] = {}
        for k, v in value.items():
            p = (*path, k)
            if k in ("arg", "arg2"):
                kw[k] = self._choice(p, v, ROLES)
            elif k in ("optional", "recursive", "inplace", "stop"):
                kw[k] = self._bool(p, v)
            elif k == "operands":
                kw[k] = self.slots(p, v)
            elif k in ("stdin", "stdout"):
                kw[k] = self._choice(p, v, STREAM)
            elif k == "network":
                kw[k] = self._choice(p, v, NETWORK)
            elif k == "class":
                kw["klass"] = self._choice(p, v, CLASSES)
            elif k == "scope":
                kw[k] = self._choice(p, v, ("all", "operands"))
            elif k == "implicit":
                kw[k] = self.implicit(p, v)
            elif k == "until":
                kw[k] = self._strs(p, v)
            else:
                kw[k] = self._str(p, v)
        if kw.get("optional") and "arg" not in kw:
            raise self.fail(path, "optional = true needs arg")
        if "arg2" in kw and ("arg" not in kw or kw.get("optional")):
            raise self.fail(path, "arg2 needs a required arg")
        return Option(**kw)

    def command(self, name: str, data: Any, path: tuple[str, ...]) -> CommandSpec:
        if not isinstance(data, dict):
            raise self.fail(path, "a spec is a table")
        if len(path) == 1 and "class" not in data:
            raise self.fail(path, "a command's spec needs a class")
        unknown = set(data) - self.COMMAND_KEYS
        if unknown:
            raise self.fail((*path, sorted(unknown)[0]), f"unknown key {sorted(unknown)}")
        where = f"{self.fname}:{self._header_line(path)}"
        spec = CommandSpec(name, where)
        for k, v in data.items():
            p = (*path, k)
            if k == "class":
                spec.klass = self._choice(p, v, CLASSES)
            elif k in ("stdin", "stdout"):
                setattr(spec, k, self._choice(p, v, STREAM))
            elif k == "network":
                spec.network = self._choice(p, v, NETWORK)
            elif k == "operands":
                spec.operands = self.slots(p, v)
            elif k == "options":
                self.options(spec, p, v, data.get("word_options", False))
            elif k == "unknown_options":
                spec.unknown_options = self._choice(p, v, ("opaque", "flag"))
            elif k in (
                "options_anywhere",
                "old_style",
                "subcommand_required",
                "mode_required",
                "plus_options",
                "inherit_options",
                "dash",
                "appends_input",
            ):
                setattr(spec, k, self._bool(p, v))
            elif k == "word_options":
                self._bool(p, v)
            elif k == "operand_like":
                spec.operand_like = self._regex(p, self._str(p, v))
            elif k in ("subcommands", "modes"):
                if not isinstance(v, dict):
                    raise self.fail(p, "must be a table of specs")
                subs = {
                    sub: self.command(f"{name} {sub}" if k == "subcommands" else name, d, (*p, sub))
                    for sub, d in v.items()
                }
                setattr(spec, k, subs)
            elif k == "archive":
                spec.archive = self._choice(p, v, ("read", "write", "readwrite"))
            elif k == "default_archive":
                spec.default_archive = self._choice(p, v, ("stdin", "stdout"))
            elif k == "implicit":
                spec.implicit = self.implicit(p, v)
            elif k == "keys":
                if not isinstance(v, dict):
                    raise self.fail(p, "must be a table of key = role")
                spec.keys = {key: self._choice((*p, key), r, ROLES) for key, r in v.items()}
            elif k == "code_if":
                spec.code_if = tuple(self._regex(p, rx) for rx in self._strs(p, v))
            elif k == "modules":
                if not isinstance(v, dict):
                    raise self.fail(p, "must be a table of module = spec name")
                spec.modules = {m: self._str((*p, m), s) for m, s in v.items()}
            elif k in ("note", "default", "default_cmd", "barrier", "language"):
                setattr(spec, k, self._str(p, v))
            else:  # description: documentation only
                self._str(p, v)
        for opt in self._all_options(spec):
            if opt.mode is not None and (spec.modes is None or opt.mode not in spec.modes):
                raise self.fail((*path, "options"), f"mode {opt.mode!r} has no [modes] table")
        spec.risky = not all(_plain(o) for o in self._all_options(spec))
        return spec

    @staticmethod
    def _all_options(spec: CommandSpec) -> Iterator[Option]:
        for table in (spec.short, spec.long, spec.words):
            if table:
                yield from table.values()

    def options(self, spec: CommandSpec, path: tuple[str, ...], value: Any, words: bool) -> None:
        if not isinstance(value, dict):
            raise self.fail(path, "options is a table of spellings = option")
        short: dict[str, Option] = {}
        long: dict[str, Option] = {}
        whole: dict[str, Option] = {}
        for spellings, data in value.items():
            opt = self.option((*path, spellings), data)
            for sp in spellings.split():
                if words and re.fullmatch(r"[-+(),!;][^\s]*", sp):
                    table, key = whole, sp
                elif sp.startswith("--") and len(sp) > 2:
                    table, key = long, sp[2:]
                elif re.fullmatch(r"-.", sp):
                    table, key = short, sp[1]
                else:
                    raise self.fail((*path, spellings), f"bad option spelling {sp!r}")
                if key in table:
                    raise self.fail((*path, spellings), f"option {sp!r} given twice")
                table[key] = opt
        spec.short = short or None
        spec.long = long or None
        spec.words = whole or None
