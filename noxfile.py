"""Sessions: ``nox -s verify`` (every claim, full profile, reports/), ``nox -s tests`` (pytest -n auto, then
the fast numeric tests again under other CPU kernels),
``nox -s bench`` (benchmarks -> reports/bench.md), ``nox -s mutants`` (mutation score of theory/ ->
reports/mutation.md), ``nox -s lock`` (refresh requirements/lock.txt).

Every session installs exact versions with hashes from ``requirements/lock.txt`` (pip-compile of
pyproject.toml's dependencies and extras), so the same seed reproduces ``claims.json`` byte for byte
on a fresh machine. The lock pins the CPU build of torch (``torch==2.13.0+cpu``), so no resolver ever
pulls a multi-GB CUDA build. With a GPU, set ``TORCH_SPEC`` to the torch you want (e.g.
``TORCH_SPEC="torch==2.11.0"``), or ``TORCH_SPEC=system`` to reuse the torch of the interpreter that
runs nox (the session then sees system site-packages); everything else still comes from the lock.

MNIST: ``MNIST_ROOT=/path/to/mnist nox -s verify`` passes ``--mnist-root`` (torchvision's raw
layout); without it, a copy at ``../shared/mnist`` beside the checkout is used when present.
"""

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

HERE = Path(__file__).resolve().parent
LOCK = HERE / "requirements" / "lock.txt"
TORCH_SPEC = os.environ.get("TORCH_SPEC", "lock")
VENV_PARAMS = ["--system-site-packages"] if TORCH_SPEC == "system" else []


def _lock_without_torch(session) -> str:
    """The lock minus its torch entry, for sessions that bring their own torch."""
    out, skip = [], False
    for line in LOCK.read_text().splitlines():
        if line.startswith("torch=="):
            skip = True
            continue
        if skip and (line.startswith(" ") or not line.strip()):
            continue
        skip = False
        out.append(line)
    path = Path(session.create_tmp()) / "lock-without-torch.txt"
    path.write_text("\n".join(out) + "\n")
    return str(path)


def _install(session):
    if TORCH_SPEC == "lock":
        session.install("--require-hashes", "-r", str(LOCK))
    else:
        if TORCH_SPEC != "system":
            session.install(TORCH_SPEC)
        session.install("--require-hashes", "-r", _lock_without_torch(session))
    # The project itself: its dependencies are all in the lock.
    session.install("--no-deps", "-e", ".")


def _mnist_args() -> list[str]:
    """theory.dynamics.local_mnist_root, repeated: nox's interpreter has none of the project's dependencies."""
    root = os.environ.get("MNIST_ROOT")
    if root:
        return ["--mnist-root", root]
    shared = HERE.parent / "shared" / "mnist"
    return ["--mnist-root", str(shared)] if (shared / "MNIST" / "raw").is_dir() else []


# The fast numeric tests (kernels against references at derived tolerances; ~25 s serial on 2 cores),
# run a second time under other CPU kernels: not the claim tests (tests/test_claims.py is slow).
NUMERIC_TESTS = ["tests/test_products.py", "tests/test_alignment.py", "tests/test_app_c_math.py",
                 "tests/test_lyapunov.py", "tests/test_exterior.py", "tests/test_diagcorr.py",
                 "tests/test_fgln.py", "tests/test_dynamics.py", "tests/test_resolution.py",
                 # the detectors and helpers at their zeros (issue 17): derived tolerances too
                 *sorted(str(p.relative_to(HERE)) for p in (HERE / "tests").glob("test_zeros_*.py"))]


def _cpu_flags() -> set[str]:
    """The CPU's feature flags (/proc/cpuinfo; empty where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _openblas_core(session) -> str:
    """The core type numpy's OpenBLAS picked on this CPU (threadpoolctl, in the session's python)."""
    code = ("import numpy, threadpoolctl; print(next((i.get('architecture') or '' for i in "
            "threadpoolctl.threadpool_info() if i.get('internal_api') == 'openblas'), ''))")
    out = session.run("python", "-c", code, silent=True, log=False) or ""
    return out.strip().splitlines()[-1] if out.strip() else ""


def kernel_configs(flags: set[str], current: str) -> list[dict[str, str]]:
    """Other CPU kernels to re-run the numeric tests under: the other one of SkylakeX (needs avx512f)
    and Haswell (needs avx2) that this CPU can run, then Sandybridge (avx); torch at its default
    (non-vectorised) CPU capability in each, so both libraries' reductions change order."""
    out = []
    wide = [core for core, flag in (("SkylakeX", "avx512f"), ("Haswell", "avx2")) if flag in flags]
    other = [core for core in wide if core.lower() != current.lower()]
    if other:
        out.append(other[0])
    if "avx" in flags and current.lower() != "sandybridge":
        out.append("Sandybridge")
    return [{"OPENBLAS_CORETYPE": core, "ATEN_CPU_CAPABILITY": "default"} for core in out]


@nox.session(venv_params=VENV_PARAMS)
def tests(session):
    """The test suite: machinery tests and one test per claim (quick profile), in parallel; then the
    fast numeric tests again under other CPU kernels (another OpenBLAS core type, torch's default CPU
    capability), so no tolerance holds only on the kernels of the machine it was written on."""
    _install(session)
    session.run("python", "-m", "pytest", "-n", "auto", "-q", *session.posargs)
    if session.posargs:  # a targeted run (nox -s tests -- -k ...): only what was asked
        return
    current = _openblas_core(session)
    for env in kernel_configs(_cpu_flags(), current):
        session.log(f"numeric tests again with {env} (numpy's OpenBLAS picked {current or 'unknown'})")
        session.run("python", "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider",
                    *NUMERIC_TESTS, env=env)


@nox.session(venv_params=VENV_PARAMS)
def verify(session):
    """Run every claim in the full profile (GPU when present) and write reports/."""
    _install(session)
    args = session.posargs or ["--profile", "full", *_mnist_args()]
    session.run("python", "-m", "checks", "verify", *args)


@nox.session(venv_params=VENV_PARAMS)
def bench(session):
    """Benchmarks (speed, accuracy, memory) -> reports/bench.md. ``nox -s bench -- --quick`` for a short run."""
    _install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(venv_params=VENV_PARAMS)
def mutants(session):
    """Mutation testing of theory/ (checks/mutants.py): a seeded, stratified sample of 200 single-change
    mutants, each run through the claims covering the changed line and the unit tests importing the
    module -> reports/mutation.md and reports/mutation.json. About an hour on 2 cores; a benchmark, not
    part of ``nox -s tests``. ``nox -s mutants -- --sample 50`` for a shorter run."""
    _install(session)
    session.run("python", "-m", "checks.mutants", *session.posargs)


@nox.session
def lock(session):
    """Re-resolve requirements/lock.txt (exact versions with hashes) from pyproject.toml."""
    session.install("pip-tools>=7.4")
    session.run("pip-compile", "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras",
                "--no-emit-index-url", "--no-emit-find-links", "--extra", "test", "--extra", "mnist",
                "--extra", "dask", "--constraint", "requirements/torch-cpu.txt", "--upgrade",
                "--output-file", "requirements/lock.txt", "pyproject.toml")
