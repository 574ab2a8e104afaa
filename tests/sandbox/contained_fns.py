"""Functions the tests run inside a sandbox with `Spawner.run_contained` (module level, so
they pickle; few imports, so they load quickly inside)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def attempt(label: str, fn: object) -> str:
    """One line: LABEL ok / LABEL denied ERRNO."""
    try:
        assert callable(fn)
        fn()
    except OSError as e:
        return f"{label} denied {e.errno}"
    return f"{label} ok"


def escapes(outside: str, workdir: str) -> int:
    """What an interpreter might try, and what it must still be able to do."""
    here = os.path.dirname(os.path.abspath(__file__))
    lines = [
        attempt("read_outside", lambda: Path(outside, "secret.txt").read_text()),
        attempt("write_outside", lambda: open(os.path.join(outside, "new"), "w").close()),
        attempt("write_runtime", lambda: open(os.path.join(here, "planted.py"), "w").close()),
        attempt("exec_perl", lambda: subprocess.run(["perl", "-e", "1"], check=False)),
        attempt("write_work", lambda: Path(workdir, "mine").write_text("x")),
        attempt("lazy_import", lambda: __import__("json").dumps([1])),
    ]
    # a pipeline the way a shell runs one: pipe2, fork, dup2, execve, wait4
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.close(r)
        os.close(w)
        os.execvp("printf", ["printf", "b\\na\\n"])
    os.close(w)
    sort = subprocess.run(["sort"], stdin=r, capture_output=True, text=True, check=False)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    lines.append(f"pipeline {sort.stdout.split()} {os.waitstatus_to_exitcode(status)}")
    # a child inherits every layer
    child = subprocess.run(
        ["sh", "-c", f"cat {outside}/secret.txt; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines.append("child " + " ".join(child.stdout.split()) + f" rc={child.returncode}")
    lines.append("fds " + " ".join(sorted(os.listdir("/proc/self/fd"), key=int)))
    status = Path("/proc/self/status").read_text().splitlines()
    lines.append("caps " + " ".join(x.split()[1] for x in status if x.startswith("Cap")))
    lines.append(f"uid {os.getuid()} env {sorted(os.environ)}")
    os.write(1, ("\n".join(lines) + "\n").encode())
    return 0


def status(kind: str) -> int | None:
    if kind == "return":
        return 7
    if kind == "exit":
        sys.exit(3)
    if kind == "raise":
        raise RuntimeError("boom inside")
    return None


def linger(workdir: str) -> None:
    """Leave a background process behind, then outstay the wall limit."""
    subprocess.Popen(["sleep", "1000"], start_new_session=True)
    os.write(1, b"ready\n")
    import time

    time.sleep(60)


def hog(mib: int) -> None:
    blocks = []
    for _ in range(mib // 16):
        blocks.append(bytearray(16 << 20))
