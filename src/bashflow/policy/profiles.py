"""policy/profiles.py - built-in profiles: `strict`, `workspace` (the default for exec), `permissive`.

Each is an ordinary `Policy` (`get_profile`); `bashflow policy show workspace` prints it and
docs/policy.md lists it. They only use groups from `policy.groups`, so they stay readable.
The data here is plainly valid (`lite.plainly_valid`, checked by a test), so `lite_profile`
gives the same policy as a `LitePolicy` without importing pydantic: `bashflow exec` with a
profile starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

if TYPE_CHECKING:
    from bashflow.policy.lite import LitePolicy
    from bashflow.policy.model import Policy

_PROFILES: dict[str, dict[str, object]] = {
    "strict": {
        "commands": {
            "allow": ["@coreutils", "@shell", "@text"],
            "deny": ["@privileged", "@network"],
        },
        "paths": {
            "read": ["@system", "."],
            "write": [".", "@devnull"],
            "deny": ["@secrets", "@dotenv"],
        },
        "network": {"allow": False},
        "env": {"pass": ["LANG", "LC_*", "TZ"], "set": {"PATH": "/usr/bin:/bin"}},
        "limits": {
            "cpu_seconds": 10,
            "wall_seconds": 60,
            "memory_mib": 256,
            "file_size_mib": 16,
            "processes": 32,
            "open_files": 256,
            "disk_mib": 64,
            "inodes": 2000,
            "output_mib": 8,
        },
    },
    "workspace": {
        "commands": {
            "allow": [
                "@coreutils",
                "@shell",
                "@text",
                "@find",
                "@archive",
                "@build",
                "@git",
                "@python",
            ],
            "deny": [
                "@privileged",
                "@network",
                "git push",
                "git fetch",
                "git pull",
                "git clone",
                "pip install",
                "pip3 install",
            ],
        },
        "paths": {
            "read": ["@system", "."],
            "write": [".", "@devnull"],
            "deny": ["@secrets", "@dotenv"],
        },
        "network": {"allow": False},
        "env": {
            "pass": ["LANG", "LC_*", "TZ", "TERM", "CI", "CI_*"],
            "set": {"PATH": "/usr/local/bin:/usr/bin:/bin"},
        },
        "limits": {
            "cpu_seconds": 300,
            "wall_seconds": 900,
            "memory_mib": 2048,
            "file_size_mib": 512,
            "processes": 256,
            "open_files": 1024,
            "disk_mib": 2048,
            "inodes": 100000,
            "output_mib": 64,
        },
    },
    "permissive": {
        "commands": {"allow": ["*"], "deny": ["@privileged"]},
        "paths": {"read": ["/"], "write": [".", "@tmp", "@devnull"], "deny": ["@secrets"]},
        "network": {"allow": True},
        "env": {"pass": ["*"], "set": {}},
        "limits": {
            "cpu_seconds": 3600,
            "wall_seconds": 7200,
            "memory_mib": 8192,
            "file_size_mib": 4096,
            "processes": 1024,
            "open_files": 4096,
            "disk_mib": 16384,
            "inodes": 1000000,
            "output_mib": 1024,
        },
    },
}

PROFILE_NAMES: tuple[str, ...] = tuple(_PROFILES)
DEFAULT_PROFILE = "workspace"


def _data(name: str) -> dict[str, object]:
    try:
        return _PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r} (known: {', '.join(PROFILE_NAMES)})") from None


def get_profile(name: str) -> Policy:
    """The built-in profile `name`; raises `KeyError` naming the known ones."""
    from bashflow.policy.model import Policy

    return Policy.model_validate(_data(name))


def lite_profile(name: str) -> LitePolicy:
    """The built-in profile `name` as a `LitePolicy` (no pydantic); raises `KeyError` as
    `get_profile` does."""
    from bashflow.policy.lite import lite_from_data

    return lite_from_data(_data(name))


@overload
def load_policy(spec: str, *, lite: Literal[False] = False) -> Policy: ...


@overload
def load_policy(spec: str, *, lite: bool) -> Policy | LitePolicy: ...


def load_policy(spec: str, *, lite: bool = False) -> Policy | LitePolicy:
    """What a `--policy` argument names: a policy file, or a built-in profile name when no such
    file exists (raises `PolicyError` otherwise). With `lite`, a profile or a plainly valid file
    is read without pydantic (`policy/lite.py`); a file that is not plainly valid is validated
    by the model, which reports what is wrong."""
    import os

    if not os.path.exists(spec):
        if spec in PROFILE_NAMES:
            return lite_profile(spec) if lite else get_profile(spec)
        from bashflow.errors import PolicyError

        names = ", ".join(PROFILE_NAMES)
        raise PolicyError(f"no policy file {spec!r} (and not a built-in profile: {names})")
    if lite:
        from bashflow.policy.lite import load_lite

        return load_lite(spec)  # type: ignore[no-any-return]
    from bashflow.policy.model import Policy

    return Policy.load(spec)
