"""policy/values.py - what the checker knows statically: field values, shell state, effects.

A `Field` is one word after expansion as far as it is known: the whole text when `exact`, else
the literal prefix before the first part that is not known. The walker (`extract.py`) keeps a
`State` (variables, arrays, working directory, functions, aliases, positional parameters) and
yields effects: `Exec` (something runs), `Access` (a path is read or written), `EnvSet` (a
variable is set), and `Flag` (a finding the walker itself can decide).
"""

from __future__ import annotations

from typing import NamedTuple, cast

from bashflow.parser.syntax import FunctionDef
from bashflow.policy.records import field, record
from bashflow.source import Span


class Field(NamedTuple):
    """One expanded word. Not `exact`: `text` is the known literal prefix only."""

    text: str
    exact: bool = True
    glob: bool = False
    """Every unknown part is a glob pattern (matches within one directory level)."""
    dotdot: bool = False
    """A literal `..` component follows an unknown part (the prefix says nothing)."""
    tainted: bool = False
    """The value comes from data the script reads (command output, `read`, files)."""
    split: bool = False
    """An unquoted unknown expansion: may become any number of fields."""

    def __add__(self, other: Field) -> Field:  # type: ignore[override]
        if not self.exact:
            return Field(
                self.text,
                False,
                self.glob and (other.exact or other.glob),
                self.dotdot or ".." in other.text,
                self.tainted or other.tainted,
                self.split or other.split,
            )
        return Field(
            self.text + other.text,
            other.exact,
            other.glob,
            other.dotdot,
            self.tainted or other.tainted,
            other.split,
        )


EMPTY = Field("")
UNKNOWN = Field("", exact=False)
TAINTED = Field("", exact=False, tainted=True)
MAX_CWDS = 4


@record(frozen=False)
class State:
    """The shell state as far as it is known at one point of the script."""

    vars: dict[str, Field] = field(default_factory=dict)
    arrays: dict[str, tuple[Field, ...] | None] = field(default_factory=dict)
    cwd: str | None = None
    funcs: dict[str, FunctionDef] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    positional: tuple[Field, ...] | None = None
    namerefs: dict[str, str | None] = field(default_factory=dict)
    # Other directories the shell may be in (a `cd` that may have failed, branches that cd'd
    # to different places): paths are checked against `cwd` and each of these. At most
    # MAX_CWDS in all, else the cwd is unknown.
    alt_cwds: tuple[str, ...] = ()
    # Set by `cd`/`pushd`: the directories the shell stays in if that command fails; the
    # list walker decides (from `&&`, `||`, `exit`) whether that path continues.
    cd_failed: tuple[str | None, ...] | None = None

    def fork(self) -> State:
        return State(
            dict(self.vars),
            dict(self.arrays),
            self.cwd,
            dict(self.funcs),
            dict(self.aliases),
            self.positional,
            dict(self.namerefs),
            self.alt_cwds,
            self.cd_failed,
        )

    def cwds(self) -> tuple[str | None, ...]:
        """Every directory the shell may be in here (None: unknown)."""
        return (self.cwd, *self.alt_cwds)

    def set_cwds(self, candidates: tuple[str | None, ...]) -> None:
        unique = tuple(dict.fromkeys(candidates))
        if None in unique or not unique or len(unique) > MAX_CWDS:
            self.cwd, self.alt_cwds = None, ()
        else:
            self.cwd, self.alt_cwds = unique[0], cast(tuple[str, ...], unique[1:])

    def absorb(self, others: list[State]) -> None:
        """Make this state the join of itself and `others` (control flow merging): values that
        differ become unknown; definitions (functions, aliases) accumulate."""
        for o in others:
            for name in set(self.vars) | set(o.vars):
                a, b = self.vars.get(name), o.vars.get(name)
                if a != b:
                    tainted = bool((a and a.tainted) or (b and b.tainted))
                    self.vars[name] = TAINTED if tainted else UNKNOWN
            for name in set(self.arrays) | set(o.arrays):
                if self.arrays.get(name, ()) != o.arrays.get(name, ()):
                    self.arrays[name] = None
            if self.cwds() != o.cwds():
                self.set_cwds(self.cwds() + o.cwds())
            if self.positional != o.positional:
                self.positional = None
            self.funcs.update(o.funcs)
            self.aliases.update(o.aliases)
            for name, target in o.namerefs.items():
                if self.namerefs.get(name, target) != target:
                    self.namerefs[name] = None
                else:
                    self.namerefs[name] = target

    def forget(self, names: set[str], tainted: set[str], *, cwd: bool) -> None:
        """Before a loop body: names it assigns become unknown (a later iteration sees them);
        those it may assign from data become tainted."""
        for name in names:
            self.vars[name] = TAINTED if name in tainted else UNKNOWN
            if name in self.arrays:
                self.arrays[name] = None
        if cwd:
            self.set_cwds((None,))


class Saved(NamedTuple):
    """What a name was (scalar, array, nameref; None = absent) before `local` shadowed it."""

    var: Field | None
    array: tuple[Field, ...] | None
    has_array: bool
    nameref: str | None
    has_nameref: bool

    @classmethod
    def of(cls, name: str, st: State) -> Saved:
        return cls(
            st.vars.get(name),
            st.arrays.get(name),
            name in st.arrays,
            st.namerefs.get(name),
            name in st.namerefs,
        )

    def restore(self, name: str, st: State) -> None:
        if self.var is None:
            st.vars.pop(name, None)
        else:
            st.vars[name] = self.var
        if self.has_array:
            st.arrays[name] = self.array
        else:
            st.arrays.pop(name, None)
        if self.has_nameref:
            st.namerefs[name] = self.nameref
        else:
            st.namerefs.pop(name, None)


class Exec(NamedTuple):
    """A program (or builtin with effects) runs with this argv."""

    argv: tuple[Field, ...]
    span: Span
    cwd: str | None
    via: str = ""


class Access(NamedTuple):
    """A path is read (`mode="read"`) or written (`"write"`); `recursive` covers its subtree."""

    path: Field
    mode: str
    span: Span
    cwd: str | None
    recursive: bool = False
    what: str = ""
    dotglob: bool = False
    """`shopt -s dotglob` may be on: a glob at the start of a name matches dot files too."""


class EnvSet(NamedTuple):
    """A variable is set (by assignment, `export`, `declare`, `read`, `printf -v`, `env`)."""

    name: str
    span: Span
    via: str
    command: str = ""


class Flag(NamedTuple):
    """A finding the walker decides itself (code, message, definite or unknown)."""

    code: str
    message: str
    span: Span
    definite: bool = False


Effect = Exec | Access | EnvSet | Flag


def glob_field(text: str) -> Field:
    return Field(text, exact=False, glob=True)


def join_fields(fields: list[Field]) -> Field:
    """Several candidate values of one variable as one over-approximated value."""
    if not fields:
        return EMPTY
    if len(fields) == 1:
        return fields[0]
    texts = [f.text for f in fields]
    prefix = texts[0]
    for t in texts[1:]:
        while not t.startswith(prefix):
            prefix = prefix[:-1]
    rests = [t[len(prefix) :] for t in texts]
    glob = all(f.exact or f.glob for f in fields) and not any("/" in r for r in rests)
    dotdot = any(".." in r.split("/") or f.dotdot for r, f in zip(rests, fields, strict=True))
    return Field(prefix, False, glob, dotdot, any(f.tainted for f in fields))
