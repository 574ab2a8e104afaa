"""Pure parts: the rlimit builder, plan preparation and refusal, env rules, the seccomp build."""

from __future__ import annotations

import dataclasses
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from tests.sandbox.conftest import policy

from bashflow.errors import PolicyError
from bashflow.policy.model import LimitsSection
from bashflow.sandbox.plan import DANGEROUS_ENV, DEFAULT_PATH, SandboxError, prepare
from bashflow.sandbox.probe import Layer, LayerStatus, Probe, probe
from bashflow.sandbox.rlimits import MIB, build_rlimits


def test_rlimits_builder_is_pure_and_complete() -> None:
    lim = LimitsSection(cpu_seconds=5, file_size_mib=8, open_files=64, processes=10,
                        memory_mib=100, disk_mib=4)  # fmt: skip
    full = {r.resource: r for r in build_rlimits(lim, cgroup_pids=True, cgroup_memory=True)}
    assert full[resource.RLIMIT_CPU][1:3] == (5, 6)
    assert full[resource.RLIMIT_FSIZE][1:] == (4 * MIB, 4 * MIB, "disk_mib")
    assert full[resource.RLIMIT_NOFILE][1:3] == (64, 64)
    assert full[resource.RLIMIT_CORE][1:3] == (0, 0)
    assert resource.RLIMIT_NPROC not in full and resource.RLIMIT_AS not in full
    weak = {r.resource: r for r in build_rlimits(lim, cgroup_pids=False, cgroup_memory=False)}
    assert weak[resource.RLIMIT_NPROC][1:] == (10, 10, "processes")
    assert weak[resource.RLIMIT_AS][1:] == (100 * MIB, 100 * MIB, "memory_mib")
    none = build_rlimits(LimitsSection(cpu_seconds=None, file_size_mib=None, open_files=None,
                                       disk_mib=None), cgroup_pids=True, cgroup_memory=True)  # fmt: skip
    assert [r.field for r in none] == ["core"]


def _fake(missing: set[Layer]) -> Probe:
    real = probe()
    layers = tuple(LayerStatus(s.layer, s.layer not in missing, "faked") for s in real.layers)
    return dataclasses.replace(real, layers=layers)


def test_missing_layer_refuses_with_125_unless_accepted(tmp_path: Path) -> None:
    fake = _fake({Layer.LANDLOCK})
    with pytest.raises(SandboxError, match="landlock") as info:
        prepare(policy(), tmp_path, probed=fake)
    assert info.value.exit_code == 125
    plan = prepare(policy(), tmp_path, probed=fake, accept_weaker=["landlock"])
    assert Layer.LANDLOCK not in plan.layers and Layer.LANDLOCK in plan.accepted_missing


def test_prepare_resolves_in_the_parent(tmp_path: Path) -> None:
    plan = prepare(policy(paths={"read": ["@system", ".", "nope"], "deny": ["~/.ssh"]}), tmp_path,
                   probed=_fake(set()))  # fmt: skip
    assert plan.workdir == str(tmp_path.resolve())
    assert str(tmp_path / "nope") in plan.skipped
    assert any(e.endswith("/sh") or e.endswith("/dash") for e in plan.executables)
    assert any("ld-linux" in e for e in plan.executables), "the ELF loader of allowed programs"
    assert "/usr/bin/perl" not in plan.executables
    assert len(plan.seccomp_bpf) % 8 == 0 and plan.seccomp_bpf
    with pytest.raises(SandboxError, match="not a directory"):
        prepare(policy(), tmp_path / "missing", probed=_fake(set()))
    with pytest.raises(PolicyError, match="unknown command group"):
        prepare(policy(commands={"allow": ["@nope"]}), tmp_path, probed=_fake(set()))


def test_env_rules() -> None:
    plan = prepare(policy(env={"pass": ["*"], "set": {"A": "1", "LD_PRELOAD": "x.so"}}), ".",
                   probed=_fake(set()))  # fmt: skip
    env = plan.env_for({"HOME": "/h", "LD_PRELOAD": "/evil", "BASH_ENV": "/e", "PYTHONPATH": "/p",
                        "GIT_CONFIG_GLOBAL": "/g", "TERM": "xterm"})  # fmt: skip
    assert env == {"HOME": "/h", "TERM": "xterm", "A": "1", "LD_PRELOAD": "x.so",
                   "PATH": DEFAULT_PATH}  # fmt: skip
    assert "LD_*" in DANGEROUS_ENV and "BASH_ENV" in DANGEROUS_ENV


@pytest.mark.slow
def test_sandbox_package_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, bashflow.sandbox, bashflow.cli.sandbox_cmd, bashflow.cli.doctor_cmd; "
            "print([m for m in ('pyseccomp', 'psutil', 'bashflow.sandbox.server') "
            "if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_terminal_escaper_any_chunking() -> None:
    from bashflow.sandbox.relay import TerminalEscaper

    data = b"\x1b]0;t\x07\x1b[1;31mred\x1b[0m\n\x1b[2J\tok\r\n\xc2\x9b1m\xc3\xa9\x08\x1b"
    want = (b"\\x1b]0;t\\x07\x1b[1;31mred\x1b[0m\n\\x1b[2J\tok\r\n\\u009b1m\xc3\xa9\\x08"
            b"\\x1b")  # fmt: skip
    for size in (1, 2, 3, 5, 7, len(data)):
        esc = TerminalEscaper()
        parts = [esc.feed(data[i : i + size]) for i in range(0, len(data), size)]
        assert b"".join(parts) + esc.flush() == want, size


def test_runtime_paths_are_where_modules_came_from(tmp_path: Path) -> None:
    import importlib
    import os
    import sys

    from bashflow.sandbox.plan import runtime_paths

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bf_runtime_probe.py").write_text("X = 1\n")
    sys.path[:0] = [str(tmp_path), str(tmp_path / "src")]
    try:
        assert str(tmp_path) not in runtime_paths(), "nothing imported from there yet"
        importlib.import_module("bf_runtime_probe")
        found = runtime_paths()
        assert str(tmp_path / "src") in found and str(tmp_path) not in found
        assert os.path.dirname(os.__file__) in found or any(
            os.path.realpath(os.path.dirname(os.__file__)).startswith(p) for p in found
        )
    finally:
        del sys.path[:2]
        sys.modules.pop("bf_runtime_probe", None)


def test_without_pyseccomp_the_seccomp_layer_is_missing_not_a_traceback(tmp_path: Path) -> None:
    # a filter that cannot be built is a missing layer: doctor names it, exec refuses with 125
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'pyseccomp':\n"
        "            raise ImportError('blocked for the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from bashflow.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    run = [sys.executable, "-c", blocker]
    doctor = subprocess.run([*run, "doctor"], capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 1
    assert "pyseccomp/libseccomp cannot be loaded" in doctor.stdout + doctor.stderr
    tmp_path.chmod(0o755)
    ran = subprocess.run(
        [*run, "exec", "--workdir", str(tmp_path), "-c", "echo ran"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 125, ran.stderr
    assert ran.stdout == "" and "Traceback" not in ran.stderr and "seccomp" in ran.stderr
