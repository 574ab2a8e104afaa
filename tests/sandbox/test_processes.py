"""Processes: denied system calls, foreign architectures, signals, terminals, TIOCSTI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from tests.sandbox.conftest import policy, read_all, run, sh

from bashflow.sandbox.plan import SandboxError, prepare
from bashflow.sandbox.probe import Probe
from bashflow.sandbox.spawner import Spawner

pytestmark = pytest.mark.slow

# Every call is harmless where it is not denied: attaching to itself, bad pointers or flags, a
# clone flag combination the kernel rejects (CLONE_NEWUSER|CLONE_FS) - never a real attach.
SYSCALLS = """
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def sc(nr, *a):
    r = libc.syscall(nr, *[ctypes.c_long(x) for x in a])
    return errno.errorcode.get(ctypes.get_errno(), "?") if r == -1 else "OK"
checks = {
    "ptrace": (101, 16, os.getpid(), 0, 0), "process_vm_readv": (310, 1, 0, 0, 0, 0, 0),
    "process_vm_writev": (311, 1, 0, 0, 0, 0, 0), "io_uring_setup": (425, 1, 0),
    "bpf": (321, 0, 0, 0), "perf_event_open": (298, 0, 0, -1, -1, 0), "userfaultfd": (323, 0),
    "keyctl": (250, 0, 0, 0, 0, 0), "add_key": (248, 0, 0, 0, 0, 0),
    "mount": (165, 0, 0, 0, 0, 0), "umount2": (166, 0, 0), "pivot_root": (155, 0, 0),
    "setns": (308, 0, 0), "unshare": (272, 0x10000000), "kexec_load": (246, 0, 0, 0, 0xFFFF0000),
    "init_module": (175, 0, 0, 0), "finit_module": (313, -1, 0, 0), "delete_module": (176, 0, 0),
    "open_by_handle_at": (304, 0, 0, 0), "personality": (135, 0x0040000),
    "clone_newuser": (56, 0x10000000 | 0x200, 0, 0, 0, 0),
}
for name, args in checks.items():
    print(name, sc(*args))
print("fork", "OK" if os.waitpid(pid := os.fork() or os._exit(0), 0) else "?")
"""


def test_dangerous_syscalls_denied(spawner: Spawner, full: Probe, workdir: Path) -> None:
    ctl = subprocess.run(["/usr/bin/python3", "-c", SYSCALLS], capture_output=True, text=True,
                         timeout=30, check=False)  # fmt: skip
    control = dict(line.split() for line in ctl.stdout.splitlines())
    assert control["unshare"] == "OK" and control["personality"] == "OK"  # they would work
    r = run(spawner, policy(), ["python3", "-c", SYSCALLS], workdir)
    got = dict(line.split() for line in r.out.splitlines())
    assert got.pop("fork") == "OK", r.err
    assert got and all(v == "EPERM" for v in got.values()), got


C_FOREIGN = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long r;
    if (argv[1][0] == 'i') {   /* i386 getpid through int 0x80 */
        __asm__ volatile ("int $0x80" : "=a"(r) : "a"(20) : "memory");
    } else {                   /* x32 getpid */
        r = syscall(0x40000000 | 39);
    }
    printf("survived %ld\n", r);
    return 0;
}
"""


def test_foreign_architectures_kill(
    spawner: Spawner, full: Probe, workdir: Path, base: Path
) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("needs a C compiler to build the int 0x80 / x32 probe")
    bindir = base / "bin"
    bindir.mkdir()
    src = base / "foreign.c"
    src.write_text(C_FOREIGN)
    exe = bindir / "foreign"
    subprocess.run([cc, "-O0", "-o", str(exe), str(src)], check=True, timeout=60)
    ctl = subprocess.run([str(exe), "i"], capture_output=True, text=True, check=False)
    assert ctl.stdout.startswith("survived"), "control: int 0x80 works without the sandbox"
    pol = policy(
        commands={"allow": ["foreign"]},
        paths={"read": ["@system", ".", str(bindir)]},
        env={"set": {"PATH": f"{bindir}:/usr/bin"}},
    )
    for mode in ("i", "x"):
        r = run(spawner, pol, ["foreign", mode], workdir)
        assert r.outcome.signal == signal.SIGSYS, (mode, r.out, r.err)
        assert "survived" not in r.out


def test_signals_cannot_reach_outside(spawner: Spawner, full: Probe, workdir: Path) -> None:
    victim = subprocess.Popen(["sleep", "30"])
    try:
        r = sh(spawner, policy(), f"kill -9 {victim.pid}; kill -9 {os.getpid()}; "
               f"kill -9 {spawner.server_pid}; sleep 5 & kill $! && echo own-child-ok", workdir)  # fmt: skip
        assert r.out == "own-child-ok\n"
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_terminal_never_handed_in(spawner: Spawner, full: Probe, workdir: Path) -> None:
    master, slave = os.openpty()
    try:
        r = sh(spawner, policy(), "test -t 0 && echo TTY || echo notty; cat", workdir,
               stdin=slave)  # fmt: skip
        assert r.out == "notty\n"
        with pytest.raises(SandboxError, match="terminal"):
            spawner.spawn(prepare(policy(), workdir), ["true"], stdout=slave)
    finally:
        os.close(master)
        os.close(slave)


TIOCSTI = """
import fcntl, errno, sys
fd = int(sys.argv[1])
for req, arg in ((0x5412, b"x"), (0x541C, bytes(8))):
    try:
        fcntl.ioctl(fd, req, arg)
        print("OK")
    except OSError as e:
        print(errno.errorcode[e.errno])
"""


def test_tiocsti_and_tioclinux_denied(spawner: Spawner, full: Probe, workdir: Path) -> None:
    master, slave = os.openpty()
    try:
        ctl = subprocess.run(["/usr/bin/python3", "-c", TIOCSTI, str(slave)], pass_fds=(slave,),
                             capture_output=True, text=True, check=False)  # fmt: skip
        assert ctl.stdout.split()[0] != "EPERM", ctl.stdout + ctl.stderr
        plan = prepare(policy(), workdir)
        out_r, out_w = os.pipe()
        proc = spawner.spawn(plan, ["python3", "-c", TIOCSTI, str(slave)], stdout=out_w,
                             pass_fds=(slave,))  # fmt: skip
        os.close(out_w)
        out = read_all(out_r)
        proc.wait()
        assert out.decode().split() == ["EPERM", "EPERM"]
    finally:
        os.close(master)
        os.close(slave)
