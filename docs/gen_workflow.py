"""Writes docs/workflow.md and docs/workflow.schema.json from bashflow.compile.wfmodel.

Run from the repo root: `python3 docs/gen_workflow.py`. `tests/compile/test_schema.py` fails when
either file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bashflow.compile.wfmodel import json_schema

HEADER = """\
# The workflow document (`bashflow compile --format json`)

Generated from `src/bashflow/compile/wfmodel.py` by `python3 docs/gen_workflow.py`; the test
`tests/compile/test_schema.py` fails when it is out of date. The JSON Schema is
`docs/workflow.schema.json`, also printed by `bashflow schema workflow`.

`bashflow compile` writes this document; `bashflow exec workflow.json` runs it. Between the two
a person may edit it: the per-node `settings` and the document's `defaults` are meant for that.
Everything else describes the script and must stay as the compiler wrote it.

## Reading a document: `load_workflow`

`bashflow.compile.load.load_workflow(data, filename)` (and `bashflow schema workflow --check
FILE`, which exits 0 when the file is valid) checks, in order, and stops at the first problem
with `FILE:LINE:COL: error: MESSAGE` pointing at the offending value, exit code **2**:

1. **JSON**: UTF-8, valid JSON, no duplicate keys, no `NaN`/`Infinity`.
2. **What it is**: `schema` is `"bashflow.workflow"` and `version` is `1`.
3. **Schema** (below): no unknown keys, no missing keys, types and ranges. The message names the
   value by its path (`nodes[3].settings.priority: Input should be less than or equal to 10`)
   and says how many more errors there are.
4. **Consistency**: node ids are 1..n in document order, in pre-order (a node's descendants by
   `parent` follow it directly); edge ends are existing nodes, no edge joins a node to itself
   and the edges have no cycle; each node's `span` lies in the source (line and column agree
   with the byte offset) and its `text` is the source text there.
5. **The source was not edited**: `source.sha256` is the sha256 of `source.text` (as UTF-8,
   undecodable script bytes restored from their surrogates) and `id` is `"wf-"` + its first 16
   hex digits. To change the script, edit the script and compile it again.

## Settings and defaults

A node runs with its own `settings`; a field a node leaves out (in any sub-object too) is taken
from `defaults` (`WorkflowDoc.settings_for(node_id)`). The compiler writes every field, so to let
a node follow `defaults`, delete the field from the node. Defaults when a document gives none:

```json
DEFAULTS
```

The delay before attempt k+1 is `min(initial_delay_seconds * multiplier**(k-1),
max_delay_seconds)`, spread at random by `jitter` (a fraction of the delay). An empty `retry_on` (the default) retries
every failure: a non-zero exit, a killing signal or a timeout, as workflow engines do; once it
names anything, only the failures it names are retried (`"exit_codes": [75]` retries only status 75).

## Node kinds and roles

`kind`: KINDS.

`role` (a node's place in its parent): ROLES.

`Resource.kind`: RESOURCES. `Edge.kind`: EDGES.

## Pictures

`bashflow.compile.render.to_dot(doc)` and `to_mermaid(doc)` draw a document (a dict, so an
edited file works too). Nodes are labelled `ID: LABEL` and filled by verdict (allow green, deny
red, unknown amber, no policy grey); edges are labelled by kind (data solid blue, variable
dashed purple, cwd dashed brown, control bold black, order dotted grey); a node with children is
a cluster / subgraph holding its own header node and its children (the header of a pipeline,
group or subshell says only `ID: kind`); barriers have a double border (DOT) or the subroutine
shape (Mermaid), background nodes a dashed border. Both have a legend. Labels are escaped for
each format (tests check the text Graphviz and Mermaid show is the label); control characters,
bidirectional overrides and undecodable bytes are shown as `\\xNN` / `\\uNNNN`. In SVG, a
node's hover text has its source text, reads, writes and findings, an edge's its reason
(backslashes there are shown as `∖`: Graphviz un-escapes tooltips twice). `bashflow compile
--format dot|mermaid` prints them.

Size: Mermaid refuses diagrams past its default `maxTextSize` (50,000 characters: about 400
nodes of this output) and `maxEdges` (500) unless the page that renders them raises those
limits; use DOT for large scripts. Graphviz `dot -Tsvg` took about 2 s for a 760-node script
(git-subtree) and 100 s for a 3,400-node one (neofetch, 10,500 lines) on a shared 2-core
machine: for very large scripts, draw a part (edit the JSON) or use `sfdp`.

## Fields
"""


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"[{prop['$ref'].rsplit('/', 1)[-1]}](#{prop['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in prop:
        return " \\| ".join(_type(p) for p in prop["anyOf"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "enum" in prop:
        return " \\| ".join(json.dumps(v) for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"array of {_type(prop.get('items', {}))}"
    bounds = []
    for key, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
        ("maxLength", "length <="),
    ):
        if key in prop:
            bounds.append(f"{sign} {prop[key]}")
    if "pattern" in prop:
        bounds.append(f"matching `{prop['pattern']}`")
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f"### {name}", "", schema.get("description", "").replace("\n", " "), ""]
    out += ["| field | type | default | meaning |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        if field in required:
            default = "required"
        elif "default" in prop:
            default = json.dumps(prop["default"])
        elif prop.get("type") == "array":
            default = "[]"
        else:
            default = "all defaults"
        out.append(
            f"| `{field}` | {_type(prop)} | {_cell(default)} | "
            f"{_cell(prop.get('description', ''))} |"
        )
    return [*out, ""]


def render() -> str:
    from bashflow.compile import wfmodel as m

    schema = json_schema()
    defaults = json.dumps(m.Settings().model_dump(mode="json"), indent=2)

    def listed(values: tuple[str, ...]) -> str:
        return ", ".join(f"`{v}`" for v in values)

    text = (
        HEADER.replace("DEFAULTS", defaults)
        .replace("KINDS", listed(m.NODE_KINDS))
        .replace("ROLES", listed(m.ROLES))
        .replace("RESOURCES", listed(m.RESOURCE_KINDS))
        .replace("EDGES", listed(m.EDGE_KINDS))
    )
    out = [text]
    out += _table("WorkflowDoc (the document)", schema)
    for name, sub in schema.get("$defs", {}).items():
        out += _table(name, sub)
    return "\n".join(out).rstrip() + "\n"


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    (here / "workflow.md").write_text(render())
    (here / "workflow.schema.json").write_text(schema_text())
    sys.exit(0)
