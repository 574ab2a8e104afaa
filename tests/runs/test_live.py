"""runs/live: the footer on a real terminal (a pty), with an explicit clock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import termios
import time
from collections.abc import Iterator

import pytest
from tests.runs.helpers import ev, plan

from bashflow.runs.live import LiveView, fmt_seconds, printable
from bashflow.runs.recorder import Recorder


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pty() -> Iterator[tuple[int, int]]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    os.set_blocking(master, False)
    yield master, slave
    os.close(master)
    os.close(slave)


def screen(master: int, until: str | None = None) -> str:
    """What the terminal received. A pty hands bytes over asynchronously: with `until`, read
    until that text has arrived (10 s at most); without, what arrives within 0.1 s."""
    out = b""
    deadline = time.monotonic() + (10.0 if until is not None else 0.1)
    while True:
        text = out.decode().replace("\r\n", "\n")
        if until is not None and until in text:
            return text
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([master], [], [], left)[0]:
            return text
        with contextlib.suppress(BlockingIOError):
            out += os.read(master, 1 << 16)


def test_footer_lines_progress_and_escaping(pty: tuple[int, int]) -> None:
    master, slave = pty
    clock = Clock()
    view = LiveView(slave, clock=clock)
    view.node(1, text="echo '\x1b[2J'")
    view.node(2, text="make " + "x" * 80)
    view.node(3, text="true")
    view.node(1, status="running", start=100.0)
    view.node(2, status="running", start=100.5)
    view.node(3, status="running", start=100.0)
    view.node(3, status="failed", end=100.2)
    clock.now = 101.5
    view.draw()
    out = screen(master, "failed 1.5s\x1b[K\n")
    lines = out.split("\x1b[K\n")
    assert lines[0] == "  running      1.5s  #1 echo '\\e[2J'"
    assert lines[1].startswith("  running      1.0s  #2 make xxx") and lines[1].endswith("…")
    assert len(lines[1]) == 39  # the terminal is 40 columns wide
    assert lines[2] == "  failed       0.2s  #3 true"
    assert lines[3] == "[1/3 nodes] 2 running 1 failed 1.5s"
    assert lines[4] == ""
    # cleared before the host writes: up 4 lines, erase to the end of the screen
    view.clear()
    assert screen(master, "\x1b[J") == "\r\x1b[4A\x1b[J"
    view.clear()
    assert screen(master) == ""


def test_rate_limit_hold_and_tick(pty: tuple[int, int]) -> None:
    master, slave = pty
    clock = Clock()
    view = LiveView(slave, clock=clock)
    view.node(1, text="a", status="running", start=100.0)
    view.draw()
    assert "#1 a" in screen(master, "#1 a")
    view.node(1, status="success", end=100.01)
    clock.now += 0.01
    view.draw()  # within 50 ms of the last repaint: nothing
    assert screen(master) == ""
    clock.now += 0.05
    view.draw()
    repaint = screen(master, "nodes]")
    assert repaint.startswith("\r\x1b[2A\x1b[J") and "success" in repaint
    # output left the cursor mid-line: no footer until the line is done
    view.clear()
    screen(master, "\x1b[J")
    view.hold = True
    clock.now += 1
    view.tick()
    assert screen(master) == ""
    view.hold = False
    view.tick()
    assert "[1/1 nodes] 0 running 0 failed" in screen(master, "[1/1 nodes]")


def test_only_for_a_terminal() -> None:
    r, w = os.pipe()
    try:
        assert LiveView.for_fd(w) is None
        assert LiveView.for_fd(None) is None
    finally:
        os.close(r)
        os.close(w)


def test_recorder_drives_the_view(pty: tuple[int, int], tmp_path: object) -> None:
    master, slave = pty
    rec = Recorder.start(str(tmp_path), key="k", name="n", env={}, live_fd=slave)
    rec.feed_events(plan([(1, None, "sleep 5"), (2, None, "echo")]))
    rec.feed_events(ev(event="node_started", node=1, attempt=1, t=1.0))
    assert rec.live is not None
    rec.live.draw(force=True)  # (a status change within 50 ms of a repaint waits for tick)
    out = screen(master, "[0/2 nodes] 1 running").split("\x1b[J")[-1]
    assert "#1 sleep 5" in out and "[0/2 nodes] 1 running" in out
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    rec.paused()
    rec.live.draw(force=True)
    assert screen(master, "(paused)").split("\n")[-2].endswith("(paused)\x1b[K")
    rec.finish(0)
    rec.close()
    final = screen(master, "[2/2 nodes]")
    assert "[2/2 nodes] 0 running 0 failed" in final and "(paused)" not in final


def test_helpers() -> None:
    assert printable("a\tb\x00\x7f\x9bé") == "a\\tb\\x00\\x7f\\x9bé"
    assert [fmt_seconds(x) for x in (0.04, 59.9, 61, 3725)] == ["0.0s", "59.9s", "1m01s", "1h02m"]


def test_unknown_terminal_size_is_80_columns() -> None:
    master, slave = os.openpty()  # no window size set: 0 columns
    try:
        view = LiveView(slave)
        assert view.width() == 80
    finally:
        os.close(master)
        os.close(slave)
