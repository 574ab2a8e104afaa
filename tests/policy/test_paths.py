"""Path rules: whole-component comparison in a trie, deny covering subtrees, resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from bashflow.policy import Policy
from bashflow.policy.paths import Access, PathRule, PathTrie, normalize, resolve_paths

TRIE = PathTrie(
    [
        PathRule("/usr", Access.READ),
        PathRule("/work/proj", Access.WRITE),
        PathRule("/work/proj/.env", Access.DENY),
        PathRule("/work/proj/secret", Access.DENY),
        PathRule("/home/u", Access.READ),
        PathRule("/home/u/.ssh", Access.DENY),
        PathRule("/dev/null", Access.WRITE),
    ]
)


@pytest.mark.parametrize(
    ("path", "readable", "writable"),
    [
        ("/usr", True, False),
        ("/usr/bin/ls", True, False),
        ("/usrx", False, False),
        ("/us", False, False),
        ("/", False, False),
        ("/work", False, False),
        ("/work/proj", True, True),
        ("/work/proj/src/a.c", True, True),
        ("/work/projX", False, False),
        ("/work/projX/a", False, False),
        ("/work/proj/.env", False, False),
        ("/work/proj/.env/x", False, False),
        ("/work/proj/.envrc", True, True),
        ("/work/proj/secret/deep/file", False, False),
        ("/work/proj/secrets", True, True),
        ("/home/u/.bashrc", True, False),
        ("/home/u/.ssh", False, False),
        ("/home/u/.ssh/id_rsa", False, False),
        ("/home/u/.sshx", True, False),
        ("/dev/null", True, True),
        ("/dev/zero", False, False),
        ("/dev/nullx", False, False),
    ],
)
def test_trie_table(path: str, readable: bool, writable: bool) -> None:
    assert TRIE.readable(path) is readable
    assert TRIE.writable(path) is writable
    # the trie agrees with the plain definition over its rules
    rules = TRIE.rules
    deny = any(r.covers(path) for r in rules if r.access is Access.DENY)
    write = any(r.covers(path) for r in rules if r.access is Access.WRITE)
    read = write or any(r.covers(path) for r in rules if r.access is Access.READ)
    assert (read and not deny, write and not deny) == (readable, writable)


def test_deny_at_root_denies_everything() -> None:
    t = PathTrie([PathRule("/", Access.DENY), PathRule("/usr", Access.READ)])
    assert not t.readable("/usr/bin")


def test_root_read_rule() -> None:
    t = PathTrie([PathRule("/", Access.READ), PathRule("/etc/shadow", Access.DENY)])
    assert t.readable("/etc/passwd") and not t.readable("/etc/shadow")
    assert not t.writable("/tmp")


@pytest.mark.parametrize("bad", ["relative", "/a/../b", "/a/", "//a"])
def test_rule_needs_absolute_normalised_path(bad: str) -> None:
    with pytest.raises(ValueError):
        PathRule(bad, Access.READ)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (".", "/w/p"),
        ("src/../lib", "/w/p/lib"),
        ("~", "/h/u"),
        ("~/.ssh", "/h/u/.ssh"),
        ("~user", "/w/p/~user"),
        ("/etc//passwd", "/etc/passwd"),
        ("//x", "/x"),
        ("../..", "/"),
    ],
)
def test_normalize(entry: str, expected: str) -> None:
    assert normalize(entry, cwd="/w/p", home="/h/u") == expected


def test_resolve_skips_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    policy = Policy.model_validate(
        {"paths": {"read": ["@system", "."], "write": ["src", "nope"], "deny": ["~/.ssh"]}}
    )
    r = resolve_paths(policy, cwd=str(tmp_path), home=str(tmp_path / "home"))
    assert str(tmp_path) in r.read and "/usr" in r.read
    assert r.write == (str(tmp_path / "src"),)
    assert str(tmp_path / "nope") in r.skipped
    assert str(tmp_path / "home" / ".ssh") in r.skipped
    assert "/libx32" in r.skipped or Path("/libx32").exists()
    trie = r.trie()
    assert trie.writable(str(tmp_path / "src" / "a.c")) and not trie.writable(str(tmp_path))
