"""Evidence engines, runner, CLI and report writer for the claims declared in :mod:`theory`.

The vocabulary a claim module needs is re-exported here::

    from checks import claim, Kind, Status, Outcome, Context, Comparison, Corrected, Foil, Severity
"""

from checks.model import (
    Claim,
    ClaimError,
    Comparison,
    Context,
    Corrected,
    Foil,
    Kind,
    Outcome,
    Profile,
    Severity,
    PROFILES,
    Status,
    claim,
)

__all__ = [
    "Claim",
    "ClaimError",
    "Comparison",
    "Context",
    "Corrected",
    "Foil",
    "Kind",
    "Outcome",
    "Profile",
    "Severity",
    "PROFILES",
    "Status",
    "claim",
]
