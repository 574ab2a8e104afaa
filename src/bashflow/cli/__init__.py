"""cli - the `bashflow` command: argument parsing, printing and exit codes live here only."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from bashflow import __version__
from bashflow.errors import EXIT_USAGE

# name -> (module, one-line help). Each module defines `add_arguments(parser)` and
# `run(args) -> int`; modules must be cheap to import (load heavy things inside `run`).
COMMANDS: dict[str, tuple[str, str]] = {
    "parse": ("bashflow.cli.parse_cmd", "print a script's syntax tree as JSON"),
    "check": ("bashflow.cli.check_cmd", "check a script against a policy: allow or deny"),
    "policy": ("bashflow.cli.policy_cmd", "print the policy schema or a resolved policy"),
    "doctor": ("bashflow.cli.doctor_cmd", "show which sandbox layers this machine supports"),
    "sandbox": ("bashflow.cli.sandbox_cmd", "run one command in the kernel sandbox"),
    "compile": ("bashflow.cli.compile_cmd", "compile a script into a workflow graph"),
    "schema": ("bashflow.cli.schema_cmd", "print a JSON schema (workflow, policy)"),
    "exec": ("bashflow.cli.exec_cmd", "run a script as bash would, inside the policy"),
    "runs": ("bashflow.cli.runs_cmd", "list recent runs"),
    "show": ("bashflow.cli.runs_cmd", "show a run: every node, its status and output"),
    "cancel": ("bashflow.cli.runs_cmd", "cancel a running run"),
    "pause": ("bashflow.cli.runs_cmd", "pause a running run"),
    "resume": ("bashflow.cli.runs_cmd", "resume a paused run"),
    "rerun": ("bashflow.cli.runs_cmd", "run a recorded run again (--failed: only what failed)"),
}


class _CommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `bashflow` parser. With `command` (a key of COMMANDS), only that command's subparser
    is built and only its module imported: what `main` does when argv names a command, so a
    cold `bashflow check` does not pay for the other commands (their help is not reachable
    from such an argv anyway). Without it, every command is built (`bashflow --help`)."""
    parser = argparse.ArgumentParser(
        prog="bashflow",
        description="Compile bash scripts into workflow graphs, check them against a policy, "
        "and run them in a kernel sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"bashflow {__version__}")
    # An explicit prog is what argparse would compute (it has no positionals yet), without
    # building a help formatter (which imports shutil to ask for the terminal size).
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog=parser.prog)
    for name, (module_name, help_text) in COMMANDS.items():
        if command is not None and name != command:
            continue
        module = cast(_CommandModule, importlib.import_module(module_name))
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): exit quietly like other Unix tools, with
        # stdout pointed at /dev/null so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
