"""runs/store - the run history: one SQLite database, `history.sqlite3` in the state dir.

WAL journal, synchronous=NORMAL, a busy timeout; the schema version is `PRAGMA user_version`.
Every write is one transaction (BEGIN IMMEDIATE ... COMMIT), so a writer killed at any moment
leaves the database as it was before or after that transaction.

Opening the store sweeps it (`sweep`): a run still `running` or `paused` whose host process is
gone (or whose pid now belongs to another process: the start time recorded with it differs)
becomes `crashed`, and its nodes that had not finished become `cancelled`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from bashflow.runs.paths import history_path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 2000

RUN_STATUSES = ("running", "paused", "success", "failed", "cancelled", "crashed")
LIVE_RUN_STATUSES = ("running", "paused")
NODE_STATUSES = (
    "pending",
    "queued",
    "running",
    "retrying",
    "success",
    "failed",
    "timed_out",
    "cancelled",
    "skipped",
)
OPEN_NODE_STATUSES = ("pending", "queued", "running", "retrying")

_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_status INTEGER,
    limit_name TEXT,
    started REAL NOT NULL,
    finished REAL,
    host_pid INTEGER,
    host_pid_start INTEGER,
    host_boot TEXT,
    cwd TEXT,
    argv TEXT NOT NULL DEFAULT '[]',
    script_sha TEXT,
    jobs INTEGER
) WITHOUT ROWID;
CREATE INDEX runs_started ON runs (started);
CREATE INDEX runs_key ON runs (key, started);
CREATE INDEX runs_live ON runs (status) WHERE status IN ('running', 'paused');
CREATE TABLE nodes (
    run_id TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    parent INTEGER,
    kind TEXT,
    line INTEGER,
    text TEXT,
    status TEXT NOT NULL,
    first_start REAL,
    last_finish REAL,
    duration REAL NOT NULL DEFAULT 0,
    executions INTEGER NOT NULL DEFAULT 0,
    exit INTEGER,
    signal INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    stdout BLOB,
    stderr BLOB,
    stdout_dropped INTEGER NOT NULL DEFAULT 0,
    stderr_dropped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, node_id)
) WITHOUT ROWID;
CREATE TABLE edges (
    run_id TEXT NOT NULL,
    src INTEGER NOT NULL,
    dst INTEGER NOT NULL,
    PRIMARY KEY (run_id, src, dst)
) WITHOUT ROWID;
"""

RUN_FIELDS = (
    "id",
    "key",
    "name",
    "status",
    "exit_status",
    "limit_name",
    "started",
    "finished",
    "host_pid",
    "host_pid_start",
    "host_boot",
    "cwd",
    "argv",
    "script_sha",
    "jobs",
)
NODE_FIELDS = (
    "node_id",
    "parent",
    "kind",
    "line",
    "text",
    "status",
    "first_start",
    "last_finish",
    "duration",
    "executions",
    "exit",
    "signal",
    "attempts",
    "stdout",
    "stderr",
    "stdout_dropped",
    "stderr_dropped",
)
# what a progress update rewrites (the plan's fields are written once)
NODE_PROGRESS_FIELDS = NODE_FIELDS[5:]


class StoreError(Exception):
    """The history cannot be opened, read or written; the message is one line."""


def describe(err: BaseException) -> str:
    """One line for an sqlite3 or OS error."""
    if isinstance(err, OSError) and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        return f"{err.strerror}{where}"
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _reason(err: BaseException, directory: str) -> str:
    """sqlite's "unable to open database file" also means a directory it cannot write (the
    WAL's index is a file beside the database): say so."""
    reason = describe(err)
    if "unable to open" in reason and not os.access(directory, os.W_OK):
        reason += f" ({directory} is not writable)"
    return reason


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot); None if no such pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'
    rest = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(rest[19])  # fields 3.. are rest[0..]; field 22 is rest[19]
    except (IndexError, ValueError):
        return None


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def host_alive(pid: int | None, start: int | None, boot: str | None) -> bool:
    """Is the process recorded as (pid, start time, boot id) still the same live process?"""
    if not pid:
        return False
    if boot and boot != boot_id():
        return False
    now = proc_start_time(pid)
    if now is None:
        return False
    return start is None or now == start


class Store:
    """An open history database. Use `Store.open`; close with `close()`."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    # --- opening
    @classmethod
    def open(
        cls,
        directory: str,
        *,
        create: bool = True,
        sweep: bool = True,
        busy_ms: int = BUSY_TIMEOUT_MS,
    ) -> Store:
        """The store in `directory`. Without `create`, a missing database is StoreError
        ("no runs recorded"). Raises StoreError with a one-line reason."""
        path = history_path(directory)
        if not create and not os.path.exists(path):
            raise StoreError(f"no runs recorded in {directory}")
        try:
            conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"cannot open {path}: {_reason(err, directory)}") from None
        store = cls(conn, path)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            store._setup()
            if sweep:
                store.sweep()
        except (sqlite3.Error, OSError) as err:
            conn.close()
            raise StoreError(f"{path}: {_reason(err, directory)}") from None
        return store

    def _setup(self) -> None:
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"history schema version {version} is newer than this bashflow's ({SCHEMA_VERSION})"
            )
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if version == 0:
            created = False
            conn.execute("BEGIN IMMEDIATE")
            try:
                # another process may have created it while we waited for the lock
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    created = True
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if created:
                os.chmod(self.path, 0o600)

    def close(self) -> None:
        self.conn.close()

    # --- transactions
    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                conn.execute(sql, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def sweep(self) -> list[str]:
        """Mark runs whose host is gone as crashed; returns their ids."""
        rows = self.conn.execute(
            "SELECT id, host_pid, host_pid_start, host_boot FROM runs"
            " WHERE status IN ('running', 'paused')"
        ).fetchall()
        dead = [r[0] for r in rows if not host_alive(r[1], r[2], r[3])]
        if dead:
            try:
                self.mark_crashed(dead)
            except sqlite3.OperationalError:
                # locked past the busy timeout, or read-only: reading goes on; the next
                # open marks them
                return []
        return dead

    def mark_crashed(self, run_ids: Sequence[str]) -> None:
        now = time.time()
        statements: list[tuple[str, Sequence[Any]]] = []
        for run_id in run_ids:
            statements.append(
                (
                    "UPDATE runs SET status = 'crashed', finished = COALESCE(finished, ?)"
                    " WHERE id = ? AND status IN ('running', 'paused')",
                    (now, run_id),
                )
            )
            statements.append(
                (
                    "UPDATE nodes SET status = 'cancelled' WHERE run_id = ?"
                    " AND status IN ('pending', 'queued', 'running', 'retrying')",
                    (run_id,),
                )
            )
        self._write(statements)

    # --- writing a run
    def insert_run(self, run: dict[str, Any], *, keep: int = 5) -> list[str]:
        """Insert a new run row and, in the same transaction, delete the finished runs of the
        same key beyond the newest `keep` (the new run counts). Returns the deleted ids."""
        keep = max(1, keep)
        row = dict(run)
        row["argv"] = json.dumps(list(row.get("argv") or []))
        columns = [f for f in RUN_FIELDS if f in row]
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [row[c] for c in columns],
            )
            old = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM runs WHERE key = ? ORDER BY started DESC, id DESC"
                    " LIMIT -1 OFFSET ?",
                    (row["key"], keep),
                )
            ]
            deleted = []
            for run_id in old:
                cur = conn.execute(
                    "DELETE FROM runs WHERE id = ? AND status NOT IN ('running', 'paused')",
                    (run_id,),
                )
                if cur.rowcount:
                    conn.execute("DELETE FROM nodes WHERE run_id = ?", (run_id,))
                    conn.execute("DELETE FROM edges WHERE run_id = ?", (run_id,))
                    deleted.append(run_id)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return deleted

    def write(
        self,
        run_id: str,
        *,
        run: dict[str, Any] | None = None,
        plan: Sequence[dict[str, Any]] = (),
        edges: Sequence[tuple[int, int]] = (),
        progress: Sequence[dict[str, Any]] = (),
    ) -> None:
        """One transaction: run fields, new nodes (`plan`: every NODE_FIELDS key), new edges,
        and progress of known nodes (node_id and NODE_PROGRESS_FIELDS keys)."""
        statements: list[tuple[str, Sequence[Any]]] = []
        if run:
            sets = ", ".join(f"{k} = ?" for k in run)
            statements.append((f"UPDATE runs SET {sets} WHERE id = ?", [*run.values(), run_id]))
        # a node first seen in an event (then committed) may get its plan row later: keep
        # what was captured of its output then
        keep_output = ("stdout", "stderr", "stdout_dropped", "stderr_dropped")
        updates = ", ".join(f"{f} = excluded.{f}" for f in NODE_FIELDS[1:] if f not in keep_output)
        insert = (
            f"INSERT INTO nodes (run_id, {', '.join(NODE_FIELDS)})"
            f" VALUES (?{', ?' * len(NODE_FIELDS)})"
            f" ON CONFLICT (run_id, node_id) DO UPDATE SET {updates},"
            " stdout = COALESCE(excluded.stdout, stdout),"
            " stderr = COALESCE(excluded.stderr, stderr),"
            " stdout_dropped = max(excluded.stdout_dropped, stdout_dropped),"
            " stderr_dropped = max(excluded.stderr_dropped, stderr_dropped)"
        )
        for node in plan:
            statements.append((insert, [run_id, *(node.get(f) for f in NODE_FIELDS)]))
        for src, dst in edges:
            statements.append(
                (
                    "INSERT OR IGNORE INTO edges (run_id, src, dst) VALUES (?, ?, ?)",
                    (run_id, src, dst),
                )
            )
        for node in progress:
            fields = [f for f in NODE_PROGRESS_FIELDS if f in node]
            sets = ", ".join(f"{f} = ?" for f in fields)
            statements.append(
                (
                    f"UPDATE nodes SET {sets} WHERE run_id = ? AND node_id = ?",
                    [*(node[f] for f in fields), run_id, node["node_id"]],
                )
            )
        if statements:
            self._write(statements)

    # --- reading
    def _run_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        run = dict(zip(RUN_FIELDS, row, strict=False))
        try:
            run["argv"] = json.loads(run["argv"] or "[]")
        except ValueError:
            run["argv"] = []
        return run

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        return None if row is None else self._run_dict(row)

    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest `limit` runs, newest first, each with node counts (nodes, ok, failed)."""
        cols = ", ".join(f"r.{f}" for f in RUN_FIELDS)
        rows = self.conn.execute(
            f"SELECT {cols},"
            " (SELECT count(*) FROM nodes n WHERE n.run_id = r.id),"
            " (SELECT count(*) FROM nodes n WHERE n.run_id = r.id AND n.status = 'success'),"
            " (SELECT count(*) FROM nodes n WHERE n.run_id = r.id"
            "   AND n.status IN ('failed', 'timed_out'))"
            " FROM runs r ORDER BY r.started DESC, r.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        out = []
        for row in rows:
            run = self._run_dict(row[: len(RUN_FIELDS)])
            run["nodes"], run["nodes_ok"], run["nodes_failed"] = row[len(RUN_FIELDS) :]
            out.append(run)
        return out

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        # a range scan of the primary key (LIKE would treat _ and % specially)
        high = prefix + "\U0010ffff"
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (prefix, high, limit),
            )
        ]

    def last_run_id(self) -> str | None:
        row = self.conn.execute(
            "SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def nodes(self, run_id: str, *, output: bool = True) -> list[dict[str, Any]]:
        fields = (
            NODE_FIELDS
            if output
            else tuple(f for f in NODE_FIELDS if f not in ("stdout", "stderr"))
        )
        rows = self.conn.execute(
            f"SELECT {', '.join(fields)} FROM nodes WHERE run_id = ? ORDER BY node_id", (run_id,)
        ).fetchall()
        return [dict(zip(fields, row, strict=True)) for row in rows]

    def edges(self, run_id: str) -> list[tuple[int, int]]:
        return [
            (int(a), int(b))
            for a, b in self.conn.execute(
                "SELECT src, dst FROM edges WHERE run_id = ? ORDER BY src, dst", (run_id,)
            )
        ]
