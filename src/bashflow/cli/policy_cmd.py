"""cli/policy_cmd - `bashflow policy schema` and `bashflow policy show P`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bashflow.errors import EXIT_OK, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="policy_command", metavar="ACTION")
    sub.add_parser("schema", help="print the policy's JSON schema")
    show = sub.add_parser("show", help="print a policy with groups expanded and paths resolved")
    show.add_argument("policy", metavar="P", help="policy file or built-in profile name")
    show.add_argument("--cwd", metavar="DIR", help="working directory to resolve against")
    show.add_argument("--home", metavar="DIR", help="home directory to resolve against")


def run(args: argparse.Namespace) -> int:
    from bashflow.errors import PolicyError
    from bashflow.render import render_error

    if args.policy_command == "schema":
        from bashflow.policy.model import Policy

        print(json.dumps(Policy.model_json_schema(by_alias=True), indent=2))
        return EXIT_OK
    if args.policy_command == "show":
        try:
            print(json.dumps(show(args.policy, cwd=args.cwd, home=args.home), indent=2))
        except PolicyError as err:
            print(render_error(err), file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK
    print("bashflow policy: give an action: schema or show P", file=sys.stderr)
    return EXIT_USAGE


def show(spec: str, *, cwd: str | None = None, home: str | None = None) -> dict[str, Any]:
    import os

    from bashflow.policy.groups import expand_commands
    from bashflow.policy.model import Policy
    from bashflow.policy.paths import resolve_paths
    from bashflow.policy.profiles import load_policy

    policy = load_policy(spec)
    if not isinstance(policy, Policy):  # only the lite loader returns anything else
        raise TypeError(type(policy).__name__)
    cwd = os.path.abspath(cwd or os.getcwd())
    home = os.path.abspath(home or os.path.expanduser("~"))
    paths = resolve_paths(policy, cwd=cwd, home=home, must_exist=True)
    data = policy.to_data()
    data["commands"] = {
        "allow": expand_commands(policy.commands.allow),
        "deny": expand_commands(policy.commands.deny),
    }
    data["paths"] = {
        "read": list(paths.read),
        "write": list(paths.write),
        "deny": list(paths.deny),
        "skipped": list(paths.skipped),
    }
    data["resolved_against"] = {"cwd": cwd, "home": home}
    return data
