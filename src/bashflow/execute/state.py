"""execute/state - the shell's state: variables with attributes and scopes, positional
parameters, options, functions, traps and the directory stack.

Variables live in a stack of scopes (index 0 is the global scope; each function call pushes
one, as do temporary assignments before a function or builtin); lookup is dynamic, as in
bash. A value is a string, an indexed array (`dict[int, str]`, sparse) or an associative
array (`dict[str, str]`); `None` is a declared but unset variable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from bashflow.parser.syntax import FunctionDef
    from bashflow.source import Source

from bashflow.execute import casemap
from bashflow.execute.errors import ExpansionError, ReadonlyError, ShellError

BASH_PATH = (
    "/usr/bin/bash"
    if os.path.exists("/usr/bin/bash") or not os.path.exists("/bin/bash")
    else "/bin/bash"
)
"""`$BASH`: bash's path, which scripts see and test with `-x`; a run of it is a new shell of
the interpreter (execute/nested.py)."""

ARRAY = 1
ASSOC = 2
EXPORT = 4
READONLY = 8
INTEGER = 16
LOWER = 32
UPPER = 64
NAMEREF = 128
TRACE = 256
CAPITALIZE = 512

FLAG_LETTERS = (
    (ARRAY, "a"),
    (ASSOC, "A"),
    (INTEGER, "i"),
    (LOWER, "l"),
    (NAMEREF, "n"),
    (READONLY, "r"),
    (TRACE, "t"),
    (UPPER, "u"),
    (EXPORT, "x"),
)
LETTER_FLAGS = {letter: flag for flag, letter in FLAG_LETTERS} | {"c": CAPITALIZE}

Value = Union[str, dict[Any, str], None]  # noqa: UP007 - keys: int (indexed) or str (assoc)


class Var:
    """One variable: its value and attribute flags."""

    __slots__ = ("flags", "value")

    def __init__(self, value: Value = None, flags: int = 0) -> None:
        self.value = value
        self.flags = flags

    def copy(self) -> Var:
        v = self.value
        if isinstance(v, dict):
            v = dict(v)
        return Var(v, self.flags)


def assoc_order(keys: list[str], buckets: int = 1024) -> list[str]:
    """bash's iteration order of one of its FNV-1 hash tables: by bucket, newest first within
    a bucket (`keys` oldest first). An associative array has 1024 buckets, the table of
    hashed commands 256."""

    def bucket(item: tuple[int, str]) -> tuple[int, int]:
        h = 2166136261
        for c in item[1].encode("utf-8", "surrogateescape"):
            h = ((h * 16777619) & 0xFFFFFFFF) ^ c
        return (h & (buckets - 1), -item[0])

    return [k for _, k in sorted(enumerate(keys), key=bucket)]


SET_OPTIONS = {
    "allexport": "a",
    "braceexpand": "B",
    "emacs": "",
    "errexit": "e",
    "errtrace": "E",
    "functrace": "T",
    "hashall": "h",
    "histexpand": "H",
    "history": "",
    "ignoreeof": "",
    "interactive-comments": "",
    "keyword": "k",
    "monitor": "m",
    "noclobber": "C",
    "noexec": "n",
    "noglob": "f",
    "nolog": "",
    "notify": "b",
    "nounset": "u",
    "onecmd": "t",
    "physical": "P",
    "pipefail": "",
    "posix": "",
    "privileged": "p",
    "verbose": "v",
    "vi": "",
    "xtrace": "x",
}
LETTER_OPTIONS = {v: k for k, v in SET_OPTIONS.items() if v}

SHOPT_DEFAULTS = {
    "autocd": False, "assoc_expand_once": False, "cdable_vars": False, "cdspell": False,
    "checkhash": False, "checkjobs": False, "checkwinsize": True, "cmdhist": True,
    "compat31": False, "compat32": False, "compat40": False, "compat41": False,
    "compat42": False, "compat43": False, "compat44": False, "complete_fullquote": True,
    "direxpand": False, "dirspell": False, "dotglob": False, "execfail": False,
    "expand_aliases": False, "extdebug": False, "extglob": False, "extquote": True,
    "failglob": False, "force_fignore": True, "globasciiranges": True, "globskipdots": True,
    "globstar": False, "gnu_errfmt": False, "histappend": False, "histreedit": False,
    "histverify": False, "hostcomplete": True, "huponexit": False, "inherit_errexit": False,
    "interactive_comments": True, "lastpipe": False, "lithist": False,
    "localvar_inherit": False, "localvar_unset": False, "login_shell": False,
    "mailwarn": False, "no_empty_cmd_completion": False, "nocaseglob": False,
    "nocasematch": False, "noexpand_translation": False, "nullglob": False,
    "patsub_replacement": True, "progcomp": True, "progcomp_alias": False,
    "promptvars": True, "restricted_shell": False, "shift_verbose": False,
    "sourcepath": True, "varredir_close": False, "xpg_echo": False,
}  # fmt: skip


DYNAMIC = frozenset(
    ("RANDOM", "LINENO", "SECONDS", "BASHPID", "EPOCHSECONDS", "EPOCHREALTIME", "SRANDOM",
     "BASH_SUBSHELL", "SHELLOPTS", "BASHOPTS", "_")
)  # fmt: skip


def _seed() -> int:
    return (os.getpid() ^ int(time.time() * 1000)) & 0x7FFFFFFF


class State:
    """Everything a subshell copies: a fork of the interpreter inherits it as is."""

    def __init__(self) -> None:
        # bash declares the call-stack arrays (FUNCNAME has a value only inside a function)
        # and sets BASH to its own path (the environment's value, if any, replaces it here)
        self.scopes: list[dict[str, Var]] = [
            {"FUNCNAME": Var(None, ARRAY), "BASH_SOURCE": Var({}, ARRAY),
             "BASH_LINENO": Var({}, ARRAY), "BASH": Var(BASH_PATH)}
        ]  # fmt: skip
        self.positional: list[str] = []
        self.arg0 = "bash"
        self.options: dict[str, bool] = {name: False for name in SET_OPTIONS}
        self.options["braceexpand"] = True
        self.options["hashall"] = True
        self.options["interactive-comments"] = True
        self.shopt: dict[str, bool] = dict(SHOPT_DEFAULTS)
        self.functions: dict[str, tuple[FunctionDef, Source, int]] = {}
        self.traps: dict[str, str] = {}
        self.dirstack: list[str] = []
        self.last_status = 0
        self.last_bg_pid: int | None = None
        self.job_texts: dict[int, str] = {}  # background jobs' commands, for bash's notes
        self.pipestatus: list[int] = [0]
        self.shell_pid = os.getpid()
        self.start_time = time.monotonic()
        self.seconds_base = 0
        self.rand_seed = _seed()
        self.lineno = 0
        # bash's call stack, innermost first: (FUNCNAME, BASH_SOURCE, BASH_LINENO) of each
        # function call and `source`; `base_sources` is the script's own "main" frame (a
        # script file has one; `-c` and stdin have none)
        self.frames: list[tuple[str, str, int]] = []
        self.base_sources: list[str] = []
        self.subshell_level = 0
        # `$_` at start-up: the environment's `_`, else the shell's own path (bash's argv[0])
        self.last_arg = os.environ.get("_") or BASH_PATH
        self.hash: dict[str, str] = {}  # hashed commands: name -> path
        self.hash_hits: dict[str, int] = {}
        self.aliases: dict[str, str] = {}
        self.extra_flags = ""
        self.arith: Callable[[str], int] = lambda text: int(text or "0")

    # ------------------------------------------------------------------ lookup

    def find(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            v = scope.get(name)
            if v is not None:
                return v
        return None

    def resolve(self, name: str) -> str:
        """Follow namerefs from `name` to the variable it names."""
        seen = 0
        while True:
            v = self.find(name)
            if v is None or not v.flags & NAMEREF or not isinstance(v.value, str) or not v.value:
                return name
            name = v.value
            seen += 1
            if seen > 8:
                return ""  # a reference loop: bash warns and treats it as unset

    def lookup(self, name: str) -> Var | None:
        v = self.find(name)
        if v is not None and v.flags & NAMEREF and isinstance(v.value, str) and v.value:
            target = self.resolve(name)
            return self.find(target) if target else None
        return v

    def dynamic(self, name: str) -> str | None:
        """The value of bash's computed variables, or None when `name` is not one."""
        if name == "RANDOM":
            return str(self.random())
        if name == "LINENO":
            return str(self.lineno)
        if name == "SECONDS":
            return str(int(time.monotonic() - self.start_time) + self.seconds_base)
        if name == "BASHPID":
            return str(os.getpid())
        if name == "EPOCHSECONDS":
            return str(int(time.time()))
        if name == "EPOCHREALTIME":
            return f"{time.time():.6f}"
        if name == "SRANDOM":
            return str(int.from_bytes(os.urandom(4), "little"))
        if name == "BASH_SUBSHELL":
            return str(self.subshell_level)
        if name == "_":
            return self.last_arg
        if name == "SHELLOPTS":
            return ":".join(n for n in sorted(self.options) if self.options[n])
        if name == "BASHOPTS":
            return ":".join(n for n in sorted(self.shopt) if self.shopt[n])
        return None

    def random(self) -> int:
        # bash's brand(): the Park-Miller "minimal standard" generator, folded to 15 bits
        last = self.rand_seed or 123459876
        h, lo = divmod(last, 127773)
        t = 16807 * lo - 2836 * h
        if t < 0:
            t += 0x7FFFFFFF
        self.rand_seed = t
        return ((t >> 16) ^ (t & 65535)) & 32767

    def get(self, name: str) -> str | None:
        """A variable's string value (element 0 of an array), None when unset."""
        if name in DYNAMIC:
            return self.dynamic(name)
        element = self.ref_element(name)
        if element is not None:
            base, key = element
            target = self.lookup(base)
            if target is None or not isinstance(target.value, dict):
                return target.value if target is not None and key in ("0", 0) else None  # type: ignore[return-value]
            return target.value.get(key)
        v = self.lookup(name)
        if v is None:
            return None
        value = v.value
        if value is None or isinstance(value, str):
            return value
        if v.flags & ASSOC:
            return value.get("0")
        return value.get(0)

    def ref_element(self, name: str) -> tuple[str, int | str] | None:
        """When `name` is a nameref to an array element (`declare -n r='a[1]'`): the array
        and the key (evaluated for indexed arrays)."""
        v = self.find(name)
        if v is None or not v.flags & NAMEREF or not isinstance(v.value, str):
            return None
        target = v.value
        if not target.endswith("]") or "[" not in target:
            return None
        base, _, sub = target[:-1].partition("[")
        arr = self.lookup(base)
        if arr is not None and arr.flags & ASSOC:
            return base, sub
        return base, self.arith(sub)

    def is_set(self, name: str) -> bool:
        return self.get(name) is not None

    # ------------------------------------------------------------------ assignment

    def _target_scope(self, name: str) -> dict[str, Var]:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope
        return self.scopes[0]

    def var_for_write(self, name: str) -> Var:
        target = self.resolve(name)
        if not target:
            raise ShellError(f"{name}: circular name reference")
        name = target
        scope = self._target_scope(name)
        v = scope.get(name)
        if v is None:
            v = Var()
            if self.options["allexport"]:
                v.flags |= EXPORT
            scope[name] = v
        return v

    def convert(self, v: Var, value: str, old: str | None = None) -> str:
        if v.flags & INTEGER:
            n = self.arith(value)
            if old is not None:
                n = self.arith(old or "0") + n
            return str(n)
        if old is not None:
            value = old + value
        if v.flags & LOWER:
            value = casemap.lower(value)
        elif v.flags & UPPER:
            value = casemap.upper(value)
        elif v.flags & CAPITALIZE:
            value = casemap.capitalize_first(casemap.lower(value))
        return value

    def set(self, name: str, value: str, append: bool = False) -> None:
        """`name=value` (or `+=`): element 0 of an array."""
        if name == "RANDOM":
            self.rand_seed = int(value) if value.lstrip("-").isdigit() else 0
        elif name == "SECONDS":
            self.seconds_base = int(value) if value.isdigit() else 0
            self.start_time = time.monotonic()
        elif name == "PATH":
            self.hash.clear()  # bash forgets the hashed commands when PATH is assigned
        element = self.ref_element(name)
        if element is not None:
            self.set_elem(element[0], str(element[1]), value, append)
            return
        v = self.var_for_write(name)
        if v.flags & READONLY:
            raise ReadonlyError(f"{name}: readonly variable")
        if self.options["allexport"]:
            v.flags |= EXPORT
        cur = v.value
        if isinstance(cur, dict):
            key: int | str = "0" if v.flags & ASSOC else 0
            old = cur.get(key) if append else None
            cur[key] = self.convert(v, value, old if append else None)
            return
        v.value = self.convert(v, value, (cur or "") if append else None)

    def set_elem(self, name: str, key: str, value: str, append: bool = False) -> None:
        """`name[key]=value`; `key` is already expanded (evaluated for indexed arrays)."""
        v = self.var_for_write(name)
        if v.flags & READONLY:
            raise ReadonlyError(f"{name}: readonly variable")
        if v.flags & ASSOC:
            arr: dict[str, str] = v.value if isinstance(v.value, dict) else {}
            v.value = arr
            arr[key] = self.convert(v, value, arr.get(key, "") if append else None)
            return
        idx = self.arith(key)
        cur = v.value
        if not isinstance(cur, dict):
            cur = {} if cur is None else {0: cur}
            v.value = cur
            v.flags |= ARRAY
        iarr: dict[int, str] = cur
        if idx < 0:
            top = max(iarr) + 1 if iarr else 0
            if idx + top < 0:
                raise ExpansionError(f"{name}[{key}]: bad array subscript")
            idx += top
        iarr[idx] = self.convert(v, value, iarr.get(idx, "") if append else None)
        if len(iarr) > 1 and idx < max(iarr):
            v.value = dict(sorted(iarr.items()))

    def set_array(self, name: str, items: list[str] | dict[int, str], append: bool = False) -> None:
        v = self.var_for_write(name)
        if v.flags & READONLY:
            raise ReadonlyError(f"{name}: readonly variable")
        if isinstance(items, list):
            items = dict(enumerate(items))
        if append:
            cur = v.value
            base: dict[int, str] = (
                dict(cur) if isinstance(cur, dict) else ({} if cur is None else {0: cur})
            )
            start = max(base) + 1 if base else 0
            for k, val in sorted(items.items()):
                base[start + k] = val
            items = base
        v.flags |= ARRAY
        v.flags &= ~ASSOC
        v.value = {k: self.convert(v, val) for k, val in sorted(items.items())}

    def set_assoc(self, name: str, items: dict[str, str], append: bool = False) -> None:
        v = self.var_for_write(name)
        if v.flags & READONLY:
            raise ReadonlyError(f"{name}: readonly variable")
        cur = v.value if append and isinstance(v.value, dict) else {}
        merged: dict[str, str] = dict(cur)
        for k, val in items.items():
            merged[k] = self.convert(v, val)
        v.flags |= ASSOC
        v.value = merged

    def unset(self, name: str) -> None:
        name = self.resolve(name) or name
        for scope in reversed(self.scopes):
            v = scope.get(name)
            if v is not None:
                if v.flags & READONLY:
                    raise ShellError(f"{name}: cannot unset: readonly variable")
                if scope is self.scopes[-1] and len(self.scopes) > 1:
                    # bash: an unset local of the current function stays local, and unset
                    scope[name] = Var(None, v.flags & EXPORT)
                else:
                    del scope[name]
                return

    def local(self, name: str) -> Var:
        scope = self.scopes[-1]
        v = scope.get(name)
        if v is None:
            v = Var()
            scope[name] = v
        return v

    # ------------------------------------------------------------------ arrays

    def array_items(self, name: str) -> list[tuple[str, str]]:
        """(key, value) pairs of `name` as bash lists them; a scalar is element 0."""
        v = self.lookup(name)
        if v is None or v.value is None:
            return []
        value = v.value
        if isinstance(value, str):
            return [("0", value)]
        if v.flags & ASSOC:
            keys = assoc_order(list(value))
            return [(k, value[k]) for k in keys]
        return [(str(k), val) for k, val in value.items()]

    # ------------------------------------------------------------------ environment

    def exported(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for scope in self.scopes:
            for name, v in scope.items():
                if v.flags & EXPORT and isinstance(v.value, str):
                    env[name] = v.value
                elif name in env:
                    del env[name]
        return env

    def iter_names(self) -> Iterator[str]:
        seen: set[str] = set()
        for scope in reversed(self.scopes):
            for name, _v in scope.items():
                if name not in seen:
                    seen.add(name)
                    yield name
