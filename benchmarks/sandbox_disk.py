"""benchmarks/sandbox_disk.py - how tightly disk_mib holds, and what watching costs.

    python3 -m benchmarks.sandbox_disk [--files 0,2000,20000] [--json]

`disk_mib` and `inodes` are enforced by watching the work dir while trees run: every 20 ms the
file system's usage (statvfs) is compared with that at the last full scan, which runs again at
once when the work dir could have passed a limit, and otherwise as often as costs at most 5% of
one CPU (at most every 0.1 s) (`server.TICK_SECONDS`, `SCAN_SHARE`). For each work-dir size
(files already there):

1. scan: the time of one scan of the work dir (`plan.disk_usage`);
2. watch cost: the fork server's CPU time per wall second while a sandboxed `sleep 2` runs;
3. overshoot: a fast writer (1 MB files, `head`) under `disk_mib = 16`, `file_size_mib = 4`:
   how far past the limit the work dir grew before the tree was stopped (MiB, and as a ratio
   to the limit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from bashflow.policy import Policy
from bashflow.sandbox.plan import disk_usage, prepare
from bashflow.sandbox.spawner import Spawner

MIB = 1 << 20
FILL = "i=0; while [ $i -lt 400 ]; do head -c 1000000 /dev/zero > f$i || exit 9; i=$((i+1)); done"


def _policy(**limits: int | None) -> Policy:
    return Policy.model_validate({
        "commands": {"allow": ["@shell", "@coreutils"]},
        "paths": {"read": ["@system", "."], "write": ["."]},
        "env": {"set": {"PATH": "/usr/bin:/bin"}},
        "limits": {"wall_seconds": 60, "disk_mib": 16, "file_size_mib": 4, **limits},
    })  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(spawner: Spawner, files: int) -> dict[str, float]:
    base = tempfile.mkdtemp(prefix="bashflow-bench-disk-", dir="/tmp")
    os.chmod(base, 0o711)
    try:
        work = os.path.join(base, "work")
        os.mkdir(work)
        os.chmod(work, 0o777)
        for i in range(files):
            with open(os.path.join(work, f"old{i}"), "wb") as f:
                f.write(b"x")
        t = time.perf_counter()
        disk_usage(work)
        scan_ms = (time.perf_counter() - t) * 1000
        plan = prepare(_policy(), work)
        before = _cpu_seconds(spawner.server_pid)
        t = time.perf_counter()
        proc = spawner.spawn(plan, ["sleep", "2"])
        proc.wait()
        wall = time.perf_counter() - t
        share = (_cpu_seconds(spawner.server_pid) - before) / wall
        used0 = disk_usage(work)[0]
        proc = spawner.spawn(plan, ["sh", "-c", FILL])
        outcome = proc.wait()
        assert outcome is not None
        grown = (disk_usage(work)[0] - used0) / MIB
        return {
            "files": files,
            "scan_ms": round(scan_ms, 3),
            "watch_cpu_share": round(share, 4),
            "fill_limit": str(outcome.limit),
            "grown_mib": round(grown, 1),
            "overshoot_mib": round(grown - 16, 1),
            "overshoot_ratio": round(grown / 16, 2),
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", default="0,2000,20000", help="files already in the work dir")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with Spawner() as spawner:
        rows = [measure(spawner, int(n)) for n in args.files.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
