"""sandbox/relay.py: a destination that is gone (its reader exited) either raises, or with
`close_gone` gives the tree SIGPIPE as writing to that pipe itself would, and the other pipes
go on. Real sandboxed processes and real pipes; bash is the reference for the status."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.sandbox.conftest import policy

from bashflow.sandbox.plan import prepare
from bashflow.sandbox.relay import relay
from bashflow.sandbox.spawner import Spawner

pytestmark = pytest.mark.slow

SCRIPT = 'yes; echo "yes=$?" >&2'


def _closed_reader() -> int:
    """The write end of a pipe whose reader is gone."""
    r, w = os.pipe()
    os.close(r)
    return w


def test_bash_reference() -> None:
    # the status `close_gone` must reproduce: yes killed by SIGPIPE, the shell goes on
    gone = _closed_reader()
    try:
        proc = subprocess.run(["/usr/bin/bash", "-c", SCRIPT], stdout=gone,
                              stderr=subprocess.PIPE, timeout=60, check=False)  # fmt: skip
    finally:
        os.close(gone)
    assert (proc.stderr, proc.returncode) == (b"yes=141\n", 0)


def test_close_gone_gives_the_tree_sigpipe(spawner: Spawner, workdir: Path) -> None:
    plan = prepare(policy(), workdir)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = spawner.spawn(plan, ["sh", "-c", SCRIPT], stdout=out_w, stderr=err_w)
    finally:
        os.close(out_w)
        os.close(err_w)
    gone = _closed_reader()
    back_r, back_w = os.pipe()
    try:
        outcome, total = relay(proc, {out_r: gone, err_r: back_w}, limit_mib=None,
                               close_gone=True)  # fmt: skip
    finally:
        os.close(gone)
        os.close(back_w)
    with os.fdopen(back_r, "rb") as back:
        assert back.read() == b"yes=141\n"  # the other pipe went on to EOF
    assert outcome.exit_code == 0
    assert total >= len(b"y\n")


def test_without_close_gone_the_broken_pipe_is_raised(spawner: Spawner, workdir: Path) -> None:
    plan = prepare(policy(), workdir)
    out_r, out_w = os.pipe()
    try:
        proc = spawner.spawn(plan, ["yes"], stdout=out_w)
    finally:
        os.close(out_w)
    gone = _closed_reader()
    try:
        with pytest.raises(BrokenPipeError):
            relay(proc, {out_r: gone}, limit_mib=None)
        with pytest.raises(OSError):
            os.fstat(out_r)  # relay closed its read end on the way out
    finally:
        os.close(gone)
        proc.kill()
        proc.wait()
