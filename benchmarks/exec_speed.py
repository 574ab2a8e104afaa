"""exec_speed - `bashflow exec` against bash on the two loops of issue 6, as ratios measured
in the same run (so the machine's load cancels out).

    python -m benchmarks.exec_speed            # both loops, best of 3
    python -m benchmarks.exec_speed --runs 1

External-command-heavy: `for i in $(seq 1000); do /bin/true; done` (target: <= 1.5x bash).
Builtin-heavy: `for ((i=0;i<100000;i++)); do x=$((x+i)); done` (target: <= 15x bash).
bashflow runs with `--no-sandbox --quiet`: the interpreter's own speed (the sandboxed
runner's cost is `benchmarks/exec_sandboxed.py`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BASH = "/usr/bin/bash"
BASHFLOW = (sys.executable, "-m", "bashflow", "exec", "--no-sandbox", "--quiet")
LOOPS = {
    "external": "for i in $(seq 1000); do /bin/true; done",
    "builtin": "for ((i=0;i<100000;i++)); do x=$((x+i)); done; echo $x",
}


def best_time(argv: list[str], runs: int) -> tuple[float, bytes]:
    best = float("inf")
    out = b""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, check=False)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{argv[:2]} failed ({proc.returncode}): {proc.stderr.decode()}")
        best = min(best, elapsed)
        out = proc.stdout
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="best of N runs (default 3)")
    args = ap.parse_args(argv)
    print(f"{'loop':<10} {'bash s':>8} {'bashflow s':>11} {'ratio':>7}")
    for name, script in LOOPS.items():
        tb, outb = best_time([BASH, "-c", script], args.runs)
        tf, outf = best_time([*BASHFLOW, "-c", script], args.runs)
        same = "" if outb == outf else "  (OUTPUT DIFFERS)"
        print(f"{name:<10} {tb:8.3f} {tf:11.3f} {tf / tb:6.1f}x{same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
