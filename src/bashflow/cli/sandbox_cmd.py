"""cli/sandbox_cmd.py - `bashflow sandbox run --policy P [--workdir DIR] -- CMD ARGS...`.

Runs one command under a policy in the kernel sandbox. Exit status: the command's own, 128+N
when killed by signal N (a limit), 126/127 when the policy denies or cannot find the program,
125 when the sandbox cannot be set up, 2 for a bad policy or invocation. On a limit or denial
one line on stderr: `bashflow: limit exceeded: FIELD (VALUE)` / `bashflow: denied: REASON`.
Output to a terminal has its control sequences shown escaped unless `--raw-tty`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from bashflow.errors import EXIT_USAGE, PolicyError

if TYPE_CHECKING:
    from bashflow.sandbox.spawner import Spawner

EXIT_SANDBOX = 125


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run one command under a policy",
                         description="run one command under a policy in the kernel sandbox")  # fmt: skip
    run.add_argument("--policy", "-p", default="workspace",
                     help="policy file (.toml/.json) or built-in profile name (default: workspace)")  # fmt: skip
    run.add_argument("--workdir", "-w", default=".", help="work directory (default: .)")
    run.add_argument("--accept-weaker", action="append", default=[], metavar="LAYER",
                     help="run even though LAYER is unavailable here (repeatable)")  # fmt: skip
    run.add_argument("--raw-tty", action="store_true",
                     help="pass control sequences to a terminal unescaped (default: only "
                          "newline, tab, carriage return and SGR colours pass)")  # fmt: skip
    run.add_argument("-v", "--verbose", action="store_true", help="describe the plan on stderr")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")


def run(args: argparse.Namespace) -> int:
    from bashflow.sandbox.spawner import Spawner

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("bashflow sandbox run: no command given (use -- CMD ARGS...)", file=sys.stderr)
        return EXIT_USAGE
    # The fork server first: its start-up (a fresh interpreter) overlaps reading the policy.
    with Spawner() as spawner:
        return _run(args, command, spawner)


def _run(args: argparse.Namespace, command: list[str], spawner: Spawner) -> int:
    from bashflow.policy.profiles import load_policy
    from bashflow.render import render_error
    from bashflow.sandbox.plan import SandboxError, prepare
    from bashflow.sandbox.probe import Layer
    from bashflow.sandbox.relay import relay
    from bashflow.sandbox.spawner import ExecDenied

    try:
        policy = load_policy(args.policy)
        weaker = [Layer(name) for name in args.accept_weaker]
    except PolicyError as e:
        print(render_error(e), file=sys.stderr)
        return EXIT_USAGE
    except ValueError as e:
        print(f"bashflow sandbox run: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        plan = prepare(policy, args.workdir, accept_weaker=weaker)
    except PolicyError as e:
        print(render_error(e), file=sys.stderr)
        return EXIT_USAGE
    except SandboxError as e:
        print(f"bashflow: sandbox: {e.message}", file=sys.stderr)
        return EXIT_SANDBOX
    if args.verbose:
        for line in plan.describe():
            print(f"bashflow: plan: {line}", file=sys.stderr)
    for layer in sorted(plan.accepted_missing, key=lambda la: la.value):
        print(f"bashflow: warning: running without the {layer.value} layer", file=sys.stderr)
    sys.stdout.flush()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    stdin = 0 if not os.isatty(0) else None
    try:
        proc = spawner.spawn(plan, command, stdin=stdin, stdout=out_w, stderr=err_w)
    except ExecDenied as e:
        print(f"bashflow: denied: {e.message}", file=sys.stderr)
        return e.exit_code
    except SandboxError as e:
        print(f"bashflow: sandbox: {e.message}", file=sys.stderr)
        return EXIT_SANDBOX
    finally:
        os.close(out_w)
        os.close(err_w)
    escape = () if args.raw_tty else [fd for fd in (1, 2) if os.isatty(fd)]
    outcome, _ = relay(proc, {out_r: 1, err_r: 2}, limit_mib=plan.limits.output_mib,
                       escape=escape)  # fmt: skip
    if outcome.limit:
        print(f"bashflow: limit exceeded: {outcome.limit} ({outcome.value})", file=sys.stderr)
    return outcome.exit_code
