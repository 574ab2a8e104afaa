"""The workflow document's schema: contract defaults and ranges, the printed JSON Schema, docs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from bashflow.cli import main
from bashflow.compile.wfmodel import Settings, WorkflowDoc, json_schema

ROOT = Path(__file__).resolve().parents[2]
WF = ROOT / "fixtures" / "workflows"

# The contract's Settings defaults, copied from the contract text (not from the code).
CONTRACT_DEFAULTS: dict[str, Any] = {
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


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_defaults_are_the_contracts() -> None:
    assert Settings().model_dump(mode="json") == CONTRACT_DEFAULTS
    assert json.loads(json.dumps(Settings().model_dump())) == CONTRACT_DEFAULTS


def test_every_field_has_a_description() -> None:
    schema = json_schema()
    missing = []
    for name, sub in [("WorkflowDoc", schema), *schema["$defs"].items()]:
        assert sub.get("description"), f"{name} has no description"
        for field, prop in sub.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{name}.{field}")
    assert missing == []


def test_unknown_keys_are_refused_everywhere() -> None:
    schema = json_schema()
    for name, sub in [("WorkflowDoc", schema), *schema["$defs"].items()]:
        assert sub.get("additionalProperties") is False, name


# (settings patch, valid?) at both ends of every range the contract gives
RANGES: list[tuple[dict[str, Any], bool]] = [
    ({"timeout_seconds": None}, True),
    ({"timeout_seconds": 0.001}, True),
    ({"timeout_seconds": 0}, False),
    ({"timeout_seconds": -1}, False),
    ({"timeout_seconds": "5"}, False),
    ({"priority": 0}, True),
    ({"priority": 10}, True),
    ({"priority": -1}, False),
    ({"priority": 11}, False),
    ({"priority": 5.5}, False),
    ({"priority": True}, False),
    ({"pool": "gpu"}, True),
    ({"pool": 3}, False),
    ({"retry": {"max_attempts": 1}}, True),
    ({"retry": {"max_attempts": 0}}, False),
    ({"retry": {"initial_delay_seconds": 0}}, True),
    ({"retry": {"initial_delay_seconds": -0.5}}, False),
    ({"retry": {"multiplier": 1}}, True),
    ({"retry": {"multiplier": 0.99}}, False),
    ({"retry": {"max_delay_seconds": 0}}, True),
    ({"retry": {"max_delay_seconds": -1}}, False),
    ({"retry": {"jitter": 0}}, True),
    ({"retry": {"jitter": 1}}, True),
    ({"retry": {"jitter": 1.01}}, False),
    ({"retry": {"jitter": -0.01}}, False),
    ({"retry": {"retry_on": {"exit_codes": [1, 255]}}}, True),
    ({"retry": {"retry_on": {"exit_codes": [0]}}}, False),
    ({"retry": {"retry_on": {"exit_codes": [256]}}}, False),
    ({"retry": {"retry_on": {"signals": ["SIGTERM", "SIGKILL", "SIGRTMIN"]}}}, True),
    ({"retry": {"retry_on": {"signals": ["SIGFOO"]}}}, False),
    ({"retry": {"retry_on": {"signals": ["sigterm"]}}}, False),
    ({"retry": {"retry_on": {"signals": ["TERM"]}}}, False),
    ({"retry": {"retry_on": {"timeout": True}}}, True),
    ({"retry": {"retry_on": {"timeout": 1}}}, False),
    ({"retry": {"retries": 3}}, False),
    ({"timeout": 3}, False),
]


@pytest.mark.parametrize(("patch", "valid"), RANGES, ids=lambda x: json.dumps(x))
def test_settings_ranges_pydantic_and_json_schema_agree(
    patch: dict[str, Any], valid: bool, validator: jsonschema.protocols.Validator
) -> None:
    try:
        Settings.model_validate(patch)
        ok = True
    except ValidationError:
        ok = False
    assert ok == valid
    doc = json.loads((WF / "tiny.json").read_bytes())
    doc["defaults"] = patch
    assert validator.is_valid(doc) == valid


@pytest.mark.parametrize("path", sorted(WF.glob("*.json")), ids=lambda p: p.name)
def test_good_fixtures_fit_the_json_schema(
    path: Path, validator: jsonschema.protocols.Validator
) -> None:
    validator.validate(json.loads(path.read_bytes()))


def bad_cases() -> list[tuple[str, str]]:
    """The bad fixtures that are JSON (those of the "json" stage are not: nothing to give a JSON
    Schema validator; test_load.py's goldens check them)."""
    b = load_module(WF / "build_fixtures.py", "build_fixtures")
    cases = [(name, stage) for name, (stage, _) in b.BAD.items() if stage != "json"]
    assert {stage for _, stage in cases} == {"schema", "consistency"}
    return cases


@pytest.mark.parametrize(("name", "stage"), bad_cases(), ids=lambda x: x)
def test_json_schema_agrees_on_bad_fixtures(
    name: str, stage: str, validator: jsonschema.protocols.Validator
) -> None:
    """What the schema stage refuses, the published JSON Schema refuses too; what only the
    consistency checks catch, the JSON Schema cannot see."""
    data = json.loads((WF / "bad" / f"{name}.json").read_bytes())
    assert validator.is_valid(data) == (stage == "consistency")


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "workflow"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_schema_policy_is_what_policy_schema_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "schema"]) == 0
    expected = capsys.readouterr().out
    assert main(["schema", "policy"]) == 0
    assert capsys.readouterr().out == expected
    assert "CommandsSection" in expected


def test_docs_are_current() -> None:
    gen = load_module(ROOT / "docs" / "gen_workflow.py", "gen_workflow")
    stale = "stale: run `python3 docs/gen_workflow.py`"
    assert (ROOT / "docs" / "workflow.md").read_text() == gen.render(), f"docs/workflow.md {stale}"
    assert (ROOT / "docs" / "workflow.schema.json").read_text() == gen.schema_text(), (
        f"docs/workflow.schema.json {stale}"
    )


def test_aliases_round_trip() -> None:
    doc = WorkflowDoc.model_validate(json.loads((WF / "build.json").read_bytes()))
    data = doc.to_data()
    assert "schema" in data and "schema_" not in data
    assert all("from" in e for e in data["edges"])
    assert all(n["spec"] is None or "class" in n["spec"] for n in data["nodes"])


@pytest.mark.slow
def test_pictures_do_not_import_pydantic() -> None:
    code = (
        "import sys, json\n"
        "from bashflow.compile.render import to_dot, to_mermaid\n"
        f"doc = json.load(open({str(WF / 'build.json')!r}))\n"
        "to_dot(doc); to_mermaid(doc)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'networkx', 'lark')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- the compiler's output (compile_script) against this schema ---------------------------------

SCRIPTS = sorted((ROOT / "fixtures" / "scripts").glob("*.sh"))
CLASSES = {"stateless", "parallelizable_pure", "pure", "side_effectful", "unknown"}


def compiled(path: Path, policy: str | None) -> dict[str, Any]:
    from bashflow.compile import compile_script

    wf = compile_script(
        path.read_bytes(), filename=str(path.relative_to(ROOT)), policy=policy, cwd="/w", home="/h"
    )
    doc: dict[str, Any] = wf.to_json()
    return doc


@pytest.mark.slow
@pytest.mark.parametrize("policy", [None, "workspace"])
@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_compiled_scripts_fit_the_contract(
    path: Path, policy: str | None, validator: jsonschema.protocols.Validator
) -> None:
    from bashflow.compile.load import load_workflow
    from bashflow.compile.wfmodel import ROLES

    doc = compiled(path, policy)
    text = json.dumps(doc, ensure_ascii=False).encode("utf-8", "backslashreplace")
    model = load_workflow(text, path.name + ".json")  # schema, ids, spans, hashes
    assert model.to_data() == json.loads(text)
    validator.validate(doc)
    # what the contract says in words, which a schema does not
    assert (doc["policy"] is None) == (policy is None)
    for node in doc["nodes"]:
        where = f"node {node['id']} {node['text'][:40]!r}"
        assert (node["verdict"] is None) == (policy is None), where
        assert (node["parent"] is None) == (node["role"] is None), where
        assert node["role"] is None or node["role"] in ROLES, where
        assert node["spec"] is None or node["spec"]["class"] in CLASSES, where
        assert node["barrier"] == (node["barrier_reason"] is not None), where
        assert (node["kind"] == "command") == (node["words"] is not None), where
        assert node["settings"] == doc["defaults"], where
        for r in node["reads"] + node["writes"]:
            if r["kind"] in ("file", "tree", "glob"):
                assert r["name"] is None and (r["path"] is None or r["path"].startswith("/")), r
            else:
                assert r["path"] is None, r
            if r["kind"] == "network":
                assert r["name"] in ("read", "write"), r
            if r["kind"] == "stream":
                assert r["name"], r
    assert all(e["reason"] for e in doc["edges"])
