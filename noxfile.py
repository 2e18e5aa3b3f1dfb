"""Sessions: ``nox -s verify`` (every claim, full profile, reports/), ``nox -s tests`` (pytest -n auto),
``nox -s bench`` (benchmarks -> reports/bench.md), ``nox -s lock`` (refresh requirements/lock.txt).

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


@nox.session(venv_params=VENV_PARAMS)
def tests(session):
    """The test suite: machinery tests and one test per claim (quick profile), in parallel."""
    _install(session)
    session.run("python", "-m", "pytest", "-n", "auto", "-q", *session.posargs)


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


@nox.session
def lock(session):
    """Re-resolve requirements/lock.txt (exact versions with hashes) from pyproject.toml."""
    session.install("pip-tools>=7.4")
    session.run("pip-compile", "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras",
                "--no-emit-index-url", "--no-emit-find-links", "--extra", "test", "--extra", "mnist",
                "--extra", "dask", "--constraint", "requirements/torch-cpu.txt", "--upgrade",
                "--output-file", "requirements/lock.txt", "pyproject.toml")
