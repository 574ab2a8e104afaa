"""runs/live - the live view: a footer on the host's terminal while a run goes.

One line per running node (status, elapsed time, id, text), the last few finished ones, and
a progress line `[12/40 nodes] 3 running 1 failed 5.2s`. The host calls `clear()` before it
writes output to the terminal and `draw()` after; `draw()` repaints at most every
MIN_INTERVAL seconds (a footer cleared in between is repainted by the next `draw()` or
`tick()` after that), and not at all while the relayed output has left the cursor in the
middle of a line (`hold`), so the script's output is never cut by the footer.
Only for a terminal: `LiveView.for_fd` returns None otherwise.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

MIN_INTERVAL = 0.05
FINISHED_SHOWN = 3
RUNNING_SHOWN = 12
ACTIVE = ("running", "retrying")
DONE = ("success", "failed", "timed_out", "cancelled", "skipped")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e"}


def printable(text: str) -> str:
    """`text` with control characters (C0, DEL, C1) escaped, so it cannot drive a terminal."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0:
            out.append(_NAMED.get(ch, f"\\x{code:02x}"))
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def shorten(text: str, width: int) -> str:
    if width <= 1:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class _Item:
    __slots__ = ("end", "start", "status", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.status = "pending"
        self.start: float | None = None
        self.end: float | None = None


class LiveView:
    def __init__(self, fd: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.fd = fd
        self.clock = clock
        self.started = clock()
        self.items: dict[int, _Item] = {}
        self.finished_order: list[int] = []
        self.shown = 0  # lines of footer on screen
        self.last_draw = float("-inf")
        self.dirty = True
        self.hold = False  # relayed output ended mid-line: do not draw
        self.paused = False
        self.enabled = True

    @classmethod
    def for_fd(cls, fd: int | None) -> LiveView | None:
        if fd is None:
            return None
        try:
            if not os.isatty(fd):
                return None
        except OSError:
            return None
        return cls(fd)

    # --- the model
    def node(
        self,
        node: int,
        *,
        text: str | None = None,
        status: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> None:
        item = self.items.get(node)
        if item is None:
            item = self.items[node] = _Item("")
        if text is not None:
            item.text = text
        if status is not None:
            item.status = status
            if status in DONE:
                if node in self.finished_order:
                    self.finished_order.remove(node)
                self.finished_order.append(node)
                del self.finished_order[:-FINISHED_SHOWN]
        if start is not None:
            item.start = start
            item.end = None
        if end is not None:
            item.end = end
        self.dirty = True

    # --- the screen
    def width(self) -> int:
        try:
            columns = os.get_terminal_size(self.fd).columns
        except OSError:
            columns = 0
        # 0: a terminal whose size nobody set (a bare pty)
        return max(20, columns) if columns > 0 else 80

    def lines(self) -> list[str]:
        now = self.clock()
        width = self.width() - 1
        out = []
        active = [(i.start or 0.0, n) for n, i in self.items.items() if i.status in ACTIVE]
        active.sort()
        for _, n in active[:RUNNING_SHOWN]:
            item = self.items[n]
            elapsed = now - (item.start if item.start is not None else now)
            out.append(self._line(n, item, elapsed, width))
        if len(active) > RUNNING_SHOWN:
            out.append(f"  ... {len(active) - RUNNING_SHOWN} more running")
        for n in self.finished_order:
            item = self.items[n]
            if item.status in ACTIVE:
                continue
            start = item.start if item.start is not None else now
            elapsed = (item.end if item.end is not None else now) - start
            out.append(self._line(n, item, elapsed, width))
        done = sum(1 for i in self.items.values() if i.status in DONE)
        failed = sum(1 for i in self.items.values() if i.status in ("failed", "timed_out"))
        progress = (
            f"[{done}/{len(self.items)} nodes] {len(active)} running {failed} failed"
            f" {fmt_seconds(now - self.started)}"
        )
        if self.paused:
            progress += " (paused)"
        out.append(shorten(progress, width))
        return out

    def _line(self, node: int, item: _Item, elapsed: float, width: int) -> str:
        head = f"  {item.status:<9} {fmt_seconds(max(0.0, elapsed)):>7}  #{node} "
        return head + shorten(printable(item.text), max(0, width - len(head)))

    def _write(self, data: str) -> None:
        raw = data.encode("utf-8", "replace")
        try:
            while raw:
                raw = raw[os.write(self.fd, raw) :]
        except OSError:
            self.enabled = False

    def clear(self) -> None:
        if self.shown and self.enabled:
            self._write(f"\r\x1b[{self.shown}A\x1b[J")
        self.shown = 0

    def draw(self, *, force: bool = False) -> None:
        if not self.enabled or self.hold:
            return
        now = self.clock()
        if not force and now - self.last_draw < MIN_INTERVAL:
            return
        if self.shown and not self.dirty and not force:
            return
        lines = self.lines()
        text = "".join(line + "\x1b[K\n" for line in lines)
        if self.shown:
            text = f"\r\x1b[{self.shown}A\x1b[J" + text
        self._write(text)
        self.shown = len(lines)
        self.last_draw = now
        self.dirty = False

    def tick(self) -> None:
        """Repaint if the footer is missing or stale (elapsed times move every 0.1 s)."""
        if self.clock() - self.last_draw >= 0.1:
            self.dirty = True
        self.draw()

    def close(self) -> None:
        """Leave the final footer on screen (the run's summary), repainted once."""
        if self.enabled and not self.hold:
            self.draw(force=True)
