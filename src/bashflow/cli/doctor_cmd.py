"""cli/doctor_cmd.py - `bashflow doctor`: what the sandbox can enforce on this machine.

Prints one row per layer (in the order they are applied), whether it is available and what it
enforces, the policy paths skipped here, and exits 1 when untrusted execution is impossible
(any layer missing: `exec` and `sandbox run` would refuse with exit 125).
"""

from __future__ import annotations

import argparse
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", "-p", default="workspace",
                        help="policy file or profile whose skipped paths to show")  # fmt: skip
    parser.add_argument("--workdir", "-w", default=".", help="work directory for the policy")


def run(args: argparse.Namespace) -> int:
    from bashflow.errors import PolicyError
    from bashflow.policy.paths import resolve_paths
    from bashflow.render import render_error
    from bashflow.sandbox.probe import ENFORCES, probe

    info = probe()
    who = "root" if info.root else f"uid {os.getuid()}"
    print(f"bashflow doctor: running as {who}; Landlock ABI {info.landlock_abi}; "
          f"cgroup v{info.cgroup_version} {'writable' if info.cgroup_writable else 'read-only'}")  # fmt: skip
    rows = [("layer", "status", "detail", "enforces")]
    for s in info.layers:
        rows.append((s.layer.value, "ok" if s.available else "MISSING", s.detail,
                     ENFORCES[s.layer]))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")
    try:
        from bashflow.policy.profiles import load_policy

        policy = load_policy(args.policy)
        home = os.environ.get("HOME") or os.path.expanduser("~")
        paths = resolve_paths(policy, cwd=os.path.realpath(args.workdir), home=home)
        for p in paths.skipped:
            print(f"skipped (not on this machine): {p}")
    except PolicyError as e:
        print(render_error(e), file=sys.stderr)
        return 2
    missing = info.missing()
    if missing:
        names = ", ".join(m.value for m in missing)
        print(f"untrusted execution: NOT POSSIBLE here (missing: {names}); exec refuses with "
              "exit 125 unless a weaker sandbox is accepted by name")  # fmt: skip
        return 1
    print("untrusted execution: possible (every layer available)")
    return 0
