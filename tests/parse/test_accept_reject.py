"""Differential: every snippet in fixtures/parse/accept_reject.txt is accepted by bashflow
exactly when `bash -n` (with extglob, as bash-completion runs) accepts it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import bashflow

SNIPPETS = [
    s
    for s in (Path(__file__).resolve().parents[2] / "fixtures/parse/accept_reject.txt")
    .read_text()
    .split("\n----\n")
    if s.strip()
]


def bash_accepts(bash: str, snippet: str) -> bool:
    r = subprocess.run(
        [bash, "-n", "-O", "extglob", "-c", snippet], capture_output=True, text=True, check=False
    )
    return r.returncode == 0 and not r.stderr


@pytest.mark.slow
def test_accepts_exactly_what_bash_accepts(bash_path: str) -> None:
    assert len(SNIPPETS) > 100
    mismatches = []
    for snippet in SNIPPETS:
        try:
            bashflow.parse(snippet)
            ours = True
        except bashflow.ParseError:
            ours = False
        if ours != bash_accepts(bash_path, snippet):
            mismatches.append(f"bash={not ours} bashflow={ours}: {snippet!r}")
    assert not mismatches, "\n".join(mismatches)
