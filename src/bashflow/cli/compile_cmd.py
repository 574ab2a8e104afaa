"""cli/compile_cmd - `bashflow compile FILE|-`: the script as a workflow graph.

Exit 0 compiled; 2 syntax error (`file:line:col: message`), unreadable file, bad policy or an
unknown format. `--explain` writes the explanation to standard output (the
document then goes only to `-o OUT`, when given).
"""

from __future__ import annotations

import argparse
import sys

from bashflow.errors import EXIT_OK, EXIT_USAGE

FORMATS = ("json", "dot", "mermaid")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="script to compile, or - for standard input")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the document to OUT")
    parser.add_argument("--format", choices=FORMATS, default="json", help="document format")
    parser.add_argument(
        "--policy",
        metavar="P",
        help="policy file (.toml/.json) or built-in profile name: adds a verdict to every node",
    )
    parser.add_argument(
        "--cwd",
        metavar="DIR",
        help="directory relative paths are resolved against (default: the current one)",
    )
    parser.add_argument("--home", metavar="DIR", help="value of ~ (default: $HOME)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="say, for nodes that could have run together but will not, which edges order them",
    )
    parser.add_argument(
        "--indent", type=int, default=None, metavar="N", help="indent the JSON by N spaces"
    )


def _write(text: str, path: str | None) -> None:
    data = text.encode("utf-8", "backslashreplace")
    if path is None or path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(path, "wb") as f:
            f.write(data)


def run(args: argparse.Namespace) -> int:
    from bashflow.cli.parse_cmd import read_script
    from bashflow.compile import compile_script
    from bashflow.errors import ParseError, PolicyError
    from bashflow.render import render_error

    try:
        data, name = read_script(args.file)
    except OSError as err:
        print(f"bashflow: {args.file}: {err.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        wf = compile_script(data, filename=name, policy=args.policy, cwd=args.cwd, home=args.home)
    except (ParseError, PolicyError) as err:
        print(render_error(err), file=sys.stderr)
        return err.exit_code if isinstance(err, ParseError) else EXIT_USAGE
    doc = wf.to_json()
    if args.format == "json":
        import json

        out = json.dumps(doc, indent=args.indent, ensure_ascii=False)
    else:
        from bashflow.compile.render import to_dot, to_mermaid

        out = to_dot(doc) if args.format == "dot" else to_mermaid(doc)
    if not out.endswith("\n"):
        out += "\n"
    if args.explain:
        from bashflow.compile.explain import explain

        if args.output is not None:
            _write(out, args.output)
        _write(explain(wf), None)
        return EXIT_OK
    _write(out, args.output)
    return EXIT_OK
