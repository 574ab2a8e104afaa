"""compile/render.py: DOT and Mermaid pictures of workflow documents.

Oracles: Graphviz itself (`dot -Tsvg` for the text it shows, `dot -Tjson` for clusters, edges
and styles); for Mermaid a structural checker, and the real Mermaid parser when
BASHFLOW_MERMAID_MODULES names a node_modules holding `mermaid` and `jsdom` (all in
picture_oracles.py).

Goldens: fixtures/workflows/NAME.dot and NAME.mmd; BASHFLOW_UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from picture_oracles import (
    DOT,
    MERMAID_MODULES,
    NODE,
    Chart,
    Drawn,
    MermaidError,
    check_mermaid,
    graphviz,
    mermaid_oracle,
)

from bashflow.compile.render import (
    EDGE_STYLES,
    VERDICT_COLORS,
    header_label,
    node_label,
    shorten,
    to_dot,
    to_mermaid,
    tooltip_text,
    visible,
)

ROOT = Path(__file__).resolve().parents[2]
WF = ROOT / "fixtures" / "workflows"
NAMES = sorted(p.stem for p in WF.glob("*.json"))
UPDATE = os.environ.get("BASHFLOW_UPDATE_GOLDEN") == "1"
needs_dot = pytest.mark.skipif(
    DOT is None, reason="Graphviz `dot` is not installed (apt-get install graphviz)"
)


def load(name: str) -> dict[str, Any]:
    return json.loads((WF / f"{name}.json").read_bytes())


# -- goldens and stability ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("render", "suffix"), [(to_dot, ".dot"), (to_mermaid, ".mmd")])
def test_golden(name: str, render: Any, suffix: str) -> None:
    text = render(load(name))
    golden = WF / f"{name}{suffix}"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_same_document_same_text(name: str) -> None:
    doc = load(name)
    again = json.loads(json.dumps(doc))
    assert to_dot(doc) == to_dot(again) == to_dot(copy.deepcopy(doc))
    assert to_mermaid(doc) == to_mermaid(again)
    assert doc == load(name), "rendering must not change the document"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_loaded_and_raw_documents_draw_the_same(name: str) -> None:
    from bashflow.compile.load import load_workflow

    doc = load(name)
    # tiny's partial node settings are filled in by the model: pictures ignore settings
    data = load_workflow((WF / f"{name}.json").read_bytes(), name).to_data()
    assert to_dot(data) == to_dot(doc) and to_mermaid(data) == to_mermaid(doc)


def test_output_is_encodable_text() -> None:
    """Undecodable script bytes (surrogates) never reach the output."""
    for name in NAMES:
        to_dot(load(name)).encode("utf-8")
        to_mermaid(load(name)).encode("utf-8")


# -- labels ------------------------------------------------------------------------------------

VISIBLE = [
    ("plain text", "plain text"),
    ("tab\there", "tab\\there"),
    ("esc\x1b[0m", "esc\\x1b[0m"),
    ("nul\x00", "nul\\x00"),
    ("del\x7f", "del\\x7f"),
    ("c1\x85", "c1\\x85"),
    ("bidi\u202eevil", "bidi\\u202eevil"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("byte\udcff", "byte\\xff"),
    ("naïve → 😀", "naïve → 😀"),
    ("two\nlines", "two\nlines"),
]


@pytest.mark.parametrize(("raw", "shown"), VISIBLE)
def test_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_shorten() -> None:
    assert shorten("a  b\n\tc") == "a b c"
    long = "x" * 100
    assert shorten(long) == "x" * 59 + "…" and len(shorten(long)) == 60
    assert shorten("y" * 60) == "y" * 60


def test_label_falls_back_to_text_then_kind() -> None:
    assert node_label(3, {"label": "cp a b", "text": "ignored"}) == "3: cp a b"
    assert node_label(3, {"text": "cp   a\n b"}) == "3: cp a b"
    assert node_label(3, {"kind": "for"}) == "3: for"
    assert node_label(3, {"label": "z" * 70}) == "3: " + "z" * 59 + "…"


# -- Graphviz draws what the document says ------------------------------------------------------


def nodes_with_children(doc: dict[str, Any]) -> set[int]:
    return {n["parent"] for n in doc["nodes"] if n.get("parent") is not None}


def check_dot_drawing(doc: dict[str, Any], drawn: Drawn) -> None:
    """Everything the document says is in Graphviz's drawing, shown exactly."""
    parents = nodes_with_children(doc)
    for node in doc["nodes"]:
        nid = node["id"]
        name = f"n{nid}"
        label = header_label(nid, node) if nid in parents else node_label(nid, node)
        assert drawn.labels[name] == label, name
        fill, border = VERDICT_COLORS[(node.get("verdict") or {}).get("decision", "none")]
        assert drawn.objects[name]["fillcolor"] == fill and drawn.objects[name]["color"] == border
        assert ("peripheries" in drawn.objects[name]) == bool(node.get("barrier"))
        assert ("dashed" in drawn.objects[name]["style"]) == bool(node.get("background"))
        expected_cluster = (
            f"cluster_n{nid}"
            if nid in parents
            else (f"cluster_n{node['parent']}" if node.get("parent") else None)
        )
        assert drawn.cluster_of[name] == expected_cluster, name
        if nid in parents:
            parent = node.get("parent")
            assert drawn.cluster_parent[f"cluster_n{nid}"] == (
                f"cluster_n{parent}" if parent else None
            )
    edges = [
        {
            "from": f"n{e['from']}",
            "to": f"n{e['to']}",
            "label": e["kind"],
            "style": EDGE_STYLES[e["kind"]][1],
            "color": EDGE_STYLES[e["kind"]][0],
        }
        for e in doc["edges"]
    ]

    def key(e: dict[str, Any]) -> str:
        return json.dumps(e, sort_keys=True)

    assert sorted(drawn.edges, key=key) == sorted(edges, key=key)  # -Tjson reorders edges


@pytest.mark.slow
@needs_dot
@pytest.mark.parametrize("name", NAMES)
def test_graphviz_draws_the_fixtures(name: str, tmp_path: Path) -> None:
    doc = load(name)
    drawn = graphviz(to_dot(doc), tmp_path)
    check_dot_drawing(doc, drawn)
    assert drawn.title == visible(f"{doc['id']} {doc['source']['filename']}")
    for node in doc["nodes"]:
        assert drawn.tooltips[f"n{node['id']}"].split("\n")[0] == tooltip_text(
            node["text"].split("\n")[0]
        )


@pytest.mark.slow
@needs_dot
def test_graphviz_shows_hostile_labels_literally(tmp_path: Path) -> None:
    doc = load("hostile")
    drawn = graphviz(to_dot(doc), tmp_path)
    # written out by hand: what a reader must see
    assert drawn.labels["n1"] == (
        '1: echo "]; evil" \'"] --> x\' `id` "\\\\" \'%%{init: {}}%%\' "<b>{x…'
    )
    assert drawn.labels["n4"] == "4: printf 'naïve ünïcode → 😀\\n'"
    assert drawn.labels["n10"] == "10: style n1 fill:#f00"
    assert drawn.labels["n11"] == "11: echo \\x1b[31mred\\x1b[0m tab"
    assert drawn.labels["n13"] == "13: echo \\xff"
    assert drawn.title == doc["id"] + " hostile'\"<>.sh"


# -- Mermaid shows what the document says -------------------------------------------------------


def check_mermaid_chart(doc: dict[str, Any], chart: Chart) -> None:
    parents = nodes_with_children(doc)
    for node in doc["nodes"]:
        nid = node["id"]
        label, shape, cls, sub = chart.nodes[f"n{nid}"]
        assert label == (header_label(nid, node) if nid in parents else node_label(nid, node))
        assert cls == (node.get("verdict") or {}).get("decision", "none")
        assert ("background" in chart.classes[f"n{nid}"]) == bool(node.get("background"))
        if node.get("kind", "command") != "command":
            assert shape == "(["
        else:
            assert shape == ("[[" if node.get("barrier") else "[")
        if nid in parents:
            assert sub == f"c{nid}"
            parent = node.get("parent")
            assert chart.subgraphs[f"c{nid}"][1] == (f"c{parent}" if parent else None)
        else:
            assert sub == (f"c{node['parent']}" if node.get("parent") else None)
    assert chart.edges == [
        (f"n{e['from']}", EDGE_STYLES[e["kind"]][2], e["kind"], f"n{e['to']}") for e in doc["edges"]
    ]


@pytest.mark.parametrize("name", NAMES)
def test_mermaid_structure(name: str) -> None:
    doc = load(name)
    chart = check_mermaid(to_mermaid(doc))
    check_mermaid_chart(doc, chart)
    assert set(VERDICT_COLORS) <= {c for cs in chart.classes.values() for c in cs}  # legend


def test_mermaid_hostile_labels_decode_to_the_text() -> None:
    doc = load("hostile")
    chart = check_mermaid(to_mermaid(doc))
    assert chart.nodes["n1"][0] == (
        '1: echo "]; evil" \'"] --> x\' `id` "\\\\" \'%%{init: {}}%%\' "<b>{x…'
    )
    assert chart.nodes["n10"][0] == "10: style n1 fill:#f00"
    assert chart.nodes["title_"][0] == doc["id"] + " hostile'\"<>.sh"


BROKEN = [
    'flowchart TB\n  n1["a"b"]:::none;\n',
    'flowchart TB\n  n1["a`b"]:::none;\n',
    'flowchart TB\n  n1["a %% b"]:::none;\n',
    'flowchart TB\n  n1["a"]:::none;\n  subgraph c1 ["x"];\n',
    "flowchart TB\n  end\n",
    'flowchart TB\n  n1["a"]:::none;\n  n1 -->|"x"| n2;\n',
    'flowchart TB\n  end["a"]:::none;\n',
    'flowchart TB\n  n1["a"]:::none;\n  n1["b"]:::none;\n',
    'flowchart TB\n  n1(["a"]]:::none;\n',
    'flowchart TB\n  n1["a"]:::none;\n  click n1 call alert(1)\n',
    'flowchart TB\n  n1["a #x b"]:::none;\n',
    'flowchart TB\n  n1["a"]:::nope;\n',
]


@pytest.mark.parametrize("text", BROKEN)
def test_mermaid_checker_catches_breakage(text: str) -> None:
    with pytest.raises(MermaidError):
        check_mermaid(text)


# -- hostile labels, generated ------------------------------------------------------------------

PIECES = [
    '"', "\\", "&", "&amp;", "#", "#35;", "%%", "`", "<", ">", "<br/>", "{", "}", "|", "[", "]",
    "(", ")", ";", "-->", "==>", "-.->", "end", "subgraph", "style n1 fill:#f00;", "classDef x",
    "click", "\n", "\t", "\x1b", "\udcff", "\u202e", "é", "😀", "→", " ", "a", "Z", "0", "\\n",
    "\\N", "\\G", "\\l", "'", "$(x)", "*", "%",
]  # fmt: skip
labels = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)


def generated_doc(texts: list[str], kinds: list[str]) -> dict[str, Any]:
    """A document with the given node labels (texts) and edge kinds, nested every third node."""
    nodes = []
    for i, text in enumerate(texts, 1):
        parent = i - 1 if i % 3 == 0 else None
        nodes.append(
            {
                "id": i,
                "kind": "for" if i % 3 == 2 else "command",
                "parent": parent,
                "label": text,
                "text": text,
                "verdict": {"decision": ["allow", "deny", "unknown"][i % 3], "findings": []},
                "barrier": i % 4 == 0,
                "background": i % 5 == 0,
            }
        )
    edges = [
        {"from": i, "to": i + 1, "kind": kind, "reason": texts[i - 1]}
        for i, kind in enumerate(kinds, 1)
        if i < len(texts)
    ]
    return {"id": "wf-x", "source": {"filename": texts[0]}, "nodes": nodes, "edges": edges}


@pytest.mark.slow
@needs_dot
@settings(max_examples=25, deadline=None)
@given(
    st.lists(labels, min_size=1, max_size=8),
    st.lists(st.sampled_from(sorted(EDGE_STYLES)), max_size=8),
)
def test_generated_labels_survive_graphviz(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], kinds: list[str]
) -> None:
    doc = generated_doc(texts, kinds)
    drawn = graphviz(to_dot(doc), tmp_path_factory.mktemp("g"))
    check_dot_drawing(doc, drawn)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(labels, min_size=1, max_size=8), st.lists(labels, max_size=8))
def test_generated_labels_survive_mermaid(texts: list[str], kinds: list[str]) -> None:
    doc = generated_doc(texts, ["data"] * len(kinds))
    chart = check_mermaid(to_mermaid(doc))
    check_mermaid_chart(doc, chart)
    # unknown edge kinds (a hand edit) are drawn as `order`-like edges, their text escaped
    for e, kind in zip(doc["edges"], kinds, strict=False):
        e["kind"] = kind
    chart = check_mermaid(to_mermaid(doc))
    assert [label for _, _, label, _ in chart.edges] == [
        visible(str(e["kind"])) for e in doc["edges"]
    ]


# -- tolerance of edited / malformed documents --------------------------------------------------

MALFORMED: list[dict[str, Any]] = [
    {},
    {"nodes": "x", "edges": None},
    {"nodes": [None, 3, {"id": "1"}, {"id": True}, {"id": 2, "parent": 2}, {"id": 1, "parent": 9}]},
    {"nodes": [{"id": 1, "parent": 2}, {"id": 2, "parent": 1}], "edges": [{"from": 1, "to": 2}]},
    {"nodes": [{"id": 1}], "edges": [{"from": 1, "to": 7, "kind": "data"}, {"from": "1", "to": 1}]},
    {"nodes": [{"id": -5}, {"id": 0}, {"id": 1, "parent": -5}], "edges": [{"from": -5, "to": 0, "kind": "data"}]},
    {"nodes": [{"id": 1, "kind": 'x"] --> y', "label": None, "verdict": {"decision": "maybe"}}]},
    {"nodes": [{"id": 1, "kind": "for"}, {"id": 2, "parent": 1}], "edges": [{"from": 1, "to": 2, "kind": '"]'}]},
    {"id": 'x";', "source": {"filename": "\n}\ndigraph"}, "nodes": [{"id": 1, "reads": [{"path": 3}], "writes": "x"}]},
]  # fmt: skip


@pytest.mark.parametrize("doc", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_documents_still_draw(doc: dict[str, Any], tmp_path: Path) -> None:
    check_mermaid(to_mermaid(doc))
    dot_text = to_dot(doc)
    if DOT is not None:
        graphviz(dot_text, tmp_path)


@pytest.mark.slow
def test_deep_nesting_does_not_recurse() -> None:
    n = 5000
    nodes = [
        {"id": i, "kind": "group", "parent": i - 1 if i > 1 else None} for i in range(1, n + 1)
    ]
    doc = {"nodes": nodes, "edges": []}
    text = to_mermaid(doc)
    chart = check_mermaid(text)
    assert len(chart.subgraphs) == n - 1 + 1  # every node but the last, plus the legend
    dot_text = to_dot(doc)
    assert dot_text.count("subgraph cluster_") == n - 1


# -- the compiler's own documents -----------------------------------------------------------------

SCRIPTS = sorted((ROOT / "fixtures" / "scripts").glob("*.sh"))


def compiled(path: Path) -> dict[str, Any]:
    from bashflow.compile import compile_script

    doc: dict[str, Any] = compile_script(
        path.read_bytes(), filename=path.name, policy="workspace", cwd="/w", home="/h"
    ).to_json()
    return doc


@pytest.mark.slow
@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_compiled_scripts_draw(path: Path, tmp_path: Path) -> None:
    doc = compiled(path)
    check_mermaid_chart(doc, check_mermaid(to_mermaid(doc)))
    if DOT is not None:
        check_dot_drawing(doc, graphviz(to_dot(doc), tmp_path))


# -- the real Mermaid, when it is there ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not (MERMAID_MODULES and NODE),
    reason="set BASHFLOW_MERMAID_MODULES to a node_modules with mermaid and jsdom "
    "(npm install mermaid jsdom) to parse with the real Mermaid",
)
def test_real_mermaid_parses_and_decodes(tmp_path: Path) -> None:
    docs = {name: load(name) for name in NAMES}
    docs["generated"] = generated_doc(PIECES, sorted(EDGE_STYLES))
    docs["malformed"] = MALFORMED[6]
    docs.update({path.name: compiled(path) for path in SCRIPTS})
    files = []
    for name, doc in docs.items():
        path = tmp_path / f"{name}.mmd"
        path.write_text(to_mermaid(doc), encoding="utf-8")
        files.append(path)
    for name, result in zip(docs, mermaid_oracle(files), strict=True):
        assert result["ok"], (name, result["error"])
        doc = docs[name]
        if name == "malformed":
            continue
        vertices = result["vertices"]
        parents = nodes_with_children(doc)
        for node in doc["nodes"]:
            v = vertices[f"n{node['id']}"]
            nid = node["id"]
            shown = header_label(nid, node) if nid in parents else node_label(nid, node)
            assert v["text"] == shown, (name, nid)
            verdict = (node.get("verdict") or {}).get("decision", "none")
            assert v["classes"][0] == verdict
        subgraphs = {s["id"]: s for s in result["subgraphs"]}
        for nid in parents:
            members = subgraphs[f"c{nid}"]["nodes"]
            kids = [n["id"] for n in doc["nodes"] if n.get("parent") == nid]
            assert f"n{nid}" in members
            assert all((f"c{k}" if k in parents else f"n{k}") in members for k in kids)
        strokes = {"-->": "normal", "-.->": "dotted", "==>": "thick"}
        assert [(e["start"], e["end"], e["text"], e["stroke"]) for e in result["edges"]] == [
            (f"n{e['from']}", f"n{e['to']}", e["kind"], strokes[EDGE_STYLES[e["kind"]][2]])
            for e in doc["edges"]
        ]


json_leaf = st.none() | st.booleans() | st.integers(-3, 12) | st.floats(allow_nan=False) | labels
node_dicts = st.dictionaries(
    st.sampled_from(
        ["id", "kind", "parent", "label", "text", "verdict", "barrier", "background", "reads"]
    ),
    json_leaf | st.fixed_dictionaries({"decision": json_leaf}) | st.lists(json_leaf, max_size=3),
)
edge_dicts = st.dictionaries(st.sampled_from(["from", "to", "kind", "reason"]), json_leaf)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(node_dicts, max_size=10), st.lists(edge_dicts, max_size=10), json_leaf)
def test_any_edited_document_draws(nodes: list[Any], edges: list[Any], title: Any) -> None:
    """Whatever an edit left in the document, both pictures come out well formed."""
    doc = {"id": title, "source": {"filename": title}, "nodes": nodes, "edges": edges}
    check_mermaid(to_mermaid(doc))
    text = to_dot(doc)
    assert text.startswith("digraph workflow {\n") and text.endswith("}\n")
    assert text.count("{") - text.count("}") == sum(
        line.count("{") - line.count("}") for line in text.split("\n") if "label=" in line
    )
