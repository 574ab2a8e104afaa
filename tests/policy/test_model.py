"""Policy schema: defaults, TOML/JSON loading, located errors, groups, profiles, layering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bashflow.errors import PolicyError
from bashflow.policy import Policy
from bashflow.policy.groups import COMMAND_GROUPS, PATH_GROUPS, expand_commands, expand_paths
from bashflow.policy.profiles import DEFAULT_PROFILE, PROFILE_NAMES, get_profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "policies"


def test_defaults_are_closed() -> None:
    p = Policy()
    assert p.commands.allow == [] and p.paths.read == [] and p.paths.write == []
    assert p.network.allow is False
    assert p.env.pass_ == [] and p.env.set == {}
    assert p.limits.memory_mib == 1024 and p.limits.processes == 256


def test_issue_example_loads(tmp_path: Path) -> None:
    p = Policy.load(FIXTURES / "example.toml")
    assert p.commands.allow == ["@coreutils", "git status", "python3 -m pytest"]
    assert p.paths.deny == ["~/.ssh", ".env"]
    assert p.env.pass_ == ["LANG", "CI_*"] and p.env.set == {"PATH": "/usr/bin:/bin"}
    assert p.limits.inodes == 10000 and p.limits.output_mib == 16
    j = tmp_path / "p.json"
    j.write_text(json.dumps(p.to_data()))
    assert Policy.load(j) == p
    assert Policy.model_validate(p.to_data()) == p


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.toml")), ids=lambda p: p.name)
def test_fixtures_load_and_describe_themselves(fixture: Path) -> None:
    text = fixture.read_text()
    assert text.startswith(f"# {fixture.name} - "), "a fixture's first line describes it"
    Policy.load(fixture)


def test_round_trip_toml() -> None:
    for name in PROFILE_NAMES:
        p = get_profile(name)
        assert Policy.loads(p.to_toml()) == p


@pytest.mark.parametrize(
    ("text", "line", "col", "needle"),
    [
        ('[commands]\nallow = ["ls"]\n\n[limits]\nmemory_mib = -5\n', 5, 1, "limits.memory_mib"),
        ('[paths]\nread = ["a"]\n  bogus = 1\n', 3, 3, "paths.bogus: unknown key"),
        ("[paths\n", 1, 7, "invalid TOML"),
        ('[network]\nallow = "yes"\n', 2, 1, "network.allow"),
        ("limits.processes = 0\n", 1, 1, "limits.processes"),
        ("[frobnicate]\nx = 1\n", 1, 2, "frobnicate: unknown key"),
        ('[env]\nset = { "A=B" = "x" }\n', 2, 1, "env.set"),
        ('[commands]\nallow = [""]\n', 2, 1, "empty command entry"),
    ],
)
def test_toml_errors_are_located(text: str, line: int, col: int, needle: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.loads(text, "p.toml")
    err = info.value
    assert needle in err.message
    assert (err.filename, err.line, err.col) == ("p.toml", line, col)
    assert str(err).startswith(f"p.toml:{line}:{col}: ")


def test_json_errors_are_located(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{\n  "limits": {\n    "processes": "many"\n  }\n}\n')
    with pytest.raises(PolicyError) as info:
        Policy.load(f)
    assert (info.value.line, info.value.col) == (3, 5)
    f.write_text('{"limits": ')
    with pytest.raises(PolicyError) as info:
        Policy.load(f)
    assert "invalid JSON" in info.value.message and info.value.line == 1


def test_missing_file_is_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        Policy.load(tmp_path / "nope.toml")


def test_groups_expand_and_unknown_group_is_rejected() -> None:
    assert expand_commands(["@shell", "bash", "git status"]) == ["bash", "sh", "dash", "git status"]
    assert "/usr" in expand_paths(["@system"])
    assert "cat" in COMMAND_GROUPS["@coreutils"] and "rm" in COMMAND_GROUPS["@coreutils"]
    assert "~/.ssh" in PATH_GROUPS["@secrets"]
    with pytest.raises(KeyError, match="unknown command group '@nope'"):
        expand_commands(["@nope"])


def test_groups_documented_exactly() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    for table in (COMMAND_GROUPS, PATH_GROUPS):
        for name, members in table.items():
            line = f"| `{name}` | " + " ".join(f"`{m}`" for m in members) + " |"
            assert line in doc, f"docs/policy.md must list {name} exactly"


def test_profiles() -> None:
    assert DEFAULT_PROFILE == "workspace"
    strict, work, perm = (get_profile(n) for n in ("strict", "workspace", "permissive"))
    assert strict.network.allow is False and perm.network.allow is True
    assert "*" in perm.commands.allow and "*" not in work.commands.allow
    assert strict.limits.memory_mib is not None and work.limits.memory_mib is not None
    assert strict.limits.memory_mib < work.limits.memory_mib
    with pytest.raises(KeyError, match="unknown profile"):
        get_profile("lax")
    assert Policy.profile("strict") == strict


@pytest.mark.slow
def test_import_policy_stays_light() -> None:
    code = (
        "import sys, bashflow.policy, bashflow.policy.load, bashflow.policy.paths, "
        "bashflow.policy.profiles\n"
        "bad = [m for m in ('bashflow.sandbox', 'bashflow.execute', 'psutil', 'pyseccomp', "
        "'networkx') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
