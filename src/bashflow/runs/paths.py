"""runs/paths - where the run history lives."""

from __future__ import annotations

import os

HISTORY_FILE = "history.sqlite3"


def state_dir(explicit: str | None = None, *, create: bool = True) -> str:
    """bashflow's state directory: `explicit`, else $BASHFLOW_STATE_DIR, else
    $XDG_STATE_HOME/bashflow, else ~/.local/state/bashflow. With `create` it is made
    (mode 0700) when missing; OSError when that fails."""
    path = explicit or os.environ.get("BASHFLOW_STATE_DIR") or ""
    if not path:
        xdg = os.environ.get("XDG_STATE_HOME", "")
        # the XDG spec: a relative value is invalid and must be ignored
        if xdg and os.path.isabs(xdg):
            path = os.path.join(xdg, "bashflow")
        else:
            path = os.path.join(os.path.expanduser("~"), ".local", "state", "bashflow")
    if create and not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def history_path(directory: str) -> str:
    return os.path.join(directory, HISTORY_FILE)
