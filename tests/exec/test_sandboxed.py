"""`bashflow exec` sandboxed (the default): the interpreter runs inside one sandbox of the
policy (execute/contained.py). Each test has a positive control: bash outside (or the same run
doing the allowed thing) succeeds where the sandboxed run must fail."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bashflow.policy.profiles import lite_profile
from bashflow.sandbox.probe import Layer, probe

pytestmark = pytest.mark.slow

EXEC = [sys.executable, "-m", "bashflow", "exec"]
BASH = "/usr/bin/bash"

PROBED = probe()
MISSING = {m.value for m in PROBED.missing()}
WEAKER = [a for m in sorted(MISSING) for a in ("--accept-weaker", m)]


def need(*layers: Layer) -> None:
    for layer in layers:
        if layer.value in MISSING:
            pytest.skip(f"the {layer.value} layer is missing here: {PROBED.status(layer).detail}")


def _run(
    argv: list[str], wd: Path, stdin: bytes | int, env: dict[str, str] | None, stderr: int
) -> subprocess.CompletedProcess[bytes]:
    data, fd = (stdin, None) if isinstance(stdin, bytes) else (None, stdin)
    return subprocess.run(argv, cwd=wd, input=data, stdin=fd, stdout=subprocess.PIPE,
                          stderr=stderr, env=env, timeout=120)  # fmt: skip


def bf(
    args: list[str],
    wd: Path,
    stdin: bytes | int = b"",
    env: dict[str, str] | None = None,
    stderr: int = subprocess.PIPE,
) -> subprocess.CompletedProcess[bytes]:
    """`bashflow exec ARGS` (sandboxed unless ARGS say otherwise) in `wd`."""
    return _run([*EXEC, *WEAKER, *args], wd, stdin, env, stderr)


def bash(
    args: list[str], wd: Path, stdin: bytes | int = b"", stderr: int = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    return _run([BASH, *args], wd, stdin, None, stderr)


def _tmpdir(prefix: str) -> Path:
    # as root the sandbox's uid must be able to reach the work dir: mkdtemp makes 0700
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


@pytest.fixture
def wd() -> Iterator[Path]:
    d = _tmpdir("bfsbx.")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside the work dir and outside every read path of the profiles."""
    d = _tmpdir("bfout.")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_policy(wd: Path, text: str) -> str:
    p = wd.parent / f"{wd.name}.policy.toml"
    p.write_text(text)
    return str(p)


# python3 on a script file (not inline code), everything readable the profiles read
PYTHON_POLICY = """
[commands]
allow = ["@coreutils", "@shell", "@text", "@python"]
[paths]
read = ["@system", "."]
write = [".", "@devnull"]
deny = ["@secrets"]
[network]
allow = false
[env]
pass = ["LANG"]
set = { PATH = "/usr/local/bin:/usr/bin:/bin" }
[limits]
wall_seconds = 60
"""


# ------------------------------------------------------------- same as bash

SCRIPTS = {
    "pipeline": "printf 'b\\na\\nc\\n' | sort | tr a-z A-Z | head -n 2\necho \"${PIPESTATUS[@]}\"\n",
    "functions": 'f() { local x=$1; echo "f:$x"; return $(( $1 % 3 )); }\n'
    'for i in 1 2 3; do f $i; echo "st=$?"; done\n',
    "heredoc": "name=world\ncat <<EOF\nhello $name\n$(echo sub)\nEOF\ncat <<'Q'\n$name raw\nQ\n",
    "subshell": "x=1; (x=2; echo in $x; exit 3); echo out $x $?\n"
    'y=$( (echo a; echo b >&2) 2>&1 ); echo "[$y]"\n',
    "set_e": "set -e\necho one\nfalse || echo handled\nif false; then :; fi\ngrep -q zzz /dev/null\n"
    "echo never\n",
    "stdin": 'read -r first\necho "first=$first"\nwc -l\nexit 7\n',
    "interleaved": "for i in 1 2 3; do echo out$i; echo err$i >&2; done; ls ./nonexistent-x\n",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_output_and_status_equal_bash(name: str, wd: Path) -> None:
    (wd / "s.sh").write_text(SCRIPTS[name])
    feed = b"line one\nline two\nline three\n"
    ours, ref = bf(["s.sh"], wd, stdin=feed), bash(["s.sh"], wd, stdin=feed)
    assert ref.stdout  # positive control: the script does something under bash
    assert (ours.stdout, ours.returncode) == (ref.stdout, ref.returncode), ours.stderr
    assert ours.stderr == ref.stderr


def test_stdout_and_stderr_to_one_pipe_keep_bash_order(wd: Path) -> None:
    (wd / "s.sh").write_text(SCRIPTS["interleaved"])
    ours = bf(["s.sh"], wd, stderr=subprocess.STDOUT)
    ref = bash(["s.sh"], wd, stderr=subprocess.STDOUT)
    assert ref.stdout.count(b"\n") == 7
    assert ours.stdout == ref.stdout


def test_workdir_keeps_what_the_script_writes(wd: Path, outside: Path) -> None:
    r = bf(["--workdir", str(wd), "-c", "echo data > out.txt; mkdir -p d; echo x > d/y; pwd"],
           outside)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == str(wd.resolve())
    assert (wd / "out.txt").read_text() == "data\n"
    assert (wd / "d" / "y").read_text() == "x\n"


def test_script_file_outside_the_workdir_runs(wd: Path, outside: Path) -> None:
    script = outside / "s.sh"
    script.write_text('echo "$0 $#"; echo made > here.txt\n')
    r = bf([str(script), "a", "b"], wd)
    assert (r.returncode, r.stdout) == (0, f"{script} 2\n".encode()), r.stderr
    assert (wd / "here.txt").exists()


def test_script_on_stdin(wd: Path) -> None:
    r = bf([], wd, stdin=b'echo from stdin; read x; echo "x=[$x]"\n')
    ref = bash([], wd, stdin=b'echo from stdin; read x; echo "x=[$x]"\n')
    assert r.stdout == b"from stdin\nx=[]\n" == ref.stdout, r.stderr


# ------------------------------------------------------------- containment


def test_reading_outside_the_policy_fails_inside(wd: Path, outside: Path) -> None:
    need(Layer.LANDLOCK, Layer.MOUNT)
    home = outside / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_rsa"
    key.write_text("PRIVATE\n")
    other = outside / "plain.txt"
    other.write_text("plain\n")
    (wd / "mine.txt").write_text("mine\n")
    # `read < FILE` is the interpreter's own open (no command for the hook to judge): only the
    # sandbox stops it; `cat` is stopped by the run-time check first
    script = (
        f'read -r a < mine.txt && echo "mine:$a"\n'
        f'read -r b < {key} && echo "key:$b"\n'
        f'read -r c < {other} && echo "plain:$c"\n'
        f"read -r d < /etc/shadow && echo shadow-read\n"
        f"cat {key}; echo cat=$?\n"
    )
    (wd / "s.sh").write_text(script)
    env = {**os.environ, "HOME": str(home)}
    ref = bash(["s.sh"], wd)
    assert b"key:PRIVATE" in ref.stdout and b"plain:plain" in ref.stdout  # bash reads them
    if os.access("/etc/shadow", os.R_OK):
        assert b"shadow-read" in ref.stdout
    r = bf(["--no-precheck", "s.sh"], wd, env=env)
    assert b"mine:mine" in r.stdout, r.stderr  # positive control inside
    assert b"PRIVATE" not in r.stdout and b"key:" not in r.stdout
    assert b"plain:" not in r.stdout and b"shadow-read" not in r.stdout
    assert b"cat=126" in r.stdout
    assert b"bashflow: denied: " in r.stderr and b"(s.sh:5)" in r.stderr


def test_run_time_check_reads_tilde_as_the_callers_home(wd: Path, outside: Path) -> None:
    # inside, HOME is not passed (and the sandbox's uid has no home): the run-time check must
    # still read the policy's `~` as the home the sandbox was prepared with outside
    home = outside / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "a.txt").write_text("note\n")
    (home / "other.txt").write_text("other\n")
    policy = write_policy(
        wd,
        '[commands]\nallow = ["@coreutils", "@shell"]\n'
        '[paths]\nread = ["@system", ".", "~/notes"]\nwrite = [".", "@devnull"]\n',
    )
    script = f'cat {home}/notes/a.txt; echo "a=$?"; cat {home}/other.txt; echo "b=$?"\n'
    env = {**os.environ, "HOME": str(home)}
    r = bf(["--no-precheck", "--policy", policy, "-c", script], wd, env=env)
    assert r.stdout == b"note\na=0\nb=126\n", r.stderr
    assert b"bashflow: denied: " in r.stderr


def test_children_inherit_landlock_and_mounts(wd: Path, outside: Path) -> None:
    need(Layer.LANDLOCK, Layer.MOUNT)
    policy = write_policy(wd, PYTHON_POLICY)
    (outside / "secret.txt").write_text("s3cret\n")
    (wd / "ok.py").write_text('open("ok.txt", "w").write("yes")\n')
    (wd / "etc.py").write_text(
        'try:\n    open("/etc/bashflow-x", "w")\nexcept OSError as e:\n    print("etc:", e.errno)\n'
    )
    (wd / "rd.py").write_text(
        f'try:\n    print(open("{outside}/secret.txt").read())\n'
        'except OSError as e:\n    print("read:", e.errno)\n'
    )
    (wd / "st.py").write_text(
        "for line in open('/proc/self/status'):\n"
        "    if line.startswith(('NoNewPrivs', 'Seccomp:')):\n"
        "        print(line.split()[0], line.split()[1])\n"
    )
    r = bf(["--policy", policy, "-c", "python3 ok.py; python3 etc.py; python3 rd.py; python3 st.py"],
           wd)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (wd / "ok.txt").read_text() == "yes"  # positive control: its own work dir
    assert not os.path.exists("/etc/bashflow-x")
    out = r.stdout.decode()
    assert "etc: " in out and "s3cret" not in out and "read: 13" in out, out
    assert "NoNewPrivs: 1" in out and "Seccomp: 2" in out


@pytest.fixture
def listener() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    yield srv.getsockname()[1]
    srv.close()


def test_network_is_off(wd: Path, listener: int) -> None:
    need(Layer.NETWORK, Layer.SECCOMP)
    policy = write_policy(wd, PYTHON_POLICY)
    (wd / "n.py").write_text(
        "import socket\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {listener}), timeout=5); print('connected')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
    )
    ref = bash(["-c", "python3 n.py"], wd)
    assert ref.stdout == b"connected\n"  # bash can
    r = bf(["--policy", policy, "-c", "python3 n.py"], wd)
    assert r.stdout.startswith(b"refused"), r.stderr


def test_dev_tcp_is_refused(wd: Path, listener: int) -> None:
    need(Layer.NETWORK, Layer.SECCOMP)
    tcp = f"exec 3<>/dev/tcp/127.0.0.1/{listener} && echo tcp-open\n"
    assert bash(["-c", tcp], wd).stdout == b"tcp-open\n"  # bash can
    trusted = bf(["--no-sandbox", "-q", "-c", tcp], wd)
    if b"tcp-open" not in trusted.stdout:
        pytest.skip("the interpreter has no /dev/tcp yet: a refusal inside would prove nothing")
    r = bf(["--no-precheck", "-c", tcp], wd)
    assert b"tcp-open" not in r.stdout and r.returncode != 0


def test_denied_argv_at_run_time_and_the_script_goes_on(wd: Path) -> None:
    # a name only known at run time: the precheck cannot see it, the run-time check does
    (wd / "name.txt").write_text("curl\n")
    (wd / "s.sh").write_text('read -r c < name.txt\n$c http://example.com/\necho "after $?"\n')
    r = bf(["s.sh"], wd)
    assert r.returncode == 0 and r.stdout == b"after 126\n", r.stderr
    assert r.stderr.startswith(b"bashflow: denied: ") and r.stderr.endswith(b"(s.sh:2)\n")


def test_precheck_denial_runs_nothing(wd: Path) -> None:
    (wd / "s.sh").write_text("touch marker\ncat /etc/shadow\n")
    r = bf(["s.sh"], wd)
    assert r.returncode == 126
    assert b"s.sh:2:1: deny[" in r.stderr
    assert not (wd / "marker").exists()
    control = bf(["--no-precheck", "s.sh"], wd)  # the same script without the precheck
    assert control.returncode == 126 and (wd / "marker").exists()


def test_wall_timeout_is_124(wd: Path) -> None:
    policy = write_policy(wd, PYTHON_POLICY.replace("wall_seconds = 60", "wall_seconds = 1"))
    r = bf(["--policy", policy, "-c", "echo started; sleep 30; echo never"], wd)
    assert r.returncode == 124 and r.stdout == b"started\n"
    assert r.stderr.endswith(b"bashflow: limit exceeded: wall_seconds (1)\n")


def test_memory_bomb_is_killed_and_named(wd: Path) -> None:
    need(Layer.CGROUP)
    policy = write_policy(wd, PYTHON_POLICY + "memory_mib = 256\n")
    (wd / "m.py").write_text("b = bytearray(16 << 20)\nprint('small ok', flush=True)\nc = bytearray(1 << 30)\n"
                             "c[::4096] = b'x' * len(c[::4096])\nprint('never')\n")  # fmt: skip
    r = bf(["--policy", policy, "-c", "python3 m.py; echo after $?"], wd)
    assert b"small ok" in r.stdout  # positive control: under the limit works
    assert b"never" not in r.stdout
    assert r.returncode == 128 + 9 or b"after 137" in r.stdout, (r.returncode, r.stderr)
    assert b"bashflow: limit exceeded: memory_mib (256)\n" in r.stderr


def test_a_terminal_stdin_is_not_handed_in(wd: Path) -> None:
    script = "[ -t 0 ] && echo tty || echo notty\nread -r x; echo read=$?\n"
    master, slave = pty.openpty()
    try:
        ref = bash(["-c", "[ -t 0 ] && echo tty || echo notty"], wd, stdin=slave)
        assert ref.stdout == b"tty\n"  # positive control: bash would get the terminal
        r = bf(["-c", script], wd, stdin=slave)
        assert r.stdout == b"notty\nread=1\n", r.stderr
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_output_is_escaped_unless_raw(wd: Path) -> None:
    text = "printf 'a\\033]0;title\\007b\\033[31mred\\033[0m\\n'"
    for raw, want in ((False, b"a\\x1b]0;title\\x07b\x1b[31mred\x1b[0m"),
                      (True, b"a\x1b]0;title\x07b\x1b[31mred\x1b[0m")):  # fmt: skip
        master, slave = pty.openpty()
        try:
            args = [*EXEC, *WEAKER, *(["--raw-tty"] if raw else []), "-c", text]
            proc = subprocess.Popen(args, cwd=wd, stdin=subprocess.DEVNULL, stdout=slave,
                                    stderr=slave)  # fmt: skip
            os.close(slave)
            data = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            assert proc.wait(60) == 0
        finally:
            os.close(master)
        assert want in data.replace(b"\r\n", b"\n"), data


def _pids_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _wait_for(cond: object, timeout: float = 20) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killing_bashflow_leaves_nothing_behind(sig: int, wd: Path) -> None:
    marker = f"{os.getpid()}.{sig}{time.monotonic_ns() % 1000}"
    proc = subprocess.Popen([*EXEC, *WEAKER, "-c", f"sleep {marker} & sleep {marker}1; wait"],
                            cwd=wd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert _wait_for(lambda: len(_pids_with(f"sleep\0{marker}")) >= 2)  # both running
        proc.send_signal(sig)
        status = proc.wait(30)
        assert _wait_for(lambda: not _pids_with(f"sleep\0{marker}")), _pids_with(marker)
        assert status == (-9 if sig == signal.SIGKILL else 128 + sig)
    finally:
        proc.kill()
        proc.wait()


def test_exit_status_of_a_signal(wd: Path) -> None:
    r = bf(["-c", "sh -c 'kill -TERM $$'; echo $?; kill -KILL $$"], wd)
    ref = bash(["-c", "sh -c 'kill -TERM $$'; echo $?; kill -KILL $$"], wd)
    assert (ref.stdout, ref.returncode) == (b"143\n", -9)
    assert (r.stdout, r.returncode) == (b"143\n", 137)


def test_a_closed_stdout_reader_gives_sigpipe_inside(wd: Path) -> None:
    script = 'yes; echo "yes=$?" >&2'
    results = []
    for argv in ([BASH, "-c", script], [*EXEC, *WEAKER, "-c", script]):
        head = subprocess.Popen(["head", "-n", "2"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)  # fmt: skip
        assert head.stdin is not None
        proc = subprocess.run(argv, cwd=wd, stdout=head.stdin, stderr=subprocess.PIPE,
                              timeout=60)  # fmt: skip
        head.stdin.close()
        assert head.stdout is not None
        out = head.stdout.read()
        head.wait(60)
        results.append((out, proc.stderr, proc.returncode))
    assert results[0] == (b"y\ny\n", b"yes=141\n", 0)  # bash: yes dies of SIGPIPE
    assert results[1] == results[0]


def test_conformance_category_sandboxed() -> None:
    """One category of the conformance suite through the sandboxed exec (a policy under which
    the cases can run: benchmarks/exec_sandboxed.py): no failure beyond the known ones."""
    from benchmarks import conformance as conf
    from benchmarks.exec_sandboxed import run_conformance

    results = run_conformance("pipeline/")
    assert len(results) >= 20
    known = set(conf.read_known_failures())
    failed = {r.case.id: r.problems for r in results if not r.passed and r.case.id not in known}
    assert failed == {}


def test_an_unreachable_work_dir_is_named(outside: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only as root does the sandbox run as another uid")
    closed = outside / "closed"
    (closed / "work").mkdir(parents=True)
    closed.chmod(0o700)
    r = bf(["-c", "echo ran"], closed / "work")
    assert r.returncode == 125 and r.stdout == b""
    assert f"{closed} is mode 0700".encode() in r.stderr
    closed.chmod(0o711)  # positive control: searchable, it runs
    assert bf(["-c", "echo ran"], closed / "work").stdout == b"ran\n"


# ------------------------------------------------------------- start-up without pydantic

PYDANTIC_AFTER = """
import sys
from bashflow.cli import main
rc = main(sys.argv[1:])
sys.stdout.flush()
print("rc", rc, "pydantic", "pydantic" in sys.modules)
"""


def _pydantic_after(args: list[str], wd: Path) -> tuple[bytes, bytes]:
    proc = subprocess.run([sys.executable, "-c", PYDANTIC_AFTER, "exec", *WEAKER, *args],
                          cwd=wd, capture_output=True, timeout=120)  # fmt: skip
    return proc.stdout, proc.stderr


def test_a_profile_or_plain_policy_runs_without_pydantic(wd: Path) -> None:
    # start-up cost: the default profile, a named one and a plainly valid policy file are read
    # without pydantic (policy/lite.py), sandboxed and not
    plain = write_policy(wd, PYTHON_POLICY)
    for args in (
        ["-c", "echo ran"],
        ["--profile", "strict", "-c", "echo ran"],
        ["--policy", plain, "-c", "echo ran"],
        ["--no-sandbox", "-q", "--profile", "strict", "-c", "echo ran"],
    ):
        out, err = _pydantic_after(args, wd)
        assert out == b"ran\nrc 0 pydantic False\n", (args, err)
    # positive control: a file only the model can validate (a null limit) loads pydantic
    full = wd.parent / f"{wd.name}.policy.json"
    full.write_text(json.dumps({**lite_profile("workspace").to_data(),
                                "limits": {"memory_mib": None, "wall_seconds": 60}}))  # fmt: skip
    out, err = _pydantic_after(["--policy", str(full), "-c", "echo ran"], wd)
    assert out == b"ran\nrc 0 pydantic True\n", err


@pytest.mark.parametrize("name", ["strict", "workspace", "permissive"])
def test_the_lite_profile_prepares_the_same_sandbox(name: str, wd: Path) -> None:
    # `exec` hands prepare a LitePolicy: the plan must be the one the model gives
    from bashflow.policy.profiles import get_profile
    from bashflow.sandbox.plan import prepare

    weaker = PROBED.missing()
    duck: Any = lite_profile(name)  # prepare is annotated with the model's Policy
    lite = prepare(duck, wd, accept_weaker=weaker, probed=PROBED, interpreter=True)
    model = prepare(get_profile(name), wd, accept_weaker=weaker, probed=PROBED, interpreter=True)
    assert lite == model
    assert lite.limits == model.limits and lite.env_set == model.env_set


def test_bad_options(wd: Path) -> None:
    r = bf(["--accept-weaker", "nosuchlayer", "-c", "true"], wd)
    assert r.returncode == 2 and b"nosuchlayer" in r.stderr
    r = bf(["--profile", "nosuch", "-c", "true"], wd)
    assert r.returncode == 2 and b"nosuch" in r.stderr
    missing = bf(["--workdir", str(wd / "nope"), "-c", "true"], wd)
    assert missing.returncode == 2
