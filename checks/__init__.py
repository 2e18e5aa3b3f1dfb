"""Evidence engines, runner, CLI and report writer for the claims declared in :mod:`theory`.

The vocabulary a claim module needs is re-exported here::

    from checks import claim, Kind, Status, Outcome, Context, Comparison, Corrected, Foil, Severity,
        Resolution, Knob
"""

from checks.model import (
    Claim,
    ClaimError,
    Comparison,
    Context,
    Corrected,
    Foil,
    Kind,
    Knob,
    Outcome,
    Profile,
    Resolution,
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
    "Knob",
    "Outcome",
    "Profile",
    "Resolution",
    "Severity",
    "PROFILES",
    "Status",
    "claim",
]
