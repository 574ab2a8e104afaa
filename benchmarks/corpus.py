"""corpus - the real-world corpus: shell scripts installed on this machine that nobody here wrote.

The corpus is built on the machine from what Debian packages and installed PyPI packages ship;
no third-party script is ever committed to the repository. A file is a candidate when its
shebang names a POSIX-family shell (`sh`, `bash`, `dash`, `ash`, `posh`, also through `env`), when
its name ends in `.sh` / `.bash` (and no other interpreter is named), when it is a dpkg maintainer
script, or when it lies where shell code is sourced without a shebang (bash-completion
completions, debootstrap suite scripts, git's shell libraries, `/etc/profile`, ...). Files over
2 MB and files with a NUL byte are skipped; files are deduplicated by content (the first path in
sorted order wins); and only files `bash -n` (bash at /usr/bin/bash) accepts are kept. A file that
plain `bash -n` rejects but `bash -O extglob -n` accepts (completion files are sourced with extglob
on) is kept and marked `extglob`. The files `bash -n` rejects are recorded separately.

Layout of the cache directory (`$BASHFLOW_CORPUS`, default `.corpus/` at the repository root):

    manifest.json             what was found, in a deterministic order (no timestamps)
    files/debian/usr/...      copies of Debian files, under their installed path
    files/pypi/DIST/...       copies of files from PyPI distributions, under their site-packages path
    files/other/...           copies of files no package owns (e.g. written by a postinst)
    bash-n-cache.json         `bash -n` verdicts by content hash, so rebuilds only check new files

The build is reused while its fingerprint (this module's text, bash's version, the dpkg database
and the installed Python distributions) is unchanged and every copy is in place.

    python -m benchmarks.corpus            build or reuse, print a summary
    python -m benchmarks.corpus --force    rebuild from scratch
    python -m benchmarks.corpus --list     print the copies' paths, one a line
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
BASH = "/usr/bin/bash"
MAX_BYTES = 2 * 1024 * 1024
HEAD_BYTES = 256
REPO = Path(__file__).resolve().parent.parent

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


@dataclass(frozen=True, slots=True)
class Entry:
    """One corpus file: its copy, where it came from, and what it is."""

    path: Path
    rel: str
    source: str
    origin: str
    category: str
    shell: str
    sha256: str
    size: int
    lines: int
    extglob: bool
    features: tuple[str, ...]

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def read_text(self) -> str:
        """The text as bashflow reads a script: UTF-8 with surrogate escapes."""
        return self.path.read_bytes().decode("utf-8", "surrogateescape")

    @property
    def bash_specific(self) -> bool:
        return bool(BASH_ONLY.intersection(self.features))


@dataclass(frozen=True, slots=True)
class Corpus:
    root: Path
    entries: tuple[Entry, ...]
    rejected: tuple[dict[str, Any], ...]
    manifest: dict[str, Any] = field(repr=False)
    reused: bool = False

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    @property
    def lines(self) -> int:
        return sum(e.lines for e in self.entries)


# ---------------------------------------------------------------------------------------------
# finding candidates


@dataclass(slots=True)
class _Candidate:
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


def _python_roots() -> list[str]:
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


def _classify_file(path: str, st: os.stat_result, kind: str, site_dir: str) -> _Candidate | None:
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
    return _Candidate(path, kind, shell or "sourced", executable, st.st_size, site_dir)


def find_candidates(python_roots: list[str] | None = None) -> list[_Candidate]:
    """Every candidate file in the Debian roots, then in the Python roots, in a fixed order."""
    py_roots = _python_roots() if python_roots is None else python_roots
    prune = frozenset(py_roots)
    found: list[_Candidate] = []
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


def _dpkg_owners() -> dict[str, str]:
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


def _pypi_owners(py_roots: Iterable[str]) -> dict[str, str]:
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


# ---------------------------------------------------------------------------------------------
# building and loading


def corpus_dir() -> Path:
    env = os.environ.get("BASHFLOW_CORPUS")
    return Path(env).resolve() if env else REPO / ".corpus"


def fingerprint(py_roots: list[str], bash: str) -> str:
    h = hashlib.sha256()
    h.update(f"schema={SCHEMA}\nbash={bash}\n".encode())
    h.update(Path(__file__).read_bytes())
    try:
        st = os.stat(DPKG_STATUS)
        h.update(f"dpkg={st.st_size}:{st.st_mtime_ns}\n".encode())
    except OSError:
        h.update(b"dpkg=none\n")
    for root in py_roots:
        h.update(f"site={root}\n".encode())
        try:
            dists = sorted(n for n in os.listdir(root) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            dists = []
        h.update("\n".join(dists).encode())
    return h.hexdigest()


def _copy_rel(c: _Candidate, origin: str) -> str:
    if c.kind == "pypi":
        dist = origin.split(":", 1)[1] if origin.startswith("pypi:") else "unowned"
        return f"files/pypi/{dist}/{os.path.relpath(c.source, c.site)}"
    if origin == "unowned":
        return f"files/other{c.source}"
    return f"files/debian{c.source}"


def _count_lines(data: bytes) -> int:
    n = data.count(b"\n")
    return n + 1 if data and not data.endswith(b"\n") else n


def _load_cache(path: Path, bash: str) -> dict[str, list[str]]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("bash") != bash:
        return {}
    results = raw.get("results", {})
    return results if isinstance(results, dict) else {}


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _entries_from(root: Path, manifest: dict[str, Any]) -> tuple[Entry, ...]:
    return tuple(
        Entry(
            path=root / f["path"],
            rel=f["path"],
            source=f["source"],
            origin=f["origin"],
            category=f["category"],
            shell=f["shell"],
            sha256=f["sha256"],
            size=f["bytes"],
            lines=f["lines"],
            extglob=f["extglob"],
            features=tuple(f["features"]),
        )
        for f in manifest["files"]
    )


def _up_to_date(root: Path, manifest: dict[str, Any], fp: str) -> bool:
    if manifest.get("schema") != SCHEMA or manifest.get("fingerprint") != fp:
        return False
    for f in manifest.get("files", []):
        try:
            if (root / f["path"]).stat().st_size != f["bytes"]:
                return False
        except OSError:
            return False
    return True


def _read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def build(
    directory: Path | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Corpus:
    """Build the corpus under `directory` (or reuse it when it is up to date)."""
    say = log or (lambda _msg: None)
    root = (directory or corpus_dir()).resolve()
    if not os.access(BASH, os.X_OK):
        raise RuntimeError(f"{BASH} is needed to build the corpus")
    bash = bash_version()
    py_roots = _python_roots()
    fp = fingerprint(py_roots, bash)
    with _locked(root):
        old = _read_manifest(root)
        if not force and old is not None and _up_to_date(root, old, fp):
            return Corpus(root, _entries_from(root, old), tuple(old["rejected"]), old, reused=True)

        t0 = time.perf_counter()
        cands = find_candidates(py_roots)
        say(f"found {len(cands)} candidate files in {time.perf_counter() - t0:.1f} s")
        deb_owner = _dpkg_owners()
        py_owner = _pypi_owners(py_roots)

        too_large: list[str] = []
        binary: list[str] = []
        unreadable: list[str] = []
        by_hash: dict[str, tuple[_Candidate, bytes, list[str]]] = {}
        for c in cands:
            if c.size > MAX_BYTES:
                too_large.append(c.source)
                continue
            try:
                data = Path(c.source).read_bytes()
            except OSError:
                unreadable.append(c.source)
                continue
            if b"\0" in data:
                binary.append(c.source)
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in by_hash:
                by_hash[digest][2].append(c.source)
            else:
                by_hash[digest] = (c, data, [])

        cache_path = root / "bash-n-cache.json"
        cache = _load_cache(cache_path, bash)
        todo = [(d, c.source) for d, (c, _, _) in by_hash.items() if d not in cache]
        t1 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
            for (digest, _), result in zip(
                todo, pool.map(lambda t: bash_n_check(t[1]), todo), strict=True
            ):
                cache[digest] = list(result)
        say(
            f"bash -n on {len(todo)} files ({len(by_hash) - len(todo)} cached) in {time.perf_counter() - t1:.1f} s"
        )
        _write_json(cache_path, {"bash": bash, "results": dict(sorted(cache.items()))})

        files: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        tmp = root / f"files.tmp{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        used: set[str] = set()
        for digest, (c, data, dups) in by_hash.items():
            if c.kind == "pypi":
                origin = "pypi:" + py_owner[c.source] if c.source in py_owner else "unowned"
            elif c.source.startswith(DPKG_INFO + "/"):
                origin = "debian:" + c.source.rsplit("/", 1)[-1].rsplit(".", 1)[0].split(":", 1)[0]
            else:
                origin = "debian:" + deb_owner[c.source] if c.source in deb_owner else "unowned"
            category = categorize(c.source, c.kind, c.shell, c.executable)
            verdict, msg = cache[digest]
            if verdict == "rejected":
                rejected.append(
                    {
                        "source": c.source,
                        "origin": origin,
                        "category": category,
                        "shell": c.shell,
                        "sha256": digest,
                        "error": msg,
                    }
                )
                continue
            rel = _copy_rel(c, origin)
            if rel in used:  # only possible for odd pypi layouts; keep names unique
                rel = f"{rel}.{digest[:8]}"
            used.add(rel)
            dest = tmp / rel[len("files/") :]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            entry: dict[str, Any] = {
                "path": rel,
                "source": c.source,
                "origin": origin,
                "category": category,
                "shell": c.shell,
                "sha256": digest,
                "bytes": len(data),
                "lines": _count_lines(data),
                "extglob": verdict == "extglob",
                "features": list(features_of(data)),
            }
            if dups:
                entry["duplicates"] = dups
            files.append(entry)
        files.sort(key=lambda f: f["path"])
        rejected.sort(key=lambda f: f["source"])

        manifest: dict[str, Any] = {
            "schema": SCHEMA,
            "generated_by": "benchmarks/corpus.py",
            "fingerprint": fp,
            "bash": bash,
            "python_roots": py_roots,
            "summary": _summary(files, rejected, too_large, binary, len(cands)),
            "files": files,
            "rejected": rejected,
            "skipped": {
                "too_large": sorted(too_large),
                "binary": sorted(binary),
                "unreadable": sorted(unreadable),
            },
        }
        final = root / "files"
        if final.exists():
            trash = root / f"files.old{os.getpid()}"
            os.replace(final, trash)
            shutil.rmtree(trash)
        os.replace(tmp, final)
        _write_json(root / "manifest.json", manifest)
        say(f"built {len(files)} files in {time.perf_counter() - t0:.1f} s")
        return Corpus(root, _entries_from(root, manifest), tuple(rejected), manifest)


def _summary(
    files: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
    too_large: list[str],
    binary: list[str],
    candidates: int,
) -> dict[str, Any]:
    cats = collections.Counter(f["category"] for f in files)
    feats = collections.Counter(k for f in files for k in f["features"])
    return {
        "files": len(files),
        "lines": sum(f["lines"] for f in files),
        "bytes": sum(f["bytes"] for f in files),
        "candidates": candidates,
        "rejected_by_bash_n": len(rejected),
        "too_large": len(too_large),
        "binary": len(binary),
        "extglob": sum(1 for f in files if f["extglob"]),
        "bash_specific": sum(1 for f in files if BASH_ONLY.intersection(f["features"])),
        "by_category": {c: cats[c] for c in CATEGORIES if cats[c]},
        "by_feature": {k: feats[k] for k in FEATURES},
        "by_shell": dict(sorted(collections.Counter(f["shell"] for f in files).items())),
    }


_LOADED: dict[Path, Corpus] = {}


def load(directory: Path | None = None, *, force: bool = False) -> Corpus:
    """The corpus, built at most once per process (reused from disk when up to date)."""
    root = (directory or corpus_dir()).resolve()
    if force or root not in _LOADED:
        _LOADED[root] = build(root, force=force)
    return _LOADED[root]


# ---------------------------------------------------------------------------------------------
# command line


def _print_summary(corpus: Corpus, seconds: float) -> None:
    s = corpus.manifest["summary"]
    state = "reused" if corpus.reused else "built"
    print(f"corpus: {corpus.root} ({state} in {seconds:.1f} s; bash {corpus.manifest['bash']})")
    print(
        f"  {s['files']} files, {s['lines']} lines, {s['bytes'] / 1e6:.1f} MB "
        f"({s['candidates']} candidates; {s['rejected_by_bash_n']} rejected by bash -n, "
        f"{s['too_large']} over 2 MB, {s['binary']} binary; {s['extglob']} need extglob)"
    )
    pct = 100.0 * s["bash_specific"] / max(1, s["files"])
    print(f"  bash-specific ([[, arrays, <( ), function kw): {s['bash_specific']} ({pct:.0f}%)")
    print("  by category:")
    for c, n in s["by_category"].items():
        print(f"    {c:<12} {n:>6}")
    print("  by feature:  " + ", ".join(f"{k} {n}" for k, n in s["by_feature"].items()))
    print("  by shell:    " + ", ".join(f"{k} {n}" for k, n in s["by_shell"].items()))
    origins = collections.Counter(e.origin for e in corpus.entries)
    print("  top origins: " + ", ".join(f"{o} {n}" for o, n in origins.most_common(15)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="cache directory (default $BASHFLOW_CORPUS or .corpus/)",
    )
    ap.add_argument(
        "--force", action="store_true", help="rebuild even if the manifest is up to date"
    )
    ap.add_argument("--list", action="store_true", help="print the corpus files' paths")
    ap.add_argument("--rejected", action="store_true", help="print the files bash -n rejects")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    corpus = build(args.dir, force=args.force, log=lambda m: print(m, file=sys.stderr))
    if args.list:
        for e in corpus.entries:
            print(e.path)
        return 0
    if args.rejected:
        for r in corpus.rejected:
            first = r["error"].splitlines()[0] if r["error"] else ""
            print(f"{r['source']}\t{r['origin']}\t{first}")
        return 0
    _print_summary(corpus, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
