"""cli/schema_cmd.py - `bashflow schema workflow|policy`: print a JSON schema; check a workflow file.

`bashflow schema workflow --check FILE` reads a (possibly hand-edited) workflow document and
exits 0 when it is valid, or prints `FILE:line:col: error: ...` and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from bashflow.errors import EXIT_OK, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "which", choices=("workflow", "policy"), help="the workflow document or the policy"
    )
    parser.add_argument(
        "--check",
        metavar="FILE",
        help="workflow only: check FILE (- = standard input) instead of printing the schema",
    )


def run(args: argparse.Namespace) -> int:
    if args.which == "policy":
        if args.check is not None:
            print(
                "bashflow schema: --check is for workflows (see `bashflow check`)", file=sys.stderr
            )
            return EXIT_USAGE
        from bashflow.cli import policy_cmd

        # the same text as `bashflow policy schema`, from the one place that prints it
        return policy_cmd.run(argparse.Namespace(policy_command="schema"))
    if args.check is not None:
        from bashflow.compile.load import WorkflowError, load_workflow_file
        from bashflow.render import render_error

        try:
            load_workflow_file(args.check)
        except WorkflowError as err:
            print(render_error(err), file=sys.stderr)
            return err.exit_code
        return EXIT_OK
    from bashflow.compile.wfmodel import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK
