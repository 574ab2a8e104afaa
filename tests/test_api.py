"""The public surface: what `import bashflow` offers, and that it stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import bashflow

DOCUMENTED_API = {
    "BashflowError",
    "Finding",
    "ParseError",
    "Policy",
    "PolicyError",
    "Verdict",
    "check",
    "compile_script",
    "Source",
    "__version__",
    "parse",
}


def test_all_is_the_documented_api() -> None:
    assert set(bashflow.__all__) == DOCUMENTED_API
    for name in bashflow.__all__:
        assert getattr(bashflow, name) is not None


def fresh_modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_bashflow_is_lazy() -> None:
    mods = fresh_modules("import bashflow")
    assert not any(m.startswith("bashflow.parser") for m in mods)
    for heavy in ("lark", "pydantic", "networkx", "psutil", "pyseccomp", "dataclasses"):
        assert heavy not in mods, heavy


def test_parsing_a_one_liner_loads_no_grammar() -> None:
    mods = fresh_modules("import bashflow; bashflow.parse('ls -la | wc -l')")
    assert "bashflow.parser.commands" in mods
    assert "lark" not in mods  # grammars load only for arithmetic and [[ ]]


@pytest.mark.slow
def test_compiling_a_one_liner_stays_light() -> None:
    mods = fresh_modules("import bashflow; bashflow.compile_script('ls -la | wc -l', cwd='/tmp')")
    assert "bashflow.compile.lower" in mods
    for heavy in ("lark", "pydantic", "networkx", "psutil", "pyseccomp", "dataclasses"):
        assert heavy not in mods, heavy


def test_compile_script_gives_the_workflow_document() -> None:
    doc = bashflow.compile_script("echo hi > a.txt\ncat a.txt\n", cwd="/w").to_json()
    assert [n["text"] for n in doc["nodes"]] == ["echo hi > a.txt", "cat a.txt"]
    assert [(e["from"], e["to"], e["kind"]) for e in doc["edges"]] == [(1, 2, "data")]


def test_parse_is_the_function_even_after_submodule_imports() -> None:
    import bashflow.parser.syntax

    assert callable(bashflow.parse)
    assert isinstance(bashflow.parse("true"), bashflow.parser.syntax.Script)


def test_parse_error_carries_location_and_message() -> None:
    with pytest.raises(bashflow.ParseError) as info:
        bashflow.parse("echo ok\nif true; then\n  echo\nfi fi\n", filename="x.sh")
    err = info.value
    assert (err.line, err.col) == (4, 4)
    assert "fi" in err.message and err.filename == "x.sh"
    assert str(err).startswith("x.sh:4:4: ")
    assert err.exit_code == 2
    assert isinstance(err, bashflow.BashflowError)
