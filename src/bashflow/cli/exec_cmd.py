"""cli/exec_cmd.py - `bashflow exec` (being built this session; replaced by the real command)."""

from __future__ import annotations

import argparse
import sys

from bashflow.errors import EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    print("bashflow: exec: not available in this build yet", file=sys.stderr)
    return EXIT_USAGE
