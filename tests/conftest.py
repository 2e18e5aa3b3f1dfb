"""pytest plugin for the claim suite.

Options: ``--claims-profile`` (quick), ``--claims-seed`` (0), ``--claims-device`` (cpu) and
``--claims-report DIR``, which writes the same report as ``python -m checks verify`` from the pytest
run (serial or ``-n N``: results travel from xdist workers to the controller).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

_RESULTS: dict = {}


def within(err, tol, what: str = "") -> bool:
    """``err <= tol`` (elementwise, for arrays), for the numeric tests' derived tolerances.

    With ``TEST_HEADROOM_LOG=FILE`` set, every comparison appends ``test<TAB>what<TAB>err/tol`` to FILE
    (one short line, so appends from xdist workers do not interleave): how much of each tolerance this
    machine's kernels use (noxfile's tests session and issue 18's headroom table).
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.max(np.asarray(err, dtype=float) / np.asarray(tol, dtype=float)))
    log = os.environ.get("TEST_HEADROOM_LOG")
    if log:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(log, "a") as fh:
            fh.write(f"{test}\t{what}\t{ratio:.3e}\n")
    return ratio <= 1.0  # NaN (0/0: a tolerance of 0, never derived) fails


def pytest_addoption(parser):
    g = parser.getgroup("claims")
    g.addoption("--claims-profile", default="quick", help="profile for claim tests (default quick)")
    g.addoption("--claims-seed", type=int, default=0, help="global seed for claim tests (default 0)")
    g.addoption("--claims-device", default="cpu", help="device for claim tests (default cpu)")
    g.addoption("--claims-report", default=None, metavar="DIR", help="write the claim report here")
    g.addoption("--claims-mnist", default=None, metavar="PATH",
                help="local MNIST (torchvision raw layout) for the MNIST claims; default $MNIST_ROOT, else "
                     "../shared/mnist beside the checkout when present, else those claims are skipped")


def mnist_root(config=None):
    """Where the tests find MNIST (never downloaded): --claims-mnist, $MNIST_ROOT, ../shared/mnist, or None."""
    from pathlib import Path

    from theory.dynamics import local_mnist_root

    opt = config.getoption("--claims-mnist") if config is not None else None
    root = Path(opt).resolve() if opt else local_mnist_root()
    return str(root) if root else None


@pytest.fixture
def claims_options(request):
    cfg = request.config
    root = mnist_root(cfg)
    return {
        "profile": cfg.getoption("--claims-profile"),
        "seed": cfg.getoption("--claims-seed"),
        "device": cfg.getoption("--claims-device"),
        "data": {"mnist": root} if root else {},
    }


@pytest.fixture
def record_claim(request):
    """Attach a claim result to the test report, so the controller can write the report."""

    def record(result):
        payload = {"record": result.record, "plots": result.plots, "seconds": result.seconds}
        request.node.user_properties.append(("claim_result", payload))

    return record


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for key, payload in report.user_properties:
        if key == "claim_result":
            _RESULTS[payload["record"]["id"]] = payload


def pytest_sessionfinish(session):
    out = session.config.getoption("--claims-report", default=None)
    if not out or hasattr(session.config, "workerinput") or not _RESULTS:
        return
    from checks import registry, report, runner

    from checks.model import ClaimError

    results = {cid: runner.Result(p["record"], p["plots"], p["seconds"]) for cid, p in _RESULTS.items()}
    reg = registry.load()
    opts = session.config
    try:
        # A subset of the claims merges into a compatible report, as `verify --only` does.
        report.write(out, reg, results, seed=opts.getoption("--claims-seed"),
                     profile=opts.getoption("--claims-profile"), device=opts.getoption("--claims-device"),
                     partial=len(results) < len(reg))
    except ClaimError as exc:
        session.config.get_terminal_writer().line(f"--claims-report not written: {exc}", red=True)


def plain_chain(Ms, a: int, b: int, dim: int):
    """M_b ... M_a (1-based) multiplied out one factor at a time, the dim x dim identity when a > b: the tests'
    reference for partial products of a chain."""
    import numpy as np

    P = np.eye(dim)
    for l in range(a, b + 1):
        P = Ms[l - 1] @ P
    return P


def fig7_iterate(s0: float, g, C: float, a: float):
    """s(t+1) = s(t) + C s(t)^a g(t) from s(0) = s0: the process of Figure 7, written out step by step (the
    tests' reference for fig_training's fits)."""
    import numpy as np

    s = np.empty(len(g) + 1)
    s[0] = s0
    for t, gt in enumerate(g):
        s[t + 1] = s[t] + C * s[t] ** a * gt
    return s


def sec6_constant_ladder(seed: int, S: int, K_of):
    """Synthetic thm-6.1/products draws with R_ij = K_ij ratio_ij (1 + c rho_m) at every depth m of
    sec6.CONST_DEPTHS, K_ij = K_of(T, T^{-1}, i, j) for unit lower-triangular T: the (data, consts) that
    sec6._const_stats reads. Its statistic is at its zero for the K rule it is asked about."""
    import numpy as np

    from theory.claims import sec6

    rng = np.random.default_rng(seed)
    r, n = sec6.PROD_R, sec6.PROD_N
    a = np.array([0.0, 0.3, 0.7, 1.2, 1.3, 1.4])
    T = np.tril(rng.uniform(0.3, 1.0, (S, r, r)), -1) + np.eye(r)
    Ti = np.linalg.inv(T)
    consts, data = {}, {}
    for m in sec6.CONST_DEPTHS:
        s = np.exp(-m * a[None, :] + 0.05 * rng.standard_normal((S, n)))
        s = -np.sort(-s, axis=1)
        rho = np.max(s[:, 1:r + 1] / s[:, :r], axis=1)
        c = rng.uniform(0.5, 2.0, S)
        R = np.zeros((S, n, n))
        for (i, j) in sec6.PAIRS:
            R[:, i, j] = K_of(T, Ti, i, j) * sec6._ratio(s, i, j) * (1 + c * rho)
        data[m] = (R, s, None)
        consts[m] = (T, Ti)
    return data, consts


def tiny_context(claim_id: str):
    """A claim Context on the quick profile's code path at a small budget: every int budget capped at 40, every
    list cut to its first 3 entries (unit tests that run a whole check cheaply)."""
    from checks.model import Context

    class _Tiny(Context):
        def pick(self, **per_profile):
            v = super().pick(**per_profile)
            if isinstance(v, list):
                return v[:3]
            return min(v, 40) if isinstance(v, int) else v

    return _Tiny(claim_id)


def synthetic_rungs(r, R_of, sJ_of=None, a=(0.0, 0.5, 1.2, 1.9), Ls=(10, 20, 30), K=2.0):
    """Section 6 ladder rungs with log s = -L a, eps = K rho (rho = the largest ratio s_{i+1}/s_i, i <= r);
    R_of(log_s, eps) and sJ_of(eps) give the rung's R and s_J/s_A."""
    import numpy as np
    from types import SimpleNamespace

    a = np.asarray(a, float)
    out = []
    for L in Ls:
        ls = -L * a
        rho = float(np.max(np.exp(ls[1:r + 1] - ls[:r])))
        eps = K * rho
        s6 = SimpleNamespace(R=R_of(ls, eps), sJ_over_sA=None if sJ_of is None else sJ_of(eps))
        out.append(SimpleNamespace(L=L, rho=rho, eps=eps, log_s=ls, s6=s6))
    return out
