"""Loading the claim registry: every module under ``theory.claims`` is imported, none listed by hand."""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from checks.model import REGISTRY, Claim, ClaimError, Kind


def load() -> dict[str, Claim]:
    """Import every ``theory.claims`` module (which registers its claims) and return the registry."""
    import theory.claims as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    for c in REGISTRY.values():
        for dep in c.depends_on:
            if dep not in REGISTRY:
                raise ClaimError(f"{c.id} depends on unknown claim {dep!r}")
    return dict(sorted(REGISTRY.items(), key=lambda kv: sort_key(kv[0])))


def sort_key(cid: str) -> tuple:
    """Paper order: sections before appendices, then by number, parts in declaration order."""
    head, _, _ = cid.partition("/")
    _, _, num = head.partition("-")
    parts = num.split(".")
    key = []
    for p in parts:
        if p.isdigit():
            key.append((0, int(p), ""))
        else:
            key.append((1, 0, p))
    return (tuple(key), cid)


def n_statistical(registry: dict[str, Claim]) -> int:
    """How many statistical verdicts the whole suite renders (printed and corrected forms)."""
    n = 0
    for c in registry.values():
        if c.is_statistical:
            n += 1 + (c.corrected is not None)
    return n


def select(registry: dict[str, Claim], patterns: list[str] | None) -> list[str]:
    """Ids matching any pattern; an unmatched or empty pattern is a ClaimError.

    A pattern that is exactly a claim id selects that claim alone (``thm-6.1`` is not also
    ``thm-6.1/products``); ``PREFIX*`` selects every id starting with PREFIX; any other pattern is a
    prefix (``lem-c`` selects all of Appendix C's lemmas).
    """
    if patterns is None:
        return list(registry)
    if not patterns:
        raise ClaimError("--only needs at least one id or prefix")
    chosen: set[str] = set()
    for pat in patterns:
        if not pat.strip():
            raise ClaimError("empty --only pattern: give a claim id or prefix")
        if pat in registry:
            chosen.add(pat)
            continue
        stem = pat[:-1] if pat.endswith("*") else pat
        hits = [cid for cid in registry if cid.startswith(stem)]
        if not hits:
            close = difflib.get_close_matches(stem, list(registry), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ClaimError(f"no claim matches {pat!r}{hint}")
        chosen.update(hits)
    return [cid for cid in registry if cid in chosen]


__all__ = ["load", "select", "n_statistical", "sort_key", "Kind"]
