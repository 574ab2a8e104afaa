"""sandbox/rlimits.py - a pure builder from policy limits to (resource, soft, hard) triples."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from bashflow.policy.model import LimitsSection

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The policy's `limits` section as plain data (same field names and units), so that a plan
    travels to the fork server without pydantic (the server stays small: every fork and exec
    there costs in proportion to its size)."""

    cpu_seconds: int | None = None
    wall_seconds: float | None = None
    memory_mib: int | None = None
    file_size_mib: int | None = None
    processes: int | None = None
    open_files: int | None = None
    disk_mib: int | None = None
    inodes: int | None = None
    output_mib: int | None = None

    @classmethod
    def of(cls, section: LimitsSection | Limits) -> Limits:
        if isinstance(section, Limits):
            return section
        return cls(**{name: getattr(section, name) for name in cls.__dataclass_fields__})


class Rlimit(NamedTuple):
    resource: int
    soft: int
    hard: int
    field: str
    """The policy field this limit enforces (for reports)."""


def build_rlimits(
    limits: LimitsSection | Limits, *, cgroup_pids: bool, cgroup_memory: bool
) -> tuple[Rlimit, ...]:
    """The rlimits a process gets. Pure: no system calls.

    * `cpu_seconds` → RLIMIT_CPU (SIGXCPU at the soft limit, SIGKILL one second later);
    * `file_size_mib` → RLIMIT_FSIZE (SIGXFSZ), also capped by `disk_mib`;
    * `open_files` → RLIMIT_NOFILE;
    * `processes` → RLIMIT_NPROC only when the pids cgroup cannot count them (RLIMIT_NPROC
      counts every process of the uid, so it is the weaker fallback);
    * `memory_mib` → RLIMIT_AS only when the memory cgroup is missing (the weaker fallback);
    * core dumps are always off.
    """
    out: list[Rlimit] = [Rlimit(resource.RLIMIT_CORE, 0, 0, "core")]
    if limits.cpu_seconds is not None:
        out.append(
            Rlimit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1, "cpu_seconds")
        )
    sizes = [v for v in (limits.file_size_mib, limits.disk_mib) if v is not None]
    if sizes:
        fsize = min(sizes) * MIB
        field = "file_size_mib" if min(sizes) == limits.file_size_mib else "disk_mib"
        out.append(Rlimit(resource.RLIMIT_FSIZE, fsize, fsize, field))
    if limits.open_files is not None:
        out.append(Rlimit(resource.RLIMIT_NOFILE, limits.open_files, limits.open_files,
                          "open_files"))  # fmt: skip
    if limits.processes is not None and not cgroup_pids:
        out.append(Rlimit(resource.RLIMIT_NPROC, limits.processes, limits.processes, "processes"))
    if limits.memory_mib is not None and not cgroup_memory:
        mem = limits.memory_mib * MIB
        out.append(Rlimit(resource.RLIMIT_AS, mem, mem, "memory_mib"))
    return tuple(out)


def apply_rlimits(limits: tuple[Rlimit, ...]) -> None:
    for r in limits:
        resource.setrlimit(r.resource, (r.soft, r.hard))
