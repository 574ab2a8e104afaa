"""policy/groups.py - named groups (`@system`, `@coreutils`, ...) with exact, documented contents.

A group name stands for its members wherever a list entry is allowed: command groups in
`commands.allow` / `commands.deny`, path groups in `paths.read` / `paths.write` / `paths.deny`.
The contents below are the documentation (docs/policy.md is generated from the same tables by
hand and a test keeps them equal). Paths that do not exist on a machine are skipped there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

_COREUTILS = [
    "[",
    "arch",
    "b2sum",
    "base32",
    "base64",
    "basename",
    "basenc",
    "cat",
    "chcon",
    "chgrp",
    "chmod",
    "chown",
    "cksum",
    "comm",
    "cp",
    "csplit",
    "cut",
    "date",
    "dd",
    "df",
    "dir",
    "dircolors",
    "dirname",
    "du",
    "echo",
    "env",
    "expand",
    "expr",
    "factor",
    "false",
    "fmt",
    "fold",
    "groups",
    "head",
    "hostid",
    "id",
    "install",
    "join",
    "link",
    "ln",
    "logname",
    "ls",
    "md5sum",
    "mkdir",
    "mkfifo",
    "mknod",
    "mktemp",
    "mv",
    "nice",
    "nl",
    "nohup",
    "nproc",
    "numfmt",
    "od",
    "paste",
    "pathchk",
    "pinky",
    "pr",
    "printenv",
    "printf",
    "ptx",
    "pwd",
    "readlink",
    "realpath",
    "rm",
    "rmdir",
    "runcon",
    "seq",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "shred",
    "shuf",
    "sleep",
    "sort",
    "split",
    "stat",
    "stdbuf",
    "stty",
    "sum",
    "sync",
    "tac",
    "tail",
    "tee",
    "test",
    "timeout",
    "touch",
    "tr",
    "true",
    "truncate",
    "tsort",
    "tty",
    "uname",
    "unexpand",
    "uniq",
    "unlink",
    "users",
    "vdir",
    "wc",
    "who",
    "whoami",
    "yes",
]

COMMAND_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "@coreutils": tuple(_COREUTILS),
        "@shell": ("bash", "sh", "dash"),
        "@text": (
            "grep",
            "egrep",
            "fgrep",
            "sed",
            "awk",
            "gawk",
            "mawk",
            "diff",
            "cmp",
            "patch",
            "less",
            "more",
            "file",
            "column",
            "xxd",
            "jq",
        ),
        "@find": ("find", "xargs", "locate"),
        "@archive": (
            "tar",
            "gzip",
            "gunzip",
            "zcat",
            "bzip2",
            "bunzip2",
            "xz",
            "unxz",
            "zstd",
            "unzip",
            "zip",
        ),
        "@build": (
            "make",
            "cc",
            "gcc",
            "g++",
            "c++",
            "cpp",
            "ld",
            "as",
            "ar",
            "ranlib",
            "strip",
            "pkg-config",
            "cmake",
            "ninja",
        ),
        "@git": ("git",),
        "@python": ("python3", "python", "pip", "pip3", "pytest"),
        "@network": (
            "curl",
            "wget",
            "ssh",
            "scp",
            "sftp",
            "rsync",
            "nc",
            "ncat",
            "netcat",
            "telnet",
            "ftp",
            "socat",
            "ping",
        ),
        "@privileged": (
            "sudo",
            "su",
            "doas",
            "pkexec",
            "chroot",
            "nsenter",
            "unshare",
            "mount",
            "umount",
            "insmod",
            "rmmod",
            "modprobe",
            "kexec",
            "setcap",
            "capsh",
        ),
    }
)
"""Programs, by basename. `@coreutils` is exactly GNU coreutils 9.1 (Debian 12)."""

PATH_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "@system": (
            "/usr",
            "/bin",
            "/sbin",
            "/lib",
            "/lib32",
            "/lib64",
            "/libx32",
            "/etc/ld.so.cache",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/etc/alternatives",
            "/etc/localtime",
            "/etc/timezone",
            "/etc/passwd",
            "/etc/group",
            "/etc/nsswitch.conf",
            "/etc/hosts",
            "/etc/host.conf",
            "/etc/resolv.conf",
            "/etc/services",
            "/etc/protocols",
            "/etc/ssl",
            "/etc/ca-certificates",
            "/etc/mime.types",
            "/etc/inputrc",
            "/etc/bash.bashrc",
            "/etc/profile",
            "/etc/gitconfig",
            "/etc/os-release",
            "/etc/python3",
            "/etc/python3.11",
            "/proc",
            "/dev/null",
            "/dev/zero",
            "/dev/urandom",
            "/dev/random",
        ),
        "@devnull": ("/dev/null",),
        "@tmp": ("/tmp", "/var/tmp"),
        "@secrets": (
            "~/.ssh",
            "~/.gnupg",
            "~/.aws",
            "~/.azure",
            "~/.config/gcloud",
            "~/.kube",
            "~/.docker",
            "~/.netrc",
            "~/.git-credentials",
            "~/.npmrc",
            "~/.pypirc",
            "~/.password-store",
            "~/.local/share/keyrings",
            "/etc/shadow",
            "/etc/gshadow",
            "/etc/sudoers",
            "/etc/ssh",
        ),
        "@dotenv": (".env", ".envrc"),
    }
)
"""Paths; `~` is the home directory, relative entries the working directory."""


class UnknownGroup(KeyError):
    """A `@name` that is not a group of the expected kind."""


def expand_commands(entries: Iterable[str]) -> list[str]:
    """Replace command groups by their members, keeping order and dropping duplicates."""
    return _expand(entries, COMMAND_GROUPS, "command")


def expand_paths(entries: Iterable[str]) -> list[str]:
    """Replace path groups by their members, keeping order and dropping duplicates."""
    return _expand(entries, PATH_GROUPS, "path")


def _expand(entries: Iterable[str], groups: Mapping[str, tuple[str, ...]], kind: str) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.startswith("@"):
            name = entry.split()[0]
            if name not in groups:
                raise UnknownGroup(f"unknown {kind} group {name!r}")
            members: Iterable[str] = groups[name]
        else:
            members = (entry,)
        for m in members:
            if m not in seen:
                seen.add(m)
                out.append(m)
    return out
