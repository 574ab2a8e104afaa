"""cli/exec_cmd - `bashflow exec`: run a script as bash would, inside the policy.

Invocation follows bash: `exec FILE [ARGS...]`, `exec -c CMD [NAME [ARGS...]]`, the script on
stdin (or `-s [ARGS...]`), and bash's options (`-e -u -x -o pipefail -O extglob ...`);
bashflow's own options come first: `--policy P` / `--profile NAME` (default: the `workspace`
profile), `--workdir DIR`, `-j N`, `--no-precheck`, and for the sandbox `--accept-weaker
LAYER` and `--raw-tty` (`execute/contained.split_sandbox_options`). By default the whole
interpreter runs inside one sandbox of the policy (`execute/contained.py`); where this machine
cannot set one up the run fails with 125, never runs uncontained. `--no-sandbox` runs the
interpreter here, with only the per-command policy check (a warning on stderr unless
`--quiet`/`-q` or BASHFLOW_QUIET=1).
"""

from __future__ import annotations

import argparse
import os
import sys

from bashflow.errors import EXIT_USAGE

USAGE = (
    "usage: bashflow exec [--policy P | --profile NAME] [--workdir DIR] [-j N] [--no-sandbox]"
    " [-q] [--no-precheck] [--accept-weaker LAYER] [--raw-tty] [--events FILE]"
    " [--state-dir DIR] [--keep-runs N] [--no-history] [bash options]"
    " (-c CMD [NAME [ARGS...]] | FILE [ARGS...] | WORKFLOW.json | -s [ARGS...])"
)


HELP = """
Run a bash script as bash would, with bashflow's own interpreter.

bashflow options (before the script):
  --policy P         policy file (or profile name): static check first, then each
                     command's concrete argv
  --profile NAME     a built-in policy profile (strict, workspace, permissive);
                     the default is workspace
  --workdir DIR      run in DIR (what the script writes there stays)
  -j N               run up to N independent commands at the same time (default: the
                     number of CPUs); output is still released in program order
  --events FILE      write the run's events as JSON lines to FILE (- for stdout)
  --state-dir DIR    where the run history is kept (default $BASHFLOW_STATE_DIR,
                     else $XDG_STATE_HOME/bashflow or ~/.local/state/bashflow)
  --keep-runs N      keep the last N runs of this script in the history (default 5)
  --no-history       do not record the run (events and the live view still work)
  --no-sandbox       run without the kernel sandbox (trusted scripts; warns)
  -q, --quiet        no warning for --no-sandbox (also BASHFLOW_QUIET=1)
  --no-precheck      skip the static policy check
  --accept-weaker LAYER
                     run although this machine lacks sandbox LAYER (repeatable)
  --raw-tty          pass control sequences to a terminal unescaped
bash options: -e -u -x -v -n -f -a -C -E -T ..., -o NAME, +o NAME, -O SHOPT, +O SHOPT

Without --no-sandbox the interpreter runs inside the sandbox (125 if none can be set up).
A WORKFLOW.json from `bashflow compile` runs its script with the per-node settings
(timeout_seconds, retry, priority, pool). Every run is recorded: `bashflow runs`,
`bashflow show RUN`, `bashflow cancel|pause|resume RUN`, `bashflow rerun RUN --failed`.
Exit status: the script's own; 126 a command denied; 124 wall timeout; 128+N a limit or
signal; 125 no sandbox; 2 bad invocation or syntax error.
"""


_VALUED = ("--policy", "--profile", "--workdir", "-j", "--events", "--state-dir", "--keep-runs",
           "--skip-nodes")  # fmt: skip
"""bashflow's options that take a value (`--opt V` or `--opt=V`)."""


def default_jobs() -> int:
    """-j's default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except OSError:
        return os.cpu_count() or 1


class HelpRequested(Exception):
    """`bashflow exec --help`."""


class ExecOptions:
    def __init__(self) -> None:
        self.policy: str | None = None
        self.profile: str | None = None
        self.workdir: str | None = None
        self.jobs = default_jobs()
        self.no_sandbox = False
        self.quiet = os.environ.get("BASHFLOW_QUIET", "") not in ("", "0")
        self.precheck = True
        self.command: str | None = None
        self.file: str | None = None
        self.stdin = False
        self.args: list[str] = []
        self.set_options: list[tuple[str, bool]] = []
        self.shopts: list[tuple[str, bool]] = []
        self.name: str | None = None
        # the run record and parallel runs (docs/runs.md), handed to the interpreter
        self.events_fd = -1
        self.nonce = b""
        self.settings: dict[int, dict[str, object]] | None = None
        self.pools: dict[str, int] = {}
        self.skip_nodes: tuple[int, ...] = ()
        self.script_text: str | None = None
        self.workflow_path: str | None = None
        """The script's text when it came from a workflow document (`file` is its name)."""
        self.events_path: str | None = None
        self.state_dir: str | None = None
        self.keep_runs = 5
        self.history = True
        self.invocation: list[str] = []
        """The exec arguments as given (the run record keeps them for `bashflow rerun`)."""
        self.node_texts: dict[int, str] = {}
        """The document's node texts: its settings apply only if the script still compiles
        to the same nodes."""


def parse_exec_args(argv: list[str]) -> ExecOptions:
    """bash's command line (plus bashflow's long options). Raises ValueError on misuse."""
    from bashflow.execute.state import LETTER_OPTIONS

    o = ExecOptions()
    i = 0
    want_c = False
    while i < len(argv):
        a = argv[i]
        if a in _VALUED or a.startswith(tuple(v + "=" for v in _VALUED if v[:2] == "--")):
            if "=" in a:
                key, _, value = a.partition("=")
            else:
                if i + 1 >= len(argv):
                    raise ValueError(f"{a}: option requires an argument")
                key, value = a, argv[i + 1]
                i += 1
            if key == "--policy":
                o.policy = value
            elif key == "--profile":
                o.profile = value
            elif key == "--workdir":
                o.workdir = value
            elif key == "--events":
                o.events_path = value
            elif key == "--state-dir":
                o.state_dir = value
            elif key in ("--keep-runs", "--skip-nodes"):
                numbers = value.split(",") if key == "--skip-nodes" else [value]
                if not all(x.isdigit() for x in numbers):
                    raise ValueError(f"{key}: {value}: invalid number")
                if key == "--keep-runs":
                    o.keep_runs = max(1, int(value))
                else:
                    o.skip_nodes = tuple(int(x) for x in numbers)
            else:
                if not value.isdigit():
                    raise ValueError(f"-j: {value}: invalid number")
                o.jobs = int(value)
            i += 1
            continue
        if a.startswith("-j") and len(a) > 2:  # -j4, as make and ninja take it
            if not a[2:].isdigit():
                raise ValueError(f"-j: {a[2:]}: invalid number")
            o.jobs = int(a[2:])
            i += 1
            continue
        if a == "--help":
            raise HelpRequested
        if a == "--no-sandbox":
            o.no_sandbox = True
        elif a == "--no-history":
            o.history = False
        elif a in ("--quiet", "-q"):
            o.quiet = True
        elif a == "--no-precheck":
            o.precheck = False
        elif a == "--":
            i += 1
            break
        elif a in ("-o", "+o", "-O", "+O"):
            if i + 1 >= len(argv):
                raise ValueError(f"{a}: option requires an argument")
            (o.set_options if a[1] == "o" else o.shopts).append((argv[i + 1], a[0] == "-"))
            i += 1
        elif a.startswith("--"):
            if a in ("--norc", "--noprofile", "--posix"):
                if a == "--posix":
                    o.set_options.append(("posix", True))
            else:
                raise ValueError(f"{a}: invalid option")
        elif len(a) > 1 and a[0] in "-+":
            for ch in a[1:]:
                if ch == "c" and a[0] == "-":
                    want_c = True
                elif ch == "s" and a[0] == "-":
                    o.stdin = True
                elif ch in LETTER_OPTIONS:
                    o.set_options.append((LETTER_OPTIONS[ch], a[0] == "-"))
                elif ch in "il":
                    pass
                else:
                    raise ValueError(f"{a[0]}{ch}: invalid option")
        else:
            break
        i += 1
    rest = argv[i:]
    if want_c:
        if not rest:
            raise ValueError("-c: option requires an argument")
        o.command = rest[0]
        if len(rest) > 1:
            o.name = rest[1]
            o.args = rest[2:]
    elif o.stdin or not rest:
        o.stdin = True
        o.args = rest
    else:
        o.file = rest[0]
        o.args = rest[1:]
    return o


def is_workflow(file: str, workdir: str | None) -> bool:
    """A `bashflow.workflow` document (`bashflow compile` output), not a script."""
    if not file.endswith(".json"):
        return False
    try:
        with open(os.path.join(workdir or ".", file), "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.lstrip()[:1] == b"{" and b'"bashflow.workflow"' in head


def take_workflow(o: ExecOptions) -> int | None:
    """Run the document's script with its per-node settings and pools; a status to exit
    with when the document is not valid (2, the error at `file:line:col`)."""
    from bashflow.compile.load import WorkflowError, load_workflow_file
    from bashflow.compile.wfmodel import Settings
    from bashflow.render import render_error

    path = os.path.join(o.workdir or ".", o.file or "")
    try:
        doc = load_workflow_file(path)
    except WorkflowError as err:
        sys.stderr.write(render_error(err) + "\n")
        return EXIT_USAGE
    plain = Settings().model_dump(mode="json")
    settings: dict[int, dict[str, object]] = {}
    for node in doc.nodes:
        merged = doc.settings_for(node.id).model_dump(mode="json")
        if merged != plain:
            settings[node.id] = merged
    o.script_text = doc.source.text
    o.workflow_path = o.file
    o.file = doc.source.filename
    o.settings = settings
    o.node_texts = {node.id: node.text for node in doc.nodes}
    o.pools = dict(doc.pools)
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = USAGE
    # bash's options (`-c`, `-e`, `+o`, ...) are parsed by `parse_exec_args`, not argparse:
    # with no prefix characters every argument is a positional kept in order
    parser.prefix_chars = "\x01"
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from bashflow.execute.contained import run_sandboxed, split_sandbox_options

    try:
        rest, sandbox_options = split_sandbox_options(list(args.rest))
        o = parse_exec_args(rest)
        o.invocation = list(args.rest)
    except HelpRequested:
        sys.stdout.write(USAGE + "\n" + HELP)
        return 0
    except ValueError as err:
        sys.stderr.write(f"bashflow exec: {err}\n{USAGE}\n")
        return EXIT_USAGE
    if o.command is None and o.file is not None and is_workflow(o.file, o.workdir):
        status = take_workflow(o)
        if status is not None:
            return status
    if not o.no_sandbox:
        return run_sandboxed(o, sandbox_options)
    if not o.quiet:
        sys.stderr.write("bashflow: warning: --no-sandbox: the script runs without containment\n")
    if o.workdir is not None:
        try:
            os.chdir(o.workdir)
        except OSError as err:
            sys.stderr.write(
                f"bashflow exec: --workdir {o.workdir}: {os.strerror(err.errno or 2)}\n"
            )
            return EXIT_USAGE
    from bashflow.execute.host import run_plain

    return run_plain(o)
