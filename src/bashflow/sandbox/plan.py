"""sandbox/plan.py - `prepare(policy, workdir) -> Plan`: every check and resolution, before any fork.

The plan is plain data (picklable; the fork server receives it): real paths for the kernel,
the resolved executables, the environment rules, the rlimits, the seccomp BPF (built once here)
and the layers to apply. The child only applies it (STYLE habit 11). The sandbox never decides
policy: it takes the Policy as given and maps it onto kernel mechanisms.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bashflow.errors import BashflowError
from bashflow.sandbox.probe import Layer, Probe, probe
from bashflow.sandbox.rlimits import Limits, Rlimit, build_rlimits

if TYPE_CHECKING:
    from bashflow.policy.model import Policy

EXIT_SANDBOX = 125
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

DANGEROUS_ENV: tuple[str, ...] = (
    "LD_*", "BASH_ENV", "ENV", "BASH_FUNC_*", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME",
    "PYTHONINSPECT", "PERL5LIB", "PERL5OPT", "PERLLIB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS",
    "NODE_PATH", "GIT_CONFIG*", "GIT_EXEC_PATH", "GIT_SSH*", "GIT_PAGER", "GIT_EDITOR",
    "GIT_ASKPASS", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND", "PAGER", "EDITOR", "VISUAL", "PS4",
    "PROMPT_COMMAND", "IFS", "SHELLOPTS", "BASHOPTS", "GCONV_PATH", "LOCPATH", "MALLOC_*",
    "GLIBC_TUNABLES", "HOSTALIASES", "RESOLV_HOST_CONF", "NLSPATH", "TMPDIR", "CDPATH",
)  # fmt: skip
"""Never taken from the caller through `env.pass` (not even `*`); only `env.set` gives them."""


PROGRAM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/usr/games",
                "/sbin", "/bin")  # fmt: skip
"""Directories of programs, mounted noexec except for the allowed ones (see namespaces)."""


class SandboxError(BashflowError):
    """The sandbox cannot be set up as asked (exit 125)."""

    exit_code = EXIT_SANDBOX


@dataclass(frozen=True)
class Plan:
    """Everything the fork server and the child need, resolved on this machine."""

    workdir: str
    home: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    deny: tuple[str, ...]
    skipped: tuple[str, ...]
    executables: tuple[str, ...]
    exec_all: bool
    network: bool
    env_set: tuple[tuple[str, str], ...]
    env_pass: tuple[str, ...]
    limits: Limits
    """The policy's limits as plain data (the fork server never imports pydantic)."""
    rlimits: tuple[Rlimit, ...]
    seccomp_bpf: bytes
    layers: frozenset[Layer]
    """Layers to apply (available here, or not accepted as missing)."""
    accepted_missing: frozenset[Layer]
    landlock_abi: int
    root: bool
    noexec_dirs: tuple[str, ...] = ()
    """Program directories mounted noexec (all but `exec_files` in them unloadable)."""
    exec_files: tuple[str, ...] = ()
    disk_baseline: tuple[int, int] = (0, 0)
    disk_scan: tuple[int, int, float, float] = field(default=(0, 0, 0.0, 0.0), compare=False)
    """The baseline's walk of the work dir: the file system's used bytes and inodes just before
    it (statvfs), when it ended (`time.monotonic()`, system-wide) and how long it took. The
    fork server starts watching from it instead of walking the work dir a second time. A
    measurement, not part of what the plan enforces: plans compare equal without it."""
    deny_exec: tuple[str, ...] = ()
    """With `commands.allow = ["*"]`: the real files of the whole programs `commands.deny`
    names (`perl` or `/usr/bin/perl`: that path, and the files of that name on PATH or in the
    program directories), mounted noexec."""
    runtime: tuple[str, ...] = ()
    """`interpreter=True`: the caller's import path (the Python installation, site-packages,
    bashflow's package), readable and mounted read-only, for `Spawner.run_contained`."""
    key: str = field(default="", init=False, compare=False)
    """Unique per plan object (also per `dataclasses.replace` copy): the server caches by it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", os.urandom(16).hex())

    def env_for(self, caller: Mapping[str, str]) -> dict[str, str]:
        """The environment a command sees: passed names minus dangerous ones, then `set`."""
        env: dict[str, str] = {}
        for name, value in caller.items():
            if _matches(name, DANGEROUS_ENV):
                continue
            if _matches(name, self.env_pass):
                env[name] = value
        env.update(self.env_set)
        env.setdefault("PATH", DEFAULT_PATH)
        return env

    def describe(self) -> list[str]:
        out = [f"workdir {self.workdir}"]
        out += [f"read {p}" for p in self.read] + [f"write {p}" for p in self.write]
        out += [f"deny {p}" for p in self.deny] + [f"skipped {p}" for p in self.skipped]
        out.append(f"exec {'any readable' if self.exec_all else len(self.executables)} files")
        out += [f"noexec {p} (denied)" for p in self.deny_exec]
        out.append(f"network {'on' if self.network else 'off'}")
        out += [f"runtime {p} (read-only)" for p in self.runtime]
        return out


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return _compiled(patterns).fullmatch(name) is not None


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression for a tuple of shell patterns (env_for runs per spawn)."""
    if not patterns:
        return re.compile(r"(?!x)x")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def prepare(
    policy: Policy,
    workdir: str | os.PathLike[str],
    *,
    home: str | None = None,
    accept_weaker: Iterable[Layer | str] = (),
    probed: Probe | None = None,
    interpreter: bool = False,
) -> Plan:
    """Validate and resolve `policy` for running in `workdir`; raise before any fork.

    `accept_weaker` names the layers the caller accepts to go without when this machine lacks
    them; any other missing layer raises `SandboxError` (exit 125) naming it. `interpreter`
    prepares for `Spawner.run_contained`: the caller's Python import path becomes readable
    (never writable) inside, besides what the policy grants.
    """
    from bashflow.errors import PolicyError
    from bashflow.policy.groups import UnknownGroup, expand_commands
    from bashflow.policy.paths import resolve_paths

    info = probed or probe()
    accepted = frozenset(Layer(a) if isinstance(a, str) else a for a in accept_weaker)
    missing = [layer for layer in info.missing() if layer not in accepted]
    if missing:
        names = ", ".join(m.value for m in missing)
        details = "; ".join(info.status(m).detail for m in missing)
        raise SandboxError(
            f"sandbox layer unavailable: {names} ({details}); refusing to run untrusted code "
            f"(accept a weaker sandbox explicitly with --accept-weaker {missing[0].value})"
        )
    wd = os.path.realpath(os.fspath(workdir))
    if not os.path.isdir(wd):
        raise SandboxError(f"work dir {os.fspath(workdir)!r} is not a directory")
    home = home or os.environ.get("HOME") or os.path.expanduser("~")
    try:
        paths = resolve_paths(policy, cwd=wd, home=home)
        commands = expand_commands(policy.commands.allow)
        denied = _whole_programs(expand_commands(policy.commands.deny))
    except UnknownGroup as e:
        raise PolicyError(str(e.args[0])) from None
    real = _realpaths
    read, write, deny = real(paths.read), real(paths.write), real(paths.deny)
    env_set = dict(policy.env.set)
    search = env_set.get("PATH", DEFAULT_PATH)
    exec_all = "*" in commands
    executables = () if exec_all else _resolve_executables(commands, denied, search)
    layers = frozenset(layer for layer in Layer if info.status(layer).available)
    rl = build_rlimits(
        policy.limits,
        cgroup_pids=Layer.CGROUP in layers,
        cgroup_memory=Layer.CGROUP in layers,
    )
    bpf = b""
    if Layer.SECCOMP in layers:
        from bashflow.sandbox.seccomp import build_filter

        bpf = build_filter(network=policy.network.allow)
    baseline = (0, 0)
    scan = (0, 0, 0.0, 0.0)
    if policy.limits.disk_mib is not None or policy.limits.inodes is not None:
        import time

        st = os.statvfs(wd)
        start = time.monotonic()
        baseline = disk_usage(wd)
        end = time.monotonic()
        scan = ((st.f_blocks - st.f_bfree) * st.f_frsize, st.f_files - st.f_ffree, end,
                end - start)  # fmt: skip
    noexec_dirs: tuple[str, ...] = ()
    exec_files: tuple[str, ...] = ()
    deny_exec: tuple[str, ...] = ()
    if not exec_all:
        noexec_dirs = _realpaths(p for p in PROGRAM_DIRS if os.path.isdir(p))
        exec_files = tuple(e for e in executables if os.path.dirname(e) in noexec_dirs)
    else:
        deny_exec = _denied_programs(denied, search)
    plan = Plan(
        workdir=wd, home=home, read=read, write=write, deny=deny, skipped=paths.skipped,
        executables=executables, exec_all=exec_all, network=policy.network.allow,
        env_set=tuple(sorted(env_set.items())), env_pass=tuple(policy.env.pass_),
        limits=Limits.of(policy.limits), rlimits=rl, seccomp_bpf=bpf, layers=layers,
        accepted_missing=frozenset(info.missing()), landlock_abi=info.landlock_abi,
        root=info.root, disk_baseline=baseline, disk_scan=scan, noexec_dirs=noexec_dirs, exec_files=exec_files,
        runtime=runtime_paths() if interpreter else (), deny_exec=deny_exec,
    )  # fmt: skip
    return plan


def runtime_paths() -> tuple[str, ...]:
    """The directories of this interpreter's import path that it has imported from (the
    directory holding each loaded top-level module or package), and the standard library's;
    real paths, none inside another. An entry nothing was imported from (the current
    directory of `python3 -m`, say, when the package lives below it in `src/`) is left out,
    so a work dir does not turn read-only just because it is on `sys.path`; so is one this
    process cannot read itself (the sandbox could not either: only what it has already
    imported is available then)."""
    import sys

    entries = set(_realpaths(p for p in sys.path if p and os.path.isdir(p)))
    used = {os.path.realpath(os.path.dirname(os.__file__))}
    for name, module in list(sys.modules.items()):
        if "." in name:
            continue  # a submodule lives in its top-level package
        places = list(getattr(module, "__path__", None) or [])
        f = getattr(module, "__file__", None)
        if not places and isinstance(f, str):
            places = [f]
        for place in places:
            if isinstance(place, str):
                used.add(os.path.dirname(os.path.realpath(place)))
    found = [p for p in entries & used if os.access(p, os.R_OK | os.X_OK)]
    return tuple(sorted(p for p in found if not any(q != p and within(p, q) for q in found)))


def within(path: str, tree: str) -> bool:
    """Whether `path` is `tree` or below it (whole components)."""
    return tree == "/" or path == tree or path.startswith(tree.rstrip("/") + "/")


def _realpaths(paths: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for p in paths:
        r = os.path.realpath(p)
        if os.path.exists(r) and r not in out:
            out.append(r)
    return tuple(out)


HELPER_DIRS: Mapping[str, tuple[str, ...]] = {
    name: ("/usr/lib/gcc", "/usr/libexec/gcc")
    for name in ("gcc", "cc", "g++", "c++", "cpp", "gcc-12", "g++-12")
} | {"git": ("/usr/lib/git-core", "/usr/libexec/git-core")}
"""Where an allowed program keeps the helper programs it runs itself (cc1, git-upload-pack...):
their files get EXECUTE too. Directories missing here are skipped."""


def _whole_programs(denied: list[str]) -> tuple[str, ...]:
    """The programs `commands.deny` denies outright (`perl`, `/usr/bin/perl`; not `git push`),
    as written: the entries the checker reads as a program with no words after it."""
    from bashflow.policy.commands import Entry

    return tuple(e.program for e in (Entry.parse(d) for d in denied if d.split()) if not e.words)


def _resolve_executables(
    commands: list[str], denied: tuple[str, ...], search: str
) -> tuple[str, ...]:
    """Real paths of the allowed programs found on `search`, their script interpreters and ELF
    loaders; none that `denied` (`_whole_programs`) names, by name as the checker matches
    them. Entries spelled as paths are not resolved (allow entries are bare names)."""
    from bashflow.policy.commands import basename

    denied_names = {basename(d) for d in denied}
    found: list[str] = []
    dirs = [d for d in search.split(":") if d.startswith("/")]
    for entry in commands:
        name = entry.split()[0]
        if "/" in name or name in denied_names:
            continue
        for d in dirs:
            cand = os.path.join(d, name)
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                _add_executable(os.path.realpath(cand), found, dirs, depth=0)
                for helper_dir in HELPER_DIRS.get(name, ()):
                    for root, _dirs, files in os.walk(helper_dir):
                        for f in files:
                            path = os.path.join(root, f)
                            if os.access(path, os.X_OK) and not f.endswith((".so", ".a", ".o")):
                                _add_executable(os.path.realpath(path), found, dirs, depth=1)
                break
    return tuple(found)


def _denied_programs(denied: tuple[str, ...], search: str) -> tuple[str, ...]:
    """Real paths of the programs `denied` (`_whole_programs`) names: each one spelled as a
    path, and every file of that name on `search` or in the program directories (the checker
    denies a program by name, wherever it lives)."""
    from bashflow.policy.commands import basename

    dirs = [d for d in search.split(":") if d.startswith("/")] + list(PROGRAM_DIRS)
    found = [p for p in denied if p.startswith("/")]
    found += [os.path.join(d, basename(p)) for p in denied for d in dirs]
    return _realpaths(p for p in found if os.path.isfile(p))


def _add_executable(path: str, found: list[str], dirs: list[str], *, depth: int) -> None:
    if path in found or depth > 3:
        return
    found.append(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return
    interp = ""
    if head.startswith(b"#!"):
        words = head[2:].split(b"\n", 1)[0].split()
        if words:
            interp = words[0].decode(errors="replace")
            if os.path.basename(interp) == "env" and len(words) > 1:
                _add_executable(os.path.realpath(interp), found, dirs, depth=depth + 1)
                name = words[1].decode(errors="replace")
                for d in dirs:
                    cand = os.path.join(d, name)
                    if os.path.isfile(cand):
                        interp = cand
                        break
    elif head.startswith(b"\x7fELF"):
        interp = _elf_interpreter(head, path)
    if interp and os.path.exists(interp):
        _add_executable(os.path.realpath(interp), found, dirs, depth=depth + 1)


def _elf_interpreter(head: bytes, path: str) -> str:
    """PT_INTERP of a 64-bit little-endian ELF file ('' when none or not parseable)."""
    if len(head) < 64 or head[4] != 2 or head[5] != 1:
        return ""
    phoff, = struct.unpack_from("<Q", head, 0x20)  # fmt: skip
    phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
    try:
        with open(path, "rb") as f:
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(phnum):
                p_type, = struct.unpack_from("<I", table, i * phentsize)  # fmt: skip
                if p_type == 3:  # PT_INTERP
                    off, = struct.unpack_from("<Q", table, i * phentsize + 8)  # fmt: skip
                    size, = struct.unpack_from("<Q", table, i * phentsize + 32)  # fmt: skip
                    f.seek(off)
                    return f.read(size).rstrip(b"\0").decode(errors="replace")
    except (OSError, struct.error):
        return ""
    return ""


def disk_usage(root: str) -> tuple[int, int]:
    """(bytes allocated, inodes) under `root`, not crossing into other file systems."""
    total = 0
    count = 0
    dev = os.lstat(root).st_dev
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            continue
        with it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                count += 1
                total += st.st_blocks * 512
                if e.is_dir(follow_symlinks=False) and st.st_dev == dev:
                    stack.append(e.path)
    return total, count
