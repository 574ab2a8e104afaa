"""check_speed - how fast `bashflow.check` and `bashflow check` answer.

Three figures, measured in one run:

1. in-process `check()` of a one-line command after warm-up: p50 and p99
   (targets 0.3 ms / 2 ms);
2. in-process `check()` of a 1,000-line script: median (target 100 ms);
3. cold CLI `bashflow check -c 'git status' --policy p.toml`: median wall time of fresh
   processes, against `python -c pass` run alternately in the same loop (target 60 ms).

    python -m benchmarks.check_speed              # defaults: 5000 one-liners, 20 CLI runs
    python -m benchmarks.check_speed -n 20000 --cli-runs 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "fixtures" / "check" / "policies" / "agent.toml"
ONE_LINERS = [
    "git status",
    "ls -la src | grep -c py",
    "python3 -m pytest -q tests/ > /tmp/out.txt 2>&1",
    "cd src && make -j4 test",
    "rm -rf build",
    'for f in src/*.py; do wc -l "$f"; done',
]
BLOCK = [
    "set -euo pipefail",
    "git status --porcelain",
    "ls -la src | sort > /tmp/x.txt",
    "if [ -f VERSION ]; then cat VERSION; else echo 0; fi",
    'for f in src/*.py; do wc -l "$f"; done',
    'ver=$(git describe --tags); echo "version $ver"',
    "make -j4 test 2>&1 | tail -n 20",
    "f() { grep -rn TODO src; }",
    'case "$1" in build) make;; test) make test;; esac',
    "cat <<EOF > build/info.txt\nbuilt at $(date)\nEOF",
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def thousand_lines() -> str:
    lines: list[str] = []
    while len(lines) < 1000:
        for b in BLOCK:
            lines.extend(b.split("\n"))
    return "\n".join(lines[:1000]) + "\n"


def in_process(n: int) -> tuple[float, float, float]:
    sys.path.insert(0, str(REPO / "src"))
    from bashflow import Policy, check

    policy = Policy.load(POLICY)
    kw = {"cwd": "/work/proj", "home": "/home/agent"}
    for s in ONE_LINERS * 100:  # warm-up
        check(s, policy, **kw)
    times = []
    for i in range(n):
        s = ONE_LINERS[i % len(ONE_LINERS)]
        t = time.perf_counter()
        check(s, policy, **kw)
        times.append(time.perf_counter() - t)
    times.sort()
    p50 = times[len(times) // 2] * 1e3
    p99 = times[int(len(times) * 0.99)] * 1e3
    script = thousand_lines()
    check(script, policy, **kw)
    big = []
    for _ in range(15):
        t = time.perf_counter()
        check(script, policy, **kw)
        big.append(time.perf_counter() - t)
    return p50, p99, statistics.median(big) * 1e3


def cold_cli(runs: int) -> tuple[float, float]:
    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "p.toml"
        policy.write_text(POLICY.read_text())
        cli = [
            sys.executable,
            "-m",
            "bashflow",
            "check",
            "-c",
            "git status",
            "--policy",
            str(policy),
        ]
        base = [sys.executable, "-c", "pass"]
        cli_t: list[float] = []
        base_t: list[float] = []
        for i in range(runs + 2):
            for cmd, out in ((base, base_t), (cli, cli_t)):
                t = time.perf_counter()
                r = subprocess.run(cmd, env=env, capture_output=True)
                dt = (time.perf_counter() - t) * 1e3
                if cmd is cli and r.returncode != 0:
                    raise SystemExit(f"bashflow check failed: {r.returncode} {r.stderr!r}")
                if i >= 2:  # the first runs warm the page cache
                    out.append(dt)
    return statistics.median(cli_t), statistics.median(base_t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("-n", type=int, default=5000, help="one-line checks to time")
    ap.add_argument("--cli-runs", type=int, default=20, help="fresh CLI processes to time")
    args = ap.parse_args(argv)
    p50, p99, big = in_process(args.n)
    cli, base = cold_cli(args.cli_runs)
    print(f"one-line check     p50 {p50:.3f} ms   p99 {p99:.3f} ms   (targets 0.3 / 2 ms)")
    print(f"1,000-line script  median {big:.1f} ms                (target 100 ms)")
    print(f"cold CLI check     median {cli:.1f} ms   python -c pass {base:.1f} ms   (target 60 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
