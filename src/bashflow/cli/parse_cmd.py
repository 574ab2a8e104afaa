"""cli/parse_cmd - `bashflow parse FILE|-`: the syntax tree as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from bashflow.errors import EXIT_OK, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="script to parse, or - for standard input")
    parser.add_argument(
        "--indent", type=int, default=None, metavar="N", help="indent the JSON by N spaces"
    )
    parser.add_argument(
        "--check", action="store_true", help="only check the syntax; print nothing on success"
    )


def read_script(path: str) -> tuple[bytes, str]:
    """The script's bytes and the name to report it by (`-` is standard input)."""
    if path == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    with open(path, "rb") as f:
        return f.read(), path


def run(args: argparse.Namespace) -> int:
    from bashflow.errors import ParseError
    from bashflow.parser import parse_source
    from bashflow.parser.tojson import script_json
    from bashflow.render import render_error
    from bashflow.source import Source

    try:
        data, name = read_script(args.file)
    except OSError as err:
        print(f"bashflow: {args.file}: {err.strerror}", file=sys.stderr)
        return EXIT_USAGE
    source = Source.from_bytes(data, name)
    try:
        tree = parse_source(source)
    except ParseError as err:
        print(render_error(err), file=sys.stderr)
        return err.exit_code
    if not args.check:
        out = json.dumps(script_json(tree, source), indent=args.indent, ensure_ascii=False)
        # undecodable script bytes travel as surrogates: write them as JSON \u escapes
        sys.stdout.flush()
        sys.stdout.buffer.write(out.encode("utf-8", "backslashreplace") + b"\n")
    return EXIT_OK
