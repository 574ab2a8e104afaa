"""bash's reserved words: one list (`parser.commands.RESERVED_WORDS`), equal to what bash
itself reports, used by the parser, the checker and the interpreter's `type`."""

from __future__ import annotations

import json
import subprocess
import sys

from bashflow.parser import commands
from bashflow.parser.commands import RESERVED_WORDS


def test_the_list_is_bashs() -> None:
    out = subprocess.run(["/usr/bin/bash", "-c", "compgen -k"], capture_output=True,
                         text=True, check=True, timeout=30)  # fmt: skip
    assert frozenset(out.stdout.split()) == RESERVED_WORDS


def test_the_parser_checker_and_interpreter_share_it() -> None:
    from bashflow.execute.builtins import KEYWORDS as EXEC_KEYWORDS
    from bashflow.policy.builtins import KEYWORDS as POLICY_KEYWORDS

    assert EXEC_KEYWORDS is RESERVED_WORDS and POLICY_KEYWORDS is RESERVED_WORDS
    assert commands._LIST_END_WORDS <= RESERVED_WORDS
    assert commands._COMPOUND_WORDS <= RESERVED_WORDS


def test_the_checker_gets_it_without_the_executor() -> None:
    code = (
        "import json, sys\n"
        "from bashflow.policy.builtins import KEYWORDS\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('bashflow.execute'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert json.loads(out.stdout) == []
