"""Sessions: ``nox -s verify`` (every claim, full profile, reports/), ``nox -s tests`` (pytest -n auto),
``nox -s bench`` (benchmarks -> reports/bench.md).

Torch: the CPU build is installed explicitly (``torch==2.13.0``) before the project so that no resolver
ever pulls a multi-GB CUDA build. With a GPU, set ``TORCH_SPEC`` to the torch you want (e.g.
``TORCH_SPEC="torch==2.11.0"``), or ``TORCH_SPEC=system`` to reuse the torch of the interpreter that
runs nox (the session then sees system site-packages).
"""

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]

TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")
VENV_PARAMS = ["--system-site-packages"] if TORCH_SPEC == "system" else []


def _install(session, *extras):
    if TORCH_SPEC != "system":
        session.install(TORCH_SPEC)
    spec = "." + (f"[{','.join(extras)}]" if extras else "")
    session.install("-e", spec)


@nox.session(venv_params=VENV_PARAMS)
def tests(session):
    """The test suite: machinery tests and one test per claim (quick profile), in parallel."""
    _install(session, "test")
    session.run("python", "-m", "pytest", "-n", "auto", "-q", *session.posargs)


@nox.session(venv_params=VENV_PARAMS)
def verify(session):
    """Run every claim in the full profile (GPU when present) and write reports/."""
    _install(session)
    args = session.posargs or ["--profile", "full"]
    session.run("python", "-m", "checks", "verify", *args)


@nox.session(venv_params=VENV_PARAMS)
def bench(session):
    """Benchmarks (speed, accuracy, memory) -> reports/bench.md. ``nox -s bench -- --quick`` for a short run."""
    _install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)
