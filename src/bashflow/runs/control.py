"""runs/control - find a run by reference; cancel, pause and resume it (contract section 3).

The host of a run (the `bashflow exec` process) is signalled: SIGTERM cancels, SIGUSR1
pauses, SIGUSR2 resumes. Its pid is used only while its start time (/proc/PID/stat field
22) and the boot id still match what the run recorded, so a reused pid is never signalled;
a run whose host is gone is marked crashed on the spot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence, Set
from typing import Any

from bashflow.runs.store import Store, host_alive


class ControlError(Exception):
    """A one-line message for the user; exit status 1."""

    exit_code = 1


ACTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # action: (signal name, statuses it applies to, verb for messages)
    "cancel": ("SIGTERM", ("running", "paused"), "cancelling"),
    "pause": ("SIGUSR1", ("running",), "pausing"),
    "resume": ("SIGUSR2", ("paused",), "resuming"),
}


def find_run(store: Store, ref: str) -> dict[str, Any]:
    """The run `ref` names: `last`, a full id, or a unique prefix of one (the leading `r-`
    may be left out). ControlError when none or several match."""
    ref = ref.strip()
    if ref == "last":
        last = store.last_run_id()
        if last is None:
            raise ControlError("no runs recorded")
        run_id = last
    else:
        run = store.get_run(ref) if ref else None
        if run is not None:
            return run
        prefix = ref
        matches = store.ids_with_prefix(prefix) if ref else []
        if not matches and ref and not ref.startswith("r-"):
            prefix = "r-" + ref
            matches = store.ids_with_prefix(prefix)
        if not matches:
            raise ControlError(f"no run matches '{ref}'")
        if len(matches) > 1:
            shown = ", ".join(store.ids_with_prefix(prefix, limit=4)[:3])
            raise ControlError(f"'{ref}' is ambiguous: it matches {shown}, ...")
        run_id = matches[0]
    found = store.get_run(run_id)
    if found is None:  # deleted between the two queries
        raise ControlError(f"no run matches '{ref}'")
    return found


def signal_run(store: Store, run: dict[str, Any], action: str) -> str:
    """Send `action`'s signal to the run's host; returns what was done (one line).
    ControlError when the run is not in a state the action applies to, or its host is gone."""
    import signal

    sig_name, statuses, verb = ACTIONS[action]
    sig = getattr(signal, sig_name)
    run_id = run["id"]
    status = run["status"]
    if status not in ("running", "paused"):
        raise ControlError(f"run {run_id} is not running (it is {status})")
    if status not in statuses:
        raise ControlError(
            f"run {run_id} is already paused"
            if action == "pause"
            else f"run {run_id} is not paused"
        )
    pid = run.get("host_pid")
    if not host_alive(pid, run.get("host_pid_start"), run.get("host_boot")):
        store.mark_crashed([run_id])
        raise ControlError(f"run {run_id} is not running (its bashflow is gone; marked crashed)")
    assert isinstance(pid, int)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        store.mark_crashed([run_id])
        raise ControlError(
            f"run {run_id} is not running (its bashflow is gone; marked crashed)"
        ) from None
    except PermissionError:
        raise ControlError(f"cannot signal run {run_id} (pid {pid}): permission denied") from None
    return f"{verb} run {run_id} (pid {pid})"


BAD_NODE_STATUSES = ("failed", "timed_out", "cancelled")


def nodes_to_keep(
    nodes: Sequence[Mapping[str, Any]],
    edges: Sequence[tuple[int, int]],
    *,
    kept_before: Set[int] = frozenset(),
) -> list[int]:
    """For `rerun --failed`: the nodes whose earlier success stands. A node is kept when it
    succeeded (or was `skipped` because an earlier rerun kept it: `kept_before`) and it is
    not tainted. Tainted: a failed, timed_out or cancelled node, everything reachable from
    a tainted node along the plan's edges, and every node inside (a descendant of) a
    tainted node."""
    status = {int(row["node_id"]): str(row["status"]) for row in nodes}
    children: dict[int, list[int]] = {}
    for row in nodes:
        if row.get("parent") is not None:
            children.setdefault(int(row["parent"]), []).append(int(row["node_id"]))
    after: dict[int, list[int]] = {}
    for a, b in edges:
        after.setdefault(a, []).append(b)
    tainted: set[int] = set()
    todo = [n for n, s in status.items() if s in BAD_NODE_STATUSES]
    while todo:
        n = todo.pop()
        if n in tainted:
            continue
        tainted.add(n)
        todo.extend(after.get(n, []))
        todo.extend(children.get(n, []))
    return sorted(
        n
        for n, s in status.items()
        if n not in tainted and (s == "success" or (s == "skipped" and n in kept_before))
    )
