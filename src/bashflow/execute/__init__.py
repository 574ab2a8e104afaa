"""execute - bashflow's own bash interpreter (`bashflow exec`).

`interp.Interpreter` walks the parser's tree with bash's semantics: `state` holds variables,
options, functions and traps; `expand` does word expansion; `arith_eval`, `cond_eval` and
`pattern` are the sub-languages; `redirect` applies redirections to real file descriptors;
`builtins/` are the builtins; `runner` starts external programs.
"""

from __future__ import annotations
