"""runs/recorder - the host's record of one run: history rows, the event stream, the live view.

The host of `bashflow exec` (outside the sandbox) makes one `Recorder` per run:

    rec = Recorder.start(state_dir=None, key=..., name=..., argv=[...], cwd=..., env=os.environ,
                         jobs=4, keep=5, events=None | "-" | PATH, live_fd=2 | None,
                         host_pid=os.getpid(), script_sha=None | "<sha256 hex of the script>")
    rec.nonce                      # 24 ASCII letters, for the interpreter's output markers
    rec.feed_events(chunk)         # bytes read from the events pipe (any chunking)
    f = rec.output_filter(1)       # relay f.feed(chunk) to the user, f.flush() at EOF
    rec.clear_screen(); os.write(2, ...); rec.draw_screen()
    rec.tick()                     # call every ~0.1 s while the run goes (commits, live view)
    rec.paused(); rec.resumed()
    rec.finish(status, cancelled=False, limit=None)
    rec.close()

History writes are batched: node changes are kept in memory and committed at most every
COMMIT_INTERVAL seconds (by `feed_events`, the output filters' owner calls and `tick`), and at
once on a run status change and at `finish`; each commit is one transaction. If the history
cannot be written the run goes on: one warning on stderr, no traceback, nothing else changes.
Events are written (redacted, one JSON line each, `run` and `time` added) with os.write as
soon as they are handled.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import sqlite3
import string
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bashflow.runs.live import LiveView
from bashflow.runs.markers import DEFAULT_CAP, OutputFilter
from bashflow.runs.redact import Redactor
from bashflow.runs.store import (
    Store,
    StoreError,
    boot_id,
    describe,
    proc_start_time,
)

COMMIT_INTERVAL = 0.1
INT_LIMIT = 2**62
MAX_PENDING = 64 * 1024 * 1024
"""A longer line from the events pipe is dropped (the pipe is the interpreter's, but bytes
on it are not trusted to be well-formed)."""
MAX_NODES = 1_000_000
OUTPUT_INTERVAL = 1.0
TEXT_MAX = 1000
FINISHED = ("success", "failed", "timed_out", "cancelled", "skipped")
NODE_EVENTS = ("node_queued", "node_started", "node_retrying", "node_finished")


class RecorderError(ValueError):
    """The --events destination cannot be opened (a usage error: the run should not start)."""


def new_run_id(now: float) -> str:
    return time.strftime("r-%Y%m%d-%H%M%S-", time.gmtime(now)) + secrets.token_hex(2)


def new_nonce() -> bytes:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(24)).encode()


def _int_or_none(value: object) -> int | None:
    """An integer SQLite can hold, from an event field (anything else: None)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    number = int(value)
    return number if -INT_LIMIT < number < INT_LIMIT else None


def _float_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class _Node:
    __slots__ = (
        "active",
        "attempts",
        "duration",
        "executions",
        "exit",
        "first_start",
        "kind",
        "last_finish",
        "line",
        "node_id",
        "parent",
        "signal",
        "status",
        "text",
    )

    def __init__(self, node_id: int) -> None:
        self.node_id = node_id
        self.parent: int | None = None
        self.kind: str | None = None
        self.line: int | None = None
        self.text: str | None = None
        self.status = "pending"
        self.first_start: float | None = None
        self.last_finish: float | None = None
        self.duration = 0.0
        self.executions = 0
        self.exit: int | None = None
        self.signal: int | None = None
        self.attempts = 0
        self.active = 0

    def plan_row(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "parent": self.parent,
            "kind": self.kind,
            "line": self.line,
            "text": self.text,
            "stdout": None,
            "stderr": None,
            "stdout_dropped": 0,
            "stderr_dropped": 0,
            **self.progress_row(),
        }

    def progress_row(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "status": self.status,
            "first_start": self.first_start,
            "last_finish": self.last_finish,
            "duration": self.duration,
            "executions": self.executions,
            "exit": self.exit,
            "signal": self.signal,
            "attempts": self.attempts,
        }


def clean(text: str) -> str:
    """`text` as SQLite can store it: lone surrogates (undecodable bytes of a file name, JSON
    escapes) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def _warn_stderr(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


class Recorder:
    """See the module docstring. Make one with `Recorder.start`."""

    def __init__(
        self,
        *,
        run_id: str,
        nonce: bytes,
        redactor: Redactor,
        events_fd: int | None,
        close_events: bool,
        live: LiveView | None,
        warn: Callable[[str], None],
        cap: int,
    ) -> None:
        self.run_id = run_id
        self.nonce = nonce
        self.redactor = redactor
        self.store: Store | None = None
        self.live = live
        self.warn = warn
        self.cap = cap
        self.offset = time.time() - time.monotonic()  # monotonic t -> epoch seconds
        self.status = "running"
        self.exit_status: int | None = None
        self.nodes: dict[int, _Node] = {}
        self.filters: dict[int, OutputFilter] = {}
        self._events_fd = events_fd
        self._close_events = close_events
        self._new_nodes: list[int] = []
        self._new_edges: list[tuple[int, int]] = []
        self._dirty: set[int] = set()
        self._output_written: dict[int, float] = {}
        self._run_update: dict[str, Any] = {}
        self._last_commit = 0.0
        self._in_commit = False
        self._again = False
        self._pending = b""
        self._skip_line = False
        self.bad_events = 0
        self._warned = False
        self._finished = False
        self._closed = False

    # --- construction
    @classmethod
    def start(
        cls,
        state_dir: str | None = None,
        *,
        key: str,
        name: str,
        argv: Sequence[str] = (),
        cwd: str = "",
        env: Mapping[str, str] | None = None,
        jobs: int = 1,
        keep: int = 5,
        events: str | None = None,
        live_fd: int | None = None,
        host_pid: int | None = None,
        script_sha: str | None = None,
        cap: int = DEFAULT_CAP,
        warn: Callable[[str], None] = _warn_stderr,
        history: bool = True,
    ) -> Recorder:
        """Start recording a run. Raises RecorderError only when `events` cannot be opened;
        a history that cannot be written is one warning (through `warn`) and no history."""
        events_fd: int | None = None
        close_events = False
        if events == "-":
            events_fd = 1
        elif events:
            try:
                events_fd = os.open(
                    events, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
                )
            except OSError as err:
                raise RecorderError(f"cannot open events file {events}: {describe(err)}") from None
            close_events = True
        now = time.time()
        rec = cls(
            run_id=new_run_id(now),
            nonce=new_nonce(),
            redactor=Redactor(env if env is not None else os.environ),
            events_fd=events_fd,
            close_events=close_events,
            live=LiveView.for_fd(live_fd),
            warn=warn,
            cap=cap,
        )
        pid = os.getpid() if host_pid is None else host_pid
        red = rec.redactor
        row: dict[str, Any] = {
            "id": rec.run_id,
            "key": clean(key),
            "name": clean(red.text(name)),
            "status": "running",
            "started": now,
            "host_pid": pid,
            "host_pid_start": proc_start_time(pid),
            "host_boot": boot_id(),
            "cwd": clean(cwd),
            # exactly as given: `bashflow rerun` runs it again (the database is 0600 in a
            # 0700 directory; `show` and the events redact it)
            "argv": list(argv),
            "script_sha": script_sha,
            "jobs": jobs,
        }
        if history:  # `bashflow exec --no-history`: events and the live view only
            rec._open_store(state_dir, row, keep)
        rec.emit(
            {
                "event": "run_started",
                "id": rec.run_id,
                "name": name,
                "argv": red.argv(argv),
                "cwd": cwd,
                "jobs": jobs,
            }
        )
        return rec

    def _open_store(self, state_dir: str | None, row: dict[str, Any], keep: int) -> None:
        from bashflow.runs.paths import state_dir as find_state_dir

        try:
            self.store = Store.open(find_state_dir(state_dir), busy_ms=1000)
            for _ in range(5):
                try:
                    self.store.insert_run(row, keep=keep)
                    break
                except sqlite3.IntegrityError:
                    row["id"] = self.run_id = new_run_id(row["started"])
            self._last_commit = time.monotonic()
        except (StoreError, sqlite3.Error, OSError, ValueError) as err:
            self._history_failed(err)

    def _history_failed(self, err: BaseException) -> None:
        if not self._warned:
            self._warned = True
            reason = str(err) if isinstance(err, StoreError) else describe(err)
            self.clear_screen()
            self.warn(f"bashflow: warning: run history not written: {reason}")
        if self.store is not None:
            with contextlib.suppress(sqlite3.Error):
                self.store.close()
        self.store = None

    # --- the event stream
    def emit(self, event: dict[str, Any]) -> None:
        """Write one event (redacted; `run` and `time` added) to --events, if any."""
        fd = self._events_fd
        if fd is None:
            return
        obj = {"event": event.get("event"), "run": self.run_id, "time": round(time.time(), 6)}
        for k, v in event.items():
            if k not in obj:
                obj[k] = v
        line = json.dumps(self.redactor.value(obj), ensure_ascii=False, separators=(",", ":"))
        # a lone surrogate becomes its JSON escape (it is inside a JSON string)
        data = (line + "\n").encode("utf-8", "backslashreplace")
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError as err:
            self._events_fd = None
            self.clear_screen()
            self.warn(f"bashflow: warning: events not written: {describe(err)}")

    # --- events from the interpreter
    def feed_events(self, data: bytes) -> None:
        """Raw bytes from the events pipe: complete lines are handled, the rest kept."""
        if self._skip_line:  # the rest of an overlong line
            cut = data.find(b"\n")
            if cut < 0:
                return
            data = data[cut + 1 :]
            self._skip_line = False
        buf = self._pending + data if self._pending else data
        lines = buf.split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_PENDING:
            self._pending = b""
            self._skip_line = True
        for line in lines:
            if line.strip():
                self._handle_line(line)
        if self.live is not None:
            self.draw_screen()
        self.commit()

    def _handle_line(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            return
        try:
            self.handle_event(event)
        except Exception:  # malformed beyond what handle_event expects: drop that event
            self.bad_events += 1

    def _node(self, node_id: int) -> _Node:
        node = self.nodes.get(node_id)
        if node is None:
            if len(self.nodes) >= MAX_NODES:
                raise ValueError("too many nodes")
            node = self.nodes[node_id] = _Node(node_id)
            self._new_nodes.append(node_id)
        return node

    def _epoch(self, t: object) -> float:
        mono = _float_or_none(t)
        return (time.monotonic() if mono is None else mono) + self.offset

    def handle_event(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "plan":
            self._plan(event)
        else:
            node_id = _int_or_none(event.get("node"))
            if node_id is not None and node_id >= 0 and kind in NODE_EVENTS:
                self._node_event(kind, node_id, event)
        self.emit(event)

    def _plan(self, event: dict[str, Any]) -> None:
        red = self.redactor
        for item in event.get("nodes") or ():
            if not isinstance(item, dict):
                continue
            node_id = _int_or_none(item.get("id"))
            if node_id is None:
                continue
            node = self._node(node_id)
            node.parent = _int_or_none(item.get("parent"))
            node.kind = clean(str(item.get("kind") or "")) or None
            node.line = _int_or_none(item.get("line"))
            text = item.get("text")
            node.text = clean(red.text(str(text))[:TEXT_MAX]) if text is not None else None
            if node_id not in self._new_nodes:
                self._new_nodes.append(node_id)
            if self.live is not None:
                self.live.node(node_id, text=node.text or "")
        for edge in event.get("edges") or ():
            if isinstance(edge, list | tuple) and len(edge) == 2:
                a, b = _int_or_none(edge[0]), _int_or_none(edge[1])
                if a is not None and b is not None:
                    self._new_edges.append((a, b))

    def _node_event(self, kind: str, node_id: int, event: dict[str, Any]) -> None:
        node = self._node(node_id)
        t = _float_or_none(event.get("t"))
        live = self.live
        attempt = _int_or_none(event.get("attempt"))
        if kind == "node_queued":
            if node.active == 0:
                node.status = "queued"
        elif kind == "node_started":
            node.active += 1
            node.status = "running"
            if attempt is None or attempt <= 1:
                node.executions += 1
            if attempt is not None:
                node.attempts = attempt
            start = self._epoch(t)
            if node.first_start is None or start < node.first_start:
                node.first_start = start
            if live is not None:
                live.node(node_id, status="running", start=t if t is not None else time.monotonic())
        elif kind == "node_retrying":
            node.active = max(0, node.active - 1)
            node.status = "retrying"
            node.exit = _int_or_none(event.get("exit"))
            node.signal = _int_or_none(event.get("signal"))
            if attempt is not None:
                node.attempts = attempt
        elif kind == "node_finished":
            node.active = max(0, node.active - 1)
            status = event.get("status")
            if node.active == 0:
                node.status = status if status in FINISHED else "failed"
            node.exit = _int_or_none(event.get("exit"))
            node.signal = _int_or_none(event.get("signal"))
            if attempt is not None:
                node.attempts = attempt
            duration = _float_or_none(event.get("duration"))
            if duration is not None:
                node.duration += duration
            node.last_finish = self._epoch(t)
            if live is not None and node.active == 0:
                live.node(node_id, status=node.status, end=t if t is not None else time.monotonic())
        if live is not None and kind in ("node_queued", "node_retrying"):
            live.node(node_id, status=node.status)
        self._dirty.add(node_id)

    # --- output
    def output_filter(self, stream: int = 1) -> OutputFilter:
        """The marker filter for relayed stream 1 (stdout) or 2 (stderr); one per stream."""
        f = self.filters.get(stream)
        if f is None:
            f = self.filters[stream] = OutputFilter(self.nonce, cap=self.cap)
        return f

    # --- live view hooks
    def clear_screen(self) -> None:
        if self.live is not None:
            self.live.clear()

    def draw_screen(self) -> None:
        live = self.live
        if live is None:
            return
        live.hold = any(
            not f.ended_at_newline and _isatty(stream) for stream, f in self.filters.items()
        )
        live.draw()

    def tick(self) -> None:
        """Periodic work: a due commit, and the live view's elapsed times."""
        if self.live is not None:
            self.draw_screen()
            self.live.tick()
        self.commit()

    # --- run status
    def paused(self) -> None:
        self._set_status("paused")

    def resumed(self) -> None:
        self._set_status("running")

    def _set_status(self, status: str) -> None:
        if self._finished or status == self.status:
            return
        self.status = status
        self._run_update["status"] = status
        self.emit({"event": "paused" if status == "paused" else "resumed"})
        if self.live is not None:
            self.live.paused = status == "paused"
            self.live.dirty = True
            self.draw_screen()
        self.commit(force=True)

    def finish(
        self, exit_status: int, *, cancelled: bool = False, limit: str | None = None
    ) -> None:
        """The run is over: its status (cancelled, success or failed), nodes that never
        finished (pending -> skipped, or cancelled when the run was; running -> cancelled),
        the run_finished event and the final commit."""
        if self._finished:
            return
        status = "cancelled" if cancelled else ("success" if exit_status == 0 else "failed")
        self._finish(status, exit_status, limit)

    def _finish(self, status: str, exit_status: int | None, limit: str | None) -> None:
        self._finished = True
        self.status = status
        self.exit_status = exit_status
        for node in self.nodes.values():
            if node.status == "pending":
                node.status = "cancelled" if status in ("cancelled", "crashed") else "skipped"
            elif node.status in ("queued", "running", "retrying"):
                node.status = "cancelled"
            else:
                continue
            node.active = 0
            self._dirty.add(node.node_id)
            if self.live is not None:
                self.live.node(node.node_id, status=node.status)
        if self.live is not None:
            self.live.paused = False
        self._run_update.update(
            status=status, exit_status=exit_status, limit_name=limit, finished=time.time()
        )
        event: dict[str, Any] = {"event": "run_finished", "status": status, "exit": exit_status}
        if limit is not None:
            event["limit"] = limit
        self.emit(event)
        self.commit(force=True)
        if self.live is not None:
            self.draw_screen()

    def close(self) -> None:
        """Release the store and the events file. A run never finished is recorded crashed."""
        if self._closed:
            return
        if not self._finished:
            self._finish("crashed", None, None)
        self._closed = True
        if self.live is not None:
            self.live.hold = False
            self.live.close()
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._close_events and self._events_fd is not None:
            os.close(self._events_fd)
        self._events_fd = None

    # --- the history
    def commit(self, *, force: bool = False) -> None:
        """Write what changed, if COMMIT_INTERVAL has passed since the last commit (or
        `force`). Re-entrant calls (from a signal handler during a commit) are folded into
        the commit under way."""
        if self.store is None:
            return
        if self._in_commit:
            self._again = True
            return
        now = time.monotonic()
        if not force and now - self._last_commit < COMMIT_INTERVAL:
            return
        self._in_commit = True
        try:
            while True:
                self._again = False
                self._commit_once()
                if not self._again or self.store is None:
                    break
        finally:
            self._in_commit = False
            self._last_commit = time.monotonic()

    def _commit_once(self) -> None:
        store = self.store
        if store is None:
            return
        red = self.redactor
        outputs: dict[int, dict[str, Any]] = {}
        now = time.monotonic()
        for stream, f in self.filters.items():
            name = "stdout" if stream == 1 else "stderr"
            for node_id in list(f.dirty):
                # a running node's output is redacted and rewritten at most every
                # OUTPUT_INTERVAL (it is the whole capture each time); at its end, at once
                node = self.nodes.get(node_id)
                if (
                    node is not None
                    and node.active
                    and not self._finished
                    and now - self._output_written.get(node_id, 0.0) < OUTPUT_INTERVAL
                ):
                    continue
                f.dirty.discard(node_id)
                self._output_written[node_id] = now
                row = outputs.setdefault(node_id, {})
                row[name], row[name + "_dropped"] = f.captures[node_id].redacted_tail(red.data)
                self._node(node_id)
        new = self._new_nodes
        plan = [self.nodes[n].plan_row() for n in new]
        new_set = set(new)
        for row in plan:
            row.update(outputs.pop(row["node_id"], {}))
        progress = []
        for node_id in self._dirty | set(outputs):
            if node_id in new_set:
                continue
            row = self.nodes[node_id].progress_row()
            row.update(outputs.get(node_id, {}))
            progress.append(row)
        edges = self._new_edges
        run_update = self._run_update
        if not (plan or progress or edges or run_update):
            return
        self._new_nodes, self._new_edges, self._dirty, self._run_update = [], [], set(), {}
        try:
            store.write(self.run_id, run=run_update, plan=plan, edges=edges, progress=progress)
        except (sqlite3.Error, OSError, ValueError) as err:
            self._history_failed(err)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
