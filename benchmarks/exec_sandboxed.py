"""exec_sandboxed - the sandboxed `bashflow exec` (the default) against bash, as ratios measured in
one run, interleaved (so the load of this shared machine falls on both sides alike).

    python -m benchmarks.exec_sandboxed              # median of 5 per figure
    python -m benchmarks.exec_sandboxed --runs 9 --json

Figures (issue 6):
* external-command loop `for i in $(seq 1000); do /bin/true; done`, sandboxed / bash
  (target <= 1.5x), and the same with `--no-sandbox` for reference;
* builtin loop `for ((i=0;i<100000;i++)); do x=$((x+i)); done`, sandboxed / bash (aim <= 15x);
* the fixed start-up cost: `bashflow exec -c true` sandboxed, against `bash -c true` and
  against `bashflow exec --no-sandbox -c true`.
Sandboxed runs use the default profile (`workspace`) in a fresh work dir; every layer this
machine has is on (missing ones are accepted and listed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.conformance import Result

BASH = "/usr/bin/bash"
EXEC = (sys.executable, "-m", "bashflow", "exec")
EXTERNAL = "for i in $(seq 1000); do /bin/true; done"
BUILTIN = "for ((i=0;i<100000;i++)); do x=$((x+i)); done; echo $x"


def _weaker() -> list[str]:
    from bashflow.sandbox.probe import probe

    return [a for m in probe().missing() for a in ("--accept-weaker", m.value)]


def timed(argv: list[str], cwd: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode()}")
    return elapsed, proc.stdout


def measure(runs: int, cwd: str) -> dict[str, object]:
    weaker = _weaker()
    sandboxed = [*EXEC, *weaker]
    plain = [*EXEC, "--no-sandbox", "-q"]
    cases = {
        "external/bash": [BASH, "-c", EXTERNAL],
        "external/sandboxed": [*sandboxed, "-c", EXTERNAL],
        "external/no-sandbox": [*plain, "-c", EXTERNAL],
        "builtin/bash": [BASH, "-c", BUILTIN],
        "builtin/sandboxed": [*sandboxed, "-c", BUILTIN],
        "start/bash": [BASH, "-c", "true"],
        "start/sandboxed": [*sandboxed, "-c", "true"],
        "start/no-sandbox": [*plain, "-c", "true"],
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    outs: dict[str, bytes] = {}
    for _ in range(runs):  # interleaved: each round runs every case once
        for name, argv in cases.items():
            t, out = timed(argv, cwd)
            times[name].append(t)
            outs[name] = out
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "runs": runs,
        "load": os.getloadavg()[0],
        "missing_layers": weaker[1::2],
        "median_s": {k: round(v, 4) for k, v in med.items()},
        "ratios": {
            "external sandboxed/bash": round(med["external/sandboxed"] / med["external/bash"], 2),
            "external no-sandbox/bash": round(med["external/no-sandbox"] / med["external/bash"], 2),
            "builtin sandboxed/bash": round(med["builtin/sandboxed"] / med["builtin/bash"], 2),
            "start sandboxed/bash": round(med["start/sandboxed"] / med["start/bash"], 1),
            "start sandboxed/no-sandbox": round(
                med["start/sandboxed"] / med["start/no-sandbox"], 2
            ),
        },
        "start_overhead_s": {
            "sandboxed - bash": round(med["start/sandboxed"] - med["start/bash"], 4),
            "sandboxed - no-sandbox": round(med["start/sandboxed"] - med["start/no-sandbox"], 4),
        },
        "same_output": outs["builtin/bash"] == outs["builtin/sandboxed"]
        and outs["external/bash"] == outs["external/sandboxed"],
    }


# The conformance cases under the sandbox: they run coreutils and friends, write in their work
# dir, their $HOME and temp dirs, and read what they like outside the secrets. Everything else
# (network, secrets, writes elsewhere, the limits) stays on.
CONFORMANCE_POLICY = """\
[commands]
allow = ["*"]
deny = ["@privileged"]
[paths]
read = ["/"]
write = [".", "~", "@tmp", "@devnull"]
deny = ["@secrets"]
[network]
allow = false
[env]
pass = ["*"]
[limits]
cpu_seconds = 60
wall_seconds = 60
"""


def wrap(argv: list[str]) -> int:
    """`exec_sandboxed.py --wrap POLICY SCRIPT ARGS...`: the conformance runner's argv prefix.
    Its cases run in ROOT/work under a `mkdtemp` ROOT (mode 0700); as root the sandbox's uid
    must be able to pass through ROOT to reach the work dir, so ROOT gets o+x first."""
    policy, rest = argv[0], argv[1:]
    root = os.path.dirname(os.getcwd())
    os.chmod(root, os.stat(root).st_mode | 0o001)
    os.execv(sys.executable, [sys.executable, "-m", "bashflow", "exec", "--policy", policy, *rest])


def run_conformance(pattern: str | None, *, precheck: bool = True) -> list[Result]:
    """The conformance cases (those whose id contains `pattern`) run by the sandboxed
    `bashflow exec` under CONFORMANCE_POLICY."""
    from benchmarks import conformance as conf

    d = tempfile.mkdtemp(prefix="bfconfpol.")
    os.chmod(d, 0o755)
    policy = os.path.join(d, "policy.toml")
    with open(policy, "w") as f:
        f.write(CONFORMANCE_POLICY)
    flags = () if precheck else ("--no-precheck",)
    impl = (sys.executable, os.path.abspath(__file__), "--wrap", policy, *_weaker(), *flags)
    try:
        return conf.run_all(conf.load_cases(pattern=pattern), impl, jobs=2)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def conformance(pattern: str | None, verbose: bool, precheck: bool) -> int:
    """The conformance suite through the sandboxed `bashflow exec`, with the pass rate per
    category, and the cases that fail sandboxed but are not known failures unsandboxed."""
    from benchmarks import conformance as conf

    results = run_conformance(pattern, precheck=precheck)
    known = set(conf.read_known_failures())
    print(conf.table(results))
    extra = [r for r in results if not r.passed and r.case.id not in known]
    print(f"failing sandboxed and not known failures unsandboxed: {len(extra)}")
    for r in extra:
        print(f"  {r.case.id}")
        if verbose:
            for p in r.problems:
                print("    " + p.replace("\n", "\n    "))
    return 0


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--wrap"]:
        return wrap(args_in[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="median of N interleaved runs (5)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--conformance", action="store_true",
                    help="run the conformance suite sandboxed instead (with -k, -v)")  # fmt: skip
    ap.add_argument("-k", dest="pattern", help="conformance: only cases whose id contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="conformance: show diffs")
    ap.add_argument("--no-precheck", action="store_true",
                    help="conformance: skip the static check (sandbox and run-time check only)")  # fmt: skip
    args = ap.parse_args(args_in)
    if args.conformance:
        return conformance(args.pattern, args.verbose, not args.no_precheck)
    wd = tempfile.mkdtemp(prefix="bfbench.")
    os.chmod(wd, 0o755)  # as root the sandbox's uid must reach the work dir
    try:
        result = measure(args.runs, wd)
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"median of {result['runs']} interleaved runs, load {result['load']:.1f}")
    for name, t in result["median_s"].items():  # type: ignore[attr-defined]
        print(f"  {name:<22} {t:8.3f} s")
    for name, r in result["ratios"].items():  # type: ignore[attr-defined]
        print(f"  {name:<28} {r}x")
    for name, t in result["start_overhead_s"].items():  # type: ignore[attr-defined]
        print(f"  start-up {name:<24} {t * 1000:6.0f} ms")
    if not result["same_output"]:
        print("  OUTPUT DIFFERS from bash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
