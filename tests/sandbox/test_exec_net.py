"""Exec allowlist, the ELF loader, NO_NEW_PRIVS, and the network being off."""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
from tests.sandbox.conftest import policy, run, sh, unsandboxed

from bashflow import check
from bashflow.sandbox.plan import prepare
from bashflow.sandbox.probe import Layer, Probe
from bashflow.sandbox.rlimits import Rlimit
from bashflow.sandbox.spawner import ExecDenied, Spawner

pytestmark = pytest.mark.slow
LDSO = "/lib64/ld-linux-x86-64.so.2"


def test_only_allowed_programs_run(spawner: Spawner, full: Probe, workdir: Path) -> None:
    pol = policy(commands={"allow": ["sh", "cat", "echo"]})
    assert unsandboxed("ls / >/dev/null", workdir).returncode == 0
    r = sh(spawner, pol, "echo ok; ls /; perl -e 1; /usr/bin/ls", workdir)
    assert r.out == "ok\n"
    assert r.err.count("Permission denied") == 3
    with pytest.raises(ExecDenied) as info:
        run(spawner, pol, ["ls"], workdir)
    assert info.value.exit_code == 126


def test_exec_failure_status_on_every_start_path(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    """126 not allowed, 127 not found, the reason named: whether the init posix_spawns the
    command, forks it (RLIMIT_AS, the memory fallback, is set) or, without a pid namespace,
    becomes it."""
    plan = prepare(policy(commands={"allow": ["sh"]}), workdir)
    big = Rlimit(resource.RLIMIT_AS, 1 << 40, 1 << 40, "memory_mib")
    plans = {
        "posix_spawn": plan,
        "fork": dataclasses.replace(plan, rlimits=(*plan.rlimits, big)),
        "become": dataclasses.replace(plan, layers=plan.layers - {Layer.PID}),
    }
    for how, p in plans.items():
        for argv, code, why in ((["ls"], 126, "ls: Permission denied"),
                                (["no-such-program-x"], 127, "no-such-program-x: No such")):  # fmt: skip
            with pytest.raises(ExecDenied) as info:
                spawner.spawn(p, argv)
            assert (info.value.exit_code, str(info.value).startswith(f"cannot execute {why}")) == (
                code, True), (how, str(info.value))  # fmt: skip
        assert run(spawner, p, ["sh", "-c", "exit 3"], workdir).code == 3, how


def test_elf_loader_is_not_a_launcher(spawner: Spawner, full: Probe, workdir: Path) -> None:
    if not shutil.which("perl"):
        pytest.skip("needs a program outside the policy (perl)")
    assert unsandboxed(f"{LDSO} /usr/bin/perl -e 'print 7'", workdir).stdout == "7"
    r = sh(spawner, policy(), f"{LDSO} /usr/bin/perl -e 'print 7'", workdir)
    assert r.code != 0 and r.out == ""
    r = sh(spawner, policy(), f"{LDSO} /usr/bin/cat /dev/null && echo allowed-one", workdir)
    assert r.out == "allowed-one\n"  # loading an allowed program through it is fine


def test_setuid_gains_nothing(spawner: Spawner, full: Probe, workdir: Path) -> None:
    pol = policy(commands={"allow": ["@shell", "@coreutils", "@text", "su", "passwd", "mount"]})
    r = sh(spawner, pol, "grep NoNewPrivs /proc/self/status; id -u", workdir)
    assert r.out.split()[:2] == ["NoNewPrivs:", "1"]
    assert r.out.split()[2] != "0"
    suid = [p for p in ("/usr/bin/su", "/usr/bin/passwd", "/usr/bin/mount")
            if os.path.exists(p) and os.stat(p).st_mode & stat.S_ISUID]  # fmt: skip
    if not suid:
        pytest.skip("no setuid binary on this machine")
    r = sh(spawner, pol, f"{suid[0]} --help >/dev/null 2>&1; {suid[-1]} -t tmpfs none /tmp "
           "&& echo MOUNTED; id -u", workdir)  # fmt: skip
    assert "MOUNTED" not in r.out and r.out.strip() != "0"


def test_network_off(spawner: Spawner, full: Probe, workdir: Path) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    userv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    upath = workdir.parent / "host.sock"
    userv.bind(str(upath))
    os.chmod(upath, 0o777)
    userv.listen(8)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(b"\0bashflow-test-abstract")
    abstract.listen(8)
    code = f"""
import socket, errno
def t(name, f):
    try:
        f(); print(name, "OPEN")
    except OSError as e:
        print(name, "blocked")
def tcp():
    s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("8.8.8.8", 53))
def icmp():
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
def raw():
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
def unix_path():
    s = socket.socket(socket.AF_UNIX); s.connect({str(upath)!r})
def unix_abstract():
    s = socket.socket(socket.AF_UNIX); s.connect(b"\\0bashflow-test-abstract")
def netlink():
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
def ipv6():
    socket.socket(socket.AF_INET6, socket.SOCK_STREAM).connect(("::1", {port}))
def pair():
    a, b = socket.socketpair(); a.send(b"k"); assert b.recv(1) == b"k"
for n, f in list(globals().items()):
    if callable(f) and n not in ("t",) and not n.startswith("_") and n != "socket":
        t(n, f)
"""
    # control: the same code unsandboxed reaches the host services
    ctl = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                         timeout=30, check=False)  # fmt: skip
    for name in ("tcp", "unix_path", "unix_abstract", "netlink"):
        assert f"{name} OPEN" in ctl.stdout, ctl.stdout + ctl.stderr
    r = run(spawner, policy(), ["python3", "-c", code], workdir)
    results = dict(line.split() for line in r.out.splitlines())
    assert results.pop("pair") == "OPEN", "socketpair (local IPC) still works"
    assert len(results) == 8 and all(v == "blocked" for v in results.values()), r.out + r.err
    r = run(spawner, policy(), ["bash", "-c", f"echo hi > /dev/tcp/127.0.0.1/{port} && echo OPEN"],
            workdir)  # fmt: skip
    assert "OPEN" not in r.out and r.code != 0
    for s in (srv, userv, abstract):
        s.close()


def test_network_on_when_allowed(spawner: Spawner, full: Probe, workdir: Path) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    code = f"import socket; socket.create_connection(('127.0.0.1', {port})); print('OPEN')"
    r = run(spawner, policy(network={"allow": True}), ["python3", "-c", code], workdir)
    assert r.out == "OPEN\n", r.err
    srv.close()


def test_positive_controls_ordinary_work(spawner: Spawner, full: Probe, workdir: Path) -> None:
    """Compilers, git, python3, pipes and temp files in the work dir run normally."""
    pol = policy(commands={"allow": ["@shell", "@coreutils", "@text", "@build", "@git",
                                     "python3"]},
                 env={"set": {"PATH": "/usr/bin:/bin", "HOME": str(workdir)}})  # fmt: skip
    if shutil.which("gcc"):
        (workdir / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hi");}\n')
        r = sh(spawner, pol, "gcc -o hello hello.c && echo compiled && ls hello", workdir)
        assert r.out == "compiled\nhello\n", r.err
    r = sh(spawner, pol, "git init -q repo && cd repo && echo x > a && git add a && "
           "git -c user.name=t -c user.email=t@t commit -qm m && git log --format=%s", workdir)  # fmt: skip
    assert r.out == "m\n", r.err
    r = sh(spawner, pol, "t=$(mktemp -p .) && seq 1 1000 | sort -rn | head -1 > $t && "
           "python3 -c 'import sys, tempfile; print(open(sys.argv[1]).read().strip())' $t",
           workdir)  # fmt: skip
    assert r.out == "1000\n", r.err


def test_denied_programs_withheld_when_all_are_allowed(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    if not shutil.which("perl"):
        pytest.skip("needs a program to deny (perl)")
    script = f"perl -e 'print 7'; echo; {LDSO} /usr/bin/perl -e 'print 8'; echo; cp /usr/bin/perl p && ./p -e 'print 9'; echo; echo ok"
    assert unsandboxed(script, workdir).stdout.startswith("7\n8\n9"), "control: perl runs"
    (workdir / "p").unlink()
    pol = policy(commands={"allow": ["*"], "deny": ["perl", "git push"]})
    r = sh(spawner, pol, script, workdir)
    assert r.out == "\n\n\nok\n", r.err
    assert r.err.count("Permission denied") >= 2, r.err
    with pytest.raises(ExecDenied):
        run(spawner, pol, ["perl", "-e", "1"], workdir)
    r = sh(spawner, policy(commands={"allow": ["*"]}), "perl -e 'print 7'", workdir)
    assert r.out == "7", "without the deny entry perl runs under allow = ['*']"


def test_a_denied_program_spelled_as_a_path_is_withheld(
    spawner: Spawner, full: Probe, workdir: Path
) -> None:
    """`commands.deny = ["/usr/bin/perl"]` denies perl by name, as the checker reads it: the
    sandbox withholds it too, whether the allow list names perl or is `*`."""
    perl = shutil.which("perl")
    if perl is None:
        pytest.skip("needs a program to deny (perl)")
    for allow in (["@shell", "perl"], ["*"]):
        pol = policy(commands={"allow": allow, "deny": [perl]})
        assert not check("perl -e 1", pol).allowed, "the checker denies it"
        with pytest.raises(ExecDenied) as info:
            run(spawner, pol, ["perl", "-e", "print 7"], workdir)
        assert info.value.exit_code == 126, allow
        r = sh(spawner, pol, f"perl -e 'print 7'; {perl} -e 'print 8'; echo end", workdir)
        assert r.out == "end\n", (allow, r.err)
