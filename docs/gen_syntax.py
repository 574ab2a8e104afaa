"""Writes docs/syntax.md from the node classes in bashflow.parser.syntax (run from the repo root)."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from bashflow.parser import syntax as s

GROUPS = {
    "Commands": [
        "Script", "CommandList", "ListItem", "AndOr", "Pipeline", "SimpleCommand", "Assignment",
        "Redirect", "HereDoc", "BraceGroup", "Subshell", "If", "IfClause", "While", "For",
        "Select", "ArithFor", "Case", "CaseItem", "CondCommand", "ArithCommand", "FunctionDef",
        "Coproc",
    ],
    "Words": [
        "Word", "Literal", "Escaped", "SingleQuoted", "AnsiCQuoted", "DoubleQuoted",
        "LocaleQuoted", "ParamExpansion", "BadSubstitution", "CommandSub", "ArithSub",
        "ProcessSub", "Glob", "ExtGlob", "BraceExpansion", "BraceRange", "Tilde", "ArrayLiteral",
        "ArrayElement",
    ],
    "Arithmetic": [
        "Arith", "ArithNumber", "ArithVar", "ArithWord", "ArithUnary", "ArithPostfix",
        "ArithBinary", "ArithAssign", "ArithTernary", "ArithComma", "ArithGroup",
    ],
    "Conditional expressions": [
        "CondWord", "CondUnary", "CondBinary", "CondNot", "CondAnd", "CondOr", "CondGroup",
    ],
}  # fmt: skip

HEADER = """\
# The syntax tree (`bashflow parse`, `bashflow.parse`)

Generated from `src/bashflow/parser/syntax.py` by `python3 docs/gen_syntax.py`; the test
`tests/parse/test_docs.py` fails when it is out of date.

`bashflow parse` prints `{"schema": "bashflow.syntax", "version": 1, "tree": NODE}`. Every
NODE is an object with `kind` (the class name below), `span` and the fields listed, in this order.
A span is `{"start": {"line", "col", "offset"}, "end": {...}}`: 1-based line and column (in
characters), and byte offsets into the file, end exclusive. Tuples are JSON arrays; `AndOr.rest`
is an array of `[operator, Pipeline]` pairs.
"""


def render() -> str:
    out = [HEADER]
    documented: set[str] = set()
    for title, names in GROUPS.items():
        out += [f"## {title}", ""]
        for name in names:
            cls = getattr(s, name)
            documented.add(name)
            doc = inspect.getdoc(cls) or ""
            if doc == inspect.getdoc(s.Node):
                doc = ""
            fields = [f for f in s.fields(cls) if f != "span"]
            out += [f"### `{name}`", ""]
            if doc:
                out += [doc, ""]
            listed = ", ".join(f"`{f}`" for f in fields) if fields else "(span only)"
            out += [f"Fields: {listed}", ""]
    every = {
        k
        for k, v in vars(s).items()
        if isinstance(v, type) and issubclass(v, s.Node) and v is not s.Node
    }
    missing = every - documented
    if missing:
        raise SystemExit(f"node classes missing from docs/gen_syntax.py GROUPS: {sorted(missing)}")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    target = Path(__file__).with_name("syntax.md")
    target.write_text(render())
    sys.exit(0)
