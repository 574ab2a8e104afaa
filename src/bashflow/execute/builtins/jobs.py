"""execute/builtins/jobs - `wait`, `kill`, `jobs`, `umask`."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import os
import re
import signal
from typing import TYPE_CHECKING

from bashflow.execute.builtins.flow import signal_number, signal_table
from bashflow.execute.errors import CommandError

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


class JobBuiltins:
    def b_wait(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        any_one = False
        pvar = None
        while args and args[0].startswith("-"):
            a = args.pop(0)
            if a == "-n":
                any_one = True
            elif a == "-p" and args:
                pvar = args.pop(0)
            elif a == "--":
                break
        if any_one and not args:
            if not self.jobs:
                return 127
            while True:
                try:
                    pid, ws = os.waitpid(-1, 0)
                except ChildProcessError:
                    return 127
                if pid in self.jobs:
                    self.jobs.remove(pid)
                    if pvar is not None:
                        self.state.set(pvar, str(pid))
                    self.waited[pid] = self.reaped_job(pid, ws)
                    return self.waited[pid]
        if not args:  # bash's `wait` with no operands is always 0
            for pid in self.jobs:
                ws = self.wait_raw_pid(pid)
                if ws >= 0:
                    self.reaped_job(pid, ws)
            self.jobs.clear()
            self.waited.clear()
            return 0
        status = 0
        for a in args:
            try:
                pid = self.job_pid(a) if a.startswith("%") else int(a)
            except (ValueError, IndexError):
                self.error(f"wait: `{a}': not a pid or valid job spec")
                status = 2
                continue
            if pid in self.waited:
                status = self.waited[pid]
                if pvar is not None:
                    self.state.set(pvar, str(pid))
                continue
            if pid not in self.jobs:
                self.error(f"wait: pid {pid} is not a child of this shell")
                status = 127
                continue
            ws = self.wait_raw_pid(pid)
            status = self.waited[pid] = self.reaped_job(pid, ws) if ws >= 0 else 127
            self.jobs.remove(pid)
            if pvar is not None:
                self.state.set(pvar, str(pid))
        return status

    def job_pid(self: Interpreter, spec: str) -> int:
        """`%N`, `%%`, `%+`, `%-`: a background job's pid (jobs are numbered from 1)."""
        body = spec[1:]
        if body in ("", "%", "+"):
            return self.job_table[-1]
        if body == "-":
            return self.job_table[-2]
        n = int(body)
        if n < 1:
            raise ValueError(spec)
        return self.job_table[n - 1]

    def b_kill(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        sig = signal.SIGTERM
        if not args:
            raise CommandError(
                "\0kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]",
                2,
            )
        if args[0] == "-l" or args[0] == "-L":
            if len(args) > 1:
                out = []
                for a in args[1:]:
                    if a.isdigit():
                        n = int(a)
                        n = n - 128 if n > 128 else n
                        try:
                            out.append(signal.Signals(n).name[3:])
                        except ValueError:
                            raise CommandError(f"kill: {a}: invalid signal specification") from None
                    else:
                        num = signal_number(a)
                        if num is None:
                            raise CommandError(f"kill: {a}: invalid signal specification")
                        out.append(str(num))
                return self.out("\n".join(out) + "\n")
            return self.out(signal_table())
        if args[0] in ("-s", "-n") and len(args) > 1:
            num = signal_number(args[1])
            if num is None:
                raise CommandError(f"kill: {args[1]}: invalid signal specification")
            sig = num  # type: ignore[assignment]
            args = args[2:]
        elif args[0].startswith("-") and args[0] != "--" and len(args[0]) > 1:
            num = signal_number(args[0][1:])
            if num is None:
                raise CommandError(f"kill: {args[0][1:]}: invalid signal specification")
            sig = num  # type: ignore[assignment]
            args = args[1:]
        if args and args[0] == "--":
            args = args[1:]
        status = 0
        for a in args:
            try:
                pid = self.job_pid(a) if a.startswith("%") else int(a)
            except IndexError:
                self.error(f"kill: {a}: no such job")
                status = 1
                continue
            except ValueError:
                self.error(f"kill: {a}: arguments must be process or job IDs")
                status = 1
                continue
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                self.error(f"kill: ({pid}) - No such process")
                status = 1
            except PermissionError:
                self.error(f"kill: ({pid}) - Operation not permitted")
                status = 1
        return status  # a trap for a signal sent to ourselves runs once kill is done

    def b_jobs(self: Interpreter, argv: list[str]) -> int:
        if "-p" in argv:
            return self.out("".join(f"{p}\n" for p in self.jobs))
        return 0

    def b_umask(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        symbolic = "-S" in args
        as_cmd = "-p" in args
        args = [a for a in args if a not in ("-S", "-p")]
        if not args:
            cur = os.umask(0)
            os.umask(cur)
            if symbolic:
                parts: list[str] = []
                for who, shift in (("u", 6), ("g", 3), ("o", 0)):
                    bits = (~cur >> shift) & 7
                    parts.append(
                        who
                        + "="
                        + "".join(c for c, b in (("r", 4), ("w", 2), ("x", 1)) if bits & b)
                    )
                return self.out(("umask -S " if as_cmd else "") + ",".join(parts) + "\n")
            return self.out(("umask " if as_cmd else "") + f"{cur:04o}\n")
        spec = args[0]
        if spec[:1].isdigit():
            try:
                os.umask(int(spec, 8))
            except ValueError:
                raise CommandError(f"umask: {spec}: octal number out of range") from None
            return 0
        cur = os.umask(0)
        perms = 0o777 & ~cur
        for clause in spec.split(","):
            m = re.match(r"([ugoa]*)([-+=])([rwx]*)\Z", clause)
            if m is None:
                os.umask(cur)
                raise CommandError(
                    f"umask: `{clause[-1:] or spec}': invalid symbolic mode operator"
                )
            who = m.group(1) or "a"
            bits = sum({"r": 4, "w": 2, "x": 1}[c] for c in m.group(3))
            mask = 0
            for wch in who:
                for shift in {"u": (6,), "g": (3,), "o": (0,), "a": (6, 3, 0)}[wch]:
                    mask |= 7 << shift
            value = 0
            for shift in (6, 3, 0):
                value |= bits << shift
            value &= mask
            if m.group(2) == "=":
                perms = (perms & ~mask) | value
            elif m.group(2) == "+":
                perms |= value
            else:
                perms &= ~value
        os.umask(0o777 & ~perms)
        return 0
