"""benchmarks/sandbox_contained.py - commands started inside one sandbox (`run_contained`).

    python3 -m benchmarks.sandbox_contained [-n 1000] [--profile strict] [--json]

What an interpreter running a whole script inside one sandbox pays per external command: the
same Python function starts `/bin/true` N times (posix_spawn + waitpid, as a shell's
fork/exec/wait) once in this process and once inside a sandbox (every layer: Landlock and
seccomp on each exec, the mount namespace's lookups), and bash runs
`for i in $(seq N); do /bin/true; done` for reference, all in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bashflow.policy.profiles import get_profile
from bashflow.sandbox.plan import prepare
from bashflow.sandbox.spawner import Spawner


def spawn_loop(n: int, fd: int) -> int:
    """Start /bin/true n times, one after the other; write the seconds taken to `fd`."""
    t = time.perf_counter()
    for _ in range(n):
        pid = os.posix_spawn("/bin/true", ["/bin/true"], os.environ)
        os.waitpid(pid, 0)
    os.write(fd, f"{time.perf_counter() - t}\n".encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--profile", default="strict")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    spawner = Spawner()
    spawner.start()
    work = tempfile.mkdtemp(prefix="bashflow-bench-contained-")
    os.chmod(work, 0o755)
    try:
        plan = prepare(get_profile(args.profile), work, interpreter=True)
        r, w = os.pipe()
        spawn_loop(args.n, w)
        plain = float(os.read(r, 100))
        t = time.perf_counter()
        # by its module's name: as __main__ it could not be found inside the sandbox
        fn = importlib.import_module("benchmarks.sandbox_contained").spawn_loop
        proc = spawner.run_contained(plan, fn, (args.n, 1), stdout=w)
        outcome = proc.wait()
        whole = time.perf_counter() - t
        assert outcome is not None and outcome.exit_code == 0, outcome
        inside = float(os.read(r, 100))
        os.close(r)
        os.close(w)
        t = time.perf_counter()
        subprocess.run(["bash", "-c", f"for i in $(seq {args.n}); do /bin/true; done"],
                       check=True)  # fmt: skip
        bash = time.perf_counter() - t
    finally:
        spawner.close()
        shutil.rmtree(work, ignore_errors=True)
    res = {
        "n": args.n,
        "profile": args.profile,
        "plain_ms_per_command": round(plain * 1000 / args.n, 3),
        "contained_ms_per_command": round(inside * 1000 / args.n, 3),
        "ratio": round(inside / plain, 2),
        "contained_run_with_setup_s": round(whole, 3),
        "bash_ms_per_command": round(bash * 1000 / args.n, 3),
        "contained_vs_bash": round(inside / bash, 2),
        "load_average": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:>28}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
