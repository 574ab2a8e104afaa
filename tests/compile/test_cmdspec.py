"""Command specs: the data files load and validate, and `usage()` reads argvs as the commands do.

The table gives, for a command line, every effect that differs from "reads nothing, writes
nothing, writes stdout, no network, runs nothing, not opaque"; every field is compared, so a
missing or an extra effect fails. Paths print as `BASE:PATH` when relative to a `-C`-style base,
`?` when unknown; in `runs`, `?*` is an unknown number of words.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bashflow.compile import cmdspec
from bashflow.compile.cmdspec import Arg, SpecError, usage

# the helpers beside this file, whether or not tests/compile becomes a package
sys.path.insert(0, str(Path(__file__).resolve().parent))
from spec_strace import STRACE, trace
from spec_words import argv, show

DEFAULT: dict[str, Any] = {
    "reads": [],
    "writes": [],
    "read_trees": [],
    "write_trees": [],
    "stdin": False,
    "stdout": True,
    "network": "none",
    "runs": [],
    "code": [],
    "opaque": False,
}

OPAQUE = {"opaque": True, "stdin": True}  # an opaque usage assumes both streams are used

CASES: list[tuple[str, dict[str, Any]]] = [
    # ---- coreutils: file operands, option spellings
    ("cat a b", {"reads": ["a", "b"], "class": "stateless"}),
    ("cat", {"stdin": True}),
    ("cat - f", {"reads": ["f"], "stdin": True}),
    ("cat -- -n", {"reads": ["-n"]}),
    ("cp -t dir a b", {"reads": ["a", "b"], "write_trees": ["dir"], "stdout": False}),
    ("cp --target-directory=dir a", {"reads": ["a"], "write_trees": ["dir"], "stdout": False}),
    ("cp a b dir/", {"reads": ["a", "b"], "write_trees": ["dir/"], "stdout": False}),
    ("cp -r src dst", {"read_trees": ["src"], "write_trees": ["dst"], "stdout": False}),
    ("cp -a src dst", {"read_trees": ["src"], "write_trees": ["dst"], "stdout": False}),
    ("cp a", OPAQUE),  # operands do not fit: no destination
    # "$@" may hold options (-t, -r, -T) of cp: every role is assumed for every operand
    (
        'cp "$@" dst',
        {"read_trees": ["?", "dst"], "write_trees": ["?", "dst"], "stdin": True, "stdout": True},
    ),
    (
        "sort $opts in",
        {"reads": ["?", "in"], "writes": ["?", "in"], "write_trees": ["?", "in"], "stdin": True},
    ),
    ("grep -h x $files", {"read_trees": [".", "?", "x"], "stdin": True}),
    ("sed 1q $0", OPAQUE),  # a hidden -f or -e would make 1q a file or move the script
    ("cp *.txt dst", {"reads": ["*.txt"], "write_trees": ["dst"], "stdout": False}),
    ("cp a *.txt", OPAQUE),  # the destination depends on how many names the glob gives
    ("cp --frobnicate a b", OPAQUE),  # unknown option: could take an argument
    ("mv -T a b", {"read_trees": ["a"], "write_trees": ["a", "b"], "stdout": False}),
    (
        "mv a b dir",
        {"read_trees": ["a", "b"], "write_trees": ["a", "b", "dir"], "stdout": False},
    ),
    ("ln -sf a b", {"reads": ["a"], "write_trees": ["b"], "stdout": False}),
    (
        "install -m755 a /usr/bin/a",
        {"reads": ["a"], "write_trees": ["/usr/bin/a"], "stdout": False},
    ),
    ("install -d /opt/x /opt/y", {"write_trees": ["/opt/x", "/opt/y"], "stdout": False}),
    ("rm -rf d", {"write_trees": ["d"], "stdout": False}),
    ("rm -f a b", {"writes": ["a", "b"], "stdout": False}),
    ('rm -f "$x"', {"writes": ["?"], "stdout": False}),
    ("rm $files", {"write_trees": ["?"], "stdin": True}),
    ("mkdir -p a/b", {"write_trees": ["a/b"], "stdout": False}),
    ("chmod -R 755 d", {"write_trees": ["d"], "stdout": False}),
    ("chmod -x f", {"writes": ["f"], "stdout": False}),
    ("chmod --reference=r f", {"reads": ["r"], "writes": ["f"], "stdout": False}),
    ("chown user:group f", {"writes": ["f"], "stdout": False}),
    ("touch --reference=r f", {"reads": ["r"], "writes": ["f"], "stdout": False}),
    ("touch --ref r f", {"reads": ["r"], "writes": ["f"], "stdout": False}),  # long prefix
    ("tee -a log", {"writes": ["log"], "stdin": True}),
    ("sort -o out in", {"reads": ["in"], "writes": ["out"], "stdout": False}),
    ("sort -oout in", {"reads": ["in"], "writes": ["out"], "stdout": False}),
    ("sort -k2 -t, f", {"reads": ["f"]}),
    ("sort -rnk2 f", {"reads": ["f"]}),
    ("uniq in out", {"reads": ["in"], "writes": ["out"]}),
    ("head -n 3 -- -f", {"reads": ["-f"]}),
    ("head -1 f", {"reads": ["f"]}),
    ("basename $0", {}),  # $0 as no word is a usage error: nothing to cover
    ("mkdir -p $DIR", {"write_trees": ["?"], "stdout": False}),
    ("cmp -s $a b", OPAQUE),  # is b the second file or a byte offset?
    ("wc -l", {"stdin": True}),
    ("tr a-z A-Z", {"stdin": True}),
    ("dd if=a of=b bs=1M", {"reads": ["a"], "writes": ["b"], "stdin": True}),
    ("dd if=a foo=b", {**OPAQUE, "reads": ["a"]}),  # what was read so far is kept
    ("ls -la", {"read_trees": ["."]}),
    ("ls -R d e", {"read_trees": ["d", "e"]}),
    ("du -sh d", {"read_trees": ["d"]}),
    ("mktemp -d", {"writes": ["?"]}),
    ("mktemp -p /tmp x.XXXXXX", {"writes": ["?"]}),
    ("echo -n hi", {}),
    ("seq -5 5", {}),
    ("sleep 1", {"stdout": False}),
    ("test -f x", {"reads": ["x"], "stdout": False}),
    ("date -d @0 +%s", {}),
    ("date -r f", {"reads": ["f"]}),
    # ---- wrappers: the command they run is `runs`
    ("env -i X=1 cmd -x", {"runs": [["cmd", "-x"]]}),
    ("env X=1", {}),
    ('env X=1 "$@"', {"runs": [["?*"]]}),
    ("timeout 5 cmd a", {"runs": [["cmd", "a"]]}),
    ("timeout -s KILL 5 cmd -a", {"runs": [["cmd", "-a"]]}),
    ("nice -n5 cmd", {"runs": [["cmd"]]}),
    ("nice -5 cmd -x", {"runs": [["cmd", "-x"]]}),
    ("nohup cmd", {"writes": ["nohup.out"], "runs": [["cmd"]]}),
    ("sudo -u u cmd -x", {"runs": [["cmd", "-x"]]}),
    ("sudo FOO=1 cmd", {"runs": [["cmd"]]}),
    ('sudo -- "$@"', {"runs": [["?*"]]}),
    ('sudo "$@"', OPAQUE),  # "$@" may start with sudo's own options
    ("sudo -i cmd", OPAQUE),
    ("sudo -D /srv cmd a", OPAQUE),  # the command's relative paths are not this directory's
    ("env -C /srv cmd a", OPAQUE),
    ("find . -execdir cp {} b/ ';'", OPAQUE),
    ("find . -ok rm {} ';'", {"read_trees": ["."], "stdin": True, "runs": [["rm", "?"]]}),
    ("wc --files0-from=list", {"reads": ["?", "list"]}),
    ("flock /tmp/l -c cmd", {"writes": ["/tmp/l"], "code": ["cmd"]}),
    ("flock -n /l sort -o out in", {"writes": ["/l"], "runs": [["sort", "-o", "out", "in"]]}),
    ("chroot /r cmd", {**OPAQUE, "read_trees": ["/r"], "runs": [["cmd"]]}),
    ("xargs -0 rm", {"stdin": True, "runs": [["rm", "?*"]]}),
    ("xargs", {"stdin": True, "runs": [["echo", "?*"]]}),
    ("xargs -I{} cp {} dir/", {"stdin": True, "runs": [["cp", "?", "dir/"]]}),
    ("xargs -n1 -P4 gzip -9", {"stdin": True, "runs": [["gzip", "-9", "?*"]]}),
    ("xargs -a list rm", {"reads": ["list"], "runs": [["rm", "?*"]]}),
    # ---- text tools
    ("grep -rl pat dir", {"read_trees": ["dir"]}),
    ("grep -e p -f pats file", {"reads": ["file", "pats"]}),
    ("grep -r x", {"read_trees": ["."]}),
    ("grep pat", {"stdin": True}),
    ("grep -q x *.txt", {"reads": ["*.txt"]}),  # a glob matching nothing stays a word
    ("grep -q x $files", {"read_trees": [".", "?", "x"], "stdin": True}),  # may be no file
    ("gzip $f", OPAQUE),  # may hide -d, which picks another mode
    ("zcat $f", {"reads": ["?"], "stdin": True}),  # may be no file: then stdin
    ("grep -A3 x f", {"reads": ["f"]}),
    ("grep --color=auto x f", {"reads": ["f"]}),
    ("egrep 'a|b' f", {"reads": ["f"], "spec": "grep"}),
    ("sed -i s/a/b/ f", {"reads": ["f"], "writes": ["f"], "stdout": False}),
    (
        "sed -i.bak -e s/a/b/ f g",
        {"reads": ["f", "g"], "writes": ["f", "f.bak", "g", "g.bak"], "stdout": False},
    ),
    ("sed -n p f", {"reads": ["f"]}),
    ("sed -ne 1p f", {"reads": ["f"]}),
    ('sed "s/a/$b/" f', {"reads": ["f"], "code": ["?"]}),  # unknown script: may have w/r/e
    ("sed '1r other' f", {"reads": ["f"], "code": ["1r other"]}),
    ("sed 's/a/b/w out' f", {"reads": ["f"], "code": ["s/a/b/w out"]}),
    ("sed '/x/Iw out' f", {"reads": ["f"], "code": ["/x/Iw out"]}),
    ("sed '\\%x%w out' f", {"reads": ["f"], "code": ["\\%x%w out"]}),
    ("sed 's|a|b|w out' f", {"reads": ["f"], "code": ["s|a|b|w out"]}),
    ("sed -f prog.sed f", {"reads": ["f", "prog.sed"], "code": ["prog.sed"]}),
    ("awk '{print $1}' f", {"reads": ["f"]}),
    ("awk -F: -v x=1 '$1 == x' /etc/passwd", {"reads": ["/etc/passwd"]}),
    ("awk -f prog.awk f", {"reads": ["f", "prog.awk"], "code": ["prog.awk"]}),
    ("awk '{print}' $files -v", {"reads": ["-v", "?"]}),  # options end at the program
    ("awk '{print > \"out\"}' f", {"reads": ["f"], "code": ['{print > "out"}']}),
    ("awk 'BEGIN{system(\"rm x\")}'", {"stdin": True, "code": ['BEGIN{system("rm x")}']}),
    ("find d -name x -delete", {"write_trees": ["d"]}),
    ("find . -exec rm {} +", {"read_trees": ["."], "runs": [["rm", "?*"]]}),
    (
        "find /tmp -type f -exec grep -l x {} ';'",
        {"read_trees": ["/tmp"], "runs": [["grep", "-l", "x", "?"]]},
    ),
    ("find . -name x -exec rm {}", OPAQUE),  # no terminator
    ("find", {"read_trees": ["."]}),
    ("find a b -newer ref -print0", {"reads": ["ref"], "read_trees": ["a", "b"]}),
    ("find . -fprint out", {"read_trees": ["."], "writes": ["out"]}),
    ("find . -frobnicate", OPAQUE),
    ("jq .a f.json", {"reads": ["f.json"]}),
    ("jq -r '.[]'", {"stdin": True}),
    ("jq -n --arg x 1 .x", {"stdin": True}),
    ("jq --slurpfile s data.json -n '$s'", {"reads": ["data.json"], "stdin": True}),
    ("diff -u a b", {"read_trees": ["a", "b"]}),
    ("patch -p1 -i x.diff", {"reads": ["x.diff"], "writes": ["?"]}),
    ("patch -p1", {"writes": ["?"], "stdin": True}),
    # ---- archives
    ("tar -C d -xzf a.tgz", {"reads": ["a.tgz"], "write_trees": ["d:."], "stdout": False}),
    ("tar -xzf a.tgz -C dest", {"reads": ["a.tgz"], "write_trees": ["dest:."], "stdout": False}),
    ("tar czf out.tgz dir", {"writes": ["out.tgz"], "read_trees": ["dir"], "stdout": False}),
    ("tar -cf - -C src .", {"read_trees": ["src:."]}),
    ("tar --create --file=o.tar a", {"writes": ["o.tar"], "read_trees": ["a"], "stdout": False}),
    ("tar tf x.tar", {"reads": ["x.tar"]}),
    ("tar xf -", {"stdin": True, "write_trees": ["."], "stdout": False}),
    ("tar -xf", OPAQUE),
    ("tar -f a.tar", OPAQUE),  # no mode
    ("gzip f", {"reads": ["f"], "writes": ["f", "f.gz"], "stdout": False}),
    ("gzip", {"stdin": True}),
    ("gzip -dc f.gz", {"reads": ["f.gz"]}),
    ("gzip -d f.gz", {"reads": ["f.gz"], "writes": ["f", "f.gz"], "stdout": False}),
    ("gunzip a.tgz", {"reads": ["a.tgz"], "writes": ["a.tar", "a.tgz"], "stdout": False}),
    ("zcat a.gz", {"reads": ["a.gz"]}),
    ("unzip -o a.zip -d out", {"reads": ["a.zip"], "write_trees": ["out"]}),
    ("unzip a.zip", {"reads": ["a.zip"], "write_trees": ["."]}),
    (
        "zip -r a.zip dir",
        {"reads": ["a.zip"], "writes": ["a.zip"], "read_trees": ["dir"], "stdout": False},
    ),
    # ---- version control
    (
        "git -C repo commit -am m",
        {"spec": "git commit", "read_trees": ["repo:^."], "write_trees": ["repo:^.git"]},
    ),
    (
        "git commit -F msg",
        {"spec": "git commit", "reads": ["msg"], "read_trees": ["^."], "write_trees": ["^.git"]},
    ),
    ("git clone https://h/r d", {"spec": "git clone", "write_trees": ["d"], "network": "read"}),
    ("git clone git@h:r", {"spec": "git clone", "write_trees": ["."], "network": "read"}),
    (
        "git clone --depth 1 ../r d",  # a local repository is read
        {"spec": "git clone", "read_trees": ["../r"], "write_trees": ["d"], "network": "read"},
    ),
    (
        'git clone "$url" d',  # which may be local
        {"spec": "git clone", "read_trees": ["?"], "write_trees": ["d"], "network": "read"},
    ),
    ("git status --short", {"spec": "git status", "read_trees": ["^."], "write_trees": ["^.git"]}),
    ("git log -n 5 --format=%H -- f", {"spec": "git log", "read_trees": ["^."]}),
    (
        "git diff --output=d.patch",
        {"spec": "git diff", "writes": ["d.patch"], "read_trees": ["^."]},
    ),
    (
        "git push origin HEAD",
        # the remote may be a local repository
        {
            "spec": "git push",
            "read_trees": ["^."],
            "write_trees": ["?", "^.git"],
            "network": "write",
        },
    ),
    (
        "git pull",
        {"spec": "git pull", "read_trees": ["?", "^."], "write_trees": ["^."], "network": "read"},
    ),
    ("git --version", {"spec": "git", "class": "pure"}),
    ("git --exec-path", {"spec": "git", "class": "pure"}),
    (
        "git --exec-path=/x status",
        {"spec": "git status", "read_trees": ["^."], "write_trees": ["^.git"]},
    ),
    ("git merge-file a b c", {"spec": "git merge-file", "reads": ["a", "b", "c"], "writes": ["a"]}),
    ("git diff-index --quiet HEAD --", {"spec": "git diff-index", "read_trees": ["^."]}),
    ("git frob", OPAQUE),
    ("git", OPAQUE),
    ('git "$cmd"', OPAQUE),
    ("git config --get user.name", {"spec": "git config", "reads": ["?"], "read_trees": ["^."]}),
    (
        "git config user.name x",
        {"spec": "git config", "writes": ["?"], "read_trees": ["^."], "write_trees": ["^.git"]},
    ),
    # ---- build
    (
        "make -C sub -j4 all",
        {
            "reads": ["sub:Makefile"],
            "read_trees": ["sub:."],
            "write_trees": ["sub:."],
            "code": ["Makefile"],
        },
    ),
    (
        "make -f x.mk install",
        {"reads": ["x.mk"], "read_trees": ["."], "write_trees": ["."], "code": ["x.mk"]},
    ),
    ("make --version", {"class": "pure"}),
    # ---- interpreters
    ("python3 script.py a", {"reads": ["script.py"], "code": ["script.py"]}),
    ("python3 -c CODE x", {"code": ["CODE"]}),
    ("python3 -u -", {"stdin": True, "code": ["-"]}),
    ("python3", OPAQUE),
    (
        "python3 -m pip install x",
        {"spec": "pip install", "read_trees": ["x"], "writes": ["?"], "network": "read"},
    ),
    ("python3 -m venv .venv", {"spec": "virtualenv", "write_trees": [".venv"], "network": "read"}),
    ("python3 -m http.server", OPAQUE),
    ("/usr/bin/python3 -V", {"spec": "python3", "class": "pure"}),
    ("bash -c 'ls; rm x' name a", {"code": ["ls; rm x"]}),
    ("bash -ec 'ls'", {"code": ["ls"]}),
    ("sh +x script.sh a", {"reads": ["script.sh"], "code": ["script.sh"]}),
    ("sh", OPAQUE),
    ("su - root -c 'id'", {"code": ["id"]}),
    (
        "perl -pi -e s/a/b/ f",
        {"reads": ["f"], "writes": ["f"], "code": ["s/a/b/"], "stdout": False},
    ),
    ("perl -ne print f", {"reads": ["f"], "code": ["print"]}),
    ("node -e 'x' a", {"code": ["x"]}),
    # ---- network
    ("curl -o f URL", {"writes": ["f"], "network": "read"}),
    ("curl file:///etc/hosts", {"reads": ["/etc/hosts"], "network": "read"}),
    ('curl "$url"', {"reads": ["?"], "network": "read"}),  # file:// maybe
    ("curl -sSfLo out.tgz URL", {"writes": ["out.tgz"], "network": "read"}),
    ("curl -d @data URL", {"reads": ["data"], "network": "write"}),
    ("curl -d x=1 URL", {"network": "write"}),
    ("curl -T up.bin URL", {"reads": ["up.bin"], "network": "write"}),
    ("curl -fsSL URL", {"network": "read"}),
    ("curl -O URL", {"write_trees": ["."], "network": "read"}),
    ("wget -O- URL", {"network": "read"}),
    ("wget -qO f URL", {"writes": ["f"], "network": "read"}),
    ("wget URL", {"write_trees": ["."], "network": "read"}),
    ("wget -nv -P d URL", {"write_trees": ["d"], "network": "read"}),
    ("ssh host ls", {"stdin": True, "network": "write"}),
    ("ssh -n -i key host cmd", {"reads": ["key"], "network": "write"}),
    ("scp a host:b", {"reads": ["a"], "write_trees": ["host:b"], "network": "write"}),
    ("openssl rand -hex 16", {"spec": "openssl rand"}),
    (
        "openssl x509 -in c.pem -noout -text",
        {"spec": "openssl x509", "reads": ["c.pem"], "stdin": True},
    ),
    # ---- packages, containers, system
    (
        "pip install -r req.txt",
        {"spec": "pip install", "reads": ["req.txt"], "writes": ["?"], "network": "read"},
    ),
    ("pip3 --version", {"spec": "pip", "class": "pure"}),
    (
        "npm run build",
        {
            "spec": "npm run",
            "reads": ["package.json"],
            "read_trees": ["^."],  # npm finds package.json here or in a directory above
            "write_trees": ["^."],
            "code": ["package.json"],
        },
    ),
    ("apt-get install -y curl", {"writes": ["?"], "stdin": True, "network": "read"}),
    ("dpkg -l", {"class": "pure", "read_trees": ["/var/lib/dpkg"]}),
    ("dpkg -i x.deb", {"read_trees": ["x.deb"], "writes": ["?"]}),
    (
        "docker run --rm -v /data:/d img ls",
        {
            "spec": "docker run",
            "write_trees": ["/data", "/var/lib/docker"],
            "code": ["img"],
            "network": "write",
        },
    ),
    (
        "docker build -t x .",
        {
            "spec": "docker build",
            "read_trees": ["."],
            "write_trees": ["/var/lib/docker"],
            "network": "read",
        },
    ),
    ("docker ps -a", {"spec": "docker ps", "read_trees": ["/var/lib/docker"]}),
    ("systemctl restart nginx", {"spec": "systemctl restart", "writes": ["?"]}),
    (
        "systemctl --no-pager status nginx",
        {
            "spec": "systemctl status",
            "read_trees": ["/etc/systemd", "/lib/systemd", "/run/systemd", "/usr/lib/systemd"],
        },
    ),
    (
        "systemctl status nginx --no-pager",
        {
            "spec": "systemctl status",
            "read_trees": ["/etc/systemd", "/lib/systemd", "/run/systemd", "/usr/lib/systemd"],
        },
    ),
    ('getopt -o ab: -- "$@"', {}),
    # ---- no spec
    ("frobnicate a b", {"spec": None, "class": "unknown", "opaque": True, "stdout": False}),
]


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[c for c, _ in CASES])
def test_usage(command: str, expected: dict[str, Any]) -> None:
    words = argv(command)
    got = show(usage(words))
    want = {**DEFAULT, "spec": words[0].text.rpartition("/")[2] if words[0].text else None}
    want.update(expected)
    if "class" not in expected:
        got.pop("class")
    assert got == want


def test_wrapped_commands_keep_their_words() -> None:
    u = usage(argv("timeout 5 sort -o out in"))
    (run,) = u.runs
    assert [a.index for a in run] == [2, 3, 4, 5]
    inner = usage(run)
    assert show(inner)["writes"] == ["out"]


def test_unknown_name_and_empty_argv() -> None:
    assert usage([]).opaque
    assert usage([Arg(None, 0)]).opaque
    assert usage([Arg("cat", 0)]).spec == "cat"
    assert usage([Arg("/bin/cat", 0)]).spec == "cat"


def test_notes_say_why() -> None:
    u = usage(argv("cp --frobnicate a b"))
    assert u.opaque and any("--frobnicate" in n for n in u.notes)
    u = usage(argv('cp "$@" dst'))
    assert any("options" in n for n in u.notes)
    u = usage(argv("git frob"))
    assert any("frob" in n for n in u.notes)
    u = usage(argv("chroot /r cmd"))  # the reason an opaque usage gives is its last note
    assert u.opaque and "another root" in u.notes[-1]
    u = usage(argv("ln $a b"))
    assert "may" in u.notes[-1] and "aliases" in u.notes[0]
    u = usage(argv("cp a"))  # the slot pattern, written as in the spec
    assert u.opaque and u.notes[-1] == "cp: operands do not fit read+ dest"


def test_language_of_code() -> None:
    assert usage(argv("bash -c ls")).language == "sh"
    assert usage(argv("python3 -c pass")).language == "python"
    assert usage(argv("awk '{print > \"f\"}'")).language == "awk"
    assert usage(argv("make")).language == "make"
    assert usage(argv("cat f")).language is None


# --------------------------------------------------------------------------- the data files


def test_every_spec_loads_and_there_are_enough() -> None:
    specs = cmdspec.load_all()
    assert len({s.name for s in specs.values()}) >= 80
    assert set(specs) == cmdspec.names()
    for name in ("grep", "sed", "awk", "find", "xargs", "tar", "gzip", "git", "make", "curl"):
        assert name in specs
    for name in ("wget", "python3", "pip", "npm", "docker", "jq", "cp", "rm", "sort"):
        assert name in specs


def test_every_spec_has_a_known_class_and_interprets_its_bare_name() -> None:
    for name, spec in cmdspec.load_all().items():
        assert spec.klass in cmdspec.CLASSES, name
        u = usage([Arg(name, 0)])  # never raises, whatever the spec
        assert u.klass in cmdspec.CLASSES


def _pool(spec: cmdspec.CommandSpec) -> list[Arg]:
    """Words to build argvs from: the spec's option spellings, subcommands, paths, unknowns."""
    words = ["a", "b/c", "-", "--", "-x", "--nope", "x=1", "{}", ";", "+", "@f", "/abs", ".."]
    for kind, prefix in (("short", "-"), ("long", "--"), ("words", "")):
        words += [prefix + k for k in (getattr(spec, kind) or {})]
    words += list(spec.subcommands or {})
    args = [Arg(w, 0) for w in words]
    return [*args, Arg(None, 0), Arg(None, 0, many=True), Arg("*.c", 0, glob=True, many=True)]


@pytest.mark.slow
def test_usage_never_raises_on_any_argv() -> None:
    """Random argvs over every spec's own options: always a Usage, never an exception."""
    import random

    rng = random.Random(5)
    for name, spec in sorted(cmdspec.load_all().items()):
        pool = _pool(spec)
        for _ in range(60):
            words = [Arg(name, 0)]
            for i in range(1, rng.randrange(1, 7)):
                a = rng.choice(pool)
                words.append(Arg(a.text, i, a.glob, a.many))
            u = usage(words)
            assert u.klass in cmdspec.CLASSES and u.network in cmdspec.NETWORK
            assert all(a.index < len(words) for r in u.runs for a in r)


BAD_FILES: list[tuple[str, int, str]] = [
    ('[cat]\nclass = "stateless"\nstdni = "always"\n', 3, "unknown key"),
    ('[cat]\nclass = "stateles"\n', 2, "must be one of"),
    ('[cat]\nstdin = "always"\n', 1, "needs a class"),
    ('[cat]\nclass = "pure"\noperands = ["reed*"]\n', 3, "bad slot"),
    ('[cat]\nclass = "pure"\noperands = ["read*", "write+"]\n', 3, "at most one"),
    ('[cat]\nclass = "pure"\noperands = ["cmd", "read"]\n', 3, "must be the last"),
    ('[cat]\nclass = "pure"\n[cat.options]\n"-a" = { arg = "red" }\n', 4, "must be one of"),
    ('[cat]\nclass = "pure"\n[cat.options]\n"-a" = { agr = "read" }\n', 4, "unknown option key"),
    ('[cat]\nclass = "pure"\n[cat.options]\n"-a -a" = {}\n', 4, "given twice"),
    ('[cat]\nclass = "pure"\n[cat.options]\n"-ab" = {}\n', 4, "bad option spelling"),
    ('[cat]\nclass = "pure"\n[cat.options]\n"-m" = { mode = "x" }\n', 3, "no [modes] table"),
    ('[cat]\nclass = "pure"\n\n[dog]\nclass = "pure"\n\n[cat.options]\n', 7, "defined twice"),
    ('[cat]\nclass = "pure"\nnote = \n', 3, "bad TOML"),
    ('class = "pure"\n[cat]\nclass = "pure"\n', 1, "only comments"),
    ('[_aliases]\nkat = "dog"\n[cat]\nclass = "pure"\n', 0, "no such spec"),
    ('[cat]\nclass = "pure"\noperands = [{ slot = "readwrite*", derive = ["x"] }]\n', 3, "derive"),
    ('[cat]\nclass = "pure"\n[[dog]]\nclass = "pure"\n', 1, "stray tables"),
    ('[cat]\nclass = "pure"\noperand_like = "-[0-9"\n', 3, "bad regular expression"),
    ('[cat]\nclass = "pure"\ncode_if = ["ok", "(x"]\n', 3, "bad regular expression"),
    ('[vcs]\nclass = "pure"\n[vcs.subcommands.x]\n[[dog]]\n', 3, "stray tables"),
    ('[_aliases]\nx = "cat"\n[[dog]]\n[cat]\nclass = "pure"\n', 1, "stray tables"),
    (
        '[vcs]\nclass = "pure"\n[vcs.subcommands.ok]\n\n[vcs.subcommands.bad]\nstdin = "often"\n',
        6,
        "must be one of",
    ),
    (
        '[vcs]\nclass = "pure"\n[vcs.subcommands.bad.options]\n"-x" = { arg = 1 }\n',
        4,
        "must be one of",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES)
def test_bad_spec_files_fail_loudly(tmp_path: Path, text: str, line: int, message: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(SpecError) as err:
        cmdspec.load_all(str(tmp_path))
    assert message in str(err.value)
    assert err.value.line == line
    if line:
        assert str(err.value).startswith(f"bad.toml:{line}: ")


def test_a_good_spec_file_in_another_directory(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        '# my tools\n[_aliases]\nfrob2 = "frob"\n\n[frob]\nclass = "pure"\n'
        'operands = ["read", "write"]\n[frob.options]\n"-o --out" = { arg = "write" }\n'
    )
    lib = cmdspec.Library(str(tmp_path))
    assert lib.names() == {"frob", "frob2"}
    spec = lib.lookup("frob2")
    assert spec is not None and spec.name == "frob" and spec.where == "mine.toml:5"


def test_exec_terminators_come_from_until(tmp_path: Path) -> None:
    """`until` replaces `;` and `+` as the words that end an `exec` argument (no shipped spec
    uses it yet: a spec file of one's own may)."""
    (tmp_path / "mine.toml").write_text(
        '[each]\nclass = "side_effectful"\noperands = ["read*"]\n[each.options]\n'
        '"-x" = { arg = "exec", until = [":::"] }\n"-y" = { arg = "exec" }\n'
    )
    spec = cmdspec.Library(str(tmp_path)).lookup("each")
    assert spec is not None

    def read(command: str) -> dict[str, Any]:
        return show(cmdspec._Interp(spec, argv(command)).run())

    u = read("each -x cat {} ::: a")
    assert u["runs"] == [["cat", "?*"]] and u["reads"] == ["a"] and not u["opaque"]
    assert read("each -x cat {} + a")["opaque"]  # `+` ends only -y's command
    u = read("each -y cat {} + a")
    assert u["runs"] == [["cat", "?*"]] and u["reads"] == ["a"] and not u["opaque"]


@pytest.mark.slow
def test_import_is_lazy() -> None:
    """Importing the module parses no TOML; a lookup parses only that command's tables."""
    code = (
        "import sys\n"
        "import bashflow.compile.cmdspec as c\n"
        "import bashflow.compile.specload as s\n"
        "assert 'tomllib' not in sys.modules, 'tomllib imported'\n"
        "assert s._library is None\n"
        "c.lookup('cat')\n"
        "lib = c.library()\n"
        "assert set(lib.loaded) == {'cat'}, lib.loaded\n"
        "git = c.lookup('git')\n"
        "c.usage([c.Arg('git', 0), c.Arg('push', 1)])\n"
        "assert set(dict.keys(git.subcommands)) == {'push'}, 'every subcommand was built'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr


# --------------------------------------------------------------------------- real processes
#
# Each command runs under strace in a fresh directory holding the files below. Every file it
# opens for writing, creates, removes, renames or chmods there must be among the spec's writes
# (a file, or below a written tree); every file it opens for reading must be among the reads
# (or the writes). Paths outside the directory (libraries, locale, /proc, /etc) are not judged.

FILES = {
    "a": "alpha\nbeta\n",
    "b": "beta\ngamma\n",
    "in": "3\n1\n2\n",
    "pats": "alp\n",
    "d/x": "x\n",
    "d/sub/y": "y\n",
    "f.json": '{"a": 1}\n',
    "s.sh": "cat a > /dev/null\n",
    "prog.awk": "{ print $1 }\n",
    "data": "k=v\n",
    "Makefile": "all:\n\tcat a > made\n",
    "sub.mk": "all:\n\tcat x > made\n",
    "p.diff": "--- a\n+++ a\n@@ -1,2 +1,2 @@\n-alpha\n+ALPHA\n beta\n",
    "list": "a\nb\n",
    "b64": "aGkK\n",
    "prog.sed": "s/alpha/A/\n",
    "prog.jq": ".a\n",
}

# (command, stdin, regexes of paths the spec may leave out, with the reason)
TRACED: list[tuple[str, bytes, str]] = [
    ("cat a b", b"", ""),
    ("cp a b", b"", ""),
    ("cp a b d/", b"", ""),
    ("cp -t d a b", b"", ""),
    ("cp -r d e", b"", ""),
    ("cp -a d e", b"", ""),
    ("mv a c", b"", ""),
    ("mv -T d e", b"", ""),
    ("mv a b d", b"", ""),
    ("ln -sf a l", b"", ""),
    ("ln a l", b"", ""),
    ("rm -f a b", b"", ""),
    ("rm -rf d", b"", ""),
    ("mkdir -p n/m", b"", ""),
    ("rmdir e", b"", ""),
    ("touch a t", b"", ""),
    ("touch -r a t", b"", ""),
    ("chmod 600 a", b"", ""),
    ("chmod -R go-w d", b"", ""),
    ("install -m755 a e/a", b"", ""),
    ("install -D a deep/x/a", b"", ""),
    ("install -d o1 o2", b"", ""),
    ("truncate -s 0 a", b"", ""),
    ("sort -o out in", b"", ""),
    ("sort -u in a", b"", ""),
    ("uniq in out", b"", ""),
    ("tee t1 t2", b"x\n", ""),
    ("tee -a a", b"x\n", ""),
    ("head -n1 a", b"", ""),
    ("tail -1 a", b"", ""),
    ("wc -l a b", b"", ""),
    ("cut -d: -f1 a", b"", ""),
    ("tr a-z A-Z", b"abc\n", ""),
    ("paste a b", b"", ""),
    ("comm a b", b"", ""),
    ("join a b", b"", ""),
    ("nl a", b"", ""),
    ("md5sum a b", b"", ""),
    ("sha256sum a", b"", ""),
    ("base64 a", b"", ""),
    ("od -c a", b"", ""),
    ("dd if=a of=c bs=1", b"", ""),
    ("split -l 1 a part.", b"", ""),
    ("diff -r d d", b"", ""),
    ("cmp a a", b"", ""),
    ("ls -la d", b"", ""),
    ("ls", b"", ""),
    ("du -s d", b"", ""),
    ("stat a", b"", ""),
    ("readlink -f a", b"", ""),
    ("realpath a", b"", ""),
    ("mktemp -p .", b"", ""),
    ("grep -r x d", b"", ""),
    ("grep -r alpha", b"", ""),
    ("grep -l -f pats a b", b"", ""),
    ("grep -e alpha a", b"", ""),
    ("sed -n p a", b"", ""),
    ("sed -i s/alpha/A/ a", b"", r"/sed\w{6}$"),  # a temporary file, renamed onto a
    ("sed -i.bak s/alpha/A/ a b", b"", r"/sed\w{6}$"),
    ("awk -f prog.awk a", b"", ""),
    ("mawk '{print $1}' a", b"", ""),
    ("find d -name x", b"", ""),
    ("find . -newer a", b"", ""),
    ("find d -name x -delete", b"", ""),
    ("find d -type f -exec cat {} +", b"", ""),
    ("xargs cat", b"a b\n", ""),
    ("xargs -I{} cp {} d/", b"a\n", ""),
    ("jq .a f.json", b"", ""),
    ("tar czf out.tgz d", b"", ""),
    ("tar cf - d", b"", ""),
    ("tar -C d -cf ../o.tar .", b"", ""),
    ("tar tf t.tar", b"", ""),
    ("tar xf t.tar", b"", ""),
    ("tar -xf t.tar -C e", b"", ""),
    ("gzip a", b"", ""),
    ("gzip -k a", b"", ""),
    ("gzip -d z.gz", b"", ""),
    ("gunzip -c z.gz", b"", ""),
    ("zcat z.gz", b"", ""),
    ("bzip2 a", b"", ""),
    ("xz -k a", b"", ""),
    ("zip -qr o.zip d", b"", r"/zi\w{6}$"),  # a temporary file, renamed onto o.zip
    ("unzip -q t.zip -d e", b"", ""),
    ("unzip -qo t.zip", b"", ""),
    ("patch -p0 -i p.diff", b"", ""),
    ("iconv -f utf-8 -t ascii -o conv a", b"", ""),
    ("file a", b"", ""),
    ("perl -pi -e s/alpha/A/ a", b"", r"/\w{8}$"),  # a temporary file, renamed onto a
    ("make -s", b"", ""),
    ("make -s -C d -f ../sub.mk", b"", ""),
    ("sh s.sh", b"", ""),
    ("env -i PATH=/usr/bin:/bin cat a", b"", ""),
    ("timeout 5 cat a", b"", ""),
    ("nice -n5 cp a c", b"", ""),
    ("git init -q r", b"", ""),
    ("git add a b", b"", ""),
    ("git commit -qam m", b"", ""),
    ("git status --short", b"", ""),
    ("git log --oneline", b"", ""),
    ("git diff HEAD", b"", ""),
    ("git -C d status", b"", ""),
    ("git rm -q b", b"", ""),
    ("git mv b c", b"", ""),
    ("git checkout -q -b topic", b"", ""),
    ("git stash -q", b"", ""),
    ("git tag v1", b"", ""),
    ("git rev-parse HEAD", b"", ""),
    ("xxd -p a", b"", ""),
    ("xxd -p a hex", b"", ""),
    ("hexdump -C a", b"", ""),
    ("shasum -a 256 a", b"", ""),
    ("curl -s file://{cwd}/a", b"", ""),
    ("curl -s -o got file://{cwd}/a", b"", ""),
    ("curl -s -O --output-dir e file://{cwd}/a", b"", ""),
    ("git clone -q . d/c", b"", ""),
    ("tar xzf t.tgz -C e", b"", ""),
    ("sort -T e -o out in", b"", ""),
    ("chown root a", b"", ""),
    ("chgrp -R root d", b"", ""),
    ("mkfifo ff", b"", ""),
    ("shred -u a", b"", ""),
    ("mv -t e a b", b"", ""),
    ("tac a", b"", ""),
    ("rev a", b"", ""),
    ("fold -w 2 a", b"", ""),
    ("fmt a", b"", ""),
    ("strings a", b"", ""),
    ("column -t a", b"", ""),
    ("base64 -d b64", b"", ""),
    ("gzip -c a", b"", ""),
    ("bzip2 -k a", b"", ""),
    ("xz -dk z.xz", b"", ""),
    ("xzcat z.xz", b"", ""),
    ("tar -rf t.tar a", b"", ""),
    ("tar -uf t.tar a", b"", ""),
    ("tar --delete -f t.tar d/x", b"", ""),
    ("tar -cf o.tar -T list", b"", ""),
    ("tar -cf o.tar -X pats d", b"", ""),
    ("sed -f prog.sed a", b"", ""),
    ("grep -R --exclude-from=pats x d", b"", ""),
    ("find d -fprint out", b"", ""),
    ("xargs -a list cat", b"", ""),
    ("jq -f prog.jq f.json", b"", ""),
    ("jq --slurpfile s f.json -n $s", b"", ""),
    ("stdbuf -oL cat a", b"", ""),
    ("setsid cat a", b"", ""),
    ("flock l cat a", b"", ""),
    ("env -u HOME cat a", b"", ""),
    # sed and awk programs the specs do not count as code: they open nothing else
    ("sed s/alpha/beta/g a", b"", ""),
    ("sed -e 1d -e /x/p a b", b"", ""),
    ("sed y/abc/xyz/ a", b"", ""),
    ("sed -n ':a;N;$!ba;p' a", b"", ""),
    ("sed 's|a|b|2' a", b"", ""),
    ("mawk NR==1 a", b"", ""),
    ("mawk -F: '{n++} END {print(n)}' a b", b"", ""),
    ("mawk '$1 > 3 {print}' in", b"", ""),
]


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _prepare(tmp: Path, repo: bool, env: dict[str, str]) -> None:
    if repo:  # a repository with one commit, and a change to stash or commit
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "i"]):
            subprocess.run(cmd, cwd=tmp, check=True, env=env, capture_output=True)
        (tmp / "a").write_text("changed\n")
        return
    for rel, text in FILES.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    (tmp / "e").mkdir()
    subprocess.run(["tar", "cf", "t.tar", "d"], cwd=tmp, check=True)
    subprocess.run(["tar", "czf", "t.tgz", "d"], cwd=tmp, check=True)
    subprocess.run(["zip", "-qr", "t.zip", "d"], cwd=tmp, check=True)
    (tmp / "z").write_text("zz\n")
    subprocess.run(["gzip", "z"], cwd=tmp, check=True)
    (tmp / "z").write_text("zz\n")
    subprocess.run(["xz", "z"], cwd=tmp, check=True)


def _covered(path: str, uses: list[tuple[str | None, bool]]) -> bool:
    """Whether a path is one of the uses (a file) or below one (a tree); None is any path."""
    for use, tree in uses:
        if use is None or path == use or (tree and path.startswith(use.rstrip("/") + "/")):
            return True
    return False


def _uses(
    u: cmdspec.Usage, cwd: Path
) -> tuple[list[tuple[str | None, bool]], list[tuple[str | None, bool]]]:
    """(read uses, write uses) as absolute paths, with those of every command it runs."""

    def absolute(p: cmdspec.PathUse) -> str | None:
        if p.arg.text is None or (p.base is not None and p.base.text is None):
            return None
        base = cwd / p.base.text if p.base is not None else cwd
        return os.path.normpath(base / p.arg.text)

    if u.code:  # code the compiler cannot follow makes the command a barrier: anything goes
        return [(None, True)], [(None, True)]
    reads = [(absolute(p), False) for p in u.reads] + [(absolute(p), True) for p in u.read_trees]
    writes = [(absolute(p), False) for p in u.writes] + [(absolute(p), True) for p in u.write_trees]
    for run in u.runs:
        r, w = _uses(usage(run), cwd)
        reads += r
        writes += w
    return reads, writes


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(STRACE), reason="strace is not installed")
@pytest.mark.parametrize(("command", "stdin", "ignore"), TRACED, ids=[c for c, _, _ in TRACED])
def test_spec_covers_what_the_process_touches(
    tmp_path: Path, command: str, stdin: bytes, ignore: str
) -> None:
    work = (tmp_path / "w").resolve()
    work.mkdir()
    words = argv(command.replace("{cwd}", str(work)))  # file:// URLs need the directory
    if shutil.which(words[0].text or "") is None:
        pytest.skip(f"{words[0].text} is not installed")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "LC_ALL": "C",
        **GIT_ENV,
    }
    _prepare(work, False, env)
    if words[0].text == "git" and words[1].text != "init":
        _prepare(work, True, env)
    u = usage(words)
    assert not u.opaque, u.notes
    t = trace([w.text or "" for w in words], work, stdin, env)
    assert t.returncode == 0, t.stderr
    reads, writes = _uses(u, work)
    inside = str(work)

    def judged(p: str) -> bool:
        return (p == inside or p.startswith(inside + "/")) and not (ignore and re.search(ignore, p))

    missed_writes = sorted(
        p
        for p in t.writes
        if judged(p)
        and not _covered(p, writes)
        # `mkdir -p`, `install -D`: a missing parent of a written tree is made on the way
        and not (p in t.created_dirs and any(w and w.startswith(p + "/") for w, _ in writes))
    )
    missed_reads = sorted(
        p
        for p in t.reads
        if judged(p) and not _covered(p, reads + writes) and p not in t.created_dirs
    )
    assert not missed_writes, f"writes not in the spec: {missed_writes}"
    assert not missed_reads, f"reads not in the spec: {missed_reads}"
    if u.stdin is False:
        assert not stdin, "the case feeds stdin to a command whose spec reads none"


# --------------------------------------------------------------------------- the real-world corpus


@pytest.mark.slow
def test_usage_on_a_sample_of_the_corpus() -> None:
    """Every command with a spec in every 7th corpus file: usage() answers (never raises), and
    most answers are not opaque."""
    repo = Path(__file__).resolve().parents[2]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from benchmarks import corpus as corpus_build
    from benchmarks.spec_coverage import args_of

    import bashflow
    from bashflow.parser import syntax as S

    entries = corpus_build.load().entries[::7]
    if not entries:
        pytest.skip("no corpus on this machine")
    names = cmdspec.names()
    seen = opaque = 0
    for entry in entries:
        for node in S.walk(bashflow.parse(entry.read_bytes(), str(entry.path))):
            if isinstance(node, S.SimpleCommand) and node.words:
                words = args_of(node)
                if words[0].text and words[0].text.rpartition("/")[2] in names:
                    u = usage(words)
                    seen += 1
                    opaque += u.opaque
    assert seen > 1000
    assert opaque < 0.1 * seen, f"{opaque} of {seen} opaque"
