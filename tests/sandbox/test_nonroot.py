"""As an ordinary user: the user-namespace path, enforced for real.

The test creates an ordinary user (useradd), forks this interpreter, drops to that user (all
modules are already loaded, so the interpreter's files need not be readable by it) and runs a
fresh fork server and escape attempts from there. The results come back over a pipe.
"""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.sandbox import contained_fns
from tests.sandbox.conftest import policy, read_all

from bashflow.sandbox import probe as probe_mod
from bashflow.sandbox.plan import prepare
from bashflow.sandbox.probe import Layer
from bashflow.sandbox.relay import relay
from bashflow.sandbox.spawner import Spawner

# Load everything the forked, unprivileged child will use: it cannot read this interpreter's
# files (they live under /root here), only what is already in memory.
PRELOAD = ("ctypes", "fcntl", "selectors", "pickle", "resource", "struct", "tempfile", "errno",
           "bashflow.sandbox.server", "bashflow.sandbox.namespaces", "bashflow.sandbox.landlock",
           "bashflow.sandbox.seccomp", "bashflow.sandbox.rlimits", "bashflow.sandbox.cgroup",
           "pyseccomp")  # fmt: skip
for _name in PRELOAD:
    __import__(_name)

pytestmark = pytest.mark.slow
USER = "bashflow-test"


def _user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("creating the ordinary test user needs root")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    if not shutil.which("useradd"):
        pytest.skip("useradd is not available")
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    USER], check=True, capture_output=True)  # fmt: skip
    return pwd.getpwnam(USER)


def _as_user(user: pwd.struct_passwd, fn: Callable[[], Any]) -> Any:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
            os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
            # a process the user started would be dumpable (setuid from root clears it, which
            # makes /proc/self/{uid_map,setgroups} root's)
            ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
            os.environ["HOME"] = "/nonexistent"
            result = fn()
            os.write(w, json.dumps(result).encode())
        except BaseException as e:
            os.write(w, json.dumps({"error": repr(e)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    data = read_all(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def _run_all(workdir: str, outside: str) -> dict[str, Any]:
    probe_mod.probe.cache_clear()
    info = probe_mod.probe()
    missing = [m.value for m in info.missing()]
    out: dict[str, Any] = {"uid": os.getuid(), "missing": missing}
    if {"user", "mount", "landlock", "seccomp"} & set(missing):
        return out
    pol = policy(limits={"processes": 32, "wall_seconds": 20, "memory_mib": 256,
                         "disk_mib": None, "inodes": None})  # fmt: skip
    plan = prepare(pol, workdir, accept_weaker=[Layer.CGROUP])
    with Spawner() as sp:

        def sh(script: str) -> tuple[int, str]:
            rd, wr = os.pipe()
            proc = sp.spawn(plan, ["sh", "-c", script], stdout=wr, stderr=wr)
            os.close(wr)
            o_r, o_w = os.pipe()
            outcome, _ = relay(proc, {rd: o_w}, limit_mib=4)
            os.close(o_w)
            return outcome.exit_code, read_all(o_r).decode(errors="replace")

        out["id"] = sh("id -u")
        out["write_in"] = sh("echo hi > mine && cat mine")
        out["read_outside"] = sh(f"cat {outside}/secret.txt")
        out["write_outside"] = sh(f"echo x > {outside}/new")
        out["exec_denied"] = sh("perl -e 1")
        out["net"] = sh("python3 -c \"import socket; socket.create_connection(('127.0.0.1', 1))\"")
        out["unshare"] = sh(
            'python3 -c "import ctypes; print(ctypes.CDLL(None).unshare(0x10000000))"'
        )
        out["noexec"] = sh("cp /usr/bin/true t && ./t")
        out["fork_bomb"] = sh("for i in $(seq 64); do sleep 3 & done; echo spawned")
        out["nnp"] = sh("grep NoNewPrivs /proc/self/status")
        # the interpreter mode (the function's module is already loaded: this user cannot
        # read this interpreter's files)
        iplan = prepare(pol, workdir, accept_weaker=[Layer.CGROUP], interpreter=True)
        rd, wr = os.pipe()
        proc = sp.run_contained(iplan, contained_fns.escapes, (outside, workdir), stdout=wr,
                                stderr=wr)  # fmt: skip
        os.close(wr)
        o_r, o_w = os.pipe()
        outcome, _ = relay(proc, {rd: o_w}, limit_mib=4)
        os.close(o_w)
        out["contained"] = [outcome.exit_code, read_all(o_r).decode(errors="replace")]
    return out


def test_ordinary_user_gets_the_same_enforcement() -> None:
    user = _user()
    base = tempfile.mkdtemp(prefix="bashflow-nonroot-", dir="/tmp")
    try:
        work = Path(base) / "work"
        outside = Path(base) / "outside"
        work.mkdir()
        outside.mkdir()
        (outside / "secret.txt").write_text("TOPSECRET\n")
        os.chmod(base, 0o755)
        os.chmod(outside, 0o777)
        os.chmod(outside / "secret.txt", 0o666)
        os.chown(work, user.pw_uid, user.pw_gid)
        res = _as_user(user, lambda: _run_all(str(work), str(outside)))
        assert "error" not in res, res
        if {"user", "mount", "landlock", "seccomp"} & set(res["missing"]):
            pytest.skip(f"unprivileged sandbox layers missing here: {res['missing']}")
        assert res["uid"] == user.pw_uid
        assert res["id"] == [0, f"{user.pw_uid}\n"]
        assert res["write_in"] == [0, "hi\n"]
        assert (work / "mine").stat().st_uid == user.pw_uid
        assert res["read_outside"][0] != 0 and "TOPSECRET" not in res["read_outside"][1]
        assert res["write_outside"][0] != 0 and not (outside / "new").exists()
        assert res["exec_denied"][0] == 126
        assert res["net"][0] != 0
        assert res["unshare"][1].strip() == "-1"
        assert res["noexec"][0] == 126
        assert "NoNewPrivs:\t1" in res["nnp"][1]
        assert "fork" in res["fork_bomb"][1].lower(), res["fork_bomb"]  # RLIMIT_NPROC = 32
        code, text = res["contained"]
        lines = dict(line.split(" ", 1) for line in text.splitlines())
        assert code == 0 and lines["read_outside"].startswith("denied"), text
        assert lines["exec_perl"] == "denied 13" and lines["write_work"] == "ok", text
        assert "TOPSECRET" not in lines["child"] and "NoNewPrivs: 1" in lines["child"], text
        inh, prm, eff, _bnd, amb = lines["caps"].split()
        assert {inh, prm, eff, amb} == {"0000000000000000"}, "no capability of the user ns"
    finally:
        shutil.rmtree(base, ignore_errors=True)
