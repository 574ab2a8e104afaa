"""cli/runs_cmd - the run history and run control: `bashflow runs`, `show`, `cancel`, `pause`,
`resume` and `rerun` (docs/runs.md).

One module for the six commands: `add_arguments` tells them apart by the subparser's prog
(`bashflow show`), `run` by `args.command`.

Exit status: 0 done; 1 no such run, a run not in a state the command applies to, or a history
that cannot be read (one line on stderr); 2 bad usage. `rerun` exits with the new run's status.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bashflow.errors import EXIT_OK

EXIT_FAIL = 1
CONTROL = ("cancel", "pause", "resume")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    command = parser.prog.split()[-1]
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="where the history is (default: $BASHFLOW_STATE_DIR, $XDG_STATE_HOME/bashflow,"
        " ~/.local/state/bashflow)",
    )
    if command == "runs":
        parser.add_argument(
            "-n", type=int, default=20, metavar="N", help="how many runs (default 20)"
        )
        parser.add_argument("--json", action="store_true", help="a JSON array")
        return
    parser.add_argument("run", metavar="RUN", help="a run id, a unique prefix of one, or 'last'")
    if command == "show":
        parser.add_argument("--json", action="store_true", help="one JSON object")
        parser.add_argument("--no-output", action="store_true", help="without captured output")
    elif command == "rerun":
        parser.add_argument(
            "--failed",
            action="store_true",
            help="run again only what failed, timed out or was cancelled, and what depends on it",
        )


def _error(message: str) -> int:
    print(f"bashflow: {message}", file=sys.stderr)
    return EXIT_FAIL


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from bashflow.runs.control import ControlError
    from bashflow.runs.store import StoreError, describe

    try:
        if args.command == "runs":
            return _runs(args)
        if args.command == "show":
            return _show(args)
        if args.command in CONTROL:
            return _control(args)
        return _rerun(args)
    except ControlError as err:
        return _error(str(err))
    except StoreError as err:
        return _error(f"history: {err}")
    except (sqlite3.Error, OSError) as err:
        return _error(f"history: {describe(err)}")


def _open(args: argparse.Namespace, *, missing_ok: bool) -> Any:
    """The store, or None when there is no history yet and `missing_ok`."""
    import os

    from bashflow.runs.control import ControlError
    from bashflow.runs.paths import history_path, state_dir
    from bashflow.runs.store import Store

    directory = state_dir(args.state_dir, create=False)
    if not os.path.exists(history_path(directory)):
        if missing_ok:
            return None
        raise ControlError(f"no run matches '{args.run}'")
    return Store.open(directory, create=False)


# --- formatting helpers
def _print_json(doc: object) -> None:
    """UTF-8 JSON; a lone surrogate (an undecodable byte of an argument) as its JSON escape."""
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.buffer.flush()


def _clock(t: float | None) -> str:
    if t is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _duration(run: dict[str, Any]) -> float:
    end = run["finished"] if run["finished"] is not None else time.time()
    return max(0.0, float(end) - float(run["started"]))


def _seconds(value: float) -> str:
    from bashflow.runs.live import fmt_seconds

    return fmt_seconds(value)


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _safe(text: str) -> str:
    from bashflow.runs.live import printable

    return printable(text)


def _exit_text(node: dict[str, Any]) -> str:
    if node.get("signal"):
        return _signal_name(int(node["signal"]))
    return "-" if node.get("exit") is None else str(node["exit"])


def _command_line(argv: list[str]) -> str:
    import shlex

    return shlex.join(["bashflow", "exec", *argv])


# --- bashflow runs
def _runs(args: argparse.Namespace) -> int:
    from bashflow.runs.redact import Redactor

    if args.n < 1:
        print("bashflow runs: -n must be at least 1", file=sys.stderr)
        return 2
    store = _open(args, missing_ok=True)
    runs: list[dict[str, Any]] = []
    if store is not None:
        try:
            runs = store.list_runs(args.n)
        finally:
            store.close()
    red = Redactor()
    if args.json:
        out = []
        for r in runs:
            item = {k: r[k] for k in ("id", "key", "status", "exit_status", "limit_name")}
            item.update(
                name=red.text(r["name"]),
                started=r["started"],
                finished=r["finished"],
                duration=round(_duration(r), 6),
                nodes=r["nodes"],
                nodes_ok=r["nodes_ok"],
                nodes_failed=r["nodes_failed"],
            )
            out.append(item)
        _print_json(out)
        return EXIT_OK
    if not runs:
        print("no runs recorded", file=sys.stderr)
        return EXIT_OK
    rows = [("RUN", "STATUS", "EXIT", "STARTED", "DURATION", "NODES ok/failed/all", "NAME")]
    for r in runs:
        rows.append(
            (
                r["id"],
                r["status"],
                "-" if r["exit_status"] is None else str(r["exit_status"]),
                _clock(r["started"]),
                _seconds(_duration(r)),
                f"{r['nodes_ok']}/{r['nodes_failed']}/{r['nodes']}",
                _safe(red.text(r["name"])),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].rjust(widths[2]),
            row[3].ljust(widths[3]),
            row[4].rjust(widths[4]),
            row[5].rjust(widths[5]),
            row[6],
        ]
        print("  ".join(cells))
    return EXIT_OK


# --- bashflow show
def _show(args: argparse.Namespace) -> int:
    from bashflow.runs.control import find_run
    from bashflow.runs.redact import Redactor

    store = _open(args, missing_ok=False)
    try:
        run = find_run(store, args.run)
        nodes = store.nodes(run["id"], output=not args.no_output)
        edges = store.edges(run["id"])
    finally:
        store.close()
    red = Redactor()
    if args.json:
        _show_json(run, nodes, edges, red, output=not args.no_output)
    else:
        _show_text(run, nodes, red, output=not args.no_output)
    return EXIT_OK


def _output_text(data: bytes | None, red: Any) -> str | None:
    if data is None:
        return None
    return str(red.data(data).decode("utf-8", "replace"))


def _show_json(
    run: dict[str, Any],
    nodes: list[dict[str, Any]],
    edges: list[tuple[int, int]],
    red: Any,
    *,
    output: bool,
) -> None:
    doc_run = {k: v for k, v in run.items() if k not in ("host_boot",)}
    doc_run["name"] = red.text(run["name"])
    doc_run["argv"] = red.argv(run["argv"])
    doc_run["duration"] = round(_duration(run), 6)
    doc_nodes = []
    for n in nodes:
        item = dict(n)
        item["id"] = item.pop("node_id")
        item["text"] = None if n["text"] is None else red.text(n["text"])
        item["start"] = (
            None if n["first_start"] is None else round(n["first_start"] - run["started"], 6)
        )
        item["signal_name"] = _signal_name(n["signal"]) if n["signal"] else None
        if output:
            item["stdout"] = _output_text(n["stdout"], red)
            item["stderr"] = _output_text(n["stderr"], red)
        doc_nodes.append(item)
    doc = {"run": doc_run, "nodes": doc_nodes, "edges": [list(e) for e in edges]}
    _print_json(doc)


def _show_text(run: dict[str, Any], nodes: list[dict[str, Any]], red: Any, *, output: bool) -> None:
    out = sys.stdout.write
    status = run["status"]
    if run["exit_status"] is not None:
        status += f"  exit {run['exit_status']}"
    if run["limit_name"]:
        status += f"  limit {run['limit_name']}"
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n["status"]] = counts.get(n["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    out(f"run       {run['id']}\n")
    out(f"name      {_safe(red.text(run['name']))}\n")
    out(f"status    {status}\n")
    out(
        f"started   {_clock(run['started'])}  finished {_clock(run['finished'])}"
        f"  duration {_seconds(_duration(run))}\n"
    )
    out(f"command   {_safe(_command_line(red.argv(run['argv'])))}\n")
    out(f"cwd       {_safe(run['cwd'] or '-')}\n")
    out(f"host      pid {run['host_pid']}  jobs {run['jobs']}\n")
    out(f"nodes     {len(nodes)}{': ' + summary if summary else ''}\n")
    if not nodes:
        return
    out("\n")
    header = ("NODE", "STATUS", "START", "DURATION", "EXIT", "ATTEMPTS", "RUNS", "LINE", "TEXT")
    rows = [header]
    parents = {n["node_id"]: n["parent"] for n in nodes}
    for n in nodes:
        depth, up = 0, n["parent"]
        while up is not None and depth < 50:  # a body's nodes are indented under theirs
            depth, up = depth + 1, parents.get(up)
        start = "-" if n["first_start"] is None else f"+{n['first_start'] - run['started']:.3f}s"
        rows.append(
            (
                str(n["node_id"]),
                n["status"],
                start,
                f"{n['duration']:.3f}s" if n["executions"] else "-",
                _exit_text(n),
                str(n["attempts"]),
                str(n["executions"]),
                "-" if n["line"] is None else str(n["line"]),
                "  " * depth + _safe(red.text(n["text"] or "")),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(8)]
    right = {0, 2, 3, 5, 6, 7}
    for i, row in enumerate(rows):
        cells = [
            row[j].rjust(widths[j]) if j in right else row[j].ljust(widths[j]) for j in range(8)
        ]
        out("  ".join(cells) + "  " + row[8] + "\n")
        if i == 0 or not output:
            continue
        node = nodes[i - 1]
        for stream in ("stdout", "stderr"):
            data = node.get(stream)
            dropped = node.get(stream + "_dropped") or 0
            if not data and not dropped:
                continue
            note = f" ({dropped} earlier bytes dropped)" if dropped else ""
            out(f"      {stream}:{note}\n")
            text = _output_text(data, red) or ""
            for line in text.splitlines():
                out("        " + _safe(line.replace("\t", "    ")) + "\n")


# --- cancel, pause, resume
def _control(args: argparse.Namespace) -> int:
    from bashflow.runs.control import find_run, signal_run

    store = _open(args, missing_ok=False)
    try:
        message = signal_run(store, find_run(store, args.run), args.command)
    finally:
        store.close()
    print(message, file=sys.stderr)
    return EXIT_OK


# --- rerun
SKIP_OPTION = "--skip-nodes"


def split_skip(argv: list[str]) -> tuple[set[int], list[str]]:
    """The `--skip-nodes LIST` an earlier rerun put among the leading options of a stored exec
    argv (next to its `--state-dir DIR`): the listed nodes, and the argv without it."""
    skipped: set[int] = set()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name not in (SKIP_OPTION, "--state-dir"):
            break
        if not eq:
            if i + 1 >= len(argv):
                break
            value = argv[i + 1]
        step = 1 if eq else 2
        if name == SKIP_OPTION:
            skipped |= {int(x) for x in value.split(",") if x.strip().isdigit()}
        else:
            rest += argv[i : i + step]
        i += step
    return skipped, rest + argv[i:]


def _script_changed(run: dict[str, Any]) -> str | None:
    """Why the run's script cannot be trusted to have the same node ids, or None."""
    import hashlib
    import os

    key, sha = run["key"], run["script_sha"]
    if not sha or not os.path.isabs(key):
        return None
    try:
        with open(key, "rb") as f:
            now = hashlib.sha256(f.read()).hexdigest()
    except OSError as err:
        return f"cannot read {key}: {err.strerror}"
    return None if now == sha else f"{key} changed since run {run['id']}"


def _rerun(args: argparse.Namespace) -> int:
    import os

    from bashflow.runs.control import BAD_NODE_STATUSES, ControlError, find_run, nodes_to_keep

    store = _open(args, missing_ok=False)
    try:
        run = find_run(store, args.run)
        nodes = store.nodes(run["id"], output=False) if args.failed else []
        edges = store.edges(run["id"]) if args.failed else []
    finally:
        store.close()
    if run["status"] in ("running", "paused"):
        raise ControlError(f"run {run['id']} is still {run['status']}")
    kept_before, argv = split_skip(list(run["argv"]))
    skip: list[int] = []
    if args.failed:
        if run["status"] == "success" and not any(n["status"] in BAD_NODE_STATUSES for n in nodes):
            print(f"bashflow: run {run['id']} has nothing to rerun", file=sys.stderr)
            return EXIT_OK
        why = _script_changed(run)
        if why is not None:
            raise ControlError(f"{why}; its node ids may differ (rerun without --failed)")
        skip = nodes_to_keep(nodes, edges, kept_before=kept_before)
    if args.state_dir:
        args.state_dir = os.path.abspath(args.state_dir)
    try:
        os.chdir(run["cwd"] or ".")
    except OSError as err:
        raise ControlError(f"cannot enter {run['cwd']}: {err.strerror}") from None
    exec_argv = ["exec"]
    if args.state_dir:  # the new run goes where the old one is
        exec_argv += ["--state-dir", args.state_dir]
    if skip:
        exec_argv += [SKIP_OPTION, ",".join(map(str, skip))]
    from bashflow.cli import main

    return main([*exec_argv, *argv])
