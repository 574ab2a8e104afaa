"""sandbox/probe.py - what this kernel and this process can enforce, layer by layer.

Each probe is cheap and side-effect free for the caller (namespace probes run in a forked child
that exits). `bashflow doctor` prints the result; `prepare` refuses when a layer the plan needs is
missing and the caller did not accept the weaker sandbox by naming that layer.
"""

from __future__ import annotations

import enum
import functools
import os
from dataclasses import dataclass


class Layer(enum.Enum):
    """The layers in DESIGN.md's order."""

    CGROUP = "cgroup"
    MOUNT = "mount"
    RLIMITS = "rlimits"
    NETWORK = "network"
    PID = "pid"
    USER = "user"
    NO_NEW_PRIVS = "no_new_privs"
    LANDLOCK = "landlock"
    SECCOMP = "seccomp"


ENFORCES: dict[Layer, str] = {
    Layer.CGROUP: "processes (pids), memory_mib, whole-tree kill/stop/continue, CPU usage",
    Layer.MOUNT: "work dir noexec,nosuid,nodev; deny paths masked; read-only host; minimal /dev",
    Layer.RLIMITS: "cpu_seconds, file_size_mib, open_files, no core dumps",
    Layer.NETWORK: "network off: an empty network namespace (loopback down)",
    Layer.PID: "own /proc; other processes invisible; whole tree dies with its init",
    Layer.USER: "unprivileged uid (root) or user namespace (ordinary user)",
    Layer.NO_NEW_PRIVS: "setuid/file capabilities gain nothing",
    Layer.LANDLOCK: "read/write allowlists, EXECUTE allowlist, TCP, signal + abstract-socket scope",
    Layer.SECCOMP: "foreign arch killed; dangerous syscalls, socket families, TIOCSTI denied",
}


@dataclass(frozen=True)
class LayerStatus:
    layer: Layer
    available: bool
    detail: str


@dataclass(frozen=True)
class Probe:
    root: bool
    landlock_abi: int
    cgroup_version: int
    cgroup_writable: bool
    layers: tuple[LayerStatus, ...]

    def status(self, layer: Layer) -> LayerStatus:
        for s in self.layers:
            if s.layer is layer:
                return s
        raise KeyError(layer)

    def missing(self) -> list[Layer]:
        return [s.layer for s in self.layers if not s.available]


def _try_unshare(flags: int, *, userns_map: bool) -> str:
    """'' when a forked child can unshare `flags` (and mount in the new mount ns), else why."""
    from bashflow.sandbox import namespaces as ns

    r, w = os.pipe()
    uid, gid = os.getuid(), os.getgid()  # before unshare: unmapped ids read as 65534 after it
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.close(r)
            ns.unshare(flags)
            if flags & ns.CLONE_NEWNS:
                if userns_map:
                    ns.write_id_maps("self", f"{uid} {uid} 1\n", f"{gid} {gid} 1\n",
                                     deny_setgroups=True)  # fmt: skip
                ns.mount("none", "/", None, ns.MS_REC | ns.MS_PRIVATE)
                ns.mount("tmpfs", "/tmp", "tmpfs", ns.MS_NOSUID | ns.MS_NODEV, "size=4k")
        except OSError as e:
            os.write(w, str(e).encode()[:200])
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    try:
        msg = os.read(r, 256).decode(errors="replace")
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return msg


@functools.cache
def probe() -> Probe:
    """Probe this machine once per process."""
    from bashflow.sandbox import cgroup, landlock, seccomp
    from bashflow.sandbox import namespaces as ns

    root = os.geteuid() == 0
    abi = landlock.abi_version()
    hier = cgroup.detect() if root else None
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers") or os.path.exists(
        "/sys/fs/cgroup/unified/cgroup.controllers"
    )
    version = hier.version if hier else (2 if v2 else 1)
    layers: list[LayerStatus] = []

    def add(layer: Layer, ok: bool, detail: str) -> None:
        layers.append(LayerStatus(layer, ok, detail))

    if hier:
        ctrls = ", ".join(sorted(hier.dirs)) if hier.version == 1 else "pids, memory"
        add(Layer.CGROUP, True, f"cgroup v{hier.version} writable ({ctrls})")
    else:
        why = "not root" if not root else "no writable pids/memory controller"
        add(Layer.CGROUP, False, f"cgroup not writable ({why})")
    base = 0 if root else ns.CLONE_NEWUSER
    err_mnt = _try_unshare(base | ns.CLONE_NEWNS, userns_map=not root)
    add(Layer.MOUNT, not err_mnt, err_mnt or "mount namespace")
    add(Layer.RLIMITS, True, "setrlimit")
    err_net = _try_unshare(base | ns.CLONE_NEWNET, userns_map=False)
    add(Layer.NETWORK, not err_net, err_net or "network namespace")
    err_pid = _try_unshare(base | ns.CLONE_NEWPID, userns_map=False)
    add(Layer.PID, not err_pid, err_pid or "pid namespace")
    if root:
        add(Layer.USER, True, "running as root: drops to an unprivileged uid")
    else:
        err_user = _try_unshare(ns.CLONE_NEWUSER, userns_map=False)
        add(Layer.USER, not err_user, err_user or f"uid {os.getuid()}: user namespace")
    add(Layer.NO_NEW_PRIVS, True, "prctl(PR_SET_NO_NEW_PRIVS)")
    add(Layer.LANDLOCK, abi >= 1, f"Landlock ABI {abi}" if abi else "Landlock unavailable")
    why_not = seccomp.missing()
    add(Layer.SECCOMP, why_not is None, why_not or "seccomp filter mode")
    return Probe(root, abi, version, hier is not None, tuple(layers))
