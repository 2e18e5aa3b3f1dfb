"""A cache of claim results, so that re-running ``verify`` recomputes only claims whose inputs changed.

The key of a claim's result hashes everything the result can depend on:

- the claim id, global seed, profile, device, the registry's number of statistical verdicts (it sets
  every Bonferroni level) and the local data sets given (paths and file digests);
- the lock file the sessions install from, and the versions of Python and of the numerical packages
  actually imported (covering runs outside nox);
- the source of the module that declares the claim and of every project module it imports,
  transitively (found by parsing ``import`` statements, including those inside functions), plus the
  machinery that turns a check into a record (``checks.model``, ``checks.runner``, ``checks.serialize``).

Entries are single JSON files written atomically (``<key>.json``), so concurrent runs and interrupted
runs never leave a torn entry; a damaged entry is ignored and recomputed. A cached result is the
record exactly as computed, so a cached run writes the same ``claims.json`` bytes as an uncached one.
The cache lives outside ``reports/`` (default ``.cache/verify``, git-ignored); ``--no-cache`` bypasses it.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import platform
from functools import lru_cache
from pathlib import Path

from checks import provenance

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("theory", "checks")
# Every record passes through these, whatever the claim.
CORE_MODULES = ("checks.model", "checks.runner", "checks.serialize")
DEFAULT_DIR = Path(".cache") / "verify"
# Bump when the entry layout changes.
FORMAT = 1


def module_path(name: str) -> Path | None:
    """Source file of a project module name (package -> its __init__.py), or None."""
    parts = name.split(".")
    if parts[0] not in PROJECT_PACKAGES:
        return None
    base = ROOT.joinpath(*parts)
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports anywhere in its source (and the packages they sit in)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                mod = ".".join(pkg + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # 'from theory import lyapunov'
    out = set()
    for mod in found:
        parts = mod.split(".")
        for k in range(1, len(parts) + 1):  # importing a.b.c imports a and a.b too
            sub = ".".join(parts[:k])
            if module_path(sub) is not None:
                out.add(sub)
    return out


@lru_cache(maxsize=None)
def closure(name: str) -> tuple[str, ...]:
    """``name`` and every project module it imports, transitively (sorted)."""
    seen: set[str] = set()
    stack = [name]
    while stack:
        mod = stack.pop()
        if mod in seen:
            continue
        path = module_path(mod)
        if path is None:
            continue
        seen.add(mod)
        parents = {".".join(mod.split(".")[:k]) for k in range(1, mod.count(".") + 1)}  # imported first
        stack.extend((_imports(mod, path) | parents) - seen)
    return tuple(sorted(seen))


@lru_cache(maxsize=None)
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_digest(module: str) -> str:
    """One digest of the sources a claim declared in ``module`` can depend on."""
    mods = sorted(set(closure(module)) | {m for core in CORE_MODULES for m in closure(core)})
    h = hashlib.sha256()
    for m in mods:
        h.update(f"{m}\0{_file_digest(module_path(m))}\0".encode())
    return h.hexdigest()


@lru_cache(maxsize=None)
def _data_digest(path: str) -> str:
    """Digest of a data directory's files (names, sizes, contents)."""
    h = hashlib.sha256()
    root = Path(path)
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(root)}\0{f.stat().st_size}\0".encode())
        h.update(_file_digest(f).encode())
    return h.hexdigest()


def environment() -> dict:
    return {"python": platform.python_version(), "packages": provenance.package_versions(),
            "lock": provenance.lock_digest(), "kernels": provenance.numeric_kernels()}


def key(claim, *, seed: int, profile: str, device: str, n_statistical: int, data: dict | None) -> str:
    parts = {
        "format": FORMAT,
        "id": claim.id,
        "seed": seed,
        "profile": profile,
        "device": device,
        "n_statistical": n_statistical,
        "data": {k: [v, _data_digest(v)] for k, v in sorted((data or {}).items())},
        "env": environment(),
        "source": source_digest(claim.module) if claim.module else source_digest("checks.model"),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:40]


class ResultCache:
    """Claim results on disk, keyed by :func:`key`."""

    def __init__(self, root: str | os.PathLike = DEFAULT_DIR):
        self.root = Path(root)

    def _path(self, k: str) -> Path:
        return self.root / k[:2] / f"{k}.json"

    def get(self, k: str):
        from checks.runner import Result

        try:
            entry = json.loads(self._path(k).read_text(encoding="utf-8"))
            if entry.get("format") != FORMAT or entry.get("key") != k:
                return None
            plots = {name: base64.b64decode(b) for name, b in entry["plots"].items()}
            return Result(entry["record"], plots, float(entry["seconds"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing or damaged: recompute

    def put(self, k: str, result) -> None:
        path = self._path(k)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = {"format": FORMAT, "key": k, "record": result.record, "seconds": result.seconds,
                     "plots": {name: base64.b64encode(b).decode() for name, b in result.plots.items()}}
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entry, ensure_ascii=False, allow_nan=False), encoding="utf-8")
            os.replace(tmp, path)
        except (OSError, ValueError, TypeError):
            pass  # a cache that cannot be written costs time, never a result
