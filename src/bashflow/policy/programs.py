"""policy/programs.py - what particular programs do with their arguments.

Pure functions over an argv of `Field`s (some arguments may be unknown): which wrappers run
their arguments as a command, which flags make an allowed program run code, which arguments are
files read or written, which programs reach the network, and whether inline `sed`/`awk` code is
a pure text transform. The walker and the rules both consult these tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bashflow.policy.commands import basename
from bashflow.policy.groups import COMMAND_GROUPS
from bashflow.policy.records import record
from bashflow.policy.values import Field

Argv = Sequence[Field]

TRANSPARENT = frozenset(
    {"env", "command", "builtin", "exec", "nohup", "timeout", "nice", "stdbuf", "time"}
)
SHELLS = frozenset(
    {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "rbash", "fish", "csh", "tcsh"}
)
"""Programs that run shell code from `-c`, a script file, or standard input."""
# transparent wrapper -> its options that take an argument
TRANSPARENT_OPTIONS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset", "-C", "--chdir"}),
    "exec": frozenset({"-a"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "time": frozenset({"-f", "-o", "--format", "--output"}),
}
QUEUES = frozenset({"at", "batch"})
"""Programs that queue shell code from standard input (or `-f FILE`) to run later."""
LATER = frozenset({"crontab", "anacron", "systemd-run", "launchctl", "incrontab"})
"""Programs that install commands to run later, outside the script: their payload is unknown."""

# runner -> (options taking an argument, positionals before the payload, option giving a string
# payload). Each must itself be allowed; its payload is checked as a command.
RUNNERS: dict[str, tuple[frozenset[str], int, str]] = {
    "xargs": (
        frozenset(
            {
                "-I",
                "-L",
                "-n",
                "-P",
                "-s",
                "-d",
                "-E",
                "-a",
                "--arg-file",
                "--delimiter",
                "--max-args",
                "--replace",
                "--max-procs",
                "--max-lines",
                "--eof",
            }
        ),
        0,
        "",
    ),
    "setsid": (frozenset(), 0, ""),
    "flock": (frozenset({"-w", "-E", "--timeout", "--conflict-exit-code"}), 1, "-c"),
    "watch": (frozenset({"-n", "--interval", "-d"}), 0, ""),
    "busybox": (frozenset(), 0, ""),
    "chroot": (frozenset({"--userspec", "--groups"}), 1, ""),
    "ionice": (frozenset({"-c", "-n", "-p", "--class", "--classdata"}), 0, ""),
    "chrt": (frozenset(), 1, ""),
    "taskset": (frozenset(), 1, ""),
    "unbuffer": (frozenset(), 0, ""),
    "strace": (frozenset({"-o", "-e", "-p", "-s", "-u", "-P"}), 0, ""),
    "ltrace": (frozenset({"-o", "-e", "-p", "-s", "-u"}), 0, ""),
    "sudo": (frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}), 0, "-c"),
    "doas": (frozenset({"-u", "-C"}), 0, ""),
    "su": (frozenset({"-s", "-g", "-G", "--shell"}), 1, "-c"),
    "runuser": (frozenset({"-u", "-g", "-G", "-s"}), 0, "-c"),
    "pkexec": (frozenset({"--user"}), 0, ""),
    "nsenter": (frozenset({"-t", "--target", "-S", "-G"}), 0, ""),
    "unshare": (frozenset(), 0, ""),
    "script": (frozenset({"-O", "-T", "-I", "-B", "-E"}), 0, "-c"),
    "firejail": (frozenset(), 0, ""),
    "systemd-run": (frozenset({"-p", "-u", "--unit"}), 0, ""),
    "parallel": (frozenset({"-j", "-S", "--jobs"}), 0, ""),
}

INTERPRETERS: dict[str, frozenset[str]] = {
    "python": frozenset({"-c"}),
    "python2": frozenset({"-c"}),
    "python3": frozenset({"-c"}),
    "pypy": frozenset({"-c"}),
    "pypy3": frozenset({"-c"}),
    "perl": frozenset({"-e", "-E"}),
    "ruby": frozenset({"-e"}),
    "node": frozenset({"-e", "--eval", "-p", "--print"}),
    "nodejs": frozenset({"-e", "--eval", "-p", "--print"}),
    "deno": frozenset({"eval"}),
    "bun": frozenset({"-e", "--eval"}),
    "php": frozenset({"-r", "-B", "-R", "-E", "-S"}),
    "lua": frozenset({"-e"}),
    "Rscript": frozenset({"-e"}),
    "osascript": frozenset({"-e"}),
    "tclsh": frozenset(),
    "wish": frozenset(),
    "expect": frozenset({"-c"}),
    "gdb": frozenset({"-ex", "-x", "--eval-command"}),
    "vim": frozenset({"-c", "+", "--cmd", "-S"}),
    "vi": frozenset({"-c", "+", "--cmd", "-S"}),
    "nvim": frozenset({"-c", "+", "--cmd", "-S"}),
    "emacs": frozenset({"--eval", "-l", "--load"}),
}

# The `@network` group (clients a policy names) plus what else talks to the network.
NETWORK_PROGRAMS = frozenset(COMMAND_GROUPS["@network"]) | frozenset(
    [
        "lftp",
        "ping6",
        "dig",
        "nslookup",
        "host",
        "aria2c",
        "http",
        "https",
        "httpie",
        "ssh-keyscan",
        "openssl",
        "ip6tables",
        "iptables",
        "tcpdump",
        "nmap",
        "whois",
        "traceroute",
        "mtr",
        "axel",
        "links",
        "lynx",
        "w3m",
    ]
)

# program -> subcommands that reach the network (installs, fetches, publishes).
NETWORK_SUBCOMMANDS: dict[str, frozenset[str]] = {
    "git": frozenset(
        {"clone", "fetch", "pull", "push", "ls-remote", "remote", "submodule", "archive", "lfs"}
    ),
    "pip": frozenset({"install", "download", "wheel", "search", "index"}),
    "pip3": frozenset({"install", "download", "wheel", "search", "index"}),
    "uv": frozenset({"pip", "add", "sync", "run", "tool", "lock", "venv", "python"}),
    "npm": frozenset(
        {"install", "i", "ci", "add", "update", "publish", "exec", "create", "init", "audit"}
    ),
    "pnpm": frozenset({"install", "i", "add", "update", "dlx", "publish"}),
    "yarn": frozenset({"install", "add", "upgrade", "dlx", "publish"}),
    "npx": frozenset({"*"}),
    "gem": frozenset({"install", "update", "fetch", "push"}),
    "cargo": frozenset({"install", "fetch", "update", "publish", "add", "search"}),
    "go": frozenset({"get", "install", "mod"}),
    "apt": frozenset({"install", "update", "upgrade", "download", "full-upgrade", "source"}),
    "apt-get": frozenset({"install", "update", "upgrade", "download", "dist-upgrade", "source"}),
    "apk": frozenset({"add", "update", "upgrade", "fetch"}),
    "dnf": frozenset({"install", "update", "upgrade", "download"}),
    "yum": frozenset({"install", "update", "upgrade", "download"}),
    "brew": frozenset({"install", "update", "upgrade", "fetch", "tap"}),
    "conda": frozenset({"install", "update", "create"}),
    "mamba": frozenset({"install", "update", "create"}),
    "poetry": frozenset({"install", "add", "update", "lock", "publish"}),
    "docker": frozenset({"pull", "push", "login", "run", "build", "search"}),
    "podman": frozenset({"pull", "push", "login", "run", "build", "search"}),
    "conan": frozenset({"install", "upload"}),
    "bundle": frozenset({"install", "update", "add"}),
    "composer": frozenset({"install", "update", "require"}),
}

PYTHON_NETWORK_MODULES = frozenset(
    {"pip", "http.server", "smtpd", "pipx", "uv", "ftplib", "smtplib"}
)

SAFE_GIT_CONFIG = re.compile(
    r"^(color\..*|user\.(name|email)|core\.quotepath|advice\..*|init\.defaultbranch|"
    r"safe\.directory|core\.autocrlf|log\..*|column\..*|pull\.rebase|merge\.conflictstyle|"
    r"commit\.gpgsign|tag\.gpgsign|diff\.renames|status\..*|branch\.sort|i18n\..*)$",
    re.IGNORECASE,
)


def words(argv: Argv) -> list[str]:
    """The known texts (unknown arguments as their literal prefix)."""
    return [f.text for f in argv]


def program_name(argv: Argv) -> str:
    return basename(argv[0].text) if argv and argv[0].exact else ""


def short_flags(arg: str) -> str:
    """`-abc` -> "abc"; anything else -> ""."""
    return arg[1:] if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1 else ""


# --------------------------------------------------------------------------- wrappers


@record
class Payload:
    """What a wrapper or runner will run: an argv, a string of shell code, or unknown."""

    argv: tuple[Field, ...] = ()
    code: Field | None = None
    unknown: str = ""
    extra_args: bool = False
    """The payload gets more arguments at run time (xargs, find -exec `{}`)."""
    env: tuple[str, ...] = ()
    """Variables the wrapper sets for the payload (`env NAME=VALUE`)."""
    chdir: Field | None = None


def unwrap_transparent(name: str, argv: Argv) -> Payload | None:
    """The payload of a transparent wrapper, or None when it runs nothing (`command -v`)."""
    args = list(argv[1:])
    i = 0
    env: list[str] = []
    chdir: Field | None = None
    takes = TRANSPARENT_OPTIONS.get(name, frozenset())
    while i < len(args):
        a = args[i]
        if not a.exact:
            return Payload(unknown=f"`{name}` with an argument that is not known statically")
        t = a.text
        if t == "--":
            i += 1
            break
        if name == "env" and "=" in t and not t.startswith("-"):
            env.append(t.split("=", 1)[0])
            i += 1
            continue
        if not t.startswith("-") or t == "-":
            if name == "env" and t == "-":
                i += 1
                continue
            break
        if name == "env" and (
            t in ("-S", "--split-string") or t.startswith(("-S", "--split-string="))
        ):
            code = (
                t.split("=", 1)[1]
                if "=" in t
                else (t[2:] if len(t) > 2 and not t.startswith("--") else None)
            )
            if code is None:
                if i + 1 >= len(args):
                    return Payload(unknown="`env -S` without a string")
                return Payload(code=args[i + 1], env=tuple(env))
            return Payload(code=Field(code), env=tuple(env))
        if name == "command" and ("v" in short_flags(t) or "V" in short_flags(t)):
            return None
        if name == "env" and t in ("-C", "--chdir") and i + 1 < len(args):
            chdir = args[i + 1]
        if name == "env" and t.startswith("--chdir="):
            chdir = Field(t.split("=", 1)[1])
        if t in takes or (name in ("stdbuf",) and len(t) == 2):
            i += 2
            continue
        i += 1
    rest = args[i:]
    if name == "timeout":
        rest = rest[1:]  # the duration
    if not rest:
        return None
    return Payload(argv=tuple(rest), env=tuple(env), chdir=chdir)


def unwrap_runner(name: str, argv: Argv) -> Payload | None:
    """The payload of a program that runs other programs (`xargs`, `sudo`, `watch`, ...)."""
    takes, skip_pos, code_opt = RUNNERS[name]
    args = list(argv[1:])
    i = 0
    while i < len(args):
        a = args[i]
        if not a.exact:
            return Payload(unknown=f"`{name}` with an argument that is not known statically")
        t = a.text
        if t == "--":
            i += 1
            break
        if (code_opt and t == code_opt) or (name == "flock" and code_opt in [x.text for x in args]):
            k = i if t == code_opt else [x.text for x in args].index(code_opt)
            if k + 1 < len(args):
                return Payload(code=args[k + 1])
            return Payload(unknown=f"`{name} {code_opt}` without a command")
        if not t.startswith("-") or t == "-":
            break
        if t in takes:
            i += 2
            continue
        i += 1
    rest = args[i + skip_pos :]
    if name == "parallel":
        return Payload(unknown="`parallel` builds its commands at run time")
    if name == "watch":
        if not rest:
            return None
        return Payload(code=_join(rest))
    if name in ("su", "unshare") and not rest:
        return Payload(unknown=f"`{name}` starts an interactive shell")
    if name == "busybox" and rest and rest[0].exact and rest[0].text in SHELLS | {"ash", "hush"}:
        return Payload(argv=tuple(rest))
    if not rest:
        if name == "xargs":
            return Payload(argv=(Field("echo"),), extra_args=True)
        return None
    return Payload(argv=tuple(rest), extra_args=name == "xargs")


def _join(fields: Sequence[Field]) -> Field:
    out = Field("")
    for i, f in enumerate(fields):
        out = out + (Field(" ") if i else Field("")) + f
    return out


def find_payloads(argv: Argv) -> list[Payload]:
    """`find ... -exec cmd {} ;` payloads (and `-execdir`, `-ok`, `-okdir`); `{}` stands for
    any path under the roots."""
    from bashflow.policy.values import join_fields

    out: list[Payload] = []
    args = list(argv[1:])
    roots: list[Field] = []
    for a in args:
        if a.exact and a.text.startswith(("-", "(", "!", ")")):
            break
        roots.append(a)
    found = join_fields(
        [Field(r.text.rstrip("/") + "/", False, r.exact or r.glob) for r in roots or [Field(".")]]
    )
    i = 0
    while i < len(args):
        t = args[i].text
        if args[i].exact and t in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            cmd: list[Field] = []
            while j < len(args) and not (args[j].exact and args[j].text in (";", "+")):
                cmd.append(found if args[j].text == "{}" else args[j])
                j += 1
            if cmd:
                out.append(Payload(argv=tuple(cmd), extra_args=True))
            else:
                out.append(Payload(unknown="`find -exec` without a command"))
            i = j + 1
            continue
        i += 1
    return out


def shell_payload(argv: Argv) -> tuple[str, Field | None]:
    """For `bash [opts] (-c CODE | FILE | <stdin>)`: ("code", CODE), ("file", FILE) or
    ("stdin", None); ("unknown", None) when an option is not known statically."""
    args = list(argv[1:])
    i = 0
    has_c = False
    while i < len(args):
        a = args[i]
        if not a.exact:
            return "unknown", None
        t = a.text
        if t == "--" or t == "-":
            i += 1
            break
        if t in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if t.startswith("-") or t.startswith("+"):
            if "c" in t[1:] and not t.startswith("--"):
                has_c = True
            if "s" in t[1:] and not t.startswith("--"):
                return "stdin", None
            i += 1
            continue
        break
    if has_c:
        return ("code", args[i]) if i < len(args) else ("unknown", None)
    if i < len(args):
        return "file", args[i]
    return "stdin", None


# --------------------------------------------------------------------------- code in arguments


def code_flags(argv: Argv) -> str:
    """Why flags make an otherwise allowed program run code (git -c core.pager, tar
    --to-command, ...), or ""."""
    name = program_name(argv)
    args = [f.text for f in argv[1:]]
    if name == "git":
        return _git_code(args)
    if name in ("tar", "gtar", "bsdtar"):
        for t in args:
            if t.startswith(
                (
                    "--to-command",
                    "--checkpoint-action",
                    "--use-compress-program",
                    "--rsh-command",
                    "--info-script",
                    "--new-volume-script",
                    "-I",
                    "-F",
                )
            ):
                return f"tar `{t}` runs a command"
            if (not t.startswith("-") and t is args[0] and "I" in t) or (
                t.startswith("-") and not t.startswith("--") and ("I" in t or "F" in t)
            ):
                return f"tar `{t}` runs a command"
    if name in ("rsync",) and any(t.startswith(("-e", "--rsh", "--rsync-path")) for t in args):
        return "rsync `-e`/`--rsync-path` runs a command"
    if name in ("ssh", "scp", "sftp") and any(
        "ProxyCommand" in t or "LocalCommand" in t or t.startswith("-oProxy") for t in args
    ):
        return f"{name} ProxyCommand/LocalCommand runs a command"
    if name in (
        "less",
        "more",
        "man",
        "vi",
        "vim",
        "nvim",
        "nano",
        "emacs",
        "ed",
        "ex",
        "top",
        "htop",
    ):
        return f"`{name}` is interactive and can run commands (`!cmd`)"
    if name in ("make", "gmake") and any(t.startswith(("--eval", "-E")) for t in args):
        return "make `--eval` runs inline recipes"
    if name == "zip" and any(
        t in ("-TT", "--unzip-command") or t.startswith("--unzip-command") for t in args
    ):
        return "zip `-TT` runs a command"
    if name in ("ssh-agent",):
        return "ssh-agent runs a command"
    return ""


_GIT_CODE_SUBCOMMANDS = {
    "submodule": ("foreach",),
    "bisect": ("run",),
    "filter-branch": (),
    "filter-repo": (),
    "difftool": (),
    "mergetool": (),
    "instaweb": (),
    "daemon": (),
    "credential": (),
    "var": (),
}


def _git_code(args: list[str]) -> str:
    i = 0
    while i < len(args):
        t = args[i]
        if t in ("-c", "--config-env") and i + 1 < len(args):
            key = args[i + 1].split("=", 1)[0]
            if t == "--config-env" or not SAFE_GIT_CONFIG.match(key):
                return f"git `{t} {args[i + 1]}` can make git run a command"
            i += 2
            continue
        if t.startswith(("--exec-path=", "--config-env=", "--upload-pack", "--receive-pack")):
            return f"git `{t}` runs a command"
        if t in ("-C", "--git-dir", "--work-tree", "--namespace"):
            i += 2
            continue
        if t.startswith("-"):
            i += 1
            continue
        break
    if i >= len(args):
        return ""
    sub = args[i]
    rest = args[i + 1 :]
    if sub in _GIT_CODE_SUBCOMMANDS:
        need = _GIT_CODE_SUBCOMMANDS[sub]
        if not need or any(r in need for r in rest):
            return f"`git {sub}` runs commands"
    if sub == "config":
        pos = [r for r in rest if not r.startswith("-")]
        if len(pos) >= 2 and not SAFE_GIT_CONFIG.match(pos[0]):
            return f"`git config {pos[0]}` can make git run a command"
        if any(r in ("--edit", "-e") for r in rest):
            return "`git config --edit` opens an editor"
    for r in rest:
        if r in (
            "-x",
            "--exec",
            "--ext-diff",
            "--textconv",
            "-O",
            "--open-files-in-pager",
            "-u",
            "--extcmd",
        ) or r.startswith(
            (
                "--exec=",
                "--upload-pack",
                "--receive-pack",
                "--extcmd=",
                "--open-files-in-pager",
                "--config=",
                "--template",
            )
        ):
            if r in ("-u",) and sub not in ("clone", "fetch", "ls-remote", "archive"):
                continue
            if r == "-x" and sub not in ("rebase", "cherry-pick", "difftool"):
                continue
            if r == "-O" and sub != "grep":
                continue
            return f"`git {sub} {r}` runs a command"
        if sub in ("commit", "tag", "rebase", "merge") and r in (
            "-e",
            "--edit",
            "-i",
            "--interactive",
        ):
            return f"`git {sub} {r}` opens an editor"
    return ""


def network_use(argv: Argv) -> str:
    """Why this command uses the network, or ""."""
    name = program_name(argv)
    if not name:
        return ""
    args = [f.text for f in argv[1:]]
    if name in NETWORK_PROGRAMS:
        return f"`{name}` is a network client"
    if name in ("python", "python3") or name.startswith("python3."):
        if "-m" in args:
            mod = args[args.index("-m") + 1] if args.index("-m") + 1 < len(args) else ""
            if mod in PYTHON_NETWORK_MODULES:
                rest = args[args.index("-m") + 2 :]
                if mod != "pip" or (rest and rest[0] in NETWORK_SUBCOMMANDS["pip"]):
                    return f"`{name} -m {mod}` uses the network"
        return ""
    subs = NETWORK_SUBCOMMANDS.get(name)
    if subs is None:
        return ""
    from bashflow.policy.commands import positionals

    pos = positionals(name, args)
    if "*" in subs:
        return f"`{name}` downloads and runs packages"
    if pos and pos[0] in subs:
        if (
            name == "git"
            and pos[0] in ("remote", "submodule")
            and (
                len(pos) < 2 or pos[1] not in ("update", "add", "set-url", "prune", "sync", "init")
            )
        ):
            return ""
        if (
            name == "go"
            and pos[0] == "mod"
            and (len(pos) < 2 or pos[1] not in ("download", "tidy", "vendor"))
        ):
            return ""
        return f"`{name} {pos[0]}` uses the network"
    if name == "nc" or any(a in ("-l", "--listen") for a in args if name in ("ncat", "socat")):
        return f"`{name}` listens on the network"
    return ""
