"""policy/fileargs.py - which arguments of a command are files it reads or writes.

Over-approximate and small: for well-known file tools every operand is a path (an unknown
operand is then an unknown path); for other programs only arguments that look like paths
(`/`, `.`, `~` at the start, or a `/` inside) are checked, unknown ones are left to the sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from bashflow.policy.records import record
from bashflow.policy.values import Field

NO_PATHS = frozenset(
    [
        "echo",
        "printf",
        "true",
        "false",
        "sleep",
        "seq",
        "expr",
        "test",
        "[",
        "basename",
        "dirname",
        "date",
        "kill",
        "yes",
        "id",
        "whoami",
        "uname",
        "hostname",
        "nproc",
        "printenv",
        "pwd",
        "tty",
        "arch",
        "factor",
        "numfmt",
        "getconf",
        ":",
        "logname",
        "groups",
        "users",
        "who",
        "env",
        "nice",
        "timeout",
        "nohup",
        "stdbuf",
        "time",
        "command",
        "builtin",
        "exec",
        "type",
        "which",
        "hash",
        "tput",
        "clear",
        "wait",
        "jobs",
        "shift",
        "exit",
        "return",
        "break",
        "continue",
        "set",
        "unset",
        "export",
        "declare",
        "local",
        "typeset",
        "readonly",
        "read",
        "let",
        "shopt",
        "umask",
        "ulimit",
        "trap",
        "alias",
        "unalias",
        "getopts",
    ]
)

READS_ALL = frozenset(
    [
        "cat",
        "head",
        "tail",
        "less",
        "more",
        "wc",
        "sort",
        "uniq",
        "cut",
        "paste",
        "tac",
        "nl",
        "od",
        "xxd",
        "hexdump",
        "base64",
        "base32",
        "md5sum",
        "sha1sum",
        "sha224sum",
        "sha256sum",
        "sha384sum",
        "sha512sum",
        "cksum",
        "b2sum",
        "sum",
        "stat",
        "file",
        "ls",
        "dir",
        "vdir",
        "du",
        "diff",
        "cmp",
        "comm",
        "join",
        "readlink",
        "realpath",
        "strings",
        "fold",
        "fmt",
        "expand",
        "unexpand",
        "source",
        ".",
        "shuf",
        "tsort",
        "pr",
        "ptx",
        "csplit",
        "split",
        "iconv",
        "zcat",
        "bzcat",
        "xzcat",
        "gunzip",
        "bunzip2",
        "unxz",
        "lsattr",
        "getfacl",
        "md5",
        "sha1",
        "column",
    ]
)
WRITES_ALL = frozenset(
    [
        "rm",
        "rmdir",
        "touch",
        "mkdir",
        "truncate",
        "shred",
        "unlink",
        "tee",
        "mkfifo",
        "mknod",
        "chattr",
        "setfacl",
    ]
)
WRITES_ALL_BUT_FIRST = frozenset({"chmod", "chown", "chgrp"})
SOURCE_THEN_TARGET = frozenset({"cp", "ln", "install", "mv", "rsync", "scp"})
PATTERN_FIRST = frozenset(
    {"grep", "egrep", "fgrep", "rg", "ag", "sed", "awk", "gawk", "mawk", "jq"}
)
RECURSIVE_FLAG = frozenset({"-r", "-R", "--recursive", "--dereference-recursive"})
ARCHIVE_FLAG = frozenset({"-a", "--archive"})
ALWAYS_RECURSIVE = frozenset({"find", "du", "rsync", "tree", "zip"})

# options that take the next word as their argument (so it is not a path)
OPT_ARGS: dict[str, frozenset[str]] = {
    "head": frozenset({"-n", "-c"}),
    "tail": frozenset({"-n", "-c", "-s", "--pid"}),
    "sort": frozenset({"-k", "-t", "-S", "-T", "--parallel", "--key", "--field-separator"}),
    "cut": frozenset({"-d", "-f", "-c", "-b", "--delimiter", "--fields"}),
    "grep": frozenset(
        {
            "-e",
            "-m",
            "-A",
            "-B",
            "-C",
            "--include",
            "--exclude",
            "--exclude-dir",
            "--color",
            "--regexp",
            "--max-count",
            "--label",
        }
    ),
    "egrep": frozenset({"-e", "-m", "-A", "-B", "-C", "--include", "--exclude"}),
    "rg": frozenset(
        {"-e", "-g", "-t", "-T", "-m", "-A", "-B", "-C", "--glob", "--type", "--max-count"}
    ),
    "sed": frozenset({"-l", "--line-length"}),
    "awk": frozenset({"-F", "-v", "--assign", "--field-separator"}),
    "gawk": frozenset({"-F", "-v", "--assign", "--field-separator"}),
    "mawk": frozenset({"-F", "-v"}),
    "jq": frozenset({"--arg", "--argjson", "--indent", "--tab"}),
    "ls": frozenset({"-I", "-w", "--ignore", "--hide", "-T"}),
    "du": frozenset({"-d", "--max-depth", "-B", "--block-size", "-t", "--threshold", "--exclude"}),
    "wc": frozenset(),
    "diff": frozenset({"-U", "-C", "--label", "-L", "-x", "--exclude"}),
    "tee": frozenset(),
    "touch": frozenset({"-d", "-t", "--date"}),
    "truncate": frozenset({"-s", "--size"}),
    "mkdir": frozenset({"-m", "--mode"}),
    "split": frozenset({"-l", "-b", "-n", "-a", "-C"}),
    "od": frozenset({"-t", "-N", "-j", "-A", "-w"}),
    "xxd": frozenset({"-l", "-s", "-c", "-g"}),
    "cp": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "mv": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "ln": frozenset({"-t", "--target-directory", "-S", "--suffix"}),
    "install": frozenset({"-m", "-o", "-g", "-t", "--mode", "--owner", "--group"}),
    "column": frozenset({"-s", "-t", "-c", "-o"}),
    "nl": frozenset({"-w", "-s", "-b", "-n", "-v", "-i"}),
    "fold": frozenset({"-w"}),
    "tr": frozenset(),
    "shuf": frozenset({"-n", "-i", "-o"}),
    "iconv": frozenset({"-f", "-t", "-o"}),
}


@record
class PathUse:
    path: Field
    mode: str
    recursive: bool = False


def _operands(name: str, args: Sequence[Field]) -> tuple[list[Field], set[str]]:
    takes = OPT_ARGS.get(name, frozenset())
    ops: list[Field] = []
    flags: set[str] = set()
    i = 0
    dashdash = False
    while i < len(args):
        a = args[i]
        t = a.text
        if not dashdash and a.exact and t == "--":
            dashdash = True
        elif not dashdash and t.startswith("-") and len(t) > 1:
            key = t.split("=", 1)[0]
            flags.add(key)
            if not t.startswith("--"):
                flags.update("-" + c for c in t[1:])
            if key in takes and "=" not in t:
                i += 1
        else:
            ops.append(a)
        i += 1
    return ops, flags


def _looks_like_path(f: Field) -> bool:
    t = f.text
    if not f.exact:
        return f.glob and bool(t)
    return (
        t.startswith(("/", "./", "../", "~"))
        or "/" in t.strip("/")
        or t in (".", "..")
        or (t.startswith(".") and len(t) > 1 and " " not in t)
    )


def path_uses(name: str, argv: Sequence[Field]) -> list[PathUse]:
    """The files `argv` (program `name`, already a basename) reads and writes."""
    args = list(argv[1:])
    if name in NO_PATHS:
        return []
    ops, flags = _operands(name, args)
    recursive = (
        name in ALWAYS_RECURSIVE
        or bool(flags & RECURSIVE_FLAG)
        or (name in ("cp", "rsync") and bool(flags & ARCHIVE_FLAG))
    )
    out: list[PathUse] = []
    for a in args:  # --file=PATH style options: check values that look like paths
        if a.exact and a.text.startswith("--") and "=" in a.text:
            val = Field(a.text.split("=", 1)[1])
            if _looks_like_path(val):
                out.append(PathUse(val, "read"))
    if name in READS_ALL:
        if not ops and name in ("ls", "du", "dir", "vdir"):
            ops = [Field(".")]
        out += [PathUse(o, "read", recursive) for o in ops]
    elif name in WRITES_ALL:
        out += [PathUse(o, "write", recursive) for o in ops]
    elif name in WRITES_ALL_BUT_FIRST:
        out += [PathUse(o, "write", recursive) for o in ops[1:]]
    elif name in SOURCE_THEN_TARGET:
        target = None
        for i, a in enumerate(args):
            if a.text in ("-t", "--target-directory") and i + 1 < len(args):
                target = args[i + 1]
            elif a.text.startswith("--target-directory="):
                target = Field(a.text.split("=", 1)[1])
        if target is None and ops:
            target, ops = ops[-1], ops[:-1]
        src_mode = "write" if name == "mv" else "read"
        if name in ("ln", "cp") and ("-s" in flags or "--symbolic" in flags):
            src_mode = "link"  # a symlink reads nothing, but must not point into paths.deny
        out += [PathUse(o, src_mode, recursive) for o in ops]
        if target is not None:
            out.append(PathUse(target, "write", recursive))
    elif name in PATTERN_FIRST:
        has_e = bool(flags & {"-e", "-f", "--regexp", "--file", "--expression"})
        files = ops if has_e else ops[1:]
        if name in ("awk", "gawk", "mawk"):
            files = [f for f in files if not (f.exact and "=" in f.text.split("/")[0])]
        mode = "write" if name == "sed" and ("-i" in flags or "--in-place" in flags) else "read"
        if not files and recursive:
            files = [Field(".")]
        out += [PathUse(o, mode, recursive) for o in files]
    elif name == "dd":
        for a in args:
            if a.text.startswith("if="):
                out.append(PathUse(Field(a.text[3:], a.exact, a.glob, a.dotdot, a.tainted), "read"))
            elif a.text.startswith("of="):
                out.append(
                    PathUse(Field(a.text[3:], a.exact, a.glob, a.dotdot, a.tainted), "write")
                )
    elif name in ("tar", "gtar", "bsdtar"):
        out += _tar(args)
    elif name == "find":
        roots: list[Field] = []
        for a in args:
            if a.text.startswith(("-", "(", "!", ")")) and a.exact:
                break
            roots.append(a)
        roots = roots or [Field(".")]
        mode = "write" if any(a.text == "-delete" for a in args) else "read"
        shallow = any(
            a.text == "-maxdepth" and i + 1 < len(args) and args[i + 1].text in ("0", "1")
            for i, a in enumerate(args)
        )
        out += [PathUse(r, mode, not shallow) for r in roots]
        for i, a in enumerate(args):
            if a.text in ("-fprint", "-fprint0", "-fprintf", "-fls") and i + 1 < len(args):
                out.append(PathUse(args[i + 1], "write"))
    else:
        for o in ops:
            if _looks_like_path(o):
                out.append(PathUse(o, "read", recursive))
    if name == "git":
        out += _git_files(args)
    for i, a in enumerate(args):  # -o FILE of sort/shuf/iconv and friends
        if (
            name in ("sort", "shuf", "iconv", "time")
            and a.text in ("-o", "--output")
            and i + 1 < len(args)
        ):
            out.append(PathUse(args[i + 1], "write"))
    return out


def _git_files(args: list[Field]) -> list[PathUse]:
    """`git config --global` writes ~/.gitconfig, `--system` /etc/gitconfig, `--file F` F."""
    texts = [a.text for a in args]
    if "config" not in texts:
        return []
    out: list[PathUse] = []
    if "--global" in texts:
        out.append(PathUse(Field("~/.gitconfig"), "write"))
    if "--system" in texts:
        out.append(PathUse(Field("/etc/gitconfig"), "write"))
    for i, t in enumerate(texts):
        if t in ("--file", "-f") and i + 1 < len(args):
            out.append(PathUse(args[i + 1], "write"))
        elif t.startswith("--file="):
            out.append(PathUse(Field(t.split("=", 1)[1]), "write"))
    return out


def _tar(args: list[Field]) -> list[PathUse]:
    mode = ""
    archive: Field | None = None
    chdir: Field | None = None
    ops: list[Field] = []
    i = 0
    first = True
    while i < len(args):
        a = args[i]
        t = a.text
        if first and a.exact and not t.startswith("-") and t:
            t = "-" + t  # old-style `tar czf x.tgz dir`
        first = False
        if t.startswith("--file="):
            archive = Field(t.split("=", 1)[1])
        elif t.startswith("--directory="):
            chdir = Field(t.split("=", 1)[1])
        elif t in ("-C", "--directory") and i + 1 < len(args):
            chdir = args[i + 1]
            i += 1
        elif t.startswith("--"):
            mode = {
                "--create": "c",
                "--extract": "x",
                "--get": "x",
                "--list": "t",
                "--append": "c",
                "--update": "c",
            }.get(t, mode)
        elif t.startswith("-") and len(t) > 1:
            letters = t[1:]
            for c in "cxtru":
                if c in letters:
                    mode = "c" if c in "cru" else c
            if "f" in letters and i + 1 < len(args) and letters.endswith("f"):
                archive = args[i + 1]
                i += 1
        else:
            ops.append(a)
        i += 1
    out: list[PathUse] = []
    if archive is not None and archive.text != "-":
        out.append(PathUse(archive, "write" if mode == "c" else "read"))
    if mode == "c":
        out += [PathUse(o, "read", True) for o in ops]
    elif mode == "x":
        out.append(PathUse(chdir or Field("."), "write"))
    return out
