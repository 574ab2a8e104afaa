"""policy - the policy schema, its loader, named groups, built-in profiles and path rules.

Importing this package must stay light: pydantic and the standard library only; never the
executor, the sandbox, psutil, pyseccomp or networkx (a test checks `sys.modules`).
"""

from __future__ import annotations

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
