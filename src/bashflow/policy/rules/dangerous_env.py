"""BF109 dangerous-env - a variable that changes which code programs run is set.

What: `PATH`, `LD_*`, `BASH_ENV`, `ENV`, `BASH_FUNC_*`, `PS0`-`PS4`, `PROMPT_COMMAND`, `IFS`,
`SHELLOPTS`, `BASHOPTS`, `CDPATH`, `HOME`, pagers and editors, git's config and exec
variables (`GIT_*` but author/committer names), `PYTHONPATH` and friends, `NODE_OPTIONS`,
`PERL5LIB`, `RUBYOPT`, ... by any route: `X=v cmd`, `X=v`, `export`, `declare`, `local`,
`readonly`, `read`, `printf -v`, `mapfile`, `env X=v`, a nameref.
Why: these make an allowed program load or run other code (`GIT_PAGER='rm -rf ~' git log`).
`IFS=` as a prefix of `read`/`mapfile` only affects that builtin and is fine.
Example: `LD_PRELOAD=./x.so ls`
Fix: do not set them; use `env.set` in the policy for values the script really needs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

    from bashflow.policy.check import Context
    from bashflow.policy.values import EnvSet

CODE = "BF109"
NAME = "dangerous-env"
EFFECT = "EnvSet"

DANGEROUS = [
    "PATH",
    "LD_*",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "PS0",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "SHELLOPTS",
    "BASHOPTS",
    "CDPATH",
    "HOME",
    "PWD",
    "OLDPWD",
    "SHELL",
    "GLOBIGNORE",
    "HISTFILE",
    "BASH_LOADABLES_PATH",
    "BASH_XTRACEFD",
    "PAGER",
    "MANPAGER",
    "SYSTEMD_PAGER",
    "GIT_*",
    "EDITOR",
    "VISUAL",
    "LESSOPEN",
    "LESSCLOSE",
    "LESSKEY",
    "BROWSER",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "PYTHON*",
    "PERL5LIB",
    "PERL5OPT",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "NODE_OPTIONS",
    "NODE_PATH",
    "GCONV_PATH",
    "LOCPATH",
    "MALLOC_*",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
    "CC",
    "CXX",
    "CPP",
    "LD",
    "AR",
    "MAKE",
    "MAKEFLAGS",
    "MFLAGS",
    "GNUMAKEFLAGS",
    "NPM_CONFIG_*",
    "npm_config_*",
    "PIP_*",
    "GEM_*",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "DOTNET_STARTUP_HOOKS",
    "TERMINFO",
    "TERMINFO_DIRS",
    "ZDOTDIR",
    "FPATH",
    "INPUTRC",
    "BASH_CMDS",
    "BASH_ALIASES",
    "BASH_COMPAT",
    "BASH_ARGV0",
    "EXECIGNORE",
]

SAFE = frozenset(
    [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
        "GIT_TERMINAL_PROMPT",
        "GIT_FLUSH",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONFAULTHANDLER",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "PIP_NO_INPUT",
        "PIP_NO_COLOR",
    ]
)


@functools.cache
def _danger() -> re.Pattern[str]:
    """DANGEROUS as one regex, compiled when first needed: building it (fnmatch.translate and
    compiling about a hundred alternatives) costs a cold `bashflow check` 1.5 ms at import."""
    import fnmatch
    import re

    return re.compile("|".join(fnmatch.translate(p) for p in DANGEROUS))


def is_dangerous(name: str) -> bool:
    return name not in SAFE and _danger().match(name) is not None


def check(e: EnvSet, ctx: Context) -> Iterator[tuple[str, bool]]:
    if not is_dangerous(e.name):
        return
    if e.name == "IFS" and e.via == "prefix" and e.command in ("read", "mapfile", "readarray"):
        return
    yield f"`{e.name}` set by {e.via}: it changes which code programs run", True
