"""import_time - what `import bashflow` and a first parse cost a fresh process.

Runs, in alternation, N fresh interpreters of each of

    python -c pass
    python -c "import bashflow; bashflow.parse('ls -la | wc -l')"

and prints the median wall time of each, their difference, and the modules the second one
loads that are known to be expensive (lark, pydantic, networkx, ...). Target: the second under
40 ms median. `-X importtime` for the detail: `--importtime` prints the 15 slowest imports.

    python -m benchmarks.import_time            # 20 runs of each
    python -m benchmarks.import_time -n 50 --importtime
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 40.0
SNIPPET = "import bashflow; bashflow.parse('ls -la | wc -l')"
HEAVY = ("lark", "pydantic", "networkx", "psutil", "pyseccomp", "asyncio", "dataclasses", "bashlex")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONSTARTUP", None)
    return env


def _run(code: str, env: dict[str, str], flags: tuple[str, ...] = ()) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *flags, "-c", code], env=env, check=True, stdin=subprocess.DEVNULL
    )
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.import_time", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("-n", type=int, default=20, help="runs of each (default 20)")
    ap.add_argument(
        "--importtime", action="store_true", help="show the slowest imports (-X importtime)"
    )
    args = ap.parse_args(argv)
    env = _env()
    # An installed package has its bytecode compiled (pip does it); this checkout may not, and
    # with PYTHONDONTWRITEBYTECODE set Python would recompile every module on every start.
    import compileall

    compileall.compile_dir(str(REPO / "src" / "bashflow"), quiet=1)

    # (label, code, interpreter flags); -S skips site, i.e. the .pth hooks of this installation
    # (bashflow is on PYTHONPATH, so it imports the same either way).
    cases = [
        ("python -c pass", "pass", ()),
        ("python -c 'import bashflow; parse'", SNIPPET, ()),
        ("python -S -c pass", "pass", ("-S",)),
        ("python -S -c 'import bashflow; parse'", SNIPPET, ("-S",)),
    ]
    for _ in range(3):  # warm the page cache and .pyc files
        for _, code, flags in cases:
            _run(code, env, flags)
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(args.n):
        for i, (_, code, flags) in enumerate(cases):
            times[i].append(_run(code, env, flags))
    med = [statistics.median(t) for t in times]
    print(
        f"python: {sys.executable} ({sys.version.split()[0]}), {args.n} fresh processes each, alternating"
    )
    for (label, _, _), m, t in zip(cases, med, times, strict=True):
        print(f"  {label:<40} median {m:6.1f} ms  (min {min(t):5.1f})")
    print(
        f"  bashflow's own cost (difference)          {med[1] - med[0]:6.1f} ms with site, {med[3] - med[2]:.1f} ms with -S"
    )
    verdict = "OK" if med[1] < TARGET_MS else "OVER"
    print(f"  target: `{SNIPPET}` under {TARGET_MS:.0f} ms median -> {med[1]:.1f} ms, {verdict}")
    if med[0] > 20:
        print(
            f"  note: python alone takes {med[0]:.1f} ms here; site's .pth hooks cost {med[0] - med[2]:.1f} ms of it"
        )

    loaded = subprocess.run(
        [sys.executable, "-c", f"{SNIPPET}; import sys; print('\\n'.join(sorted(sys.modules)))"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
    print(
        f"  expensive modules loaded: {', '.join(heavy) if heavy else 'none'} ({len(loaded)} modules in all)"
    )

    if args.importtime:
        r = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", SNIPPET],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        rows = []
        for line in r.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cum_us, name = (x.strip() for x in line[len("import time:") :].split("|"))
            rows.append((int(cum_us), int(self_us), name))
        print("  slowest imports (cumulative us, self us, module):")
        for cum, own, name in sorted(rows, reverse=True)[:15]:
            print(f"    {cum:>8} {own:>8}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
