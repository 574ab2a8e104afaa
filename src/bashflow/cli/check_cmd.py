"""cli/check_cmd - `bashflow check [FILE | - | -c CMD] --policy P`: allow or deny, with reasons.

Exit 0 allow, 1 deny, 2 bad invocation or policy. Formats: text (`file:line:col:
deny[BF101]: ...` with the source line and a caret), json (docs/check.md) and SARIF 2.1.0.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bashflow.errors import EXIT_DENY, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from bashflow.policy.findings import Verdict


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?", help="script to check, or - for stdin")
    parser.add_argument("-c", dest="command", metavar="CMD", help="check this command text")
    parser.add_argument(
        "--policy",
        "-p",
        metavar="P",
        default="workspace",
        help="policy file (.toml/.json) or built-in profile name (default: workspace)",
    )
    parser.add_argument("--cwd", metavar="DIR", help="working directory to assume")
    parser.add_argument("--home", metavar="DIR", help="home directory to assume")
    parser.add_argument(
        "--format", choices=("text", "json", "sarif"), default="text", help="output format"
    )


def run(args: argparse.Namespace) -> int:
    from bashflow.errors import PolicyError
    from bashflow.policy.check import check
    from bashflow.policy.profiles import load_policy
    from bashflow.render import render_error

    if (args.command is None) == (args.file is None):
        print("bashflow check: give exactly one of FILE, - or -c CMD", file=sys.stderr)
        return EXIT_USAGE
    if args.command is not None:
        data, name = args.command.encode("utf-8", "surrogateescape"), "<command>"
    elif args.file == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            with open(args.file, "rb") as f:
                data, name = f.read(), args.file
        except OSError as err:
            print(f"bashflow: {args.file}: {err.strerror}", file=sys.stderr)
            return EXIT_USAGE
    try:
        policy = load_policy(args.policy, lite=True)
        verdict = check(data, policy, cwd=args.cwd, home=args.home, filename=name)
    except PolicyError as err:
        print(render_error(err), file=sys.stderr)
        return EXIT_USAGE
    if args.format == "text":
        out = render_text(verdict)
    else:
        import json  # only here: a cold `check` in text form does not import it

        data_out = verdict.to_data() if args.format == "json" else sarif(verdict)
        out = json.dumps(data_out, indent=2, ensure_ascii=False)
    if out:
        sys.stdout.flush()
        sys.stdout.buffer.write(out.encode("utf-8", "backslashreplace") + b"\n")
    return EXIT_OK if verdict.allowed else EXIT_DENY


def render_text(verdict: Verdict) -> str:
    from bashflow.render import diagnostic
    from bashflow.source import MISSING

    parts = []
    for f in verdict.findings:
        message = f.message if f.definite else f"{f.message} (unknown: needs a runtime check)"
        span = f.span if f.line else MISSING
        parts.append(diagnostic(verdict.source, span, f"deny[{f.code}]", message))
    return "\n".join(parts)


def sarif(verdict: Verdict) -> dict[str, Any]:
    """The verdict as a SARIF 2.1.0 log (one run, one result per finding)."""
    from bashflow import __version__
    from bashflow.policy.rules import RULES

    source = verdict.source
    rules = []
    for r in RULES:
        doc = (r.__doc__ or "").strip()
        rules.append(
            {
                "id": r.CODE,
                "name": r.NAME,
                "shortDescription": {"text": doc.splitlines()[0] if doc else r.NAME},
                "fullDescription": {"text": doc},
                "defaultConfiguration": {"level": "error"},
            }
        )
    results = []
    for f in verdict.findings:
        region: dict[str, int] = {}
        if f.line and source is not None:
            end_line, end_col = source.line_col(f.span.end)
            region = {
                "startLine": f.line,
                "startColumn": f.col,
                "endLine": end_line,
                "endColumn": end_col,
            }
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": source.filename if source else "<string>"},
                **({"region": region} if region else {}),
            }
        }
        results.append(
            {
                "ruleId": f.code,
                "level": "error",
                "message": {"text": f.message},
                "locations": [location],
                "properties": {"kind": f.kind, "construct": f.construct},
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bashflow",
                        "version": __version__,
                        "informationUri": "https://github.com/bashflow/bashflow",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
