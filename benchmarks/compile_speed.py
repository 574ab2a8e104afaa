"""compile_speed - the compiler's figures (issue 5), each measured against a baseline in the same run.

1. Corpus: every file is compiled by bashflow (`compile_script`, parse included) and parsed by
   bashlex 0.18, interleaved file by file, each timed in CPU time of this process. The ratio is
   over the files bashlex parses (bashlex gives up early on the others). Target: compile at
   least 2x bashlex's parse-only speed.
2. A 5,000-line script (the fixture scripts of `fixtures/scripts/`, repeated, each copy in its
   own directory so paths differ): best of 3 compiles. Target: under 1 s.
3. A fresh process: `import bashflow; bashflow.compile_script('ls -la | wc -l')`, median of N
   runs, against `python -c pass` in alternation. Target: under 80 ms.

    python -m benchmarks.compile_speed              # everything
    python -m benchmarks.compile_speed --limit 500  # the first 500 corpus files
    python -m benchmarks.compile_speed --no-corpus -n 30

bashlex is GPL-licensed: a benchmark dependency only, never imported by bashflow.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import corpus as corpus_build

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "scripts"
ONE_LINER = "import bashflow; bashflow.compile_script('ls -la | wc -l')"


def corpus_ratio(limit: int) -> None:
    import bashlex  # type: ignore[import-untyped]

    import bashflow

    corpus = corpus_build.load()
    entries = list(corpus.entries[:limit] if limit else corpus.entries)
    bashflow.compile_script("echo warm | cat > /dev/null; [[ -n x ]] && (( 1 ))", cwd="/")
    bashlex.parse("true")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 30000))
    both_lines = 0
    t_bf = t_bl = t_bf_all = 0.0
    lines_all = compiled = crashed = 0
    clock = time.process_time  # CPU time: on a shared machine, wall time carries the load
    for e in entries:
        text = e.read_text()
        t0 = clock()
        ok_bf = True
        try:
            bashflow.compile_script(text, filename=e.source, cwd="/work")
        except bashflow.ParseError:
            ok_bf = False
        except Exception:
            ok_bf = False
            crashed += 1
        t1 = clock()
        try:
            bashlex.parse(text)
            ok_bl = True
        except Exception:
            ok_bl = False
        t2 = clock()
        if ok_bf:
            compiled += 1
            t_bf_all += t1 - t0
            lines_all += e.lines
        if ok_bf and ok_bl:
            both_lines += e.lines
            t_bf += t1 - t0
            t_bl += t2 - t1
    print(f"corpus: {len(entries)} files; bashflow compiled {compiled}, crashed on {crashed}")
    print(
        f"  bashflow compile (all compiled files)  {lines_all / max(t_bf_all, 1e-9):>10,.0f} lines/s"
    )
    print(f"  on the files both handle ({both_lines} lines):")
    print(
        f"    bashflow compile, parse included     {both_lines / max(t_bf, 1e-9):>10,.0f} lines/s"
    )
    print(
        f"    bashlex parse only                   {both_lines / max(t_bl, 1e-9):>10,.0f} lines/s"
    )
    ratio = t_bl / max(t_bf, 1e-9)
    print(f"  ratio {ratio:.2f}x (target >= 2x): {'OK' if ratio >= 2 else 'UNDER'}")


def big_script(lines: int = 5000) -> str:
    parts: list[str] = []
    n = 0
    i = 0
    scripts = [p.read_text() for p in sorted(FIXTURES.glob("*.sh"))]
    while n < lines:
        text = scripts[i % len(scripts)]
        parts.append(f"mkdir -p part{i} && cd part{i} || exit 1\n{text}cd ..\n")
        n += text.count("\n") + 2
        i += 1
    return "".join(parts)


def five_thousand() -> None:
    import bashflow

    text = big_script()
    bashflow.compile_script("true", cwd="/")
    best = best_cpu = float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        wf = bashflow.compile_script(text, cwd="/work")
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    n = text.count("\n")
    print(f"{n}-line script ({len(wf.nodes)} nodes, {len(wf.edges)} edges), best of 3:")
    print(f"  wall {best * 1000:.0f} ms, CPU {best_cpu * 1000:.0f} ms")
    print(
        f"  target < 1000 ms: {'OK' if best < 1 else 'OVER'} (wall), {'OK' if best_cpu < 1 else 'OVER'} (CPU)"
    )


def fresh_process(n: int) -> None:
    import compileall

    compileall.compile_dir(str(REPO / "src" / "bashflow"), quiet=1)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env.get("PYTHONPATH", ""))

    def run(code: str) -> tuple[float, float]:
        """Wall and CPU (user + system) milliseconds of one fresh interpreter."""
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd="/tmp")
        wall = (time.perf_counter() - t0) * 1000
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
        return wall, cpu

    for _ in range(3):
        run("pass")
        run(ONE_LINER)
    base: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for _ in range(n):
        base.append(run("pass"))
        ours.append(run(ONE_LINER))
    mb = statistics.median(w for w, _ in base)
    mo = statistics.median(w for w, _ in ours)
    cb = statistics.median(c for _, c in base)
    co = statistics.median(c for _, c in ours)
    print(f"fresh process, {n} runs each, alternating (medians):")
    print(f"  python -c pass                         wall {mb:6.1f} ms, CPU {cb:6.1f} ms")
    print(f"  import bashflow + compile a one-liner  wall {mo:6.1f} ms, CPU {co:6.1f} ms")
    print(f"  bashflow's own cost                    wall {mo - mb:6.1f} ms, CPU {co - cb:6.1f} ms")
    print(
        f"  target < 80 ms: {'OK' if mo < 80 else 'OVER'} (wall), {'OK' if co < 80 else 'OVER'} (CPU)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.compile_speed", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N corpus files")
    ap.add_argument("--no-corpus", action="store_true", help="skip the corpus ratio")
    ap.add_argument("-n", type=int, default=20, help="fresh processes of each (default 20)")
    args = ap.parse_args(argv)
    if not args.no_corpus:
        corpus_ratio(args.limit)
    five_thousand()
    fresh_process(args.n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
