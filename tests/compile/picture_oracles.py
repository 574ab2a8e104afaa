"""Oracles for the pictures (tests/compile/test_render.py).

* `graphviz(dot_text, tmp)`: what Graphviz makes of a DOT text: the text each node and cluster
  shows (`dot -Tsvg`), and clusters, nesting, edges and styles (`dot -Tjson`).
* `check_mermaid(text)`: a structural checker for the Mermaid this renderer writes (every line
  one known statement, balanced subgraph/end, valid and unique ids, edges between defined nodes,
  labels with nothing unescaped), returning the chart with labels decoded as Mermaid shows them.
* `mermaid_oracle(files)`: the real Mermaid parser (mermaid_oracle.mjs) when
  BASHFLOW_MERMAID_MODULES names a node_modules with `mermaid` and `jsdom`.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOT = shutil.which("dot")
NODE = shutil.which("node")
MERMAID_MODULES = os.environ.get("BASHFLOW_MERMAID_MODULES")

# -- Graphviz as the oracle for DOT ---------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


@dataclass
class Drawn:
    """What Graphviz made of a DOT text."""

    labels: dict[str, str] = field(default_factory=dict)  # node / cluster name -> shown text
    tooltips: dict[str, str] = field(default_factory=dict)
    title: str = ""
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # from -Tjson
    edges: list[dict[str, Any]] = field(default_factory=list)
    cluster_of: dict[str, str | None] = field(default_factory=dict)  # node -> innermost cluster
    cluster_parent: dict[str, str | None] = field(default_factory=dict)


def graphviz(dot_text: str, tmp: Path) -> Drawn:
    assert DOT is not None
    src = tmp / "g.dot"
    src.write_text(dot_text, encoding="utf-8")
    svg_path, json_path = tmp / "g.svg", tmp / "g.json"
    run = subprocess.run(
        [DOT, "-Tsvg", "-o", str(svg_path), "-Tjson", "-o", str(json_path), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and "Error" not in run.stderr and "Warning" not in run.stderr, (
        run.stderr
    )
    out = Drawn()
    root = ET.parse(svg_path).getroot()
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class")
        title = g.find(f"{SVG}title")
        name = title.text if title is not None and title.text else ""
        texts = ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
        shown = "\n".join(texts).replace("\xa0", " ")
        if kind in ("node", "cluster"):
            out.labels[name] = shown
            for a in g.iter(f"{SVG}a"):
                out.tooltips[name] = a.get(f"{XLINK}title", "")
                break
        elif kind == "graph":
            own = [c for c in g if c.tag == f"{SVG}text"]
            out.title = "".join("".join(t.itertext()) for t in own).replace("\xa0", " ")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    objects = data.get("objects", [])
    by_gvid = {o["_gvid"]: o for o in objects}
    out.objects = {o["name"]: o for o in objects}
    clusters = [o for o in objects if o["name"].startswith("cluster_")]
    for o in objects:
        if o["name"].startswith("cluster_"):
            continue
        holding = [c for c in clusters if o["_gvid"] in c.get("nodes", [])]
        inner = min(holding, key=lambda c: len(c.get("nodes", [])), default=None)
        out.cluster_of[o["name"]] = inner["name"] if inner else None
    for c in clusters:
        parents = [p for p in clusters if c["_gvid"] in p.get("subgraphs", [])]
        out.cluster_parent[c["name"]] = parents[0]["name"] if parents else None
    for e in data.get("edges", []):
        if e.get("style") == "invis":
            continue
        out.edges.append(
            {
                "from": by_gvid[e["tail"]]["name"],
                "to": by_gvid[e["head"]]["name"],
                "label": e.get("label"),
                "style": e.get("style"),
                "color": e.get("color"),
            }
        )
    return out


# -- Mermaid: a structural checker ---------------------------------------------------------------

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"(?P<label>[^"\n]*)"'
RESERVED = {
    "end", "subgraph", "graph", "flowchart", "style", "class", "classDef", "click", "linkStyle",
    "call", "href", "default", "direction", "callback", "interpolate",
}  # fmt: skip
MM_NODE = re.compile(
    rf"^\s*(?P<id>{_ID})(?P<open>\(\[|\[\[|\[){_LABEL}(?P<close>\]\)|\]\]|\]):::(?P<cls>{_ID});$"
)
MM_SUBGRAPH = re.compile(rf"^\s*subgraph (?P<id>{_ID}) \[{_LABEL}\];?$")
MM_EDGE = re.compile(rf"^\s*(?P<a>{_ID}) (?P<arrow>-->|-\.->|==>)\|{_LABEL}\| (?P<b>{_ID});$")
MM_END = re.compile(r"^\s*end$")
MM_CLASSDEF = re.compile(rf"^\s*classDef (?P<id>{_ID}) [a-z-]+:[^,;]+(,[a-z-]+:[^,;]+)*$")
MM_CLASS = re.compile(rf"^\s*class (?P<ids>{_ID}(,{_ID})*) (?P<cls>{_ID})$")
MM_LINKSTYLE = re.compile(
    r"^\s*linkStyle (?P<idx>\d+(,\d+)*) stroke:#[0-9a-f]{6},stroke-width:[\d.]+px$"
)
SHAPES = {"[": "]", "([": "])", "[[": "]]"}


class MermaidError(AssertionError):
    pass


@dataclass
class Chart:
    nodes: dict[str, tuple[str, str, str, str | None]] = field(default_factory=dict)
    """id -> (decoded label, open bracket, class, enclosing subgraph)"""
    subgraphs: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # a, arrow, label, b
    classes: dict[str, set[str]] = field(default_factory=dict)


def decode_label(raw: str, line_no: int) -> str:
    """A label as Mermaid shows it; refuses characters that are not safe unescaped."""
    rest = re.sub(r"#\w+;", "", raw.replace("<br/>", ""))
    for bad in ("`", "%", "|", "<", ">", "&", "#", '"', "\n"):
        if bad in rest:
            raise MermaidError(f"line {line_no}: unescaped {bad!r} in label {raw!r}")

    def entity(m: re.Match[str]) -> str:
        return chr(int(m[1])) if m[1] else html.unescape(f"&{m[2]};")

    return re.sub(r"#(?:(\d+)|([A-Za-z]\w*));", entity, raw.replace("<br/>", "\n"))


def check_mermaid(text: str) -> Chart:
    lines = text.split("\n")
    if lines[0] != "flowchart TB" or lines[-1] != "":
        raise MermaidError("must start with `flowchart TB` and end with a newline")
    chart = Chart()
    stack: list[str] = []
    link_styles: list[int] = []
    classdefs: set[str] = set()
    for no, line in enumerate(lines[1:-1], 2):
        if m := MM_NODE.match(line):
            nid = m["id"]
            if SHAPES[m["open"]] != m["close"]:
                raise MermaidError(f"line {no}: shape {m['open']} closed by {m['close']}")
            if nid in chart.nodes or nid in chart.subgraphs or nid in RESERVED:
                raise MermaidError(f"line {no}: bad or repeated node id {nid}")
            label = decode_label(m["label"], no)
            chart.nodes[nid] = (label, m["open"], m["cls"], stack[-1] if stack else None)
            chart.classes.setdefault(nid, set()).add(m["cls"])
        elif m := MM_SUBGRAPH.match(line):
            sid = m["id"]
            if sid in chart.subgraphs or sid in chart.nodes or sid in RESERVED:
                raise MermaidError(f"line {no}: bad or repeated subgraph id {sid}")
            chart.subgraphs[sid] = (decode_label(m["label"], no), stack[-1] if stack else None)
            stack.append(sid)
        elif MM_END.match(line):
            if not stack:
                raise MermaidError(f"line {no}: `end` without `subgraph`")
            stack.pop()
        elif m := MM_EDGE.match(line):
            for end in (m["a"], m["b"]):
                if end not in chart.nodes:
                    raise MermaidError(f"line {no}: edge end {end} is not a node defined before")
            chart.edges.append((m["a"], m["arrow"], decode_label(m["label"], no), m["b"]))
        elif m := MM_CLASSDEF.match(line):
            classdefs.add(m["id"])
        elif m := MM_CLASS.match(line):
            for nid in m["ids"].split(","):
                if nid not in chart.nodes:
                    raise MermaidError(f"line {no}: class for unknown node {nid}")
                chart.classes[nid].add(m["cls"])
        elif m := MM_LINKSTYLE.match(line):
            link_styles += [int(i) for i in m["idx"].split(",")]
        else:
            raise MermaidError(f"line {no}: not a statement this renderer writes: {line!r}")
    if stack:
        raise MermaidError(f"unclosed subgraphs {stack}")
    if any(i >= len(chart.edges) for i in link_styles) or len(set(link_styles)) != len(link_styles):
        raise MermaidError("linkStyle index out of range or repeated")
    used = {c for cs in chart.classes.values() for c in cs}
    if used - classdefs:
        raise MermaidError(f"classes without classDef: {sorted(used - classdefs)}")
    return chart


# -- the real Mermaid -------------------------------------------------------------------------


def mermaid_oracle(files: list[Path]) -> list[dict[str, Any]]:
    assert NODE is not None and MERMAID_MODULES is not None
    run = subprocess.run(
        [
            NODE,
            str(Path(__file__).with_name("mermaid_oracle.mjs")),
            MERMAID_MODULES,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]
