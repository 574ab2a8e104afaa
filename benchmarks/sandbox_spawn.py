"""benchmarks/sandbox_spawn.py - sandbox overhead per process, and spawn time as bashflow grows.

    python3 -m benchmarks.sandbox_spawn [-n 200] [--profile strict] [--pace-ms 20] [--json]

1. Overhead: median wall time of spawning and reaping `/bin/true` under a plan (every layer)
   minus the median of a plain `subprocess.run(["/bin/true"])`, measured interleaved in the same
   run, and their ratio: back to back (throughput: the sandbox set-up of each process is paid
   in full) and paced (a pause before each spawn, as between a script's commands, so the fork
   server has the next sandbox ready: the latency a command sees).
2. Growth: the same after this process allocates a few hundred MB and starts threads; the fork
   server was started while the process was small, so sandboxed spawns stay flat. For contrast,
   `subprocess.run(..., preexec_fn=...)` in the grown process.
3. CPU: the CPU time a sandboxed spawn costs (the fork server and every process it started,
   the command included) against a plain spawn's (its child): unlike wall time, it hardly
   depends on what else the machine is running.
4. Fresh: wall and CPU time of sandboxes that are not reused (a harmless signal 0 sent to each
   tree makes the server retire its init, as after any control request), i.e. what each of
   several trees of one plan at once costs: a fork of the server and the whole containment,
   from the plan's template.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from bashflow.policy.profiles import get_profile
from bashflow.sandbox.plan import Plan, prepare
from bashflow.sandbox.spawner import Spawner


def _ms(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _pair(
    spawner: Spawner, plan: Plan, n: int, pace_ms: float = 0.0
) -> tuple[list[float], list[float]]:
    """Interleaved sandboxed and plain spawns; with `pace_ms`, a pause before each one (as when
    a script's commands take a little time), which lets the server prepare the next sandbox."""
    sandboxed: list[float] = []
    plain: list[float] = []

    def sb() -> None:
        spawner.spawn(plan, ["/bin/true"]).wait()

    def pl() -> None:
        subprocess.run(["/bin/true"], check=False)

    for _ in range(n):  # interleaved, so load changes hit both alike
        if pace_ms:
            time.sleep(pace_ms / 1000)
        sandboxed += _ms(sb, 1)
        if pace_ms:
            time.sleep(pace_ms / 1000)
        plain += _ms(pl, 1)
    return sandboxed, plain


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _cpu_of(pid: int) -> float:
    """CPU seconds of `pid` and its reaped children, plus those of its live children (an idle
    sandbox's init, which has reaped the commands it ran): a child that is reaped meanwhile
    moves from the second sum to the first."""
    total = sum(int(x) for x in _stat(pid)[11:15])
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = _stat(int(name))
            except OSError:
                continue
            if int(fields[1]) == pid:
                total += sum(int(x) for x in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _fresh(spawner: Spawner, plan: Plan) -> None:
    """A sandboxed /bin/true whose sandbox is not reused (see 4. above)."""
    proc = spawner.spawn(plan, ["/bin/true"])
    proc.send_signal(0)
    proc.wait()


def _cpu(spawner: Spawner, plan: Plan, n: int, *, fresh: bool = False) -> tuple[float, float]:
    """CPU ms per spawn: sandboxed (server and its children), plain (the child)."""
    before = _cpu_of(spawner.server_pid)
    for _ in range(n):
        if fresh:
            _fresh(spawner, plan)
        else:
            spawner.spawn(plan, ["/bin/true"]).wait()
    time.sleep(0.2)  # the last tree's init is reaped
    sandboxed = (_cpu_of(spawner.server_pid) - before) * 1000 / n
    before = _children_cpu()
    for _ in range(n):
        subprocess.run(["/bin/true"], check=False)
    return sandboxed, (_children_cpu() - before) * 1000 / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=200, help="spawns per measurement")
    ap.add_argument("--profile", default="strict", help="built-in profile for the plan")
    ap.add_argument("--grow-mib", type=int, default=400, help="memory to allocate for step 2")
    ap.add_argument("--threads", type=int, default=8, help="threads to start for step 2")
    ap.add_argument("--pace-ms", type=float, default=20.0, help="pause for the paced run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    spawner = Spawner()
    spawner.start()  # first, while this process is small and single-threaded
    work = tempfile.mkdtemp(prefix="bashflow-bench-")
    plan = prepare(get_profile(args.profile), work)
    for _ in range(10):  # warm-up (the server prepares the plan once)
        spawner.spawn(plan, ["/bin/true"]).wait()
    sb, pl = _pair(spawner, plan, args.n)
    sb_paced, pl_paced = _pair(spawner, plan, args.n, pace_ms=args.pace_ms)
    cpu_sb, cpu_pl = _cpu(spawner, plan, args.n)
    fresh = _ms(lambda: _fresh(spawner, plan), args.n)
    cpu_fresh, _ = _cpu(spawner, plan, args.n, fresh=True)

    ballast = bytearray(args.grow_mib << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    sb_big, pl_big = _pair(spawner, plan, args.n)
    preexec = _ms(lambda: subprocess.run(["/bin/true"], preexec_fn=lambda: None, check=False),
                  max(20, args.n // 4))  # fmt: skip
    stop.set()
    spawner.close()

    med = statistics.median
    res = {
        "profile": args.profile,
        "n": args.n,
        "plain_ms": round(med(pl), 3),
        "sandboxed_ms": round(med(sb), 3),
        "overhead_ms": round(med(sb) - med(pl), 3),
        "ratio": round(med(sb) / med(pl), 2),
        "paced_ms": args.pace_ms,
        "paced_plain_ms": round(med(pl_paced), 3),
        "paced_sandboxed_ms": round(med(sb_paced), 3),
        "paced_overhead_ms": round(med(sb_paced) - med(pl_paced), 3),
        "paced_ratio": round(med(sb_paced) / med(pl_paced), 2),
        "grown_mib": args.grow_mib,
        "grown_threads": args.threads,
        "grown_plain_ms": round(med(pl_big), 3),
        "grown_sandboxed_ms": round(med(sb_big), 3),
        "grown_overhead_ms": round(med(sb_big) - med(pl_big), 3),
        "grown_preexec_fn_ms": round(med(preexec), 3),
        "sandboxed_p90_ms": round(sorted(sb)[int(len(sb) * 0.9)], 3),
        "cpu_plain_ms": round(cpu_pl, 3),
        "cpu_sandboxed_ms": round(cpu_sb, 3),
        "cpu_ratio": round(cpu_sb / cpu_pl, 2) if cpu_pl else None,
        "fresh_sandboxed_ms": round(med(fresh), 3),
        "cpu_fresh_sandboxed_ms": round(cpu_fresh, 3),
        "load_average": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:>22}: {v}")
    del ballast
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
