"""What produced a report: interpreter, platform, package versions, BLAS, device, git commit, run settings.

Written to ``provenance.json`` beside ``claims.json`` (which stays free of it, so that the same seed
reproduces ``claims.json`` byte for byte wherever the versions and :func:`numeric_kernels` agree);
``CLAIMS.md`` states it in one line.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "scipy", "torch", "hypothesis", "mpmath", "sympy", "matplotlib", "threadpoolctl",
            "kornia", "distributed")
ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def lock_digest() -> str | None:
    """sha256 of the lock file the sessions install from (None when running outside a checkout)."""
    try:
        return hashlib.sha256(LOCK.read_bytes()).hexdigest()
    except OSError:
        return None


def blas() -> str:
    """The BLAS/LAPACK libraries loaded in this process (threadpoolctl), e.g. 'openblas 0.3.30 (numpy)'."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return "unknown"
    seen = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        owner = Path(info.get("filepath", "")).parent.name.replace(".libs", "") or "?"
        core = f" {info['architecture']}" if info.get("architecture") else ""
        seen.append(f"{info.get('internal_api', '?')} {info.get('version') or '?'}{core} ({owner})")
    return ", ".join(sorted(set(seen))) or "none loaded"


def numpy_simd() -> str:
    """The SIMD targets numpy's own loops dispatch to on this machine, e.g. 'baseline X86_V2; dispatch
    AVX512_ICL X86_V3 X86_V4': the CPU's features minus any that ``NPY_DISABLE_CPU_FEATURES`` turns off
    (issue 18: under it, 30 of 146 records differ in their floats, no verdict)."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy < 2
        try:
            from numpy.core import _multiarray_umath as umath
        except ImportError:  # pragma: no cover
            return "unknown"
    features = getattr(umath, "__cpu_features__", {})
    baseline = list(getattr(umath, "__cpu_baseline__", []))
    dispatch = [t for t in getattr(umath, "__cpu_dispatch__", []) if features.get(t)]
    return f"baseline {' '.join(baseline) or 'none'}; dispatch {' '.join(sorted(dispatch)) or 'none'}"


@functools.lru_cache(maxsize=1)
def numeric_kernels() -> dict:
    """What picks the floating-point kernels on this machine beyond the package versions: the BLAS
    libraries with the core type each chose for this CPU (OpenBLAS picks one at load time), torch's
    CPU capability (AVX2, AVX512, ...) and the SIMD targets numpy's loops dispatch to. Machines (or
    environments: ``OPENBLAS_CORETYPE``, ``ATEN_CPU_CAPABILITY``, ``NPY_DISABLE_CPU_FEATURES``) that differ
    here can give claims.json files that differ in the last digits (the verdicts do not depend on it),
    so the cache key and the Dask worker check include it. Loads numpy's and scipy's BLAS first, so the
    answer does not depend on import order."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import torch

    return {"blas": blas(), "torch_cpu": torch.backends.cpu.get_cpu_capability(), "numpy_simd": numpy_simd()}


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return f"cuda: {torch.cuda.get_device_name(0)}"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"cpu: {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    return f"cpu: {platform.processor() or platform.machine()}"


def git_state(root: Path = ROOT) -> dict | None:
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def collect(*, profile: str, seed: int, device: str, jobs: int, wall_seconds: float, argv: list[str],
            cache: dict | None = None, scheduler: str | None = None, git: dict | None = None) -> dict:
    """The provenance record of one verify run. ``git``: the checkout's state when the run started (the
    code it imported); read now where not given (HEAD may move during a long run)."""
    import torch

    kernels = numeric_kernels()
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "packages": package_versions(),
        "torch_build": {"cuda": torch.version.cuda, "debug": bool(torch.version.debug),
                        "cpu_capability": kernels["torch_cpu"]},
        "blas": kernels["blas"],
        "numpy_simd": kernels["numpy_simd"],
        "device": device,
        "device_name": device_name(device),
        "git": git if git is not None else git_state(),
        "lock_sha256": lock_digest(),
        "profile": profile,
        "seed": seed,
        "jobs": jobs,
        "scheduler": scheduler or "local",
        "command": " ".join(["python -m checks", *argv]),
        "finished_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 1),
        "cache": cache,
    }
