"""sandbox/namespaces.py - unshare, mounts (classic and the new mount API), uid/gid maps.

Everything here runs in the child between fork and exec, except `idmap_userns`, which the fork
server calls once per owner to get a user namespace fd for idmapped work-dir mounts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Sequence

from bashflow.sandbox._sys import (
    SYS_MOUNT_SETATTR,
    SYS_MOVE_MOUNT,
    SYS_OPEN_TREE,
    check,
    libc,
    syscall,
)

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4

MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR_IDMAP = 0x100000


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def unshare(flags: int) -> None:
    check(libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(fd: int, nstype: int) -> None:
    check(libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def template(
    steps: Callable[[], None], *, userns: bool, net: bool, keep_above: int
) -> tuple[int, int, int]:
    """Apply the namespace steps of a plan once, ahead of time, in a forked child, and keep its
    namespaces as fds (user, mount, network; -1 when not made): each sandbox of the plan then
    joins them and takes its own copy of the mount namespace (`unshare(CLONE_NEWNS)`), which
    costs a fraction of redoing ~100 bind mounts. `steps` runs in the child after the user
    namespace (when `userns`) and the mount namespace exist; the network namespace is a new,
    empty one (loopback down), shared by the plan's sandboxes. The fds are moved to numbers
    above `keep_above`."""
    import fcntl
    import signal

    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    done_r, done_w = os.pipe2(os.O_CLOEXEC)
    uid, gid = os.getuid(), os.getgid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            signal.set_wakeup_fd(-1)
            os.close(ready_r)
            os.close(done_w)
            if userns:
                unshare(CLONE_NEWUSER)
                write_id_maps("self", f"{uid} {uid} 1\n", f"{gid} {gid} 1\n", deny_setgroups=True)
            unshare(CLONE_NEWNS)
            steps()
            if net:
                unshare(CLONE_NEWNET)
            os.write(ready_w, b"ok")
            os.read(done_r, 1)  # until the parent holds the namespaces
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.write(ready_w, f"{e}".encode(errors="replace")[:2000])
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    fds = [-1, -1, -1]
    try:
        msg = os.read(ready_r, 4096)
        if msg != b"ok":
            raise OSError(f"mount namespace template: {msg.decode(errors='replace')}")
        for i, (name, wanted) in enumerate((("user", userns), ("mnt", True), ("net", net))):
            if wanted:
                fd = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
                fds[i] = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, keep_above)
                os.close(fd)
    except BaseException:
        for fd in fds:
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        os.close(ready_r)
        os.close(done_w)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return fds[0], fds[1], fds[2]


def mount(
    source: str, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    r = libc.mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    check(r, f"mount {target}")


def open_tree(path: str, *, recursive: bool = False) -> int:
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    return check(syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), flags), f"open_tree {path}")


def mount_setattr(fd: int, path: str, attr_set: int, *, userns_fd: int = 0,
                  recursive: bool = False) -> None:  # fmt: skip
    attr = _MountAttr(attr_set, 0, 0, userns_fd)
    flags = (AT_EMPTY_PATH if not path else 0) | (AT_RECURSIVE if recursive else 0)
    r = syscall(
        SYS_MOUNT_SETATTR, fd, path.encode(), flags, ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )  # fmt: skip
    check(r, f"mount_setattr {path or fd}")


def move_mount(fd: int, target: str) -> None:
    r = syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH)
    check(r, f"move_mount {target}")


def write_id_maps(pid: int | str, uid_map: str, gid_map: str, *, deny_setgroups: bool) -> None:
    if deny_setgroups:
        with open(f"/proc/{pid}/setgroups", "w") as f:
            f.write("deny")
    with open(f"/proc/{pid}/uid_map", "w") as f:
        f.write(uid_map)
    with open(f"/proc/{pid}/gid_map", "w") as f:
        f.write(gid_map)


def idmap_userns(owner_uid: int, owner_gid: int, uid: int, gid: int) -> int:
    """An fd of a user namespace mapping `owner` → (`uid`, `gid`), for idmapped mounts: through
    such a mount, files owned by the owner appear owned by the sandbox uid, and what the sandbox
    creates is stored as the owner's. Needs CAP_SETUID (the fork server as root)."""
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(w1)
            os.close(r2)
            unshare(CLONE_NEWUSER)
            os.write(w2, b"1")
            os.read(r1, 1)
        finally:
            os._exit(0)
    os.close(r1)
    os.close(w2)
    try:
        if os.read(r2, 1) != b"1":
            raise OSError("cannot create a user namespace for the idmapped mount")
        write_id_maps(pid, f"{owner_uid} {uid} 1\n", f"{owner_gid} {gid} 1\n",
                      deny_setgroups=False)  # fmt: skip
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(w1)
        os.close(r2)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
"""The only device nodes a sandboxed process sees."""


def setup_mounts(
    write_dirs: list[tuple[str, int]],
    mask_dirs: list[str],
    mask_files: list[str],
    noexec_dirs: list[str],
    exec_files: list[str],
    *,
    runtime: Sequence[tuple[str, tuple[str, ...]]] = (),
    deny_exec: Sequence[str] = (),
) -> None:
    """The mount step (in a fresh mount namespace of the child, or of the plan's template).

    1. propagation private, so nothing leaks back to the host;
    2. detached clones of the writable trees (`noexec,nosuid,nodev`, idmapped when a user
       namespace fd is given), of the runtime directories (read-only) and of the device nodes,
       taken before the host goes read-only;
    3. the whole host tree recursively read-only, nosuid, nodev (chmod/chown/utimes outside the
       writable trees fail with EROFS whatever the uid);
    4. /dev: a small read-only tmpfs with only `DEVICES` and the fd symlinks;
    5. the runtime directories (`Spawner.run_contained`: the Python installation) under an
       anchor others cannot search (`/root`) in a read-only tmpfs that replaces the anchor and
       holds only them; then the writable trees and the other runtime directories mounted
       back, parents first (a runtime directory inside a writable tree stays read-only, a
       writable tree inside a runtime directory stays writable);
    6. deny paths masked on top: an empty read-only mode-000 tmpfs over directories, a
       read-only nodev /dev/null over files (open fails, unlink and rename give EBUSY);
    7. the program directories (`noexec_dirs`) noexec, with each allowed program in them
       (`exec_files`) bind-mounted back executable: the ELF loader cannot map any other program
       there (`ld.so /usr/bin/x` fails), whatever Landlock grants it;
    8. each denied whole program (`deny_exec`, when every program is otherwise allowed) bound
       noexec over itself: neither exec nor the ELF loader can run it.
    """
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    clones: list[tuple[int, str]] = []
    for path, userns_fd in write_dirs:
        fd = open_tree(path)
        attrs = MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        if userns_fd >= 0:
            try:
                mount_setattr(fd, "", attrs | MOUNT_ATTR_IDMAP, userns_fd=userns_fd)
            except OSError:
                os.close(fd)  # file system without idmap support: plain bind
                fd = open_tree(path)
                mount_setattr(fd, "", attrs)
        else:
            mount_setattr(fd, "", attrs)
        clones.append((fd, path))
    devs = [(open_tree(d), d) for d in DEVICES if os.path.exists(d)]
    masks = []
    for f in mask_files:
        fd = open_tree("/dev/null")
        mount_setattr(fd, "", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
        masks.append((fd, f))
    ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
    runtime_clones: list[tuple[str, list[tuple[int, str]]]] = []
    for anchor, paths in runtime:
        group = []
        for p in paths:
            fd = open_tree(p)
            mount_setattr(fd, "", ro)
            group.append((fd, p))
        runtime_clones.append((anchor, group))
    mount_setattr(AT_FDCWD, "/", ro, recursive=True)
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=16k,nr_inodes=32")
    for fd, d in devs:
        os.close(os.open(d, os.O_CREAT | os.O_WRONLY, 0o666))
        move_mount(fd, d)
        os.close(fd)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"/dev/{name}")
    mount_setattr(AT_FDCWD, "/dev", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)
    for anchor, group in runtime_clones:
        if anchor:  # a read-only tmpfs holding only the runtime directories under it
            mount("tmpfs", anchor, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=755,size=64k,nr_inodes=1024")  # fmt: skip
            for fd, p in group:
                os.makedirs(p, 0o755, exist_ok=True)
                d = p
                while d != anchor:  # whatever the umask: searchable by the sandbox's uid
                    os.chmod(d, 0o755)
                    d = os.path.dirname(d)
                move_mount(fd, p)
                os.close(fd)
            mount_setattr(AT_FDCWD, anchor, ro | MOUNT_ATTR_NOEXEC)
        else:  # read-only over themselves, in depth order with the writable trees below
            clones += group
    # parents first: a writable tree inside a runtime directory stays writable, a runtime
    # directory inside a writable tree stays read-only (the runtime one wins a tie)
    writable = len(write_dirs)  # clones[:writable] are the writable trees
    order = sorted(range(len(clones)), key=lambda i: (clones[i][1].count("/"), i >= writable))
    for i in order:
        fd, path = clones[i]
        move_mount(fd, path)
        os.close(fd)
    for d in mask_dirs:
        mount("tmpfs", d, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=000,size=4k,nr_inodes=1")  # fmt: skip
    for fd, f in masks:
        move_mount(fd, f)
        os.close(fd)
    if noexec_dirs:
        files = [(open_tree(f), f) for f in exec_files]
        for d in noexec_dirs:
            fd = open_tree(d)
            mount_setattr(fd, "", MOUNT_ATTR_NOEXEC)
            move_mount(fd, d)
            os.close(fd)
        for fd, f in files:
            move_mount(fd, f)
            os.close(fd)
    for f in deny_exec:
        fd = open_tree(f)
        mount_setattr(fd, "", MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
        move_mount(fd, f)
        os.close(fd)


def mount_proc() -> None:
    """A /proc of the new pid namespace (run by its init): only the sandbox's own processes."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
