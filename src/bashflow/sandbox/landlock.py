"""sandbox/landlock.py - Landlock through ctypes: ABI probe, ruleset, path and port rules, restrict.

Rights follow the kernel's UAPI (linux/landlock.h). The ruleset handles every right the running
ABI knows, so anything not granted by a rule is denied. Rules on regular files may only carry
file rights (the kernel rejects directory rights on files with EINVAL).
"""

from __future__ import annotations

import ctypes
import os
import stat

from bashflow.sandbox._sys import (
    SYS_LANDLOCK_ADD_RULE,
    SYS_LANDLOCK_CREATE_RULESET,
    SYS_LANDLOCK_RESTRICT_SELF,
    check,
    syscall,
)
from bashflow.sandbox._sys import _syscall as _raw_syscall

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2

FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = READ_FILE | READ_DIR
WRITE = (
    WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_SYM
    | REFER
    | TRUNCATE
)
"""What a writable tree grants besides READ. Never MAKE_CHAR / MAKE_BLOCK / IOCTL_DEV."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def abi_version() -> int:
    """The Landlock ABI of the running kernel; 0 when Landlock is unavailable or disabled."""
    r = syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(r, 0)


def handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def create_ruleset(abi: int, *, restrict_tcp: bool) -> int:
    """A ruleset fd handling every right of `abi` (TCP only when `restrict_tcp`), with the
    abstract-unix-socket and signal scopes from ABI 6."""
    fs = handled_fs(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if (abi >= 4 and restrict_tcp) else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 8 * (2 if abi >= 4 else 1)
    fd = syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    return check(fd, "landlock_create_ruleset")


def add_rules(ruleset: int, rules: tuple[tuple[int, int, bool], ...], *, abi: int) -> None:
    """Grant each rule's `access` (masked to what `abi` handles, and to file rights for a
    non-directory) beneath the file or directory open as its `fd` (O_PATH is enough); the
    rules are (fd, access, is_dir). One reused struct: this runs per spawn."""
    handled = handled_fs(abi)
    rule = _PathBeneath(0, 0)
    ref = ctypes.byref(rule)
    nr = ctypes.c_long(SYS_LANDLOCK_ADD_RULE)
    for fd, access, is_dir in rules:
        access &= handled if is_dir else handled & FILE_RIGHTS
        if not access:
            continue
        rule.allowed_access = access
        rule.parent_fd = fd
        check(_raw_syscall(nr, ruleset, _RULE_PATH_BENEATH, ref, 0), "landlock_add_rule")


def add_path(ruleset: int, path: str, access: int, *, abi: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        add_rules(ruleset, ((fd, access, is_dir),), abi=abi)
    finally:
        os.close(fd)


def restrict_self(ruleset: int) -> None:
    """Enforce the ruleset on this thread (and what it execs). Needs NO_NEW_PRIVS first."""
    check(syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
