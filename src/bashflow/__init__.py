"""bashflow - compile bash scripts into workflow graphs, check them against a policy, run them sandboxed.

The public API is loaded lazily so that `import bashflow` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "BashflowError",
    "Finding",
    "ParseError",
    "Policy",
    "PolicyError",
    "Source",
    "Verdict",
    "__version__",
    "check",
    "compile_script",
    "parse",
]

_LAZY = {
    "parse": ("bashflow.parser", "parse"),
    "ParseError": ("bashflow.errors", "ParseError"),
    "PolicyError": ("bashflow.errors", "PolicyError"),
    "BashflowError": ("bashflow.errors", "BashflowError"),
    "Source": ("bashflow.source", "Source"),
    "check": ("bashflow.policy.check", "check"),
    "compile_script": ("bashflow.compile", "compile_script"),
    "Policy": ("bashflow.policy.model", "Policy"),
    "Verdict": ("bashflow.policy.findings", "Verdict"),
    "Finding": ("bashflow.policy.findings", "Finding"),
}

if TYPE_CHECKING:
    from bashflow.compile import compile_script
    from bashflow.errors import BashflowError, ParseError, PolicyError
    from bashflow.parser import parse
    from bashflow.policy.check import check
    from bashflow.policy.findings import Finding, Verdict
    from bashflow.policy.model import Policy
    from bashflow.source import Source


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'bashflow' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
