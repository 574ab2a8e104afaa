"""history_speed - the run history under load, and how fast events reach --events.

1. Fills a temporary history with 10,000 runs of 20 nodes each (2,000 workflows, 5 runs
   kept each; every node with a few hundred bytes of output), then times fresh processes of
   `bashflow show RUN` and `bashflow runs`, alternating with `python3 -c pass` and
   `bashflow --version` (the interpreter's and the CLI's own start-up): median of `--runs`
   each. Target: `show` under 200 ms.
2. Recorder throughput: node events (started, output, finished) fed through
   `Recorder.feed_events` with the history on, in-process: microseconds per node.
3. Event latency: this process feeds node events through `Recorder.feed_events` with
   `--events FILE`; a separate reader process tails FILE; the delay between the feed and the
   reader seeing the line (clock: CLOCK_MONOTONIC, shared by both). Target: median < 50 ms.

    python -m benchmarks.history_speed [--runs 5] [--events 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from bashflow.runs.markers import begin_marker, end_marker  # noqa: E402
from bashflow.runs.recorder import Recorder  # noqa: E402
from bashflow.runs.store import NODE_FIELDS, RUN_FIELDS, Store  # noqa: E402

RUNS = 10_000
NODES = 20
KEYS = 2_000
SHOW_TARGET_MS = 200.0
LATENCY_TARGET_MS = 50.0


def _env(state: str) -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["BASHFLOW_STATE_DIR"] = state
    return env


def fill(state: str) -> str:
    """10,000 finished runs straight into the schema (one transaction); returns a run id
    from the middle."""
    store = Store.open(state)
    conn = store.conn
    now = time.time() - RUNS * 60
    runs = []
    nodes = []
    edges = []
    for i in range(RUNS):
        started = now + i * 60
        run_id = time.strftime("r-%Y%m%d-%H%M%S-", time.gmtime(started)) + f"{i % 65536:04x}"
        failed = i % 7 == 0
        runs.append(
            {
                "id": run_id,
                "key": f"/home/u/project{i % KEYS}/build.sh",
                "name": "build.sh",
                "status": "failed" if failed else "success",
                "exit_status": 1 if failed else 0,
                "limit_name": None,
                "started": started,
                "finished": started + 12.5,
                "host_pid": 1000 + i,
                "host_pid_start": 5,
                "host_boot": "",
                "cwd": f"/home/u/project{i % KEYS}",
                "argv": json.dumps(["-j", "4", "build.sh"]),
                "script_sha": "0" * 64,
                "jobs": 4,
            }
        )
        for n in range(1, NODES + 1):
            out = "".join(f"compiling unit {n}.{k} ... ok\n" for k in range(8)).encode()
            nodes.append(
                (run_id, n, None, "command", n, f"cc -c unit{n}.c -o unit{n}.o",
                 "failed" if failed and n == NODES else "success", started + n * 0.5,
                 started + n * 0.5 + 0.4, 0.4, 1, 1 if failed and n == NODES else 0, None, 1,
                 out, b"", 0, 0)
            )  # fmt: skip
            if n > 1:
                edges.append((run_id, n - 1, n))
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO runs ({', '.join(RUN_FIELDS)}) VALUES ({', '.join('?' * len(RUN_FIELDS))})",
        [tuple(r[f] for f in RUN_FIELDS) for r in runs],
    )
    conn.executemany(
        f"INSERT INTO nodes (run_id, {', '.join(NODE_FIELDS)})"
        f" VALUES (?{', ?' * len(NODE_FIELDS)})",
        nodes,
    )
    conn.executemany("INSERT INTO edges (run_id, src, dst) VALUES (?, ?, ?)", edges)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return str(runs[RUNS // 2]["id"])


def _time(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def commands(state: str, run_id: str, runs: int) -> dict[str, float]:
    env = _env(state)
    py = sys.executable
    cases = {
        "python3 -c pass": [py, "-c", "pass"],
        "bashflow --version": [py, "-m", "bashflow", "--version"],
        f"bashflow show {run_id}": [py, "-m", "bashflow", "show", run_id],
        "bashflow runs": [py, "-m", "bashflow", "runs"],
        "bashflow show last --json": [py, "-m", "bashflow", "show", "last", "--json"],
    }
    for argv in cases.values():  # warm the page cache and the bytecode
        _time(argv, env)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):
        for name, argv in cases.items():
            times[name].append(_time(argv, env))
    return {k: statistics.median(v) for k, v in times.items()}


def _node_events(rec: Recorder, node: int, t: float, extra: dict[str, float] | None = None) -> None:
    started = {"event": "node_started", "node": node, "attempt": 1, "t": t, **(extra or {})}
    rec.feed_events(json.dumps(started).encode() + b"\n")
    rec.output_filter(1).feed(
        begin_marker(rec.nonce, node) + b"some output line\n" + end_marker(rec.nonce, node)
    )
    finished = {"event": "node_finished", "node": node, "status": "success", "exit": 0,
                "signal": None, "attempt": 1, "duration": 0.001, "t": t, **(extra or {})}  # fmt: skip
    rec.feed_events(json.dumps(finished).encode() + b"\n")


def throughput(state: str, n: int = 5000) -> float:
    """Microseconds per node (started + output + finished) with the history on."""
    rec = Recorder.start(state, key="/bench/throughput.sh", name="t", env=dict(os.environ))
    nodes = [{"id": i, "parent": None, "kind": "command", "line": i, "text": f"step {i}"}
             for i in range(1, 1001)]  # fmt: skip
    rec.feed_events((json.dumps({"event": "plan", "nodes": nodes, "edges": []}) + "\n").encode())
    t0 = time.perf_counter()
    for i in range(n):
        _node_events(rec, i % 1000 + 1, time.monotonic())
    rec.finish(0)
    rec.close()
    return (time.perf_counter() - t0) / n * 1e6


READER = r"""
import json, os, sys, time
path, count = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDONLY)
buf = b""
delays = []
while len(delays) < count:
    chunk = os.read(fd, 65536)
    if not chunk:
        time.sleep(0.0005)
        continue
    now = time.monotonic()
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        event = json.loads(line)
        if "sent" in event:
            delays.append((now - event["sent"]) * 1000)
print(json.dumps(delays))
"""


def latency(state: str, count: int) -> list[float]:
    events = os.path.join(state, "events.jsonl")
    open(events, "w").close()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, events, str(count * 2)], stdout=subprocess.PIPE, text=True
    )
    rec = Recorder.start(state, key="/bench/latency.sh", name="l", env=dict(os.environ),
                         events=events)  # fmt: skip
    time.sleep(0.3)  # the reader is up
    for i in range(count):
        _node_events(rec, i + 1, time.monotonic(), {"sent": time.monotonic()})
        time.sleep(0.01)
    rec.finish(0)
    rec.close()
    out, _ = reader.communicate(timeout=60)
    return [float(x) for x in json.loads(out)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.history_speed", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--runs", type=int, default=5, help="fresh processes of each (default 5)")
    ap.add_argument("--events", type=int, default=200, help="nodes in the latency test")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bashflow-history-") as state:
        t0 = time.perf_counter()
        run_id = fill(state)
        size = os.path.getsize(os.path.join(state, "history.sqlite3")) / 1e6
        print(
            f"history: {RUNS} runs x {NODES} nodes ({KEYS} workflows), {size:.1f} MB,"
            f" filled in {time.perf_counter() - t0:.1f} s"
        )
        medians = commands(state, run_id, args.runs)
        base = medians["python3 -c pass"]
        cli = medians["bashflow --version"]
        print(f"fresh processes, median of {args.runs} (load average {os.getloadavg()[0]:.1f}):")
        for name, ms in medians.items():
            extra = "" if name.startswith("python3") else f"  ({ms - base:+.1f} ms over python"
            if name.startswith("bashflow ") and name != "bashflow --version":
                extra += f", {ms - cli:+.1f} ms over bashflow --version"
            print(f"  {name:<42} {ms:7.1f} ms{extra}{')' if extra else ''}")
        show = medians[f"bashflow show {run_id}"]
        verdict = "ok" if show < SHOW_TARGET_MS else "OVER TARGET"
        print(f"  show: {show:.1f} ms (target < {SHOW_TARGET_MS:.0f} ms): {verdict}")
        per_node = throughput(state)
        print(f"recorder: {per_node:.0f} us per node (started, output, finished; history on)")
        delays = sorted(latency(state, args.events))
        median = statistics.median(delays)
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        verdict = "ok" if median < LATENCY_TARGET_MS else "OVER TARGET"
        print(
            f"event latency (feed -> line read by another process), {len(delays)} events:"
            f" median {median:.2f} ms, p99 {p99:.2f} ms, max {delays[-1]:.2f} ms"
            f" (target median < {LATENCY_TARGET_MS:.0f} ms): {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
