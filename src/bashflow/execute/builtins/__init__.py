"""execute/builtins - bash's builtins, one module per family, joined into the `Builtins`
mixin of `Interpreter`. `TABLE` maps each builtin's name to its method."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bashflow.execute.builtins.dirs import DirBuiltins
from bashflow.execute.builtins.flow import FlowBuiltins
from bashflow.execute.builtins.io import IOBuiltins
from bashflow.execute.builtins.jobs import JobBuiltins
from bashflow.execute.builtins.misc import MiscBuiltins
from bashflow.execute.builtins.printf import PrintfBuiltin
from bashflow.execute.builtins.vars import VarBuiltins
from bashflow.parser.commands import RESERVED_WORDS

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

TABLE: dict[str, str] = {
    ":": "b_true", "true": "b_true", "false": "b_false", "echo": "b_echo",
    "printf": "b_printf", "test": "b_test", "[": "b_bracket", "cd": "b_cd", "pwd": "b_pwd",
    "pushd": "b_pushd", "popd": "b_popd", "dirs": "b_dirs", "exit": "b_exit",
    "return": "b_return", "break": "b_break", "continue": "b_continue", "shift": "b_shift",
    "set": "b_set", "shopt": "b_shopt", "eval": "b_eval", "source": "b_source",
    ".": "b_source", "exec": "b_exec", "command": "b_command", "builtin": "b_builtin",
    "type": "b_type", "hash": "b_hash", "let": "b_let", "caller": "b_caller",
    "times": "b_times", "trap": "b_trap", "wait": "b_wait", "kill": "b_kill",
    "umask": "b_umask", "getopts": "b_getopts", "declare": "b_declare",
    "typeset": "b_declare", "local": "b_local", "export": "b_export",
    "readonly": "b_readonly", "unset": "b_unset", "read": "b_read", "mapfile": "b_mapfile",
    "readarray": "b_mapfile", "alias": "b_alias", "unalias": "b_unalias",
    "enable": "b_enable", "jobs": "b_jobs", "disown": "b_true", "fg": "b_false",
    "bg": "b_false", "ulimit": "b_ulimit", "help": "b_false", "history": "b_true",
    "suspend": "b_false", "logout": "b_exit", "compgen": "b_compgen", "complete": "b_true",
    "compopt": "b_true", "fc": "b_false", "bind": "b_true",
}  # fmt: skip
SPECIAL = frozenset(
    [
        "break",
        ":",
        ".",
        "continue",
        "eval",
        "exec",
        "exit",
        "export",
        "readonly",
        "return",
        "set",
        "shift",
        "trap",
        "unset",
        "source",
    ]
)
KEYWORDS = RESERVED_WORDS
"""bash's reserved words (`type` says `keyword`): the parser's list."""


class Builtins(
    DirBuiltins, FlowBuiltins, IOBuiltins, JobBuiltins, MiscBuiltins, PrintfBuiltin, VarBuiltins
):
    """All builtins (a mixin of `Interpreter`)."""

    def builtin_for(self: Interpreter, name: str) -> Callable[[list[str]], int] | None:
        method = TABLE.get(name)
        if method is None or name in self.disabled_builtins:
            return None
        fn: Callable[[list[str]], int] = getattr(self, method)
        return fn

    def b_true(self: Interpreter, argv: list[str]) -> int:
        return 0

    def b_enable(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        disable = False
        flags = ""
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            flags += a[1:]
            if "n" in a:
                disable = True
        if not args:  # a listing, as `enable NAME` / `enable -n NAME` commands
            lines = []
            for name in sorted(TABLE):
                off = name in self.disabled_builtins
                if "s" in flags and name not in SPECIAL:
                    continue
                if "a" in flags or off == disable:
                    lines.append(f"enable {'-n ' if off else ''}{name}\n")
            return self.out("".join(lines))
        status = 0
        for name in args:
            if name not in TABLE:
                self.error(f"enable: {name}: not a shell builtin")
                status = 1
            elif disable:
                self.disabled_builtins.add(name)
            else:
                self.disabled_builtins.discard(name)
        return status

    def b_false(self: Interpreter, argv: list[str]) -> int:
        return 1
