"""`/dev/tcp/HOST/PORT` and `/dev/udp/HOST/PORT` redirections (execute/redirect.net_open):
against real local listeners, bash and `bashflow exec --no-sandbox` give the same bytes to the
listener, the same output and the same errors; sandboxed, the network is off (the kernel's
refusal worded as bash words it) and the policy denies the redirection first."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bashflow.sandbox.probe import Layer, probe

EXEC = [sys.executable, "-m", "bashflow", "exec", "--no-sandbox", "-q"]
BASH = "/usr/bin/bash"


@pytest.fixture
def wd() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="bfdevtcp."))
    d.chmod(0o755)  # the sandbox's unprivileged uid must reach it
    yield d
    shutil.rmtree(d, ignore_errors=True)


class EchoServer:
    """A TCP listener on 127.0.0.1 answering each connection's first line with
    `echo:LINE`; records what every connection sent."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.received.append(data)
                conn.sendall(b"echo:" + data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[EchoServer]:
    srv = EchoServer()
    yield srv
    srv.close()


def run(argv: list[str], wd: Path, script: str) -> subprocess.CompletedProcess[bytes]:
    (wd / "s.sh").write_text(script)
    return subprocess.run([*argv, "s.sh"], cwd=wd, capture_output=True, timeout=60)


def both(wd: Path, script: str) -> tuple[subprocess.CompletedProcess[bytes], ...]:
    return run([BASH], wd, script), run(EXEC, wd, script)


def test_tcp_conversation_matches_bash(wd: Path, server: EchoServer) -> None:
    script = (
        f"exec 3<>/dev/tcp/127.0.0.1/{server.port}\n"
        'echo "hello $1" >&3\n'
        "read -r reply <&3\n"
        'echo "got: $reply"\n'
        "exec 3>&-\n"
        f"exec {{fd}}<>/dev/tcp/localhost/{server.port} && echo second >&$fd && cat <&$fd\n"
    )
    ref, got = both(wd, script)
    assert ref.stdout == b"got: echo:hello\necho:second\n", ref.stderr  # bash can
    assert (got.stdout, got.stderr, got.returncode) == (ref.stdout, ref.stderr, ref.returncode)
    assert server.received == [b"hello \n", b"second\n"] * 2  # bash's two, then ours


def test_udp_datagram_matches_bash(wd: Path) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    port = rx.getsockname()[1]
    try:
        ref, got = both(wd, f'printf "dgram-%s" one > /dev/udp/127.0.0.1/{port}; echo "s=$?"\n')
        assert (got.stdout, got.stderr, got.returncode) == (ref.stdout, ref.stderr, 0)
        assert [rx.recv(100), rx.recv(100)] == [b"dgram-one", b"dgram-one"]
    finally:
        rx.close()


def test_errors_match_bash(wd: Path) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    script = (
        f'echo x > /dev/tcp/127.0.0.1/{port}; echo "refused=$?"\n'
        f'exec 4<>/dev/tcp/localhost/{port}; echo "exec=$?"\n'
        'echo x > /dev/tcp/nosuch.invalid/80; echo "host=$?"\n'
        'echo x > /dev/tcp/127.0.0.1/no-such-service; echo "service=$?"\n'
        'echo x > /dev/tcp/127.0.0.1; echo "short=$?"\n'
        f'set -o posix; echo x 2>/dev/null > /dev/tcp/127.0.0.1/{port}; echo "posix=$?"\n'
    )
    ref, got = both(wd, script)
    assert b"Connection refused" in ref.stderr and b"refused=1" in ref.stdout  # the control
    assert (got.stdout, got.stderr, got.returncode) == (ref.stdout, ref.stderr, ref.returncode)


def test_policy_denies_the_redirection_without_a_sandbox(wd: Path, server: EchoServer) -> None:
    r = run(
        [*EXEC, "--profile", "workspace", "--no-precheck"],
        wd,
        f'echo hi > /dev/tcp/127.0.0.1/{server.port}; echo "s=$?"\n',
    )
    assert r.stdout == b"s=1\n"
    assert b"bashflow: denied: /dev/tcp/127.0.0.1/" in r.stderr and b"network" in r.stderr
    assert server.received == []
    # the control: the same run without a policy connects
    assert run(EXEC, wd, f"echo hi > /dev/tcp/127.0.0.1/{server.port}\n").returncode == 0
    assert server.received == [b"hi\n"]


PROBED = probe()


@pytest.mark.slow
def test_sandbox_network_is_off_with_bashs_messages(wd: Path, server: EchoServer) -> None:
    """The interpreter inside the sandbox with no run-time hook at all (the kernel alone):
    the connections fail, with the messages real bash prints inside the same sandbox."""
    for layer in (Layer.NETWORK, Layer.SECCOMP, Layer.LANDLOCK):
        if not PROBED.status(layer).available:
            pytest.skip(f"the {layer.value} layer is missing here")
    from typing import cast

    from tests.sandbox.conftest import collect

    from bashflow.cli.exec_cmd import parse_exec_args
    from bashflow.execute.main import run_exec
    from bashflow.policy import Policy
    from bashflow.policy.profiles import lite_profile
    from bashflow.sandbox.plan import prepare
    from bashflow.sandbox.spawner import Spawner

    script = (
        f'echo hi > /dev/tcp/127.0.0.1/{server.port}; echo "tcp=$?"\n'
        f'echo hi > /dev/udp/127.0.0.1/{server.port}; echo "udp=$?"\n'
        f'exec 3<>/dev/tcp/localhost/{server.port}; echo "exec=$?"\n'
    )
    (wd / "s.sh").write_text(script)
    ref = subprocess.run(
        [sys.executable, "-m", "bashflow", "sandbox", "run", "--policy", "workspace", "--",
         BASH, "s.sh"],
        cwd=wd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ref.stdout == "tcp=1\nudp=1\nexec=1\n", ref.stderr  # bash inside fails too
    plan = prepare(cast("Policy", lite_profile("workspace")), wd, interpreter=True)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    with Spawner() as spawner:
        try:
            proc = spawner.run_contained(
                plan,
                run_exec,
                (parse_exec_args(["s.sh"]),),
                stdout=out_w,
                stderr=err_w,
                cwd=str(wd),
            )
        finally:
            os.close(out_w)
            os.close(err_w)
        ran = collect(proc, plan, out_r, err_r)
    assert (ran.out, ran.err) == (ref.stdout, ref.stderr)
    assert "s.sh: line 1: /dev/tcp/127.0.0.1/" in ran.err  # bash's wording, with the line
    assert server.received == []
    # the control: bash outside reaches the listener
    assert run([BASH], wd, script).stdout == b"tcp=0\nudp=0\nexec=0\n"
    assert server.received == [b"hi\n", b""]  # the tcp line, then exec's silent connection
