"""`check(..., base=DIR)`: the policy's relative paths (`.`) are taken from the run's work dir,
not from the directory the command runs in after the script `cd`s (the run-time check of
`bashflow exec` passes the work dir)."""

from __future__ import annotations

from pathlib import Path

from bashflow.policy.check import check

POLICY = {
    "commands": {"allow": ["cat"]},
    "paths": {"read": ["."], "write": []},
}


def test_the_policys_dot_stays_at_the_base(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "c").mkdir()
    sub = str(tmp_path / "c")
    # from c/, ../a/x is inside the work dir: allowed when `.` is the work dir ...
    assert check("cat ../a/x", POLICY, cwd=sub, base=str(tmp_path)).allowed
    # ... and outside `.` when `.` follows the command's directory (the control)
    assert not check("cat ../a/x", POLICY, cwd=sub).allowed
    # a path outside the work dir stays denied with the base
    assert not check("cat ../../elsewhere", POLICY, cwd=sub, base=str(tmp_path)).allowed
