"""sandbox - mechanism that turns a Policy into kernel state for each process.

`prepare(policy, workdir) -> Plan` in the parent (all validation), then a `Spawner` starts
processes under the plan from a small single-threaded fork server. See docs/sandbox.md.
Importing this package is cheap; heavy modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Layer", "Plan", "SandboxError", "SandboxProcess", "Spawner", "prepare"]

_LAZY = {
    "Layer": "bashflow.sandbox.probe",
    "Plan": "bashflow.sandbox.plan",
    "SandboxError": "bashflow.sandbox.plan",
    "prepare": "bashflow.sandbox.plan",
    "Spawner": "bashflow.sandbox.spawner",
    "SandboxProcess": "bashflow.sandbox.spawner",
}

if TYPE_CHECKING:
    from bashflow.sandbox.plan import Plan, SandboxError, prepare
    from bashflow.sandbox.probe import Layer
    from bashflow.sandbox.spawner import SandboxProcess, Spawner


def __getattr__(name: str) -> Any:
    import importlib

    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'bashflow.sandbox' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
