"""policy - the policy schema, its loader, named groups, built-in profiles and path rules.

Importing this package must stay light: pydantic and the standard library only; never the
executor, the sandbox, psutil, pyseccomp or networkx (a test checks `sys.modules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bashflow.policy.model import (
        CommandsSection,
        EnvSection,
        LimitsSection,
        NetworkSection,
        PathsSection,
        Policy,
    )

__all__ = [
    "CommandsSection",
    "EnvSection",
    "LimitsSection",
    "NetworkSection",
    "PathsSection",
    "Policy",
]


def __getattr__(name: str) -> Any:
    # Lazy: `bashflow check` with a plain policy file runs without importing pydantic.
    if name in __all__:
        from bashflow.policy import model

        return getattr(model, name)
    raise AttributeError(f"module 'bashflow.policy' has no attribute {name!r}")
