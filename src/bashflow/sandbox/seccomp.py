"""sandbox/seccomp.py - the seccomp filter: built once with pyseccomp, loaded with one prctl.

The only module that imports pyseccomp (STYLE habit 8), and only inside `build_filter`, so the
child never touches libseccomp: it gets the finished BPF bytes and calls `load_filter`.

The filter allows by default and:
* kills the process for any foreign architecture (i386 `int 0x80`, x32 system call numbers);
* fails with EPERM the system calls a sandboxed program never needs and that widen the kernel
  surface or escape the other layers (list `DENIED`);
* makes `clone3` fail with ENOSYS (its flags are in memory where seccomp cannot see them; libc
  falls back to `clone`) and denies `clone`/`unshare` with any namespace flag;
* restricts `socket` families: none when the network is off (`socketpair` stays), otherwise
  AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK;
* denies the terminal-injection ioctls TIOCSTI and TIOCLINUX.
"""

from __future__ import annotations

import ctypes
import errno
import os

from bashflow.sandbox._sys import PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prctl

DENIED: tuple[str, ...] = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "setns", "unshare",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "name_to_handle_at", "acct", "swapon", "swapoff", "reboot",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "quotactl",
    "quotactl_fd", "lookup_dcookie", "vhangup", "iopl", "ioperm", "uselib", "fanotify_init",
    "nfsservctl", "_sysctl", "sethostname", "setdomainname", "landlock_create_ruleset",
    "lsm_set_self_attr",
)  # fmt: skip

_CLONE_NS_FLAGS = (
    0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
    | 0x00000080  # CLONE_NEWTIME
)
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16
_AF_MAX = 64
_PERSONALITY_QUERY = 0xFFFFFFFF


def build_filter(*, network: bool) -> bytes:
    """Compile the filter to BPF (`struct sock_filter[]` bytes) for this architecture."""
    import tempfile

    import pyseccomp as sc  # type: ignore[import-untyped]

    f = sc.SyscallFilter(sc.ALLOW)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    f.set_attr(sc.Attr.CTL_NNP, 0)  # we set NO_NEW_PRIVS ourselves, earlier
    eperm = sc.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            f.add_rule(eperm, name)
        except (ValueError, OSError, RuntimeError):
            continue  # not a system call on this architecture
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for bit in range(32):
        flag = 1 << bit
        if _CLONE_NS_FLAGS & flag:
            f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(eperm, "personality", sc.Arg(0, sc.LT, _PERSONALITY_QUERY))  # only the query
    for req in (TIOCSTI, TIOCLINUX):
        f.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, req))
    eaf = sc.ERRNO(errno.EAFNOSUPPORT)
    if not network:
        f.add_rule(eaf, "socket")  # every family; one rule keeps the filter short
    else:
        allowed = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK}
        for family in range(_AF_MAX):
            if family not in allowed:
                f.add_rule(eaf, "socket", sc.Arg(0, sc.EQ, family))
        f.add_rule(eaf, "socket", sc.Arg(0, sc.GE, _AF_MAX))
    with tempfile.TemporaryFile() as tmp:
        f.export_bpf(tmp)
        tmp.seek(0)
        return tmp.read()


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def load_filter(bpf: bytes) -> None:
    """Install the BPF program on this process (the child). NO_NEW_PRIVS must already be set."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog))


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def missing() -> str | None:
    """Why no filter can be built and loaded here (None: it can): the kernel must accept
    seccomp filters (probed without installing one) and pyseccomp with libseccomp must load."""
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            if not any(line.startswith("Seccomp:") for line in f):
                return "seccomp unavailable: the kernel has no seccomp filter mode"
    except OSError as err:
        return f"seccomp unavailable: {err.strerror}"
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError) as err:
        return f"seccomp unavailable: pyseccomp/libseccomp cannot be loaded ({err})"
    return None
