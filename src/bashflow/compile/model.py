"""compile/model.py - the compiler's working objects: resources, nodes under construction, settings.

A resource is a plain tuple `(kind, path, name)` (hashable, cheap): `kind` is one of the
contract's resource kinds, `path` is set for `file` / `tree` / `glob` (None = unknown path),
`name` for `stream` / `variable` / `function` / `network` / `process` (None = unknown name).
Reads and writes are kept as insertion-ordered dicts (ordered sets) so the output is
deterministic.
"""

from __future__ import annotations

from typing import Any

from bashflow.source import Span

Res = tuple[str, str | None, str | None]
ResSet = dict[Res, None]

ANY: Res = ("any", None, None)
CWD: Res = ("cwd", None, None)
STDIN: Res = ("stream", None, "stdin")
STDOUT: Res = ("stream", None, "stdout")
STDERR: Res = ("stream", None, "stderr")
ENV: Res = ("variable", None, "@env")
"""The exported environment: written with every exported variable, read by every program."""
POSITIONAL: Res = ("variable", None, "@")
ALL_VARIABLES: Res = ("variable", None, None)
ALL_PROCESSES: Res = ("process", None, None)
NET_READ: Res = ("network", None, "read")
NET_WRITE: Res = ("network", None, "write")

SHELL_STATE_KINDS = frozenset({"variable", "function", "cwd"})
"""What a subshell (`( )`, `$( )`, a pipeline element, `&`) changes only for itself."""
PATH_KINDS = frozenset({"file", "tree", "glob"})
QUIET_STREAMS = frozenset({"stdout", "stderr"})
"""Output streams never conflict: `exec` buffers each node's output and releases it in order."""

LOOP_KINDS = frozenset({"while", "until", "for", "select", "arith_for"})


def default_settings() -> dict[str, Any]:
    """The contract's per-node settings, each call a fresh dict (a user may edit one node)."""
    return {
        "timeout_seconds": None,
        "retry": {
            "max_attempts": 1,
            "initial_delay_seconds": 1.0,
            "multiplier": 2.0,
            "max_delay_seconds": 60.0,
            "jitter": 0.1,
            "retry_on": {"exit_codes": [], "signals": [], "timeout": False},
        },
        "priority": 5,
        "pool": None,
    }


class CNode:
    """A node while the graph is built (mutable; `serialize.py` turns it into the contract's
    dict). `uid` is its creation index; `id` the number it is published under (hidden nodes,
    the commands of an `alias` / `let` payload, fold into their parent and get none)."""

    __slots__ = (
        "background",
        "barrier_reason",
        "boundary",
        "calls",
        "children",
        "ctrl",
        "decision",
        "eff_escapes",
        "eff_reads",
        "eff_writes",
        "escapes",
        "findings",
        "hidden",
        "id",
        "inline",
        "kind",
        "name",
        "parent",
        "payload_ok",
        "reads",
        "resolution",
        "role",
        "span",
        "spec",
        "status_dep",
        "stdin_pipe",
        "stdin_redirected",
        "text",
        "uid",
        "words",
        "writes",
    )

    def __init__(
        self, uid: int, kind: str, parent: CNode | None, role: str | None, span: Span, text: str
    ) -> None:
        self.uid = uid
        self.id = 0
        self.kind = kind
        self.parent = parent
        self.role = role
        self.span = span
        self.text = text
        self.words: list[str | None] | None = None
        self.name: str | None = None
        self.resolution: str | None = None
        self.reads: ResSet = {}
        self.writes: ResSet = {}
        self.spec: dict[str, str] | None = None
        self.barrier_reason: str | None = None
        self.background = False
        self.children: list[CNode] = []
        self.hidden = False
        self.boundary = False
        """Runs in a subshell: its changes to variables, functions and the cwd stay inside."""
        self.stdin_redirected = False
        self.stdin_pipe = False
        self.escapes: set[str] = set()
        """`exit` / `return` / `break` / `continue` that leave this node."""
        self.calls: set[str] = set()
        self.ctrl: list[tuple[CNode, str]] = []
        """Control dependencies on earlier siblings: (node, why)."""
        self.status_dep = False
        """Reads `$?` (or `$_`, `PIPESTATUS`): depends on the sibling before it."""
        self.payload_ok = False
        self.inline = False
        """A function body walked again at a call (hidden): it ends `return`."""
        self.eff_reads: ResSet = {}
        self.eff_writes: ResSet = {}
        self.eff_escapes: set[str] = set()
        self.findings: list[dict[str, Any]] = []
        self.decision: str | None = None

    def barrier(self, reason: str) -> None:
        self.writes[ANY] = None
        if self.barrier_reason is None:
            self.barrier_reason = reason

    def __repr__(self) -> str:
        return f"CNode({self.uid}, {self.kind}, {self.text[:30]!r})"


def res_text(r: Res) -> str:
    """A resource in words, for edge reasons."""
    kind, path, name = r
    if kind in PATH_KINDS:
        what = {"file": "", "tree": "the tree ", "glob": "the files matching "}[kind]
        return what + (path if path is not None else "an unknown path")
    if kind == "variable":
        if name is None:
            return "an unknown variable"
        if name == "@env":
            return "the exported environment"
        if name == "@":
            return "the positional parameters"
        return f"${name}"
    if kind == "function":
        return f"function {name}" if name else "an unknown function"
    if kind == "stream":
        return "standard input" if name == "stdin" else f"stream {name}"
    if kind == "cwd":
        return "the working directory"
    if kind == "network":
        return "the network"
    if kind == "process":
        return f"background job {name}" if name else "background jobs"
    return "everything"
