"""corpus_scan - finding the shell scripts installed on this machine, who ships them, what they
are, and what `bash -n` says of them. `benchmarks/corpus.py` builds the corpus from these."""

from __future__ import annotations

import fnmatch
import os
import re
import site
import subprocess
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BASH = "/usr/bin/bash"
HEAD_BYTES = 256
DEBIAN_ROOTS = (
    "/usr/bin",
    "/usr/sbin",
    "/usr/libexec",
    "/usr/lib",
    "/usr/share",
    "/etc",
    "/var/lib/dpkg/info",
)
DPKG_INFO = "/var/lib/dpkg/info"
DPKG_STATUS = "/var/lib/dpkg/status"
MAINTAINER_SUFFIXES = (".postinst", ".preinst", ".postrm", ".prerm", ".config")
SHELLS = frozenset({"sh", "bash", "dash", "ash", "posh"})
SHELL_SUFFIXES = (".sh", ".bash")

# Places where shell code is sourced rather than run, so it has no shebang (glob over the path).
SOURCED_GLOBS = (
    "/usr/share/bash-completion/bash_completion",
    "/usr/share/bash-completion/completions/*",
    "/usr/share/bash-completion/helpers/*",
    "/etc/bash_completion",
    "/etc/bash_completion.d/*",
    "/usr/share/debootstrap/functions",
    "/usr/share/debootstrap/scripts/*",
    "/usr/lib/git-core/git-sh-setup",
    "/usr/lib/git-core/git-sh-i18n",
    "/usr/lib/git-core/git-mergetool--lib",
    "/usr/lib/git-core/mergetools/*",
    "/usr/lib/lsb/init-functions",
    "/usr/lib/lsb/init-functions.d/*",
    "/usr/share/debconf/confmodule",
    "/etc/profile",
    "/etc/bash.bashrc",
    "/etc/bash.bash_logout",
    "/etc/skel/.bashrc",
    "/etc/skel/.profile",
    "/etc/skel/.bash_logout",
    "/etc/profile.d/*",
    "/usr/share/doc/bash/examples/functions/*",
    "/usr/share/doc/bash/examples/complete/*",
    "/usr/share/doc/bash/examples/startup-files/*",
    "/usr/share/liquidprompt/*",
    "/etc/makepkg.conf",
)
# The same for files of PyPI distributions (site-packages and the interpreter's scripts directory).
PYPI_SOURCED_GLOBS = ("*/bash_completion.d/*", "*/bash-completion/completions/*")

# Suffixes that are never shell scripts; their heads are not read (speed only).
NOT_SHELL_SUFFIXES = tuple(
    """
    .gz .xz .bz2 .zst .lz4 .zip .jar .whl .png .svg .jpg .jpeg .gif .ico .ttf .otf .pfb .afm
    .woff .woff2 .so .a .o .ko .mo .pyc .pyi .py .pm .pod .h .c .hpp .cc .html .css .js .mjs
    .cjs .ts .map .json .xml .md .rst .txt .tcl .el .elc .ppd .enc .tfm .vf .pc .typed .pem
    .crt .der .hwdb .ldif .sql .mat .npz .npy
    """.split()  # noqa: SIM905 - a word list reads better than 64 quoted strings
)

CATEGORIES = (
    "completion",
    "maintainer",
    "installer",
    "init",
    "config",
    "build-aux",
    "library",
    "tool",
    "test",
    "example",
)

# Rough markers of what a file uses (regexes over the raw bytes, comments included).
FEATURES: dict[str, re.Pattern[bytes]] = {
    "[[": re.compile(rb"\[\[[ \t]"),
    "array": re.compile(
        rb"\b[A-Za-z_]\w*\+?=\(|\$\{#?!?[A-Za-z_]\w*\[|\b(?:declare|local|typeset|readonly)\s+-[a-zA-Z]*[aA]"
    ),
    "arith": re.compile(rb"\$\(\(|(?:^|[;\s])\(\(|\blet\s"),
    "case": re.compile(rb"(?:^|[;\s])case\s.*\sin\b"),
    "here-doc": re.compile(rb"<<-?\s*['\"\\]?[A-Za-z_]"),
    "process-subst": re.compile(rb"(?:^|\s)[<>]\("),
    "function-kw": re.compile(rb"(?m)^\s*function\s+[^\s(]"),
    "local": re.compile(rb"(?m)^\s*local\s"),
}
BASH_ONLY = frozenset({"[[", "array", "process-subst", "function-kw"})
# ---------------------------------------------------------------------------------------------
# finding candidates


@dataclass(slots=True)
class Candidate:
    source: str
    kind: str  # "debian" | "pypi"
    shell: str  # "bash", "sh", ... or "sourced" (no shebang)
    executable: bool
    size: int
    site: str = ""  # the site-packages directory, for pypi files


def shebang_shell(head: bytes) -> str | None:
    """The shell a script's `#!` line names; "" without a `#!` line; None for another interpreter."""
    if not head.startswith(b"#!"):
        return ""
    line = head[2:].split(b"\n", 1)[0].decode("latin-1")
    words = line.split()
    if not words:
        return ""
    prog = words[0].rsplit("/", 1)[-1]
    if prog == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if not rest:
            return None
        prog = rest[0].rsplit("/", 1)[-1]
    return prog if prog in SHELLS else None


def python_roots() -> list[str]:
    """The interpreter's site-packages directories and its scripts directory."""
    roots: list[str] = []
    candidates = [
        *site.getsitepackages(),
        site.getusersitepackages(),
        sysconfig.get_path("scripts"),
    ]
    for p in candidates:
        real = os.path.realpath(p)
        if os.path.isdir(real) and real not in roots and not real.startswith("/usr/lib/python3/"):
            roots.append(real)
    return roots


def _walk(root: str, prune: frozenset[str]) -> Iterator[tuple[str, os.stat_result]]:
    """Regular files under `root` (symlinks are not followed), in sorted order."""
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs: list[str] = []
        for e in items:
            try:
                if e.is_symlink():
                    continue
                if e.is_dir():
                    if e.path not in prune and e.name not in ("__pycache__", ".git"):
                        subdirs.append(e.path)
                elif e.is_file():
                    yield e.path, e.stat()
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def _read_head(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return None


def _sourced(path: str, kind: str) -> bool:
    globs = SOURCED_GLOBS if kind == "debian" else PYPI_SOURCED_GLOBS
    return any(fnmatch.fnmatchcase(path, g) for g in globs)


def _classify_file(path: str, st: os.stat_result, kind: str, site_dir: str) -> Candidate | None:
    name = path.rsplit("/", 1)[-1]
    lower = name.lower()
    executable = bool(st.st_mode & 0o111)
    if path.startswith(DPKG_INFO + "/"):
        if not lower.endswith(MAINTAINER_SUFFIXES):
            return None
        forced = True
    else:
        forced = lower.endswith(SHELL_SUFFIXES) or _sourced(path, kind)
        if not forced and (lower.endswith(NOT_SHELL_SUFFIXES) or ".so." in lower):
            return None
    head = _read_head(path)
    if head is None:
        return None
    shell = shebang_shell(head)
    if shell is None:
        return None
    if not shell and not forced:
        return None
    return Candidate(path, kind, shell or "sourced", executable, st.st_size, site_dir)


def find_candidates(py_roots: list[str] | None = None) -> list[Candidate]:
    """Every candidate file in the Debian roots, then in the Python roots, in a fixed order."""
    if py_roots is None:
        py_roots = python_roots()
    prune = frozenset(py_roots)
    found: list[Candidate] = []
    seen_roots: set[str] = set()
    for root in DEBIAN_ROOTS:
        if not os.path.isdir(root) or root in seen_roots:
            continue
        seen_roots.add(root)
        sub_prune = prune | frozenset(
            r for r in DEBIAN_ROOTS if r != root and r.startswith(root + "/")
        )
        for path, st in _walk(root, sub_prune):
            c = _classify_file(path, st, "debian", "")
            if c is not None:
                found.append(c)
    for root in py_roots:
        for path, st in _walk(root, frozenset()):
            c = _classify_file(path, st, "pypi", root)
            if c is not None:
                found.append(c)
    return found


# ---------------------------------------------------------------------------------------------
# who owns a file


def dpkg_owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    try:
        names = sorted(os.listdir(DPKG_INFO))
    except OSError:
        return owners
    for name in names:
        if not name.endswith(".list"):
            continue
        pkg = name[: -len(".list")].split(":", 1)[0]
        try:
            with open(
                os.path.join(DPKG_INFO, name), encoding="utf-8", errors="surrogateescape"
            ) as f:
                for line in f:
                    p = line.rstrip("\n")
                    owners.setdefault(p, pkg)
                    if p.startswith(("/bin/", "/sbin/", "/lib/", "/lib64/")):
                        owners.setdefault("/usr" + p, pkg)
        except OSError:
            continue
    return owners


def _dist_name(dist_info: str) -> str:
    base = dist_info.rsplit("/", 1)[-1]
    for suffix in (".dist-info", ".egg-info"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    name = base.split("-", 1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def pypi_owners(py_roots: Iterable[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for root in py_roots:
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            dist = _dist_name(name)
            try:
                with open(os.path.join(root, name, "RECORD"), encoding="utf-8") as f:
                    for line in f:
                        rel = line.rsplit(",", 2)[0]
                        if rel:
                            owners.setdefault(os.path.normpath(os.path.join(root, rel)), dist)
            except OSError:
                continue
    return owners


# ---------------------------------------------------------------------------------------------
# categories


def categorize(source: str, kind: str, shell: str, executable: bool) -> str:
    p = source
    lp = p.lower()
    name = lp.rsplit("/", 1)[-1]
    if p.startswith(DPKG_INFO + "/") or name.endswith(MAINTAINER_SUFFIXES[:4]):
        return "maintainer"
    if "bash-completion" in lp or "bash_completion" in lp or "completion" in name:
        return "completion"
    if "/debootstrap/" in lp or "install" in name:
        return "installer"
    if lp.startswith(
        ("/etc/init.d/", "/etc/rc", "/usr/share/initramfs-tools/", "/etc/initramfs-tools/")
    ) or ("init-functions" in lp):
        return "init"
    if lp.startswith(("/etc/profile", "/etc/skel/", "/etc/bash.", "/etc/default/")):
        return "config"
    if any(
        s in lp for s in ("/automake", "/libtool/", "/autoconf/", "/gnulib/", "/misc/config.")
    ) or name in (
        "ltmain.sh",
        "config.guess",
        "config.sub",
        "depcomp",
        "missing",
        "compile",
        "ylwrap",
        "test-driver",
    ):
        return "build-aux"
    if "/doc/" in lp or "/examples/" in lp or "/example/" in lp:
        return "example"
    if any(s in lp for s in ("/test/", "/tests/", "/testing/", "/t/")):
        return "test"
    if shell == "sourced" or (not executable and kind == "pypi") or name.endswith(".bash"):
        return "library"
    if not executable and "/lib" in lp and not lp.startswith(("/usr/bin/", "/usr/sbin/")):
        return "library"
    return "tool"


def features_of(data: bytes) -> tuple[str, ...]:
    return tuple(k for k, rx in FEATURES.items() if rx.search(data))


# ---------------------------------------------------------------------------------------------
# bash -n


def bash_version() -> str:
    try:
        out = subprocess.run(
            [BASH, "-c", "echo $BASH_VERSION"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""
    return out


_BASH_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"}


def _bash_n(path: str, extglob: bool) -> tuple[bool, str]:
    argv = [BASH, "-O", "extglob", "-n", path] if extglob else [BASH, "-n", path]
    try:
        r = subprocess.run(
            argv,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=_BASH_ENV,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, "bash -n timed out"
    msg = r.stderr.decode("utf-8", "replace").replace(path, "FILE").strip()
    return r.returncode == 0, msg[:600]


def bash_n_check(path: str) -> tuple[str, str]:
    """("ok" | "extglob" | "rejected", message) for one file."""
    ok, msg = _bash_n(path, extglob=False)
    if ok:
        return "ok", msg
    ok2, _ = _bash_n(path, extglob=True)
    if ok2:
        return "extglob", msg
    return "rejected", msg
