"""sandbox/_sys.py - the raw system calls the sandbox needs that Python 3.11 does not expose."""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
_syscall = libc.syscall
_syscall.restype = ctypes.c_long

# x86_64 syscall numbers (the only architecture bashflow's sandbox supports for now).
SYS_CAPSET = 126
SYS_PIVOT_ROOT = 155
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def syscall(nr: int, *args: object) -> int:
    return int(_syscall(ctypes.c_long(nr), *args))


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    return check(
        libc.prctl(
            ctypes.c_int(option),
            ctypes.c_ulong(a2),
            ctypes.c_ulong(a3),
            ctypes.c_ulong(a4),
            ctypes.c_ulong(a5),
        ),
        "prctl",
    )
