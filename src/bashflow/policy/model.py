"""policy/model.py - the one policy schema (pydantic v2): sections, defaults, units in names.

The TOML form (issue 3)::

    [commands]  allow = ["@coreutils", "git status"]   deny = ["rm"]
    [paths]     read = ["@system", "."]  write = ["."]  deny = ["~/.ssh"]
    [network]   allow = false
    [env]       pass = ["LANG", "CI_*"]  set = { PATH = "/usr/bin:/bin" }
    [limits]    cpu_seconds, wall_seconds, memory_mib, file_size_mib, processes,
                open_files, disk_mib, inodes, output_mib

Every field has a default, so `Policy()` is a valid (and closed) policy: nothing may run, nothing
is readable or writable, no network. A limit set to `None` (JSON `null`; omit it in TOML to keep
the default) means "no limit".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


def _check_entries(values: list[str], what: str) -> list[str]:
    for v in values:
        if not v.strip():
            raise ValueError(f"empty {what} entry")
        if "\x00" in v:
            raise ValueError(f"NUL byte in {what} entry {v!r}")
    return values


class CommandsSection(BaseModel):
    """Which programs may run. Entries are whole-word argv prefixes; `@name` is a group;
    `"*"` allows any program that is not denied. Deny beats allow."""

    model_config = _STRICT

    allow: list[str] = Field(default_factory=list, description="argv prefixes that may run")
    deny: list[str] = Field(default_factory=list, description="argv prefixes that may never run")

    @field_validator("allow", "deny")
    @classmethod
    def _entries(cls, v: list[str]) -> list[str]:
        return _check_entries(v, "command")


class PathsSection(BaseModel):
    """Which paths may be read or written. Relative entries are relative to the working
    directory, `~` is the home directory, `@name` is a group. Readable = read + write - deny;
    writable = write - deny; a deny entry covers its whole subtree."""

    model_config = _STRICT

    read: list[str] = Field(default_factory=list, description="readable trees")
    write: list[str] = Field(default_factory=list, description="writable (and readable) trees")
    deny: list[str] = Field(default_factory=list, description="neither read nor written")

    @field_validator("read", "write", "deny")
    @classmethod
    def _entries(cls, v: list[str]) -> list[str]:
        return _check_entries(v, "path")


class NetworkSection(BaseModel):
    """Whether the network may be used at all (a list of HOST:PORT entries comes later)."""

    model_config = _STRICT

    allow: bool = Field(default=False, description="allow network access")


class EnvSection(BaseModel):
    """The environment a command sees: only `pass` names (shell-style `*` patterns) taken from
    the caller, plus `set`. Nothing else leaks in."""

    model_config = _STRICT

    pass_: list[str] = Field(default_factory=list, alias="pass", description="names to pass")
    set: dict[str, str] = Field(default_factory=dict, description="variables to set")

    @field_validator("pass_")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for name in v:
            if not name or "=" in name or "\x00" in name:
                raise ValueError(f"bad variable name pattern {name!r}")
        return v

    @field_validator("set")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not name or "=" in name or "\x00" in name or "\x00" in value:
                raise ValueError(f"bad variable {name!r}")
        return v


class LimitsSection(BaseModel):
    """Resource limits, units in the names. `None` means no limit."""

    model_config = _STRICT

    cpu_seconds: PositiveInt | None = Field(default=60, description="CPU time per process")
    wall_seconds: PositiveFloat | None = Field(default=600, description="wall-clock time")
    memory_mib: PositiveInt | None = Field(default=1024, description="memory of the tree")
    file_size_mib: PositiveInt | None = Field(default=256, description="largest file written")
    processes: PositiveInt | None = Field(default=256, description="processes in the tree")
    open_files: PositiveInt | None = Field(default=1024, description="open fds per process")
    disk_mib: PositiveInt | None = Field(default=1024, description="growth of the work dir")
    inodes: PositiveInt | None = Field(default=100_000, description="files added to the work dir")
    output_mib: PositiveInt | None = Field(default=64, description="bytes written to stdout+stderr")


class Policy(BaseModel):
    """A bashflow policy: what may run, be read or written, network, environment, limits."""

    model_config = _STRICT

    commands: CommandsSection = Field(default_factory=CommandsSection)
    paths: PathsSection = Field(default_factory=PathsSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    env: EnvSection = Field(default_factory=EnvSection)
    limits: LimitsSection = Field(default_factory=LimitsSection)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Load a policy from a `.toml` or `.json` file; raises `PolicyError` at `P:line:col`."""
        from bashflow.policy.load import load_policy

        return load_policy(path)

    @classmethod
    def loads(cls, text: str, filename: str = "<policy>", *, fmt: str = "toml") -> Policy:
        """Load a policy from text (`fmt` is "toml" or "json")."""
        from bashflow.policy.load import loads_policy

        return loads_policy(text, filename, fmt=fmt)

    @classmethod
    def profile(cls, name: str) -> Policy:
        """A built-in profile: "strict", "workspace" (the default for exec) or "permissive"."""
        from bashflow.policy.profiles import get_profile

        return get_profile(name)

    def to_toml(self) -> str:
        """This policy as TOML text that `Policy.loads` reads back."""
        from bashflow.policy.load import dump_toml

        return dump_toml(self)

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")
