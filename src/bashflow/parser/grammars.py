"""parser/grammars - loads the lark grammars shipped in `bashflow/grammar/`, lazily, once.

lark is only imported when a script first uses arithmetic or `[[ ]]`, and its LALR tables
are cached in the user's cache directory so later processes skip the grammar analysis.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from importlib import resources
from typing import Any

_lock = threading.Lock()


def _cache_file(name: str) -> str | bool:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        # no home (inside the sandbox HOME is unset and the uid has no passwd entry):
        # "~/.cache" would be a directory named `~` in the current one - no cache then
        return False
    path = os.path.join(base, "bashflow")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    if not os.access(path, os.W_OK):
        return False
    import lark

    return os.path.join(path, f"{name}-lark{lark.__version__}.cache")


_loaded: dict[str, Any] = {}


def grammar(name: str) -> Any:
    """The `Lark` parser for `grammar/NAME.lark` (thread-safe, built once per process)."""
    parser = _loaded.get(name)
    if parser is None:
        with _lock:
            parser = _loaded.get(name)
            if parser is None:
                import lark

                text = (
                    resources.files("bashflow")
                    .joinpath("grammar", f"{name}.lark")
                    .read_text("utf-8")
                )
                parser = lark.Lark(text, parser="lalr", lexer="basic", cache=_cache_file(name))
                _loaded[name] = parser
    return parser


def parse_tokens(name: str, tokens: Iterable[Any]) -> Any:
    """Feed already-classified lark tokens to the grammar's LALR parser; returns the tree.

    Raises lark's UnexpectedToken / UnexpectedEOF on a syntax error."""
    interactive = grammar(name).parse_interactive("")
    for tok in tokens:
        interactive.feed_token(tok)
    return interactive.feed_eof()
