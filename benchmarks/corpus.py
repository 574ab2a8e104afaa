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

Finding and classifying files lives in `benchmarks/corpus_scan.py`; this module builds, caches
and loads. The build is reused while its fingerprint (both modules' text, bash's version, the
dpkg database and the installed Python distributions) is unchanged and every copy is in place.

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
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.corpus_scan import (
    BASH,
    BASH_ONLY,
    CATEGORIES,
    DPKG_INFO,
    DPKG_STATUS,
    FEATURES,
    Candidate,
    bash_n_check,
    bash_version,
    categorize,
    dpkg_owners,
    features_of,
    find_candidates,
    pypi_owners,
    python_roots,
)

__all__ = ["BASH", "CATEGORIES", "Corpus", "Entry", "build", "corpus_dir", "load", "main"]

SCHEMA = 1
MAX_BYTES = 2 * 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


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
# building and loading


def corpus_dir() -> Path:
    env = os.environ.get("BASHFLOW_CORPUS")
    return Path(env).resolve() if env else REPO / ".corpus"


def fingerprint(py_roots: list[str], bash: str) -> str:
    h = hashlib.sha256()
    h.update(f"schema={SCHEMA}\nbash={bash}\n".encode())
    h.update(Path(__file__).read_bytes())
    h.update(Path(__file__).with_name("corpus_scan.py").read_bytes())
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


def _copy_rel(c: Candidate, origin: str) -> str:
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
    py_roots = python_roots()
    fp = fingerprint(py_roots, bash)
    with _locked(root):
        old = _read_manifest(root)
        if not force and old is not None and _up_to_date(root, old, fp):
            return Corpus(root, _entries_from(root, old), tuple(old["rejected"]), old, reused=True)

        t0 = time.perf_counter()
        cands = find_candidates(py_roots)
        say(f"found {len(cands)} candidate files in {time.perf_counter() - t0:.1f} s")
        deb_owner = dpkg_owners()
        py_owner = pypi_owners(py_roots)

        too_large: list[str] = []
        binary: list[str] = []
        unreadable: list[str] = []
        by_hash: dict[str, tuple[Candidate, bytes, list[str]]] = {}
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
