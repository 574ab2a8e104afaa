"""`bashflow check` and `bashflow policy`: exit codes, text / JSON / SARIF output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bashflow.cli import main

ROOT = Path(__file__).resolve().parents[1]
AGENT = str(ROOT / "fixtures" / "check" / "policies" / "agent.toml")
BASE = ["--policy", AGENT, "--cwd", "/work/proj", "--home", "/home/agent"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_allow_is_silent_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "-c", "git status", *BASE], capsys) == (0, "", "")


def test_deny_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "-c", "ls && rm -rf build", *BASE], capsys)
    assert code == 1
    assert out.splitlines() == [
        "<command>:1:7: deny[BF102]: `rm -rf` is denied by commands.deny",
        "ls && rm -rf build",
        "      ^~~~~~~~~~~~",
    ]


def test_unknown_is_marked_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "-c", 'cat "$1"', *BASE], capsys)
    assert code == 1 and "deny[BF107]" in out and "needs a runtime check" in out


def test_file_and_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "s.sh"
    script.write_text("echo ok\nsudo ls\n")
    code, out, _ = run(["check", str(script), *BASE], capsys)
    assert code == 1 and out.startswith(f"{script}:2:1: deny[BF102]")
    r = subprocess.run(
        [sys.executable, "-m", "bashflow", "check", "-", *BASE],
        input=b"git status\n",
        capture_output=True,
    )
    assert r.returncode == 0, r.stderr


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "-c", "curl x", *BASE, "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["schema"] == "bashflow.check" and data["version"] == 1
    assert data["decision"] == "deny" and data["file"] == "<command>"
    assert {f["code"] for f in data["findings"]} == {"BF102", "BF108"}
    assert all(f["kind"] in ("definite", "unknown") for f in data["findings"])


def test_sarif(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", "-c", "echo\nsudo ls", *BASE, "--format", "sarif"], capsys)
    log = json.loads(out)
    assert code == 1 and log["version"] == "2.1.0"
    run0 = log["runs"][0]
    ids = {r["id"] for r in run0["tool"]["driver"]["rules"]}
    assert {"BF100", "BF102", "BF115"} <= ids
    [res] = run0["results"]
    assert res["ruleId"] == "BF102" and res["level"] == "error"
    region = res["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 1)


def test_bad_invocation_and_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", *BASE], capsys)[0] == 2
    assert run(["check", "x.sh", "-c", "ls", *BASE], capsys)[0] == 2
    assert run(["check", str(tmp_path / "missing.sh"), *BASE], capsys)[0] == 2
    bad = tmp_path / "p.toml"
    bad.write_text("[commands]\nallow = 'ls'\n")
    code, _, err = run(["check", "-c", "ls", "--policy", str(bad)], capsys)
    assert code == 2 and f"{bad}:2:" in err
    code, _, err = run(["check", "-c", "ls", "--policy", "no-such-profile"], capsys)
    assert code == 2 and "no policy file" in err


def test_profile_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "-c", "echo hi", "--policy", "strict"], capsys)[0] == 0


def test_policy_schema_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["policy", "schema"], capsys)
    schema = json.loads(out)
    assert code == 0 and {"commands", "paths", "network", "env", "limits"} <= set(
        schema["properties"]
    )
    code, out, _ = run(
        ["policy", "show", AGENT, "--cwd", "/work/proj", "--home", "/home/agent"], capsys
    )
    data = json.loads(out)
    assert code == 0 and "rm" in data["commands"]["allow"] and "sudo" in data["commands"]["deny"]
    assert "/work/proj/.env" in data["paths"]["skipped"] + data["paths"]["deny"]
    assert run(["policy"], capsys)[0] == 2


def test_cli_check_runs_without_pydantic() -> None:
    code = (
        "import sys; from bashflow.cli import main\n"
        f"rc = main(['check', '-c', 'git status', '--policy', {AGENT!r}])\n"
        "print(rc, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]


@pytest.mark.parametrize("extra", [[], ["--policy", "strict"]])
def test_cli_check_with_a_profile_runs_without_pydantic(extra: list[str], tmp_path: Path) -> None:
    # the default (`workspace`) and a named profile are read as lite policies too
    code = (
        "import sys; from bashflow.cli import main\n"
        f"rc = main(['check', '-c', 'cat /etc/shadow', *{extra!r}])\n"
        "print(rc, 'pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split()[-2:] == ["1", "False"]


def test_lite_policy_agrees_with_the_model(tmp_path: Path) -> None:
    from bashflow import Policy
    from bashflow.policy.lite import LitePolicy, load_lite

    files = sorted((ROOT / "fixtures").glob("**/policies/*.toml"))
    assert files
    for f in files:
        lite = load_lite(f)
        model = Policy.load(f)
        if isinstance(lite, LitePolicy):
            full = model.to_data()
            assert lite.commands.allow == full["commands"]["allow"]
            assert lite.paths.deny == full["paths"]["deny"]
            assert lite.network.allow == full["network"]["allow"]
    for text in [
        "[commands]\nallow = [' ']\n",
        "[limits]\nmemory_mib = 0\n",
        "[limits]\nmemory_mib = true\n",
        "[network]\nallow = 1\n",
        "[env]\npass = ['A=B']\n",
        "[commandz]\n",
        "x = 1\n",
    ]:
        p = tmp_path / "bad.toml"
        p.write_text(text)
        with pytest.raises(Exception) as info:
            load_lite(p)
        assert type(info.value).__name__ == "PolicyError", text
