"""compile/wfmodel.py - the workflow document's schema (pydantic v2), `bashflow.workflow` v1.

The document is what `Workflow.to_json()` returns, `bashflow compile --format json` prints and
`bashflow exec workflow.json` runs (possibly after a person edited the per-node `settings`).
Everything here is the shape and the ranges of values; the cross-references (ids 1..n, parents
and edge ends that exist, no cycle, the source hash) are checked by `compile/load.py`.

pydantic is imported only here, and this module only by `load.py`, `bashflow schema` and tests:
compiling a script must not pay for it.
"""

from __future__ import annotations

import signal
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from bashflow.compile.render import LABEL_MAX  # what the pictures shorten labels to

SCHEMA_NAME = "bashflow.workflow"
SCHEMA_VERSION = 1

_CONFIG = ConfigDict(
    extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
)

NodeKind = Literal[
    "command", "pipeline", "subshell", "group", "if", "case", "for", "arith_for", "while",
    "until", "select", "function", "arith", "cond", "coproc",
]  # fmt: skip
Resolution = Literal["builtin", "function", "program", "keyword", "assignment", "unknown"]
ResourceKind = Literal[
    "file", "tree", "glob", "stream", "variable", "function", "cwd", "network", "process", "any"
]  # fmt: skip
EdgeKind = Literal["data", "variable", "cwd", "control", "order"]
Decision = Literal["allow", "deny", "unknown"]

# the same values as tuples, for the docs (docs/gen_workflow.py)
NODE_KINDS: tuple[str, ...] = get_args(NodeKind)
RESOURCE_KINDS: tuple[str, ...] = get_args(ResourceKind)
EDGE_KINDS: tuple[str, ...] = get_args(EdgeKind)
ROLES = (
    "element", "body", "condition", "then", "elif", "else", "case_item", "substitution",
    "heredoc", "redirect", "assignment", "argument", "function_body",
)  # fmt: skip
"""The roles the contract names (`Node.role` is a free string so a new role is not an error)."""

NodeId = Annotated[int, Field(ge=1)]
ExitCode = Annotated[int, Field(ge=1, le=255)]
_SIGNALS = frozenset(s.name for s in signal.Signals)


def _known_signal(name: str) -> str:
    if name not in _SIGNALS:
        raise PydanticCustomError("signal", "unknown signal {name}", {"name": name})
    return name


SignalName = Annotated[
    str,
    Field(pattern=r"^SIG[A-Z][A-Z0-9]*$"),
    AfterValidator(_known_signal),
    WithJsonSchema({"type": "string", "enum": sorted(_SIGNALS)}),
]


def _text(value: Any) -> str:
    # pydantic's own `str` refuses lone surrogates, and script text carries undecodable bytes
    # as surrogates U+DC80-U+DCFF (surrogateescape): check the type only, keep the object.
    if type(value) is not str:
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


def _label(value: Any) -> str:
    text = _text(value)
    if len(text) > LABEL_MAX:
        raise PydanticCustomError(
            "string_too_long",
            "a label has at most {most} characters, this one has {n}",
            {"most": LABEL_MAX, "n": len(text)},
        )
    if "\n" in text:
        raise PydanticCustomError("label_lines", "a label is one line")
    return text


Text = Annotated[str, PlainValidator(_text, json_schema_input_type=str)]
"""A string that may hold lone surrogates (undecodable bytes of the script)."""
Label = Annotated[
    str,
    PlainValidator(_label),
    WithJsonSchema({"type": "string", "maxLength": LABEL_MAX, "pattern": "^[^\\n]*$"}),
]


class RetryOn(BaseModel):
    """Which failures are retried. All empty (the default): every failure (non-zero exit, killing
    signal, timeout). Otherwise only the failures named here; any other ends the node."""

    model_config = _CONFIG

    exit_codes: list[ExitCode] = Field(
        default_factory=list, description="exit statuses (1-255) that are retried"
    )
    signals: list[SignalName] = Field(
        default_factory=list,
        description='signals (by name, like "SIGTERM") that, killing the node, are retried',
    )
    timeout: bool = Field(default=False, description="retry when the node hits its timeout")


class Retry(BaseModel):
    """How often and how soon a failed node runs again. The delay before attempt k+1 is
    `min(initial_delay_seconds * multiplier**(k-1), max_delay_seconds)`, spread by +/- `jitter`
    (a fraction of the delay)."""

    model_config = _CONFIG

    max_attempts: int = Field(
        default=1, ge=1, description="attempts in all, the first included (1 = no retry)"
    )
    initial_delay_seconds: float = Field(
        default=1.0, ge=0, description="delay before the second attempt"
    )
    multiplier: float = Field(default=2.0, ge=1, description="each delay is the last times this")
    max_delay_seconds: float = Field(default=60.0, ge=0, description="longest delay")
    jitter: float = Field(
        default=0.1, ge=0, le=1, description="random spread of each delay, a fraction in [0, 1]"
    )
    retry_on: RetryOn = Field(default_factory=RetryOn, description="which failures are retried")


class Settings(BaseModel):
    """What a node runs with. In a node, a field left out is taken from the document's
    `defaults` (see `WorkflowDoc.settings_for`)."""

    model_config = _CONFIG

    timeout_seconds: float | None = Field(
        default=None, gt=0, description="wall-clock limit of one attempt; null = none"
    )
    retry: Retry = Field(default_factory=Retry, description="retries after a failure")
    priority: int = Field(
        default=5, ge=0, le=10, description="0-10; higher runs first among ready nodes"
    )
    pool: str | None = Field(
        default=None, description="name of a concurrency pool the node takes a slot of; null = none"
    )

    def merged_over(self, base: Settings) -> Settings:
        """These settings, with every field not given explicitly taken from `base`."""
        merged: Settings = _merge(self, base)
        return merged


def _merge(over: BaseModel, base: BaseModel) -> Any:
    update: dict[str, Any] = {}
    for name in type(base).model_fields:
        value = getattr(over, name)
        if name not in over.model_fields_set:
            update[name] = getattr(base, name)
        elif isinstance(value, BaseModel):
            update[name] = _merge(value, getattr(base, name))
    return over.model_copy(update=update) if update else over


class Position(BaseModel):
    """One end of a span."""

    model_config = _CONFIG

    line: int = Field(ge=1, description="1-based line")
    col: int = Field(ge=1, description="1-based column, in characters")
    offset: int = Field(ge=0, description="byte offset into the source (UTF-8)")


class SpanInfo(BaseModel):
    """Where a node is in the source, as `bashflow parse` reports spans (end exclusive)."""

    model_config = _CONFIG

    start: Position = Field(description="first character")
    end: Position = Field(description="just past the last character")


class SourceInfo(BaseModel):
    """The script the workflow was compiled from."""

    model_config = _CONFIG

    filename: Text = Field(description="name the script was read as (`<stdin>` for standard input)")
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="sha256 of the script's bytes, lowercase hex"
    )
    text: Text = Field(
        description="the script's text (undecodable bytes as lone surrogates U+DC80-U+DCFF)"
    )


class PolicyRef(BaseModel):
    """The policy the script was checked against."""

    model_config = _CONFIG

    name: Text = Field(description="policy file or built-in profile name")
    decision: Literal["allow", "deny"] = Field(description="the whole script's verdict")


class Resource(BaseModel):
    """Something a node reads or writes."""

    model_config = _CONFIG

    kind: ResourceKind = Field(description="what sort of thing")
    path: Text | None = Field(
        description="file/tree/glob: the path, absolute when the cwd is known; null = unknown"
    )
    name: Text | None = Field(
        description='stream: "stdin", "stdout", "stderr", "fd3", ...; variable or function: '
        'its name; network: "read" or "write"'
    )


class SpecRef(BaseModel):
    """The command spec that described the command."""

    model_config = _CONFIG

    name: str = Field(description='spec name, e.g. "cp", "git push"')
    class_: str = Field(
        alias="class",
        description='parallelisability class: "stateless", "parallelizable_pure", "pure", '
        '"side_effectful" or "unknown"',
    )


class Finding(BaseModel):
    """One policy finding about a node."""

    model_config = _CONFIG

    code: str = Field(description='finding code, e.g. "BF101"')
    message: Text = Field(description="what was found")
    line: int = Field(ge=0, description="1-based line in the source (0 = no place)")
    col: int = Field(ge=0, description="1-based column in the source (0 = no place)")
    definite: bool = Field(description="true: certain; false: needs a check at run time")


class Verdict(BaseModel):
    """What the policy says about a node."""

    model_config = _CONFIG

    decision: Decision = Field(description="allow, deny, or unknown (decided at run time)")
    findings: list[Finding] = Field(description="the reasons, in source order")


class Node(BaseModel):
    """One unit that runs: a command, or a compound command / pipeline holding others."""

    model_config = _CONFIG

    id: NodeId = Field(description="1..n in program order (pre-order)")
    kind: NodeKind = Field(description="the construct")
    parent: NodeId | None = Field(
        description="enclosing node (compound, pipeline, or the command whose word holds a "
        "substitution); null at top level"
    )
    role: str | None = Field(
        description="place in the parent: " + ", ".join(f'"{r}"' for r in ROLES)
    )
    span: SpanInfo = Field(description="where the node is in the source")
    text: Text = Field(description="exact source text of the node")
    label: Label = Field(description="short one-line form for pictures")
    words: list[Text | None] | None = Field(
        description="command words (null entry = unknown until run); null for compound nodes"
    )
    name: Text | None = Field(description="command name, if known")
    resolution: Resolution | None = Field(description="what the command name resolves to")
    reads: list[Resource] = Field(description="what the node reads")
    writes: list[Resource] = Field(description="what the node writes")
    spec: SpecRef | None = Field(description="the command spec used; null = none")
    barrier: bool = Field(description="ordered against everything before and after it")
    barrier_reason: Text | None = Field(description="why it is a barrier")
    background: bool = Field(description="run with `&`")
    verdict: Verdict | None = Field(description="the policy's verdict; null without a policy")
    settings: Settings = Field(
        default_factory=Settings,
        description="settings of this node; a field left out comes from `defaults`",
    )


class Edge(BaseModel):
    """`from` must finish (or reach its decision) before `to` starts."""

    model_config = _CONFIG

    from_: NodeId = Field(alias="from", description="node that goes first")
    to: NodeId = Field(description="node that waits")
    kind: EdgeKind = Field(
        description="data (file or stream), variable, cwd (working directory), control "
        "(&&, ||, if, loops) or order (an effect the compiler cannot see)"
    )
    reason: Text = Field(description='in words, e.g. "node 7 reads out.txt, written by node 3"')


class WorkflowDoc(BaseModel):
    """A bash script compiled into a workflow graph (`bashflow compile --format json`)."""

    model_config = ConfigDict(**_CONFIG, title="bashflow workflow")

    schema_: Literal["bashflow.workflow"] = Field(alias="schema", description="document type")
    version: Literal[1] = Field(description="schema version")
    id: str = Field(
        pattern=r"^wf-[0-9a-f]{16}$",
        description='"wf-" + the first 16 hex digits of the source\'s sha256',
    )
    source: SourceInfo = Field(description="the script")
    cwd: Text | None = Field(
        description="directory relative paths were resolved against; null = unknown"
    )
    policy: PolicyRef | None = Field(description="null: compiled without a policy")
    defaults: Settings = Field(
        default_factory=Settings, description="settings a node gets for the fields it leaves out"
    )
    pools: dict[Annotated[str, Field(min_length=1)], Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="concurrency pools: name -> how many of its nodes may run at once "
        "(`bashflow exec`); a pool a node names that is not listed here has 1 slot",
    )
    nodes: list[Node] = Field(description="program order (pre-order), ids 1..n")
    edges: list[Edge] = Field(description="dependencies between nodes")

    def settings_for(self, node_id: int) -> Settings:
        """The settings node `node_id` runs with: its own, the rest from `defaults`."""
        return self.nodes[node_id - 1].settings.merged_over(self.defaults)

    def to_data(self) -> dict[str, Any]:
        """The document as JSON-ready data (keys as in the file)."""
        return self.model_dump(by_alias=True, mode="json")


def json_schema() -> dict[str, Any]:
    """The document's JSON Schema (what `bashflow schema workflow` prints)."""
    schema = WorkflowDoc.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
