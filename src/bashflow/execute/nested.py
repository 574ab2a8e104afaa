"""execute/nested - bash started from inside a script (`"$BASH" -c ...`, `bash sub.sh`,
`exec "$BASH" ...`, `${BASH:-bash} sub.sh`) runs as a NEW shell of this interpreter.

Running the real bash would run every command of the sub-script without bashflow's
per-command policy check (and inside the sandbox bash may not even be executable), so a
program that is bash (`BASH_PATH`, or a `bash` on PATH resolving to it) runs as a fresh
`Interpreter` in a forked child, as exec would leave it: exported variables and functions
only, a new `$$`, `$PPID` the starting shell, SHLVL one more, close-on-exec descriptors
closed, caught signals back to their default action, and the same policy hook. Its command
line is read by `bashflow exec`'s own parser (`cli.exec_cmd.parse_exec_args`) with
bashflow's options refused, as bash refuses them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from typing import TYPE_CHECKING, NoReturn

from bashflow.execute.runner import wait_status
from bashflow.execute.state import BASH_PATH

if TYPE_CHECKING:
    from bashflow.cli.exec_cmd import ExecOptions
    from bashflow.execute.interp import Interpreter

_real_bash: str | None = None

VERSION_TEXT = """\
GNU bash, version {version} (x86_64-pc-linux-gnu)
Copyright (C) 2022 Free Software Foundation, Inc.
License GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>

This is free software; you are free to change and redistribute it.
There is NO WARRANTY, to the extent permitted by law.
"""

_LONG_OPTIONS = [
    "debug",
    "debugger",
    "dump-po-strings",
    "dump-strings",
    "help",
    "init-file",
    "login",
    "noediting",
    "noprofile",
    "norc",
    "posix",
    "pretty-print",
    "rcfile",
    "restricted",
    "verbose",
    "version",
]

USAGE_TEXT = (
    "Usage:\t{name} [GNU long option] [option] ...\n"
    "\t{name} [GNU long option] [option] script-file ...\n"
    "GNU long options:\n" + "".join(f"\t--{o}\n" for o in _LONG_OPTIONS) + "Shell options:\n"
    "\t-ilrsD or -c command or -O shopt_option\t\t(invocation only)\n"
    "\t-abefhkmnptuvxBCEHPT or -o option\n"
)


def is_bash(path: str) -> bool:
    """Whether `path` (a program about to run) is the bash `$BASH` names."""
    global _real_bash
    if path == BASH_PATH:
        return True
    if _real_bash is None:
        _real_bash = os.path.realpath(BASH_PATH)
    try:
        return os.path.realpath(path) == _real_bash
    except (OSError, ValueError):
        return False


def lower_shell_level(env: dict[str, str]) -> None:
    """SHLVL one less in `env`: what bash does before it replaces itself with a program."""
    if "SHLVL" in env:
        try:
            env["SHLVL"] = str(int(env["SHLVL"]) - 1)
        except ValueError:
            env["SHLVL"] = "0"


def run_bash(interp: Interpreter, argv: list[str], env: dict[str, str]) -> int:
    """`bash ARGS...` as a program: a new shell in a forked child; its exit status."""
    pid = os.fork()
    if pid == 0:
        become_bash(interp, argv, env)
    interp.runner.last_pid = pid
    return wait_status(pid)


def become_bash(interp: Interpreter, argv: list[str], env: dict[str, str]) -> NoReturn:
    """Turn this process into the shell `argv` starts (what `exec bash ...` does)."""
    status = 70
    try:
        status = _run(interp, argv, env)
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
    except BaseException:  # pragma: no cover - a bug: say where, as a crashed program would
        traceback.print_exc()
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status & 255)


def _as_exec_leaves_it(env: dict[str, str]) -> None:
    """What execve would do to this process: close-on-exec descriptors closed, caught
    signals back to the default (ignored ones stay ignored), the new environment."""
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2:
            with contextlib.suppress(OSError):
                if not os.get_inheritable(fd):
                    os.close(fd)
    for sig in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError, TypeError):
            if callable(signal.getsignal(sig)):
                signal.signal(sig, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(env)


def _run(interp: Interpreter, argv: list[str], env: dict[str, str]) -> int:
    from bashflow.cli.exec_cmd import HelpRequested
    from bashflow.execute.main import run_exec

    name = argv[0]
    _as_exec_leaves_it(env)
    try:
        o = parse_bash_args(argv[1:])
    except HelpRequested:
        from bashflow.execute.main import BASH_VERSION

        if "--version" in argv[1:]:
            os.write(1, VERSION_TEXT.format(version=BASH_VERSION).encode())
        else:
            os.write(1, USAGE_TEXT.format(name=name).encode())
        return 0
    except ValueError as err:
        msg = f"{name}: {err}\n"
        if str(err).endswith("invalid option"):
            msg += USAGE_TEXT.format(name=name)
        os.write(2, msg.encode("utf-8", "surrogateescape"))
        return 2
    bad = _bad_option_name(o, name)
    if bad:
        os.write(2, bad.encode("utf-8", "surrogateescape"))
        return 2
    if o.command is not None and o.name is None:
        o.name = name  # `bash -c CMD`: $0 is the shell's own argv[0]
    return run_exec(o, policy=interp.policy)


def parse_bash_args(args: list[str]) -> ExecOptions:
    """bash's own command line through `bashflow exec`'s parser; bashflow's options (which
    bash does not have) are invalid options, as bash says."""
    from bashflow.cli.exec_cmd import HelpRequested, parse_exec_args

    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--" or not a.startswith(("-", "+")) or a in ("-", "+"):
            break
        if a in ("--version", "--help"):
            raise HelpRequested
        if a.startswith("--"):
            if a[2:] not in _LONG_OPTIONS:
                raise ValueError(f"{a}: invalid option")
            if a == "--verbose":
                out.append("-v")
            elif a in ("--norc", "--noprofile", "--posix"):
                out.append(a)
            elif a in ("--init-file", "--rcfile"):
                i += 1  # its file (read only by interactive shells)
        elif a in ("-j", "-q"):
            raise ValueError(f"{a}: invalid option")
        else:
            out.append(a)
            if a in ("-o", "+o", "-O", "+O") and i + 1 < len(args):
                out.append(args[i + 1])
                i += 1
            elif "c" in a[1:] and a[0] == "-":
                i += 1
                break
        i += 1
    return parse_exec_args(out + args[i:])


def _bad_option_name(o: ExecOptions, name: str) -> str:
    from bashflow.execute.state import SET_OPTIONS, SHOPT_DEFAULTS

    for opt, _ in o.set_options:
        if opt not in SET_OPTIONS:
            return f"{name}: line 0: {name}: {opt}: invalid option name\n"
    for opt, _ in o.shopts:
        if opt not in SHOPT_DEFAULTS:
            return f"{name}: line 0: {opt}: invalid shell option name\n"
    return ""
