"""Hostile shapes (benchmarks/hostile.py): each gives a tree or a clean, located ParseError.

Never RecursionError, never any other exception. A tree must hold the nodes the shape is made
of (400 nested `$( )` give 400 `CommandSub`s). No timing is asserted here (the benchmark prints
seconds per shape); a parse still running after HANG_GUARD_S is stopped so that a hang fails
the test instead of blocking the suite.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.hostile import SHAPES, Shape, run_shape  # noqa: E402

HANG_GUARD_S = 20.0

# Shapes bashflow does not handle yet: name -> reason. Strict: a fixed shape fails here until
# its line is removed. Each costs up to KNOWN_HANG_GUARD_S while it still hangs.
KNOWN: dict[str, str] = {}
KNOWN_HANG_GUARD_S = 3.0


def _params() -> list[object]:
    out: list[object] = []
    for shape in SHAPES:
        marks: list[pytest.MarkDecorator] = []
        if shape.slow or shape.name in KNOWN:
            marks.append(pytest.mark.slow)
        if shape.name in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[shape.name], strict=True))
        out.append(pytest.param(shape, id=shape.name, marks=marks))
    return out


@pytest.mark.parametrize("shape", _params())
def test_hostile_shape_gives_tree_or_located_error(shape: Shape) -> None:
    guard = KNOWN_HANG_GUARD_S if shape.name in KNOWN else HANG_GUARD_S
    out = run_shape(shape, limit_s=guard)
    assert out.kind in ("tree", "ParseError"), f"{shape.name}: {out.kind}: {out.detail}"
    if out.kind == "tree":
        assert not out.missing(), (
            f"{shape.name}: tree lacks nodes (kind: (expected, found)): {out.missing()}"
        )
    else:
        m = re.match(r"(\d+):(\d+): (.+)", out.detail)
        assert m, f"{shape.name}: error without a position: {out.detail}"
        assert int(m[1]) >= 1 and int(m[2]) >= 1, out.detail
        assert m[3].strip(), "error without a message"
        assert "Traceback" not in m[3] and "RecursionError" not in m[3]


def test_every_shape_is_generated_text() -> None:
    names = [s.name for s in SHAPES]
    assert len(names) == len(set(names)), "shape names must be unique (they are test ids)"
    assert set(KNOWN) <= set(names), "KNOWN names a shape that does not exist"
    for s in SHAPES:
        assert s.build() == s.build(), f"{s.name}: generator is not deterministic"
