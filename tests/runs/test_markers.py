"""runs/markers: markers stripped exactly, output attributed exactly, under any chunking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bashflow.runs.markers import Capture, OutputFilter, begin_marker, end_marker

NONCE = b"QwErTyUiOpAsDfGhJkLzXcVb"


def run_filter(f: OutputFilter, stream: bytes, cuts: list[int]) -> bytes:
    out = b""
    last = 0
    for cut in sorted(set(cuts)):
        out += f.feed(stream[last:cut])
        last = cut
    out += f.feed(stream[last:])
    return out + f.flush()


# text pieces that stress the parser: separators, nonce prefixes, near-markers
TRICKY = [
    b"\x1e",
    b"\x1f",
    b"\x1e\x1f",
    b"\x1e" + NONCE[:5],
    # (ended by "." so that the next piece cannot complete a real marker: the script cannot
    # know the nonce, the generator can; a chunk cut right before the "." still tests them)
    b"\x1e" + NONCE + b".",
    b"\x1e" + NONCE + b"B.",
    b"\x1e" + NONCE + b"E12.",
    b"\x1e" + NONCE + b"X1\x1f",
    b"\x1e" + NONCE + b"B\x1f",
    b"\x1e" + NONCE + b"B12345678901\x1f",  # 11 digits: not a marker
    b"\x1e" + NONCE[:23] + b"z" + b"B1\x1f",
    b"\n",
]

piece = st.one_of(
    st.binary(max_size=12),
    st.sampled_from(TRICKY),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, bytes, dict[int, bytes], list[int]]:
    """A stream of text pieces and markers; the expected visible bytes and attribution
    (computed by the test's own model: an open count per node); chunk cut points."""
    ops = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("text"), piece),
                st.tuples(st.just("begin"), st.integers(1, 6)),
                st.tuples(st.just("end"), st.integers(1, 6)),
            ),
            max_size=40,
        )
    )
    stream = b""
    visible = b""
    expected: dict[int, bytes] = {}
    open_count: dict[int, int] = {}
    for kind, value in ops:
        if kind == "text":
            assert isinstance(value, bytes)
            stream += value
            visible += value
            for node, count in open_count.items():
                if count > 0:
                    expected[node] = expected.get(node, b"") + value
        elif kind == "begin":
            assert isinstance(value, int)
            stream += begin_marker(NONCE, value)
            open_count[value] = open_count.get(value, 0) + 1
        else:
            assert isinstance(value, int)
            stream += end_marker(NONCE, value)
            open_count[value] = max(0, open_count.get(value, 0) - 1)
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=20))
    return stream, visible, {k: v for k, v in expected.items() if v}, cuts


def captured(f: OutputFilter) -> dict[int, bytes]:
    return {n: c.value() for n, c in f.captures.items() if c.value()}


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(streams())
def test_output_and_attribution_exact_under_any_chunking(
    case: tuple[bytes, bytes, dict[int, bytes], list[int]],
) -> None:
    stream, visible, expected, cuts = case
    f = OutputFilter(NONCE, cap=1 << 20)
    assert run_filter(f, stream, cuts) == visible
    assert captured(f) == expected
    # byte by byte too
    g = OutputFilter(NONCE, cap=1 << 20)
    assert run_filter(g, stream, list(range(len(stream)))) == visible
    assert captured(g) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10))
def test_streams_without_markers_pass_unchanged(data: bytes, cuts: list[int]) -> None:
    f = OutputFilter(NONCE)
    assert run_filter(f, data, [c for c in cuts if c <= len(data)]) == data
    assert f.captures == {}


def test_held_back_bytes_never_exceed_a_marker() -> None:
    f = OutputFilter(NONCE)
    marker = begin_marker(NONCE, 1234567890)
    # every proper prefix of a marker is held, nothing more, and nothing is shown yet
    for i in range(1, len(marker)):
        g = OutputFilter(NONCE)
        assert g.feed(b"ab" + marker[:i]) == b"ab"
        assert g.flush() == marker[:i]
    assert f.feed(marker + b"x") == b"x"
    assert f.captures[1234567890].value() == b"x"


def test_nested_nodes_share_output_and_loops_accumulate() -> None:
    f = OutputFilter(NONCE)
    b, e = begin_marker, end_marker
    data = (
        b(NONCE, 1)
        + b"loop start\n"
        + b(NONCE, 2)
        + b"one\n"
        + e(NONCE, 2)
        + b(NONCE, 2)
        + b"two\n"
        + e(NONCE, 2)
        + e(NONCE, 1)
        + b"after\n"
    )
    assert f.feed(data) == b"loop start\none\ntwo\nafter\n"
    assert f.captures[1].value() == b"loop start\none\ntwo\n"
    assert f.captures[2].value() == b"one\ntwo\n"
    assert f.ended_at_newline


def test_capture_keeps_the_tail_and_counts_dropped() -> None:
    c = Capture(cap=10, margin=5)
    for i in range(100):
        c.add(str(i % 10).encode() * 3)
    whole = b"".join(str(i % 10).encode() * 3 for i in range(100))
    assert c.value() == whole[-15:]
    assert c.dropped == 300 - 15
    assert c.total == 300
    assert c.redacted_tail(lambda b: b) == (whole[-10:], 290)
    # the redaction sees the margin: a secret cut by the cap leaves nothing of itself
    s = Capture(cap=8, margin=16)
    s.add(b"xx SECRETVALUE yy\n")
    # 18 bytes, 8 kept: after redaction b" *** yy\n"; without the margin it would be b"LUE yy\n"
    assert s.redacted_tail(lambda b: b.replace(b"SECRETVALUE", b"***")) == (b" *** yy\n", 10)


def test_bad_nonce_is_refused() -> None:
    with pytest.raises(ValueError):
        OutputFilter(b"short")
