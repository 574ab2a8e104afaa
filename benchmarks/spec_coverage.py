"""spec_coverage - how much of what real scripts run the command specs cover.

Every simple command in the real-world corpus (`benchmarks/corpus.py`) whose name is literal,
not a bash builtin (`compgen -b` of /usr/bin/bash) and not a function defined in the same file
counts as one external-command invocation. Printed: the number of specs; the share of those
invocations whose name has a spec, over all of them and over the ones whose name is a program
installed on this machine (the rest are mostly functions from files sourced at run time);
the share `usage()` interprets without going opaque; how many commands have a name known only
at run time; and the 30 most frequent names without a spec. Then the loading cost: the median
over fresh interpreters of importing `cmdspec`, building the name index and interpreting five
common argvs (cat, cp, grep, git commit, tar), against `python -c pass` in the same run, and
of parsing and checking every spec at once (what only the tests do).

    python -m benchmarks.spec_coverage
    python -m benchmarks.spec_coverage --top 50 --limit 500
    python -m benchmarks.spec_coverage --load-only
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from typing import Any

from bashflow.compile import cmdspec
from bashflow.parser import parse
from bashflow.parser import syntax as S
from benchmarks import corpus as corpus_build

SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _builtins() -> frozenset[str]:
    out = subprocess.run(
        ["/usr/bin/bash", "-c", "compgen -b"], capture_output=True, text=True, check=True
    )
    return frozenset(out.stdout.split())


def _text(parts: tuple[Any, ...], quoted: bool) -> tuple[str | None, bool, bool]:
    """(text or None, glob, many) of a word's parts, as the compiler sees them before running."""
    out: list[str] = []
    glob = many = unknown = False
    for p in parts:
        if isinstance(p, S.Literal | S.SingleQuoted):
            out.append(p.text)
        elif isinstance(p, S.Escaped):
            out.append(p.char)
        elif isinstance(p, S.AnsiCQuoted):
            out.append(p.value)
        elif isinstance(p, S.Glob) and not quoted:
            out.append(p.text)
            glob = many = True
        elif isinstance(p, S.DoubleQuoted):
            t, _, m = _text(p.parts, True)
            unknown = unknown or t is None
            out.append(t or "")
            many = many or m
        else:
            unknown = True
            name = getattr(p, "name", "")
            if not quoted or name in ("@", "*"):
                many = True
    return (None if unknown else "".join(out)), glob, many


def args_of(cmd: S.SimpleCommand) -> list[cmdspec.Arg]:
    """The argv of a simple command as `cmdspec.Arg`s (the tests read argvs with it too)."""
    args = []
    for i, w in enumerate(cmd.words):
        t, g, m = _text(w.parts, False)
        args.append(cmdspec.Arg(t, i, g, m))
    return args


_LOAD = """
import time
t0 = time.perf_counter()
from bashflow.compile import cmdspec as c
c.names()
for words in ("cat a b", "cp -r a b", "grep -rl x d", "git commit -am m", "tar czf o.tgz d"):
    c.usage([c.Arg(w, i) for i, w in enumerate(words.split())])
print(time.perf_counter() - t0)
"""
_ALL = "import time; t=time.perf_counter(); from bashflow.compile import cmdspec as c; c.load_all(); print(time.perf_counter()-t)"


def _fresh(code: str, runs: int) -> float:
    """Median wall time (s) of a fresh interpreter running code, start-up included."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def _inner(code: str, runs: int) -> float:
    """Median of the time (s) that fresh interpreters running code print (start-up excluded)."""
    times = sorted(
        float(
            subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    )
    return times[len(times) // 2]


def load_cost(runs: int = 15) -> None:
    base = _fresh("pass", runs)
    load = _fresh(_LOAD, runs)
    inner = _inner(_LOAD, runs)
    every = _inner(_ALL, 5)
    print(f"\nloading (median of {runs} fresh interpreters):")
    print(f"  python -c pass:                             {1000 * base:6.1f} ms")
    print(
        f"  import cmdspec + index + 5 usages:          {1000 * load:6.1f} ms (+{1000 * (load - base):.1f} ms)"
    )
    print(f"  of which inside the interpreter:            {1000 * inner:6.1f} ms")
    print(f"  load_all (every spec parsed and checked):   {1000 * every:6.1f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--top", type=int, default=30, help="uncovered names to list")
    ap.add_argument("--limit", type=int, default=0, help="only the first N corpus files")
    ap.add_argument("--load-only", action="store_true", help="only the loading cost")
    args = ap.parse_args(argv)
    if args.load_only:
        load_cost()
        return 0

    corpus = corpus_build.load()
    entries = list(corpus)[: args.limit or None]
    builtins = _builtins()
    names = cmdspec.names()
    calls: collections.Counter[str] = collections.Counter()
    opaque: collections.Counter[str] = collections.Counter()
    dynamic = 0
    t0 = time.perf_counter()
    for entry in entries:
        try:
            tree = parse(entry.read_bytes(), str(entry.path))
        except Exception as e:  # the parser corpus test reports these; here they only shrink N
            print(f"skipped {entry.rel}: {e}", file=sys.stderr)
            continue
        nodes = list(S.walk(tree))
        functions = {n.name for n in nodes if isinstance(n, S.FunctionDef)}
        for n in nodes:
            if not isinstance(n, S.SimpleCommand) or not n.words:
                continue
            words = args_of(n)
            name = words[0].text
            if name is None:
                dynamic += 1
                continue
            if name in builtins or name in functions:
                continue
            base = name.rpartition("/")[2]
            calls[base] += 1
            if base in names and cmdspec.usage(words).opaque:
                opaque[base] += 1
    seconds = time.perf_counter() - t0

    total = sum(calls.values())
    covered = sum(v for k, v in calls.items() if k in names)
    installed = {k for k in calls if k in names or shutil.which(k, path=SBIN_PATH)}
    total_inst = sum(calls[k] for k in installed)
    covered_inst = sum(calls[k] for k in installed if k in names)
    interpreted = covered - sum(opaque.values())
    specs = {s.name for s in cmdspec.load_all().values()}

    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "-"

    print(f"corpus: {len(entries)} files, parsed and counted in {seconds:.1f} s")
    print(f"specs: {len(specs)} commands ({len(names)} names with aliases)")
    print(
        f"external-command invocations (literal name, not a builtin or a same-file function): "
        f"{total} ({len(calls)} names)"
    )
    print(f"  with a spec:                         {covered} = {pct(covered, total)}")
    print(
        f"  of those naming an installed program: {covered_inst} of {total_inst} = "
        f"{pct(covered_inst, total_inst)}"
    )
    print(
        f"  interpreted without opaque:           {interpreted} = {pct(interpreted, covered)} "
        f"of the covered ones"
    )
    print(f"commands whose name is known only at run time: {dynamic}")
    print(f"\ntop {args.top} names without a spec (installed programs marked *):")
    missing = [(k, v) for k, v in calls.most_common() if k not in names]
    for k, v in missing[: args.top]:
        print(f"  {v:6d}  {k}{' *' if k in installed else ''}")
    print(f"\nmost often opaque (top {min(args.top, 15)}):")
    for k, v in opaque.most_common(min(args.top, 15)):
        print(f"  {v:6d} of {calls[k]:6d}  {k}")
    load_cost()
    return 0


if __name__ == "__main__":
    sys.exit(main())
