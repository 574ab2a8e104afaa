"""execute/errors - control flow and run-time errors of the interpreter.

Control flow (`break`, `continue`, `return`, `exit`) travels as exceptions; so do bash's
run-time errors, which differ in how far they unwind: `ExpansionError` abandons the current
top-level command (bash's "discard"), `FatalError` ends the shell (or the subshell).
"""

from __future__ import annotations


class ControlFlow(Exception):
    """Base of the non-error control-flow exceptions."""


class BreakLoop(ControlFlow):
    def __init__(self, count: int, status: int = 0) -> None:
        super().__init__(count)
        self.count = count
        self.status = status


class ContinueLoop(ControlFlow):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


class ReturnFromFunction(ControlFlow):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ExitShell(ControlFlow):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ShellError(Exception):
    """A bash run-time error with the message bash prints (without the `FILE: line N: `
    prefix, which the interpreter adds)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ExpansionError(ShellError):
    """An error that abandons the current top-level command (arithmetic errors, bad
    substitutions, failglob) and sets `$?`; the script goes on with the next line."""


class ReadonlyError(ExpansionError):
    """Assignment to a readonly variable: abandons the current line, like an expansion
    error (the `declare` family reports it and fails instead)."""


class FatalError(ShellError):
    """An error that ends a non-interactive shell (`set -u`, `${x:?}`, readonly in some
    forms): the shell exits with `status`."""


class CommandError(ShellError):
    """An error that fails only the current command (a builtin's usage error, a bad
    redirection); the message is printed and the command's status is `status`."""
