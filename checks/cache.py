"""A cache of claim results, so that re-running ``verify`` recomputes only claims whose inputs changed.

The key of a claim's result hashes everything the result can depend on:

- the claim id, global seed, profile, device, the registry's number of statistical verdicts (it sets
  every Bonferroni level) and the local data sets given (paths and file digests);
- the lock file the sessions install from, the versions of Python and of the numerical packages
  actually imported (covering runs outside nox), and the numeric kernels this machine picks
  (:func:`checks.provenance.numeric_kernels`: BLAS core type, torch's CPU capability, numpy's SIMD
  dispatch targets — each can change the last digits of a record);
- the source of the module that declares the claim and of every project module it imports,
  transitively (found by parsing ``import`` statements, including those inside functions), plus the
  machinery that turns a check into a record (``checks.model``, ``checks.runner``, ``checks.serialize``).

The key is computed when the run starts, from the files on disk; the result is computed from the code
a worker imported, possibly later. An entry is therefore stored only when every project module the
worker ran has the bytes the key was computed from (:mod:`checks.sources` records the bytes each import
compiled): a run whose source changed under it caches nothing for the claims concerned, and says so.

Each entry is a single JSON object written atomically (``<key>.json``), holding its claim id, its key
and the sha256 of its content; on read all three are checked (and the record's shape: an object with
the claim's id and a known status). An entry that fails any check is ignored and recomputed, with a
one-line notice; a cached result is the record exactly as computed, so a cached run writes the same
``claims.json`` bytes as an uncached one. The cache lives outside ``reports/`` (default
``.cache/verify``, git-ignored); ``--no-cache`` bypasses it.
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
# Bump when the entry layout changes (2: claim id and checksum in every entry).
FORMAT = 2


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


def sources(claim) -> dict[str, str]:
    """module -> digest of its file as the key saw it, for every module in the claim's source digest."""
    module = claim.module or "checks.model"
    mods = set(closure(module)) | {m for core in CORE_MODULES for m in closure(core)}
    return {m: _file_digest(module_path(m)) for m in sorted(mods)}


def unchanged(expected: dict[str, str], ran: dict[str, str | None] | None) -> bool:
    """Whether a result computed by code whose project modules had the digests ``ran``
    (:func:`checks.sources.imported` in the process that ran it) belongs under a key computed from the
    digests ``expected``: every module of the key that the process imported has the key's bytes (a
    module it never imported did not run). Unknown (None) counts as changed."""
    if ran is None:
        return False
    return all(ran[m] == d for m, d in expected.items() if m in ran)


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _checksum(claim_id: str, k: str, record, plots, seconds) -> str:
    return hashlib.sha256(_canonical({"claim_id": claim_id, "key": k, "record": record, "plots": plots,
                                      "seconds": seconds})).hexdigest()


class ResultCache:
    """Claim results on disk, keyed by :func:`key`.

    ``rejected`` lists ``(claim id, reason)`` for each entry :meth:`get` found and refused (a missing entry
    is a plain miss, not a rejection)."""

    def __init__(self, root: str | os.PathLike = DEFAULT_DIR):
        self.root = Path(root)
        self.rejected: list[tuple[str, str]] = []

    def _path(self, k: str) -> Path:
        return self.root / k[:2] / f"{k}.json"

    def get(self, k: str, claim_id: str):
        """The result stored for ``claim_id`` under key ``k``, or None (missing, or refused: see
        ``rejected``)."""
        try:
            text = self._path(k).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return self._reject(claim_id, f"unreadable ({type(exc).__name__})")
        try:
            entry = json.loads(text)
        except ValueError:
            return self._reject(claim_id, "not JSON")
        why = _invalid(entry, k, claim_id)
        if why:
            return self._reject(claim_id, why)
        from checks.runner import Result

        plots = {name: base64.b64decode(b, validate=True) for name, b in entry["plots"].items()}
        return Result(entry["record"], plots, float(entry["seconds"]))

    def _reject(self, claim_id: str, why: str) -> None:
        self.rejected.append((claim_id, why))
        return None

    def put(self, k: str, result, *, claim_id: str, sources: dict[str, str]) -> bool:
        """Store ``result`` under ``k``, unless the code that computed it is not the code ``k`` was
        computed from (``sources``: :func:`sources` at the start; ``result.sources``: what the worker
        imported): then nothing is stored and the answer is False. A cache that cannot be written costs
        time, never a result (True: not a source change)."""
        if not unchanged(sources, getattr(result, "sources", None)):
            return False
        path = self._path(k)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            plots = {name: base64.b64encode(b).decode() for name, b in result.plots.items()}
            seconds = float(result.seconds)
            # the checksum is of the record as it will read back (JSON turns int keys into strings...)
            record = json.loads(json.dumps(result.record, ensure_ascii=False, allow_nan=False))
            entry = {"format": FORMAT, "claim_id": claim_id, "key": k,
                     "sha256": _checksum(claim_id, k, record, plots, seconds),
                     "record": record, "seconds": seconds, "plots": plots}
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entry, ensure_ascii=False, allow_nan=False), encoding="utf-8")
            os.replace(tmp, path)
        except (OSError, ValueError, TypeError):
            pass
        return True


def _invalid(entry, k: str, claim_id: str) -> str | None:
    """Why ``entry`` (parsed JSON) is not a valid entry for ``claim_id`` under ``k``; None when it is."""
    from checks.model import Status

    if not isinstance(entry, dict):
        return f"not an object ({type(entry).__name__})"
    if entry.get("format") != FORMAT:
        return f"format {entry.get('format')!r}, expected {FORMAT}"
    if entry.get("key") != k:
        return "stored under another key"
    if entry.get("claim_id") != claim_id:
        return f"entry of another claim ({entry.get('claim_id')!r})"
    record, plots, seconds = entry.get("record"), entry.get("plots"), entry.get("seconds")
    if not isinstance(record, dict) or record.get("id") != claim_id:
        return "record missing or of another claim"
    status = record.get("status")
    if not isinstance(status, str) or status not in {s.value for s in Status}:
        return f"record status {status!r} is not a verdict"
    if not isinstance(plots, dict) or not all(isinstance(v, str) for v in plots.values()):
        return "plots missing or malformed"
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return "seconds missing or not a number"
    try:
        if entry.get("sha256") != _checksum(claim_id, k, record, plots, seconds):
            return "checksum mismatch"
        for v in plots.values():
            base64.b64decode(v, validate=True)
    except (ValueError, TypeError):
        return "content not encodable"
    return None


def _some(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def rejected_notice(rejected: list[tuple[str, str]]) -> str:
    """One line for the entries :meth:`ResultCache.get` refused."""
    n = len(rejected)
    return (f"note: {n} cache entr{'y' if n == 1 else 'ies'} failed {'its' if n == 1 else 'their'} check and "
            f"{'is' if n == 1 else 'are'} recomputed: " + _some([f"{cid} ({why})" for cid, why in rejected]))


def changed_notice(changed: list[str]) -> str:
    """One line for the results not cached because the source changed while they were computed."""
    return (f"note: source changed during the run: {len(changed)} result(s) not cached ({_some(changed)}); "
            "the report has them as computed")
