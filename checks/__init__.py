"""Evidence engines, runner, CLI and report writer for the claims declared in :mod:`theory`.

The vocabulary a claim module needs is re-exported here::

    from checks import claim, Kind, Status, Outcome, Context, Comparison, Corrected, Foil, Severity,
        Resolution, Knob
"""

import sys as _sys

# First: record the source bytes of every project module imported from now on (the cache keys by them).
from checks import sources as _sources

_sources.install(_sys._getframe(0).f_code)

from checks.model import (  # noqa: E402
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
