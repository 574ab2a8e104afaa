"""Files: read/write allowlists, deny paths, metadata tricks, noexec work dir, devices, /proc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.sandbox.conftest import policy, sh, unsandboxed

from bashflow.sandbox.probe import Probe
from bashflow.sandbox.spawner import Spawner

pytestmark = pytest.mark.slow
NOBODY = 65534


def test_read_outside_fails_and_control_succeeds(
    spawner: Spawner, full: Probe, workdir: Path, outside: Path
) -> None:
    script = f"cat {outside}/secret.txt"
    assert "TOPSECRET" in unsandboxed(script, workdir, as_uid=NOBODY).stdout
    r = sh(spawner, policy(), script, workdir)
    assert r.code != 0 and "TOPSECRET" not in r.out
    assert "Permission denied" in r.err


def test_read_allowed_and_write_workdir(spawner: Spawner, full: Probe, workdir: Path) -> None:
    (workdir / "in.txt").write_text("hello\n")
    r = sh(spawner, policy(), "cat in.txt; echo made > out.txt; mkdir d; echo x > d/y; cat d/y",
           workdir)  # fmt: skip
    assert r.code == 0, r.err
    assert r.out == "hello\nx\n"
    assert (workdir / "out.txt").read_text() == "made\n"
    st = (workdir / "out.txt").stat()
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid()), "written as the caller"


def test_write_outside_fails_and_control_succeeds(
    spawner: Spawner, full: Probe, workdir: Path, outside: Path
) -> None:
    script = f"echo pwned > {outside}/new.txt && echo pwned >> {outside}/secret.txt"
    pol = policy(paths={"read": ["@system", ".", str(outside)]})
    r = sh(spawner, pol, script, workdir)
    assert r.code != 0
    assert not (outside / "new.txt").exists()
    assert (outside / "secret.txt").read_text() == "TOPSECRET\n"
    assert unsandboxed(script, workdir, as_uid=NOBODY).returncode == 0
    assert (outside / "new.txt").exists()


def test_metadata_tricks_outside_fail(
    spawner: Spawner, full: Probe, workdir: Path, outside: Path
) -> None:
    target = outside / "secret.txt"
    os.chown(target, NOBODY, NOBODY)  # owned by "someone": chmod/chown/utimes would be the gap
    before = target.stat()
    pol = policy(paths={"read": ["@system", ".", str(outside)]})
    for script in (
        f"chmod 777 {target}",
        f"touch -d 2001-01-01 {target}",
        f"chown $(id -u) {target}",
        f"mv {target} ./stolen",
        f"ln {target} ./hard",
        f"rm -f {target}",
        f"ln -sf /etc/passwd {outside}/link",
    ):
        r = sh(spawner, pol, script, workdir)
        assert r.code != 0, script
    after = target.stat()
    assert (after.st_mode, after.st_mtime, after.st_uid) == (
        before.st_mode, before.st_mtime, before.st_uid)  # fmt: skip
    assert target.exists()  # (mv may leave a copy: the file is readable, so that is fine)
    assert not (outside / "link").exists()


def test_symlink_swap_in_workdir_cannot_reach_outside(
    spawner: Spawner, full: Probe, workdir: Path, outside: Path
) -> None:
    r = sh(spawner, policy(), f"ln -s {outside}/secret.txt s && cat s; echo x > s", workdir)
    assert "TOPSECRET" not in r.out
    assert (outside / "secret.txt").read_text() == "TOPSECRET\n"


def test_deny_paths_invisible_inside_allowed_tree(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    (workdir / ".env").write_text("API_KEY=secret\n")
    (workdir / "private").mkdir()
    (workdir / "private" / "key").write_text("secret\n")
    (workdir / "ok.txt").write_text("fine\n")
    pol = policy(paths={"deny": [".env", "private"]})
    r = sh(spawner, pol, "cat ok.txt; cat .env; ls private; cat private/key", workdir)
    assert r.out == "fine\n"
    assert "secret" not in r.out
    for script in ("echo x > .env", "rm -f .env", "mv .env e2", "rm -rf private",
                   "echo x > private/new", "chmod 777 .env"):  # fmt: skip
        assert sh(spawner, pol, script, workdir).code != 0, script
    assert (workdir / ".env").read_text() == "API_KEY=secret\n"
    assert (workdir / "private" / "key").exists() and not (workdir / "private" / "new").exists()


def test_workdir_is_noexec_nosuid_nodev(spawner: Spawner, full: Probe, workdir: Path) -> None:
    r = sh(spawner, policy(), "cp /usr/bin/true ./t && chmod +x t && ./t", workdir)
    assert r.code == 126 and "Permission denied" in r.err
    r = sh(spawner, policy(), "/lib64/ld-linux-x86-64.so.2 ./t", workdir)
    assert r.code != 0
    assert unsandboxed("./t", workdir).returncode == 0  # control: the copy itself runs
    r = sh(spawner, policy(), "cat /proc/self/mountinfo", workdir)
    line = next(ln for ln in r.out.splitlines() if f" {workdir} " in ln)
    assert {"noexec", "nosuid", "nodev"} <= set(line.split()[5].split(","))


def test_only_three_devices(spawner: Spawner, full: Probe, workdir: Path) -> None:
    pol = policy(paths={"read": ["@system", ".", "/dev"]})
    r = sh(spawner, pol, "ls /dev", workdir)
    assert set(r.out.split()) <= {"null", "zero", "urandom", "random", "fd", "stdin", "stdout",
                                  "stderr"}  # fmt: skip
    r = sh(spawner, pol, "head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo w", workdir)
    assert r.out.split() == ["4", "w"]
    for script in ("cat /dev/tty", "head -c1 /dev/vda", "head -c1 /dev/mem", "mknod x c 1 3",
                   "mkfifo ./f && echo fifo-ok"):  # fmt: skip
        r = sh(spawner, pol, script, workdir)
        if script.startswith("mkfifo"):
            assert r.out == "fifo-ok\n"  # fifos in the work dir are fine
        else:
            assert r.code != 0, script


def test_other_processes_proc_unreachable(spawner: Spawner, full: Probe, workdir: Path) -> None:
    me = os.getpid()
    assert Path(f"/proc/{me}/environ").exists()
    r = sh(spawner, policy(), f"ls /proc | grep -c '^[0-9]'; cat /proc/{me}/environ; "
           f"ls /proc/{me}/fd; readlink /proc/{me}/root; echo end", workdir)  # fmt: skip
    lines = r.out.splitlines()
    assert int(lines[0]) <= 4, "only the sandbox's own processes (init, sh, ls, grep)"
    assert lines[-1] == "end" and len(lines) == 2


def test_each_plan_gets_its_own_sandbox(spawner: Spawner, full: Probe, base: Path) -> None:
    """The server caches per plan (rules, warm sandboxes): a new plan never reuses an old one."""
    from tests.sandbox.conftest import _searchable

    for i in range(4):
        wd = base / f"w{i}"
        wd.mkdir()
        _searchable(wd)
        r = sh(spawner, policy(), f"echo {i} > f && cat f", wd)
        assert (r.code, r.out) == (0, f"{i}\n"), r.err
        assert (wd / "f").read_text() == f"{i}\n"
