"""compile/load.py: reading (hand-edited) workflow documents, errors at `file:line:col`.

Golden files: fixtures/workflows/bad/NAME.expected is the rendered error for NAME.json. To
rewrite them after a deliberate change, run with BASHFLOW_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bashflow.cli import main
from bashflow.compile.load import WorkflowError, _Scanner, load_workflow, load_workflow_file
from bashflow.compile.wfmodel import Settings, WorkflowDoc
from bashflow.errors import EXIT_USAGE
from bashflow.render import render_error

ROOT = Path(__file__).resolve().parents[2]
WF = ROOT / "fixtures" / "workflows"
GOOD = sorted(WF.glob("*.json"))
BAD = sorted((WF / "bad").glob("*.json"))
UPDATE = os.environ.get("BASHFLOW_UPDATE_GOLDEN") == "1"


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_fixtures", WF / "build_fixtures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_fixtures_are_what_the_builder_writes() -> None:
    b = builder()
    assert sorted(p.name for p in GOOD) == sorted(b.DOCUMENTS)
    for name, make in b.DOCUMENTS.items():
        assert (WF / name).read_text(encoding="utf-8") == b.dumps(make()), (
            f"fixtures/workflows/{name} is stale: run python3 fixtures/workflows/build_fixtures.py"
        )
    bad = b.bad_documents()
    assert sorted(p.stem for p in BAD) == sorted(bad)
    for name, data in bad.items():
        assert (WF / "bad" / f"{name}.json").read_bytes() == data


def test_fixture_scripts_are_bash(bash_path: str) -> None:
    """The hand-written documents describe scripts that bash and bashflow both parse."""
    import subprocess

    import bashflow

    for path in GOOD:
        doc = json.loads(path.read_text(encoding="utf-8"))
        text = doc["source"]["text"]
        bashflow.parse(text, doc["source"]["filename"])
        data = text.encode("utf-8", "surrogateescape")
        assert subprocess.run([bash_path, "-n"], input=data, check=False).returncode == 0


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_document_loads(path: Path) -> None:
    data = path.read_bytes()
    doc = load_workflow(data, rel(path))
    raw = json.loads(data)
    assert doc.id == raw["id"]
    assert len(doc.nodes) == len(raw["nodes"]) and len(doc.edges) == len(raw["edges"])
    if path.name != "tiny.json":  # tiny leaves node settings to the defaults on purpose
        assert doc.to_data() == raw


def test_str_and_bytes_give_the_same_document() -> None:
    data = (WF / "build.json").read_bytes()
    assert load_workflow(data, "b") == load_workflow(data.decode("utf-8"), "b")


def test_undecodable_script_bytes_survive() -> None:
    doc = load_workflow((WF / "hostile.json").read_bytes(), "hostile.json")
    assert doc.source.text.endswith("echo \udcff\n")
    assert doc.nodes[-1].words == ["echo", "\udcff"]
    assert "\x1b[31m" in doc.nodes[10].text


def test_settings_come_from_defaults_where_a_node_leaves_them_out() -> None:
    doc = load_workflow((WF / "tiny.json").read_bytes(), "tiny.json")
    second = doc.settings_for(2)
    assert second.priority == 9  # its own
    assert second.retry.max_attempts == 2  # its own, inside retry
    assert second.retry.initial_delay_seconds == 0.5  # the rest of retry from defaults
    assert second.timeout_seconds == 120 and second.pool == "io"  # from defaults
    first = doc.settings_for(1)  # every field written: defaults do not apply
    assert first.timeout_seconds is None and first.pool is None and first.priority == 5
    assert first.retry.initial_delay_seconds == 1.0


def test_settings_merge_is_field_by_field() -> None:
    base = Settings.model_validate({"priority": 1, "retry": {"jitter": 0.5, "max_attempts": 4}})
    over = Settings.model_validate({"retry": {"retry_on": {"timeout": True}}})
    merged = over.merged_over(base)
    assert merged.priority == 1
    assert merged.retry.jitter == 0.5 and merged.retry.max_attempts == 4
    assert merged.retry.retry_on.timeout is True
    assert Settings().merged_over(base) == base


def expected_path(path: Path) -> Path:
    return path.with_suffix(".expected")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_document_golden(path: Path) -> None:
    with pytest.raises(WorkflowError) as info:
        load_workflow(path.read_bytes(), rel(path))
    err = info.value
    assert err.exit_code == EXIT_USAGE == 2
    assert err.line >= 1 and err.col >= 1, "every error has a place"
    text = render_error(err) + "\n"
    golden = expected_path(path)
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"missing golden {rel(golden)} (BASHFLOW_UPDATE_GOLDEN=1 writes it)"
    assert text == golden.read_text(encoding="utf-8")


def test_every_stage_has_bad_fixtures() -> None:
    stages = {stage for stage, _ in builder().BAD.values()}
    assert stages == {"json", "schema", "consistency"}


def test_cli_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "workflow", "--check", str(WF / "build.json")]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    bad = WF / "bad" / "priority_range.json"
    assert main(["schema", "workflow", "--check", rel(bad)]) == 2
    assert capsys.readouterr().err == expected_path(bad).read_text(encoding="utf-8")
    assert main(["schema", "workflow", "--check", str(WF / "nonexistent.json")]) == 2
    assert "cannot read workflow" in capsys.readouterr().err
    assert main(["schema", "policy", "--check", str(WF / "build.json")]) == 2


def test_load_workflow_file_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    data = (WF / "tiny.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert load_workflow_file("-").id == json.loads(data)["id"]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    for text in ("[" * 200_000 + "]" * 200_000, '{"schema": ' + "[" * 200_000):
        with pytest.raises(WorkflowError) as info:
            load_workflow(text, "deep.json")
        assert info.value.line == 1


def test_errors_inside_nested_lists_are_placed() -> None:
    raw = json.loads((WF / "control.json").read_bytes())
    good = {"kind": "file", "path": "/a", "name": None}
    raw["nodes"][4]["reads"] = [good, {**good, "kind": "bogus"}]
    text = json.dumps(raw, indent=1)
    with pytest.raises(WorkflowError) as info:
        load_workflow(text, "c.json")
    err = info.value
    assert err.message.startswith("nodes[4].reads[1].kind: Input should be 'file'")
    assert text[err.span.start : err.span.end] == '"bogus"'
    raw["nodes"][4]["reads"] = [good, {"kind": "bogus"}]
    text = json.dumps(raw, indent=1)
    with pytest.raises(WorkflowError) as info:
        load_workflow(text, "c.json")
    # the first error in the text is the object that lacks keys: its place is its first line
    assert info.value.message == "nodes[4].reads[1]: missing key `path` (and 2 more errors)"
    assert text[info.value.span.start] == "{"


def test_a_valid_document_can_be_edited_and_reloaded() -> None:
    raw = json.loads((WF / "build.json").read_bytes())
    edited = copy.deepcopy(raw)
    edited["nodes"][12]["settings"]["retry"]["max_attempts"] = 5
    del edited["nodes"][0]["settings"]
    doc = load_workflow(json.dumps(edited), "edited.json")
    assert doc.settings_for(13).retry.max_attempts == 5
    assert doc.settings_for(1) == doc.defaults


# -- the position scanner ---------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=25,
)


def paths(
    value: Any, prefix: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], Any]]:
    out = [(prefix, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from([None, 0, 2]), st.booleans())
def test_scanner_finds_every_value(value: Any, indent: int | None, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    scanner = _Scanner(text)
    for path, sub in paths(value):
        where = scanner.find(path)
        assert where.path == path
        assert json.loads(text[where.value_span.start : where.value_span.end]) == sub
        if path and isinstance(path[-1], str):
            assert json.loads(text[where.key_span.start : where.key_span.end]) == path[-1]


def test_scanner_skips_parts_that_name_nothing() -> None:
    text = '{"a": {"b": [1, {"c": 2}]}}'
    where = _Scanner(text).find(("a", "function-after[x]", "b", 1, "c"))
    assert where.path == ("a", "b", 1, "c") and text[where.value_span.start] == "2"
    missing = _Scanner(text).find(("a", "zz"))
    assert missing.missing == "zz" and missing.path == ("a",)


def test_model_is_frozen() -> None:
    doc = load_workflow((WF / "tiny.json").read_bytes(), "tiny.json")
    with pytest.raises(ValueError):
        doc.nodes[0].settings.priority = 3  # type: ignore[misc]
    assert isinstance(doc, WorkflowDoc)


@pytest.mark.slow
@given(
    st.text(alphabet=st.sampled_from(["a", "\n", "é", "→", "😀", "\udcff", "\x00"]), max_size=30)
)
def test_byte_offsets_map_to_characters(text: str) -> None:
    from bashflow.compile.load import _ByteToChar

    to_char = _ByteToChar(text)
    data = text.encode("utf-8", "surrogateescape")
    boundaries = {len(text[:i].encode("utf-8", "surrogateescape")): i for i in range(len(text) + 1)}
    for offset in range(len(data) + 1):
        assert to_char(offset) == boundaries.get(offset)


def leaves(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    return [path for path, _ in paths(value, prefix)]


def replaced(doc: Any, path: tuple[str | int, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.copy(doc)
    out[path[0]] = replaced(doc[path[0]], path[1:], new)
    return out


TINY = json.loads((WF / "tiny.json").read_bytes())
TINY_PATHS = leaves(TINY)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TINY_PATHS), json_values, st.sampled_from([None, 1]))
def test_any_edit_is_loaded_or_located(path: tuple[str | int, ...], new: Any, indent: Any) -> None:
    """Whatever a person writes in place of any value, loading gives the document or a located
    WorkflowError, never another exception."""
    text = json.dumps(replaced(TINY, path, new), indent=indent)
    try:
        load_workflow(text, "edited.json")
    except WorkflowError as err:
        assert err.line >= 1 and err.col >= 1
        render_error(err)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**6), st.sampled_from(["", "x", "{", "}", '"', ",", "]", "\\", "é", "\x00"])
)
def test_any_text_damage_is_located(where: int, insert: str) -> None:
    text = (WF / "tiny.json").read_text(encoding="utf-8")
    at = where % (len(text) + 1)
    damaged = text[:at] + insert + text[at + 1 :]
    try:
        load_workflow(damaged, "damaged.json")
    except WorkflowError as err:
        assert err.line >= 1 and err.col >= 1


def test_a_long_cycle_is_reported_short() -> None:
    raw = json.loads((WF / "control.json").read_bytes())
    n = len(raw["nodes"])
    raw["edges"] = [
        {"from": i, "to": i % n + 1, "kind": "order", "reason": "r"} for i in range(1, n + 1)
    ]
    with pytest.raises(WorkflowError) as info:
        load_workflow(json.dumps(raw), "c.json")
    msg = info.value.message
    assert msg.startswith(f"edges[{n - 1}]: the edges form a cycle: 1 -> 2 -> 3 -> 4 -> 5 -> ...")
    assert msg.endswith(f"({n + 1 - 10} more) -> {n - 3} -> {n - 2} -> {n - 1} -> {n} -> 1")


def test_nan_is_found_outside_strings() -> None:
    text = (WF / "tiny.json").read_text(encoding="utf-8")
    text = text.replace('"filename": "tiny.sh"', '"filename": "x NaN y"')
    text = text.replace('"timeout_seconds": 120', '"timeout_seconds": -Infinity')
    with pytest.raises(WorkflowError) as info:
        load_workflow(text, "n.json")
    assert text[info.value.span.start :].startswith("-Infinity,")


def test_descendants_follow_their_parent_directly() -> None:
    raw = json.loads((WF / "control.json").read_bytes())
    assert raw["nodes"][11]["id"] == 12 and raw["nodes"][10]["parent"] is None
    raw["nodes"][11]["parent"] = 1  # node 1's subtree ended at node 2
    with pytest.raises(WorkflowError) as info:
        load_workflow(json.dumps(raw), "c.json")
    assert info.value.message.startswith("nodes[11].parent: node 12 is not inside node 1")
    raw["nodes"][11]["parent"] = None
    raw["nodes"][10]["parent"] = 3  # node 11 may continue node 3's subtree (3 > 4 > 8 > 10)
    raw["nodes"][10]["role"] = "function_body"
    raw["nodes"][11]["parent"] = 3
    raw["nodes"][11]["role"] = "function_body"
    load_workflow(json.dumps(raw), "c.json")


def test_compile_edit_check_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a user does: compile, edit settings, check; edit the script text, check again."""
    script = ROOT / "fixtures" / "scripts" / "data_pipeline.sh"
    out = tmp_path / "wf.json"
    assert main(["compile", str(script), "-o", str(out), "--indent", "2", "--cwd", "/w"]) == 0
    assert main(["schema", "workflow", "--check", str(out)]) == 0
    raw = json.loads(out.read_bytes())
    raw["defaults"]["retry"]["max_attempts"] = 3
    raw["nodes"][0]["settings"] = {"timeout_seconds": 2.5, "pool": "cpu"}
    out.write_text(json.dumps(raw, indent=2))
    assert main(["schema", "workflow", "--check", str(out)]) == 0
    doc = load_workflow_file(str(out))
    first = doc.settings_for(1)
    assert (first.timeout_seconds, first.pool, first.retry.max_attempts) == (2.5, "cpu", 3)
    raw["source"]["text"] = raw["source"]["text"].replace("seq 1 200", "seq 1 300")
    out.write_text(json.dumps(raw, indent=2))
    capsys.readouterr()
    assert main(["schema", "workflow", "--check", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{out}:")
    assert "source.sha256: does not match `source.text`" in err
