"""compile/render.py - a workflow document as a picture: Graphviz DOT and Mermaid flowcharts.

Both work on the JSON document as plain data (what `Workflow.to_json()` returns, or a file a
person edited), never on the compiler's objects, and import nothing beyond the standard library.

* A node's label is `ID: LABEL` (the document's `label`, else its text shortened to 60
  characters). Text is made visible first (control and format characters and undecodable bytes
  become `\\xNN` / `\\uNNNN`), then escaped for the format, so a label can never close its string
  or start a new statement: `"`, `\\`, `&` and newlines in DOT; `"`, `#`, `&`, `<`, `>`,
  backticks, `|` and `%` become Mermaid entity codes.
* Colours by verdict (allow green, deny red, unknown amber, none grey), with a legend.
* Edges are labelled by kind, one style per kind (data solid blue, variable dashed purple, cwd
  dashed brown, control bold black, order dotted grey); the reason is the DOT edge's tooltip
  (hover text in SVG; a node's tooltip has its text, reads, writes and findings).
* A node with children (by `parent`) is a cluster (DOT) / subgraph (Mermaid) holding a header
  node for itself and its children, nested as deep as the document; loops, functions, `if` and
  `case`, pipelines, subshells, groups, coprocs and commands holding substitutions. The header
  of a pipeline, group or subshell says only `ID: kind` (its commands are right there).
* Barriers have a double border (DOT) / the subroutine shape (Mermaid); background nodes a
  dashed border.

Same document, same text: nodes and edges come out in document order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any, TypeGuard

__all__ = ["EDGE_STYLES", "VERDICT_COLORS", "header_label", "node_label", "to_dot", "to_mermaid"]

LABEL_MAX = 60
_MAX_INDENT = 12  # deeper nesting is not indented further (the text would grow quadratically)

# verdict -> (fill, border)
VERDICT_COLORS: dict[str, tuple[str, str]] = {
    "allow": ("#c8e6c9", "#2e7d32"),
    "deny": ("#ffcdd2", "#c62828"),
    "unknown": ("#ffe0b2", "#ef6c00"),
    "none": ("#eeeeee", "#757575"),
}
# edge kind -> (colour, DOT style, Mermaid arrow)
EDGE_STYLES: dict[str, tuple[str, str, str]] = {
    "data": ("#1565c0", "solid", "-->"),
    "variable": ("#6a1b9a", "dashed", "-.->"),
    "cwd": ("#6d4c41", "dashed", "-.->"),
    "control": ("#000000", "bold", "==>"),
    "order": ("#757575", "dotted", "-.->"),
}
_OTHER_EDGE = ("#757575", "dotted", "-.->")

# cluster look per kind: (DOT header shape, cluster fill)
_LOOPS = ("for", "arith_for", "while", "until", "select")
_CLUSTER: dict[str, tuple[str, str]] = {
    **{k: ("hexagon", "#e3f2fd") for k in _LOOPS},
    "function": ("tab", "#f3e5f5"),
    "if": ("diamond", "#fffde7"),
    "case": ("diamond", "#fffde7"),
    "pipeline": ("parallelogram", "#f5f5f5"),
    "subshell": ("box3d", "#e0f2f1"),
    "group": ("component", "#fafafa"),
    "coproc": ("box3d", "#fce4ec"),
}
_COMMAND_CLUSTER = ("box", "#ffffff")  # a command whose words hold substitutions


# -- the document as a tree ------------------------------------------------------------------


class _Doc:
    """Nodes by id, children by parent, and the edges whose ends exist (tolerant of edits)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.nodes: dict[int, dict[str, Any]] = {}
        for node in _list(doc.get("nodes")):
            nid = node.get("id") if isinstance(node, dict) else None
            if _is_int(nid) and nid not in self.nodes:
                self.nodes[nid] = node
        self.children: dict[int | None, list[int]] = {}
        for nid, node in self.nodes.items():
            parent = node.get("parent")
            # pre-order: a parent comes first; anything else is drawn at top level
            if not (_is_int(parent) and parent in self.nodes and parent < nid):
                parent = None
            self.children.setdefault(parent, []).append(nid)
        self.edges = [
            e
            for e in _list(doc.get("edges"))
            if isinstance(e, dict)
            and e.get("from") in self.nodes
            and e.get("to") in self.nodes
            and _is_int(e.get("from"))
            and _is_int(e.get("to"))
        ]
        source = doc.get("source")
        name = source.get("filename") if isinstance(source, dict) else None
        wid = doc.get("id")
        self.title = " ".join(str(x) for x in (wid, name) if isinstance(x, str))

    def walk(self) -> Iterator[tuple[str, int]]:
        """("enter", id) / ("node", id) / ("leave", id) in document order, without recursion."""
        stack: list[tuple[str, int]] = [("node", n) for n in reversed(self.children.get(None, []))]
        while stack:
            what, nid = stack.pop()
            if what == "leave":
                yield what, nid
                continue
            kids = self.children.get(nid)
            if not kids:
                yield "node", nid
                continue
            yield "enter", nid
            stack.append(("leave", nid))
            stack.extend(("node", k) for k in reversed(kids))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_int(value: object) -> TypeGuard[int]:
    """A node id as the contract has them: an int >= 1 (so `n{id}` is a valid DOT/Mermaid id)."""
    return type(value) is int and value >= 1


def verdict_of(node: dict[str, Any]) -> str:
    v = node.get("verdict")
    decision = v.get("decision") if isinstance(v, dict) else None
    return decision if decision in ("allow", "deny", "unknown") else "none"


def visible(text: str) -> str:
    """`text` with everything that is not a printable character shown as an escape: undecodable
    bytes (surrogates U+DC80-U+DCFF) as `\\xNN`, control and format characters (including
    bidirectional overrides) as `\\xNN` / `\\uNNNN`, tab as `\\t`. Newlines are kept."""
    if all(line.isprintable() for line in text.split("\n")):
        return text  # isprintable() is false for every Cc, Cf and Cs character
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\n" or (ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Cs")):
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def shorten(text: str, limit: int = LABEL_MAX) -> str:
    """One line of at most `limit` characters (whitespace runs become one space)."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def node_label(nid: int, node: dict[str, Any]) -> str:
    """`ID: LABEL`: the document's label, else the node's text, else its kind, shortened."""
    for key in ("label", "text", "kind"):
        value = node.get(key)
        short = shorten(value) if isinstance(value, str) else ""
        if short:
            return f"{nid}: {visible(short)}"
    return f"{nid}: ?"


_SUMMARISED = ("pipeline", "group", "subshell")


def header_label(nid: int, node: dict[str, Any]) -> str:
    """The label of a cluster's own node: a pipeline, group or subshell shows only its kind (its
    commands are drawn inside the cluster); anything else its usual label."""
    kind = _kind(node)
    return f"{nid}: {kind}" if kind in _SUMMARISED else node_label(nid, node)


def _kind(node: dict[str, Any]) -> str:
    kind = node.get("kind")
    return kind if isinstance(kind, str) else "command"


def _cluster_title(node: dict[str, Any]) -> str:
    kind = _kind(node)
    return "substitutions" if kind == "command" else visible(shorten(kind))


def _tooltip(node: dict[str, Any]) -> str:
    lines = []
    text = node.get("text")
    if isinstance(text, str):
        lines.append(text if len(text) <= 400 else text[:399] + "…")
    for key in ("reads", "writes"):
        items = [_resource(r) for r in _list(node.get(key)) if isinstance(r, dict)]
        if items:
            lines.append(f"{key}: " + ", ".join(items))
    if node.get("barrier"):
        reason = node.get("barrier_reason")
        lines.append("barrier" + (f": {reason}" if isinstance(reason, str) else ""))
    v = node.get("verdict")
    if isinstance(v, dict):
        lines.append(f"verdict: {verdict_of(node)}")
        for f in _list(v.get("findings")):
            if isinstance(f, dict):
                lines.append(f"{f.get('code')} {f.get('line')}:{f.get('col')} {f.get('message')}")
    return tooltip_text("\n".join(lines))


def tooltip_text(text: str) -> str:
    """Hover text for SVG. Graphviz un-escapes tooltips twice (two backslashes show as one, four
    as one, six as two), so a backslash cannot be shown exactly: it is shown as U+2216 (∖)."""
    return visible(text).replace("\\", "\u2216")


def _resource(r: dict[str, Any]) -> str:
    kind = r.get("kind")
    what = r.get("path") if r.get("path") is not None else r.get("name")
    return f"{kind} {what}" if what is not None else f"{kind} ?"


# -- DOT -------------------------------------------------------------------------------------


def dot_string(text: str) -> str:
    """A DOT quoted string showing `text` literally in a label (escString and entities)."""
    return '"' + text.translate(_DOT_ESCAPES) + '"'


_DOT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "&": "&amp;"})


def _dot_legend() -> list[str]:
    rows = ['<TR><TD COLSPAN="2"><B>legend</B></TD></TR>']
    for name, (fill, border) in VERDICT_COLORS.items():
        rows.append(f'<TR><TD BGCOLOR="{fill}" COLOR="{border}"> </TD><TD>{name}</TD></TR>')
    for kind, (color, style, _) in EDGE_STYLES.items():
        line = {"solid": "───", "dashed": "╌╌╌", "bold": "━━━", "dotted": "┈┈┈"}[style]
        rows.append(f'<TR><TD><FONT COLOR="{color}">{line}</FONT></TD><TD>{kind}</TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
    label = f"<{table}{''.join(rows)}</TABLE>>"
    return [f"  legend [shape=plaintext, fontname=Helvetica, label={label}];"]


def _dot_node(nid: int, node: dict[str, Any], indent: str, *, head: bool) -> str:
    fill, border = VERDICT_COLORS[verdict_of(node)]
    kind = _kind(node)
    style = ["filled"]
    shape = _CLUSTER.get(kind, _COMMAND_CLUSTER)[0]  # a command (or an unknown kind): a box
    if shape == "box":
        style.insert(0, "rounded")
    if node.get("background"):
        style.append("dashed")
    attrs = [
        f"label={dot_string(header_label(nid, node) if head else node_label(nid, node))}",
        f"shape={shape}",
        f'style="{",".join(style)}"',
        f'fillcolor="{fill}"',
        f'color="{border}"',
        f"tooltip={dot_string(_tooltip(node))}",
    ]
    if node.get("barrier"):
        attrs.append("peripheries=2")
    return f"{indent}n{nid} [{', '.join(attrs)}];"


def to_dot(doc: dict[str, Any]) -> str:
    """The workflow as a Graphviz digraph (`dot -Tsvg` draws it)."""
    d = _Doc(doc)
    out = [
        "digraph workflow {",
        f"  graph [label={dot_string(visible(d.title))}, labelloc=t, fontname=Helvetica, "
        "rankdir=TB, newrank=true, nodesep=0.3, ranksep=0.4];",
        '  node [fontname=Courier, fontsize=10, margin="0.1,0.04"];',
        "  edge [fontname=Helvetica, fontsize=9];",
    ]
    out += _dot_legend()
    depth = 1
    for what, nid in d.walk():
        node = d.nodes[nid]
        indent = "  " * min(depth, _MAX_INDENT)
        if what == "node":
            out.append(_dot_node(nid, node, indent, head=False))
        elif what == "enter":
            kind = _kind(node)
            fill = _CLUSTER.get(kind, _COMMAND_CLUSTER)[1]
            style = "rounded,filled" + (",dashed" if kind in ("function", "subshell") else "")
            out.append(f"{indent}subgraph cluster_n{nid} {{")
            out.append(
                f'{indent}  graph [label={dot_string(_cluster_title(node))}, labeljust=l, style="{style}", '
                f'fillcolor="{fill}", color="#9e9e9e", fontname=Helvetica, fontsize=9];'
            )
            out.append(_dot_node(nid, node, indent + "  ", head=True))
            depth += 1
        else:
            depth -= 1
            out.append(f"{'  ' * min(depth, _MAX_INDENT)}}}")
    for e in d.edges:
        ekind = e.get("kind")
        look = EDGE_STYLES.get(ekind, _OTHER_EDGE) if isinstance(ekind, str) else _OTHER_EDGE
        color, style = look[0], look[1]
        reason = e.get("reason")
        attrs = [
            f"label={dot_string(visible(str(ekind)))}",
            f'color="{color}"',
            f'fontcolor="{color}"',
            f"style={style}",
        ]
        if isinstance(reason, str):
            attrs.append(f"tooltip={dot_string(tooltip_text(reason))}")
        out.append(f"  n{e['from']} -> n{e['to']} [{', '.join(attrs)}];")
    # a header sits above its first child (layout only, drawn as nothing; one edge per header:
    # one to every child made `dot` 10x slower on a 760-node script, 19.7 s against 1.7 s)
    for parent, kids in d.children.items():
        if parent is not None:
            out.append(f"  n{parent} -> n{kids[0]} [style=invis, weight=2];")
    out.append("}")
    return "\n".join(out) + "\n"


# -- Mermaid ---------------------------------------------------------------------------------

_MERMAID_ESCAPES = str.maketrans(
    {
        '"': "#quot;",
        "#": "#35;",
        "&": "#amp;",
        "<": "#lt;",
        ">": "#gt;",
        "`": "#96;",
        "|": "#124;",
        "%": "#37;",
        "\n": "<br/>",
    }
)


def mermaid_string(text: str) -> str:
    """A Mermaid quoted label showing `text` literally: the characters that could end the string,
    start markup or a comment become entity codes, newlines become `<br/>`.

    A line holding a label must end in `;`: before parsing, Mermaid drops the last `;` of any
    line matching `style.*:\\S*#.*;` (or `classDef...`), which would break the entity `#35;` in a
    label like `style n1 fill:#f00`; the terminator is the `;` it drops."""
    return '"' + text.translate(_MERMAID_ESCAPES) + '"'


def _mermaid_node(nid: int, node: dict[str, Any], indent: str, *, head: bool) -> str:
    label = mermaid_string(header_label(nid, node) if head else node_label(nid, node))
    if _kind(node) != "command":
        shape = f"([{label}])"
    elif node.get("barrier"):
        shape = f"[[{label}]]"
    else:
        shape = f"[{label}]"
    return f"{indent}n{nid}{shape}:::{verdict_of(node)};"


def to_mermaid(doc: dict[str, Any]) -> str:
    """The workflow as a Mermaid flowchart."""
    d = _Doc(doc)
    out = ["flowchart TB"]
    if d.title:
        out.append(f"  title_[{mermaid_string(visible(d.title))}]:::title;")
    out.append('  subgraph legend ["legend"]')
    for name in VERDICT_COLORS:
        out.append(f'    legend_{name}["{name}"]:::{name};')
    arrows = " · ".join(f"{k} {a}" for k, (_, _, a) in EDGE_STYLES.items())
    out.append(f"    legend_edges[{mermaid_string('edges: ' + arrows)}]:::none;")
    out.append("  end")
    depth = 1
    background: list[str] = []
    for what, nid in d.walk():
        node = d.nodes[nid]
        indent = "  " * min(depth, _MAX_INDENT)
        if node.get("background") and what != "leave":
            background.append(f"n{nid}")
        if what == "node":
            out.append(_mermaid_node(nid, node, indent, head=False))
        elif what == "enter":
            title = mermaid_string(_cluster_title(node))
            out.append(f"{indent}subgraph c{nid} [{title}];")
            out.append(_mermaid_node(nid, node, indent + "  ", head=True))
            depth += 1
        else:
            depth -= 1
            out.append(f"{'  ' * min(depth, _MAX_INDENT)}end")
    by_kind: dict[str, list[str]] = {}
    for i, e in enumerate(d.edges):
        kind = e.get("kind")
        kind = kind if isinstance(kind, str) and kind in EDGE_STYLES else "other"
        arrow = EDGE_STYLES.get(kind, _OTHER_EDGE)[2]
        out.append(
            f"  n{e['from']} {arrow}|{mermaid_string(visible(str(e.get('kind'))))}| n{e['to']};"
        )
        by_kind.setdefault(kind, []).append(str(i))
    for name, (fill, border) in VERDICT_COLORS.items():
        out.append(f"  classDef {name} fill:{fill},stroke:{border},color:#000000")
    out.append("  classDef title fill:none,stroke:none,color:#000000")
    out.append("  classDef background stroke-dasharray:4 3")
    if background:
        out.append(f"  class {','.join(background)} background")
    for kind in sorted(by_kind):
        color = EDGE_STYLES.get(kind, _OTHER_EDGE)[0]
        width = "3px" if kind == "control" else "1.5px"
        out.append(f"  linkStyle {','.join(by_kind[kind])} stroke:{color},stroke-width:{width}")
    return "\n".join(out) + "\n"
