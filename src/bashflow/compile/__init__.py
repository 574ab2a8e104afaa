"""compile - bash script -> workflow graph (`compile_script`, `bashflow compile`).

Stages: `lower.py` (tree -> nodes, with the policy checker's word evaluator), `effects.py`
(what each node reads and writes: command specs from `cmdspec.py`, the core's own knowledge of
builtins), `graph.py` (compound effects, function calls, edges), `serialize.py` (the
`bashflow.workflow` document), `explain.py` (`--explain`). See docs/compile.md.

Importing this package is cheap: everything is loaded when `compile_script` first runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bashflow.compile.serialize import Workflow
    from bashflow.parser.syntax import Script


def compile_script(
    script: str | bytes | Script,
    *,
    filename: str = "<string>",
    policy: Any = None,
    cwd: str | None = None,
    home: str | None = None,
) -> Workflow:
    """Compile a script into a `Workflow` (`.to_json()` gives the document).

    `cwd` is the directory relative paths are resolved against (default: this process's
    working directory, as for `bashflow.check`); `home` the value of `~` (default: `$HOME`).
    With `policy` (a `Policy`, a mapping, a policy file path or a profile name) every node
    gets the checker's verdict. Raises `ParseError` on a syntax error, `PolicyError` on a bad
    policy.
    """
    from bashflow.compile.build import build

    return build(script, filename=filename, policy=policy, cwd=cwd, home=home)


__all__ = ["compile_script"]
