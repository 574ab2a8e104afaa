"""policy/lite.py and the profiles without pydantic: a `LitePolicy` is the same policy as the
model's (every section, every default), so `exec` can run on it without importing pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bashflow.policy import Policy
from bashflow.policy.lite import (
    LitePolicy,
    lite_from_data,
    lite_from_model,
    load_lite,
    plainly_valid,
)
from bashflow.policy.profiles import PROFILE_NAMES, get_profile, lite_profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
POLICY_FILES = sorted(FIXTURES.glob("**/policies/*.toml"))


def test_defaults_equal_the_models() -> None:
    assert LitePolicy().to_data() == Policy().to_data()
    assert lite_from_data({}).to_data() == Policy().to_data()


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_profiles_are_plainly_valid_and_the_same_policy(name: str) -> None:
    lite = lite_profile(name)
    model = get_profile(name)
    assert lite.to_data() == model.to_data()
    assert plainly_valid(model.to_data())
    # the lite profile is a copy: changing it leaves the next one alone
    lite.commands.allow.append("rm")
    assert "rm" not in lite_profile(name).commands.allow


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="strict, workspace, permissive"):
        lite_profile("lax")
    with pytest.raises(KeyError, match="strict, workspace, permissive"):
        get_profile("lax")


def test_every_fixture_policy_reads_the_same_both_ways() -> None:
    assert POLICY_FILES
    plain = 0
    for f in POLICY_FILES:
        model = Policy.load(f)
        assert lite_from_model(model).to_data() == model.to_data(), f
        lite = load_lite(f)
        if isinstance(lite, LitePolicy):
            plain += 1
            assert lite.to_data() == model.to_data(), f
    assert plain > len(POLICY_FILES) // 2  # the lite path is the common one


def test_what_only_the_model_accepts_still_converts(tmp_path: Path) -> None:
    # `null` limits (JSON only) are valid but not plainly valid: the model validates them,
    # and the lite copy keeps "no limit"; an int wall time becomes the model's float
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"limits": {"memory_mib": None, "wall_seconds": 5}}))
    loaded = load_lite(p)
    assert isinstance(loaded, Policy)
    lite = lite_from_model(loaded)
    assert lite.limits.memory_mib is None and lite.limits.wall_seconds == 5.0
    assert lite.to_data() == loaded.to_data()


def test_with_readable_adds_only_new_paths() -> None:
    p = lite_profile("strict")
    assert p.with_readable(["."]) is p
    q = p.with_readable(["/opt/x", "."])
    assert q.paths.read == [*p.paths.read, "/opt/x"]
    assert p.paths.read == lite_profile("strict").paths.read
    assert (q.commands, q.network, q.env, q.limits) == (p.commands, p.network, p.env, p.limits)


def test_profiles_and_lite_load_without_pydantic() -> None:
    code = (
        "import sys\n"
        "from bashflow.policy.profiles import lite_profile\n"
        "from bashflow.policy.lite import load_lite\n"
        "from bashflow.policy.check import check\n"
        f"p = load_lite({str(FIXTURES / 'policies' / 'readonly.toml')!r})\n"
        "v = check('git status; git push', lite_profile('workspace'))\n"
        "print(type(p).__name__, v.decision, 'pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["LitePolicy", "deny", "False"]


def test_check_with_the_default_policy_loads_without_pydantic() -> None:
    code = (
        "import sys\n"
        "from bashflow.policy.check import check\n"
        "v = check('cat /etc/shadow; ls', cwd='/work/proj', home='/home/u')\n"
        "print(v.decision, 'pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["deny", "False"]
