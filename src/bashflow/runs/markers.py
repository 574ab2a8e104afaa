"""runs/markers - strip the interpreter's output markers and attribute output to nodes.

The interpreter writes, into the stdout/stderr streams the host relays (contract section 2):

    BEGIN:  b"\\x1e" + NONCE + b"B" + b"<node id in decimal>" + b"\\x1f"
    END:    b"\\x1e" + NONCE + b"E" + b"<node id in decimal>" + b"\\x1f"

`OutputFilter.feed` returns the bytes the user must see (every marker removed) and adds the
bytes between BEGIN n and END n to node n's capture and to every other node open at that
moment (a loop's output includes its body's). A marker split across chunks is held back
(never more than a marker's length - 1 bytes) until the next chunk says whether it is one;
`flush` releases what is held at EOF. A byte sequence that only resembles a marker (a 0x1e
not followed by the nonce, a node id that is not decimal or longer than MAX_DIGITS) is
output, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

RS = 0x1E
US = 0x1F
MAX_DIGITS = 10
NONCE_LEN = 24
DEFAULT_CAP = 64 * 1024
MARGIN = 4096


def begin_marker(nonce: bytes, node: int) -> bytes:
    return b"\x1e" + nonce + b"B" + str(node).encode() + b"\x1f"


def end_marker(nonce: bytes, node: int) -> bytes:
    return b"\x1e" + nonce + b"E" + str(node).encode() + b"\x1f"


class Capture:
    """The tail of one node's output on one stream: at most `cap` bytes are stored, but
    `margin` more are kept so that a secret cut by the cap is redacted before the cut
    (`redacted_tail`). `dropped` counts the bytes gone from the front."""

    __slots__ = ("_buf", "cap", "dropped", "margin")

    def __init__(self, cap: int = DEFAULT_CAP, margin: int = MARGIN) -> None:
        self.cap = cap
        self.margin = margin
        self._buf = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        self._buf += data
        # trim when twice the limit is reached: amortised O(1) per byte
        if len(self._buf) > 2 * (self.cap + self.margin):
            self._trim()

    def _trim(self) -> None:
        extra = len(self._buf) - self.cap - self.margin
        if extra > 0:
            del self._buf[:extra]
            self.dropped += extra

    def value(self) -> bytes:
        """The bytes kept (at most cap + margin)."""
        self._trim()
        return bytes(self._buf)

    def redacted_tail(self, redact: Callable[[bytes], bytes]) -> tuple[bytes, int]:
        """(the last `cap` bytes after `redact`, bytes dropped in all)."""
        raw = self.value()
        data = redact(raw)
        if len(raw) <= self.cap:
            return data, self.dropped
        return data[-self.cap :], self.dropped + len(raw) - self.cap

    @property
    def total(self) -> int:
        return self.dropped + len(self._buf)


class OutputFilter:
    """One relayed stream's marker filter (see the module docstring)."""

    def __init__(self, nonce: bytes, *, cap: int = DEFAULT_CAP, margin: int = MARGIN) -> None:
        if len(nonce) != NONCE_LEN or not nonce.isalpha() or not nonce.isascii():
            raise ValueError("the nonce is 24 ASCII letters")
        self.nonce = nonce
        self.cap = cap
        self.margin = margin
        self.captures: dict[int, Capture] = {}
        self.dirty: set[int] = set()
        self.open: dict[int, int] = {}  # node -> how many BEGINs without their END
        self.ended_at_newline = True  # the last visible byte was b"\n" (or none yet)
        self._held = b""

    # --- attribution
    def _attribute(self, data: bytes) -> None:
        if not data:
            return
        for node in self.open:
            cap = self.captures.get(node)
            if cap is None:
                cap = self.captures[node] = Capture(self.cap, self.margin)
            cap.add(data)
            self.dirty.add(node)

    def _marker(self, kind: int, node: int) -> None:
        if kind == 0x42:  # B
            self.open[node] = self.open.get(node, 0) + 1
        else:
            depth = self.open.get(node, 0) - 1
            if depth > 0:
                self.open[node] = depth
            else:
                self.open.pop(node, None)

    # --- parsing
    def _parse_at(self, data: bytes, i: int) -> tuple[str, int, int, int]:
        """At data[i] == 0x1e: ("marker", end, kind, node), ("partial", ...) when data ends
        inside what could still be a marker, or ("no", ...) when it is not one."""
        nonce = self.nonce
        n = len(data)
        start = i + 1
        avail = min(n - start, NONCE_LEN)
        if data[start : start + avail] != nonce[:avail]:
            return ("no", 0, 0, 0)
        k = start + NONCE_LEN
        if k >= n:
            return ("partial", 0, 0, 0)
        kind = data[k]
        if kind != 0x42 and kind != 0x45:  # B, E
            return ("no", 0, 0, 0)
        j = k + 1
        while j < n and 0x30 <= data[j] <= 0x39 and j - k - 1 < MAX_DIGITS:
            j += 1
        digits = j - k - 1
        if j >= n:
            return ("partial", 0, 0, 0)
        if digits == 0 or data[j] != US:
            return ("no", 0, 0, 0)
        return ("marker", j + 1, kind, int(data[k + 1 : j]))

    def feed(self, chunk: bytes) -> bytes:
        """The visible bytes of `chunk` (and of what was held back before it)."""
        data = self._held + chunk if self._held else chunk
        self._held = b""
        if RS not in data:
            self._attribute(data)
            self._note(data)
            return data
        out = bytearray()
        pos = 0
        n = len(data)
        while pos < n:
            i = data.find(b"\x1e", pos)
            if i < 0:
                piece = data[pos:]
                self._attribute(piece)
                out += piece
                break
            if i > pos:
                piece = data[pos:i]
                self._attribute(piece)
                out += piece
            what, end, kind, node = self._parse_at(data, i)
            if what == "marker":
                self._marker(kind, node)
                pos = end
            elif what == "partial":
                self._held = data[i:]
                break
            else:
                self._attribute(data[i : i + 1])
                out.append(RS)
                pos = i + 1
        result = bytes(out)
        self._note(result)
        return result

    def flush(self) -> bytes:
        """At EOF: what was held back is no marker after all."""
        data, self._held = self._held, b""
        self._attribute(data)
        self._note(data)
        return data

    def _note(self, visible: bytes) -> None:
        if visible:
            self.ended_at_newline = visible.endswith(b"\n")

    def take_dirty(self) -> set[int]:
        dirty, self.dirty = self.dirty, set()
        return dirty
