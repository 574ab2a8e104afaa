"""docs/syntax.md is generated from the node classes and must match them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_syntax_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_syntax", ROOT / "docs" / "gen_syntax.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "docs" / "syntax.md").read_text() == gen.render(), (
        "docs/syntax.md is stale: run `python3 docs/gen_syntax.py`"
    )
