"""hostile - generated scripts shaped to break parsers: deep nesting, huge words, long lists.

Every shape must give a tree or a clean, located `ParseError` (never `RecursionError`, never
another exception), within one second. tests/parse/test_hostile.py asserts the first half on
every shape; this benchmark prints the seconds per shape, what bashflow gave and what `bash -n`
says about the same text.

    python -m benchmarks.hostile            # every shape
    python -m benchmarks.hostile deep       # shapes whose name contains "deep"

All text here is generated; nothing is copied from elsewhere.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

TARGET_S = 1.0
LIMIT_S = 10.0  # a shape still parsing after this long is stopped and reported


@dataclass(frozen=True, slots=True)
class Shape:
    """A generated script; `expect` holds node-kind counts a tree of it must reach."""

    name: str
    build: Callable[[], str]
    expect: dict[str, int] = field(default_factory=dict)
    slow: bool = False  # more than ~0.25 s to build and parse


def _realistic_block(i: int) -> str:
    """About 50 lines of ordinary bash: functions, tests, loops, case, arrays, here-docs."""
    return f"""\
# block {i}
log_{i}() {{
    local level=$1; shift
    printf '%s [%s] %s\\n' "$(date +%s)" "$level" "$*" >&2
}}

build_{i}() {{
    local -a files=("src/{i}"/*.c)
    local out="${{OUT:-build}}/{i}"
    mkdir -p -- "$out" || return 1
    for f in "${{files[@]}}"; do
        [[ -f $f ]] || continue
        case "${{f##*.}}" in
            c|h) cc -c "$f" -o "$out/$(basename "${{f%.c}}").o" 2>>"$out/err.log" ;;
            *) log_{i} warn "skipping $f" ;;
        esac
    done
    if (( ${{#files[@]}} > {i % 7} )) && [[ -n ${{VERBOSE-}} ]]; then
        log_{i} info "built ${{#files[@]}} files"
    elif [ -z "$QUIET" ]; then
        echo "nothing much" | tr a-z A-Z | sed -e 's/N/n/g'
    else
        :
    fi
    while read -r line; do
        count=$((count + ${{#line}}))
    done < <(find "$out" -name '*.o' -print)
    cat <<EOF >"$out/summary.txt"
block {i}: $count bytes
built by $USER on $(hostname)
EOF
    cat <<'EOF'
literal $text `not run` here
EOF
    declare -A seen=([a]=1 [b]=2)
    seen[c]=$(( seen[a] + seen[b] ))
    until [[ ${{seen[c]}} -le 0 ]]; do (( seen[c]-- )); done
    {{ echo start; trap 'rm -f "$tmp"' EXIT; }} 2>/dev/null
    ( cd "$out" && ls -la | wc -l ) || true
    select opt in yes no; do break; done </dev/null
    time -p sleep 0 >/dev/null
    return 0
}}
[[ $1 == @(b|build) ]] && build_{i} "$@"
"""


def _realistic(lines: int) -> str:
    out: list[str] = []
    i = n = 0
    while n < lines:
        block = _realistic_block(i)
        out.append(block)
        n += block.count("\n")
        i += 1
    return "#!/bin/bash\nset -euo pipefail\n" + "".join(out)


def _nested_dollar_paren(depth: int) -> str:
    return "echo " + "$(" * depth + "echo x" + ")" * depth + "\n"


def _nested_quoted_dollar_paren(depth: int) -> str:
    return "echo " + '"$(' * depth + "echo x" + ')"' * depth + "\n"


def _nested_backquotes(depth: int) -> str:
    """Backquotes nested `depth` deep: each level escapes the backslashes and backquotes inside."""
    inner = "echo x"
    for _ in range(depth):
        inner = "echo `" + inner.replace("\\", "\\\\").replace("`", "\\`") + "`"
    return inner + "\n"


def _unclosed(depth: int) -> str:
    return "echo " + "$(" * depth + "echo x\n"


SHAPES: tuple[Shape, ...] = (
    Shape("deep $( ) 400", lambda: _nested_dollar_paren(400), {"CommandSub": 400}),
    Shape('deep "$( )" 400', lambda: _nested_quoted_dollar_paren(400), {"CommandSub": 400}),
    Shape("deep $( ) 2000", lambda: _nested_dollar_paren(2000), {"CommandSub": 2000}),
    Shape("deep $( unclosed 400", lambda: _unclosed(400)),
    Shape("deep backquotes 8", lambda: _nested_backquotes(8), {"CommandSub": 8}),
    Shape("deep ((((...)))) 1000", lambda: "(" * 1000 + "true" + ")" * 1000 + "\n"),
    Shape(
        "deep ( ( ... ) ) 1000",
        lambda: "( " * 1000 + "true" + " )" * 1000 + "\n",
        {"Subshell": 1000},
    ),
    Shape(
        "deep { { ... } } 1000",
        lambda: "{ " * 1000 + "true; " + "}; " * 999 + "}\n",
        {"BraceGroup": 1000},
    ),
    Shape(
        "deep ${ 10000 chars",
        lambda: "echo " + "${a:-" * 1666 + "x" + "}" * 1666 + "\n",
        {"ParamExpansion": 1666},
    ),
    Shape("deep ${ unclosed 2000", lambda: "echo " + "${a:-" * 2000 + "x\n"),
    Shape(
        "deep ${a[ ] subscripts 500",
        lambda: "echo " + "${a[" * 500 + "0" + "]}" * 500 + "\n",
        {"ParamExpansion": 500},
    ),
    Shape(
        "deep $(( ( ) )) 1000",
        lambda: "echo $(( " + "(" * 1000 + "1" + ")" * 1000 + " ))\n",
        {"ArithSub": 1},
    ),
    Shape("deep $(( -+-+ )) 2000", lambda: "echo $(( " + "-+" * 1000 + "1 ))\n", {"ArithSub": 1}),
    Shape(
        "deep [[ ( ) ]] 1000",
        lambda: "[[ " + "( " * 1000 + "-n x" + " )" * 1000 + " ]]\n",
        {"CondCommand": 1},
    ),
    Shape("deep [[ ! ]] 2000", lambda: "[[ " + "! " * 2000 + "-n x ]]\n", {"CondCommand": 1}),
    Shape(
        "deep if 500",
        lambda: "if true; then\n" * 500 + "echo deep\n" + "fi\n" * 500,
        {"If": 500},
    ),
    Shape(
        "deep while/for/case 300",
        lambda: (
            "".join(f"while true; do for x{i} in a b; do case $x{i} in a) " for i in range(300))
            + "echo deep"
            + " ;; esac; done; done" * 300
            + "\n"
        ),
        {"While": 300, "For": 300, "Case": 300},
    ),
    Shape(
        "deep functions 500",
        lambda: "".join(f"f{i}() {{ " for i in range(500)) + "echo deep; " + "}; " * 499 + "}\n",
        {"FunctionDef": 500},
    ),
    Shape(
        "deep @( extglob 500",
        lambda: "echo " + "@(" * 500 + "x" + ")" * 500 + "\n",
        {"ExtGlob": 500},
    ),
    Shape(
        "deep { , } braces 500",
        lambda: "echo " + "{a," * 500 + "b" + "}" * 500 + "\n",
        {"BraceExpansion": 500},
    ),
    Shape(
        "script 5000 lines",
        lambda: _realistic(5000),
        {"FunctionDef": 190, "HereDoc": 190},
    ),
    Shape("argument 20 KB unquoted", lambda: "echo " + "x" * 20_000 + "\n", {"Word": 2}),
    Shape(
        "argument 20 KB double-quoted",
        lambda: 'echo "' + "ab $x " * 3_400 + '"\n',
        {"ParamExpansion": 3_400},
    ),
    Shape(
        "argument 20 KB single-quoted", lambda: "echo '" + "y" * 20_000 + "'\n", {"SingleQuoted": 1}
    ),
    Shape("argument 20 KB escapes", lambda: "echo " + "\\x" * 10_000 + "\n", {"Word": 2}),
    Shape("line of 10,000 words", lambda: "echo " + "w " * 10_000 + "\n", {"Word": 10_001}),
    Shape("pipeline of 5,000", lambda: "true" + " | cat" * 5_000 + "\n", {"SimpleCommand": 5_001}),
    Shape(
        "&& chain of 10,000", lambda: "true" + " && true" * 10_000 + "\n", {"SimpleCommand": 10_001}
    ),
    Shape("10,000 commands", lambda: "echo hi\n" * 10_000, {"SimpleCommand": 10_000}),
    Shape("2,000 here-docs", lambda: "cat <<EOF\nline $x\nEOF\n" * 2_000, {"HereDoc": 2_000}),
    Shape(
        "200 here-docs on one line",
        lambda: (
            "cat "
            + " ".join(f"<<E{i}" for i in range(200))
            + "\n"
            + "".join(f"body\nE{i}\n" for i in range(200))
        ),
        # no node counts: bash allows 16 here-docs on one line and rejects more
    ),
    Shape(
        "here-doc of 20,000 lines",
        lambda: "cat <<'EOF'\n" + "text $not `run`\n" * 20_000 + "EOF\n",
        {"HereDoc": 1},
    ),
    Shape("unterminated here-doc", lambda: "cat <<EOF\n" + "line\n" * 1000),
    Shape(
        "array of 10,000",
        lambda: "a=(" + " ".join(f"[{i}]=v{i}" for i in range(10_000)) + ")\n",
        {"ArrayElement": 10_000},
    ),
    Shape(
        "case of 5,000 items",
        lambda: (
            "case $x in\n" + "".join(f"p{i}|q{i}) echo {i} ;;\n" for i in range(5_000)) + "esac\n"
        ),
        {"CaseItem": 5_000},
    ),
    Shape(
        "10,000 line continuations", lambda: "echo " + "a \\\n" * 10_000 + "end\n", {"Word": 10_002}
    ),
    Shape("unbalanced ) ) )", lambda: ")" * 1000 + "\n"),
    Shape("unbalanced fi done esac", lambda: "fi\ndone\nesac\n}\n" * 100),
    Shape("NUL byte", lambda: "echo a\0b\n"),
    Shape("CRLF script", lambda: "if true; then\r\n  echo hi\r\nfi\r\n" * 200),
)


# Shapes that take more than ~0.25 s to build and parse here (marked `slow` in the tests).
_SLOW = frozenset(
    {
        "script 5000 lines",
        "10,000 commands",
        "case of 5,000 items",
        "array of 10,000",
        "&& chain of 10,000",
    }
)
SHAPES = tuple(replace(s, slow=True) if s.name in _SLOW else s for s in SHAPES)


def count_kinds(tree: Any) -> collections.Counter[str]:
    """How many nodes of each class the tree holds (iterative: trees here are deep)."""
    counts: collections.Counter[str] = collections.Counter()
    stack = [tree]
    while stack:
        n = stack.pop()
        if hasattr(n, "span") and not isinstance(n, tuple):
            counts[type(n).__name__] += 1
            stack.extend(getattr(n, f) for f in _fields(type(n)))
        elif isinstance(n, tuple):
            stack.extend(n)
    return counts


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        import dataclasses

        raw = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else tuple(getattr(cls, "_fields", ()))
        )
        names = _FIELDS[cls] = tuple(n for n in raw if n != "span")
    return names


@dataclass(slots=True)
class Outcome:
    """What parsing a shape gave: "tree", "ParseError" (clean) or "crash" (anything else)."""

    shape: Shape
    kind: str
    seconds: float
    detail: str = ""
    counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def missing(self) -> dict[str, tuple[int, int]]:
        """Expected node counts the tree does not reach: kind -> (expected, found)."""
        return {k: (v, self.counts[k]) for k, v in self.shape.expect.items() if self.counts[k] < v}


class _Watchdog(BaseException):
    """Raised by SIGALRM; a BaseException so the parser's own `except Exception` cannot eat it."""


def _alarm(_sig: int, _frame: Any) -> None:
    raise _Watchdog


def run_shape(shape: Shape, parse: Callable[..., Any] | None = None, limit_s: float = 0) -> Outcome:
    """Parse one shape. With `limit_s`, a parse still running after that many seconds is
    stopped (SIGALRM; main thread only) and reported as "timeout": a guard against hangs."""
    import bashflow

    parse = parse or bashflow.parse
    text = shape.build()
    old = signal.signal(signal.SIGALRM, _alarm) if limit_s else None
    t0 = time.perf_counter()
    try:
        if limit_s:
            signal.setitimer(signal.ITIMER_REAL, limit_s)
        tree = parse(text, filename=f"<{shape.name}>")
    except _Watchdog:
        return Outcome(
            shape, "timeout", time.perf_counter() - t0, f"no result within {limit_s:g} s"
        )
    except bashflow.ParseError as e:
        dt = time.perf_counter() - t0
        return Outcome(shape, "ParseError", dt, f"{e.line}:{e.col}: {e.message}")
    except Exception as e:  # RecursionError and every other exception: all are failures here
        dt = time.perf_counter() - t0
        return Outcome(shape, "crash", dt, f"{type(e).__name__}: {str(e)[:200]}")
    finally:
        if limit_s:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    dt = time.perf_counter() - t0
    return Outcome(shape, "tree", dt, counts=count_kinds(tree))


def bash_verdict(text: str) -> str:
    with tempfile.NamedTemporaryFile(
        "w", suffix=".sh", encoding="utf-8", errors="surrogateescape"
    ) as f:
        f.write(text)
        f.flush()
        try:
            r = subprocess.run(
                ["/usr/bin/bash", "-n", f.name],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"? ({type(e).__name__})"
    if r.returncode == 0:
        return "accepts"
    if not r.stderr.strip():
        return f"rejects: no message, exit status {r.returncode}"
    return "rejects: " + r.stderr.strip().splitlines()[0].replace(f.name, "FILE")[:70]


def select(words: list[str]) -> Iterator[Shape]:
    for s in SHAPES:
        if not words or any(w in s.name for w in words):
            yield s


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    import bashflow

    bashflow.parse("true")
    worst = 0.0
    bad = 0
    print(f"{'shape':<30} {'bytes':>8} {'seconds':>8}  {'bashflow':<44} bash -n")
    for shape in select(words):
        text = shape.build()
        out = run_shape(shape, limit_s=LIMIT_S)
        worst = max(worst, out.seconds)
        if out.kind == "tree":
            missing = out.missing()
            what = "tree" + (f" MISSING {missing}" if missing else "")
        else:
            what = f"{out.kind} {out.detail}"
        flag = ""
        if out.kind in ("crash", "timeout"):
            flag = f"  <-- {out.kind.upper()}"
        elif out.seconds > TARGET_S:
            flag = "  <-- over 1 s"
        bad += bool(flag)
        print(
            f"{shape.name:<30} {len(text):>8} {out.seconds:>8.3f}  {what[:44]:<44} {bash_verdict(text)}{flag}"
        )
    print(
        f"\nslowest: {worst:.3f} s (target <= {TARGET_S:.0f} s each); {bad} shape(s) over target or crashing"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
