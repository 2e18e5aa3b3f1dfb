"""Detectors and helpers of Appendices B/C checked at their zeros and against their definitions (issue 17).

* ``exterior.wedge_map`` equals the map ``v -> v ∧ x`` built from the relations of Definition B.3 alone
  (``exterior.wedge_map_by_expansion``), exactly, on integers;
* ``exterior.decomposability_defect`` and ``tensor.elementary_defect`` read ≈ 0 on elementary wedges /
  tensors (t >= 3 included) and their exact value elsewhere — including tensors entangled only in a
  later unfolding — and agree with an mpmath evaluation of their definitions;
* ``wedge.top_minor_abs_mean`` (which feeds a foil of lem-c.6/limit) against its definition: exact
  moments, the t = 1 and t = n - 1 closed forms, and Monte Carlo over Haar draws;
* planted mutants of the detectors refute the claims that use them (so a slip cannot pass silently).

Tolerances come from float64 eps and the sizes involved (``checks.tolerance.tol``), or from a standard
error for the Monte-Carlo comparison.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import within
from scipy.special import gammaln

from checks import Status
from checks.model import Context
from checks.tolerance import tol
from theory import exterior as ext
from theory import tensor as ten
from theory import wedge
from theory.claims import app_b, app_b2

INV_SQRT2 = 1 / math.sqrt(2.0)


# -- wedge_map against the relations -------------------------------------------------------------


@pytest.mark.parametrize("n,t", [(n, t) for n in range(2, 7) for t in range(1, n)])
def test_wedge_map_equals_the_map_built_from_the_relations(n, t):
    rng = np.random.default_rng(1000 * n + t)
    for x in (rng.integers(-3, 4, math.comb(n, t)),
              np.array(ext.plucker_generic([list(map(int, rng.integers(-2, 3, n))) for _ in range(t)]), dtype=int)):
        got = ext.wedge_map(x.astype(float), n, t)
        want = np.array(ext.wedge_map_by_expansion([int(a) for a in x], n, t), dtype=float).reshape(got.shape)
        assert np.array_equal(got, want)  # integers: exact in float64


def test_wedge_map_by_expansion_is_the_wedge_of_the_factors():
    """v ∧ (v_1 ∧ ... ∧ v_t) from the reference map equals the coordinates of the (t+1)-fold wedge."""
    rng = np.random.default_rng(7)
    for n, t in ((3, 1), (4, 2), (5, 3)):
        vs = [list(map(int, rng.integers(-3, 4, n))) for _ in range(t + 1)]
        x = ext.wedge_by_expansion(vs[1:])
        m = ext.wedge_map_by_expansion(x, n, t)
        got = [sum(m[r][k] * vs[0][k] for k in range(n)) for r in range(len(m))]
        assert got == ext.wedge_by_expansion(vs)


# -- decomposability_defect at its zeros and values --------------------------------------------------


@pytest.mark.parametrize("n,t", [(3, 1), (3, 2), (4, 2), (5, 2), (5, 3), (6, 3), (6, 4), (7, 3)])
def test_decomposability_defect_is_zero_on_elementary_wedges(n, t):
    rng = np.random.default_rng(10 * n + t)
    for _ in range(5):
        V = rng.standard_normal((n, t))
        x = ext.plucker(V)
        bound = tol(math.comb(n, t) + n, kappa=float(np.linalg.cond(V)), kernels=2 * t + 2)
        assert ext.decomposability_defect(x, n, t) <= bound
        # the map kills exactly span(V): v_i ∧ x = 0
        assert np.abs(ext.wedge_map(x, n, t) @ V).max() <= bound * np.linalg.norm(x) * np.abs(V).max()


@pytest.mark.parametrize("label,n,t,terms", app_b._WEDGE_POSITIVES)
def test_decomposability_defect_exact_values(label, n, t, terms):
    x = app_b._basis_wedge(n, terms)
    bound = tol(math.comb(n, t) + n, kernels=2 * t + 2)
    assert abs(ext.decomposability_defect(x, n, t) - INV_SQRT2) <= bound
    assert abs(app_b._decomposability_defect_reference(x, n, t) - INV_SQRT2) <= bound


@pytest.mark.parametrize("n,t", [(4, 2), (5, 2), (5, 3), (6, 3)])
def test_decomposability_defect_matches_its_definition(n, t):
    rng = np.random.default_rng(100 + 10 * n + t)
    x = rng.standard_normal(math.comb(n, t))
    got = ext.decomposability_defect(x, n, t)
    assert got > 0
    assert abs(got - app_b._decomposability_defect_reference(x, n, t)) <= tol(math.comb(n, t) + n, kernels=2 * t + 2)


# -- elementary_defect at its zeros and values ---------------------------------------------------------


@pytest.mark.parametrize("n,t", [(2, 2), (3, 2), (2, 3), (3, 3), (2, 4), (3, 4)])
def test_elementary_defect_is_zero_on_elementary_tensors(n, t):
    rng = np.random.default_rng(20 * n + t)
    for _ in range(5):
        x = ten.elementary_tensor(*[rng.standard_normal(n) for _ in range(t)])
        assert ten.elementary_defect(x, n, t) <= tol(n**t, kernels=t + 2)


@pytest.mark.parametrize("label,n,t,terms", app_b._TENSOR_POSITIVES)
def test_elementary_defect_exact_values_in_every_unfolding(label, n, t, terms):
    x = app_b._basis_tensor(n, terms)
    bound = tol(n**t, kernels=t + 2)
    assert abs(ten.elementary_defect(x, n, t) - INV_SQRT2) <= bound
    assert abs(app_b._elementary_defect_reference(x, n, t) - INV_SQRT2) <= bound


def test_elementary_defect_sees_a_later_unfolding_only():
    """e1⊗(e1⊗e1 + e2⊗e2): the first unfolding has rank 1, the others rank 2 (truth 1/√2)."""
    x = app_b._basis_tensor(2, ((1, 1, 1), (1, 2, 2)))
    ranks = [np.linalg.matrix_rank(np.array(ten.unfolding_by_indices(x, 2, 3, k))) for k in range(3)]
    assert ranks == [1, 2, 2]
    assert abs(ten.elementary_defect(x, 2, 3) - INV_SQRT2) <= tol(8, kernels=5)


@pytest.mark.parametrize("n,t", [(2, 3), (3, 3), (2, 4)])
def test_elementary_defect_matches_its_definition_and_unfoldings(n, t):
    rng = np.random.default_rng(300 + 10 * n + t)
    x = rng.standard_normal(n**t)
    for k in range(t):
        assert np.array_equal(np.array(ten.unfolding_by_indices(x, n, t, k)),
                              np.moveaxis(x.reshape((n,) * t), k, 0).reshape(n, -1))
    got = ten.elementary_defect(x, n, t)
    assert got > 0
    assert abs(got - app_b._elementary_defect_reference(x, n, t)) <= tol(n**t, kernels=t + 2)


# -- planted mutants refute the claims --------------------------------------------------------------------


def _first_unfolding_only(x, n, t):
    x = np.asarray(x, dtype=np.float64).ravel()
    nrm = np.linalg.norm(x)
    if nrm == 0:
        return 0.0
    s = np.linalg.svd(x.reshape(n, -1), compute_uv=False)
    return float(s[1]) / nrm if s.size > 1 else 0.0


def _wedge_map_sign_slip(x, n, t):
    """(-1)^k (the index's value) instead of (-1)^p (its position in K): the sign-convention slip."""
    x = np.asarray(x, dtype=np.float64).ravel()
    pos = {J: k for k, J in enumerate(ext.index_sets(n, t))}
    rows = ext.index_sets(n, t + 1) if t + 1 <= n else []
    out = np.zeros((len(rows), n))
    for r, K in enumerate(rows):
        for p, k in enumerate(K):
            out[r, k] += (-1) ** k * x[pos[K[:p] + K[p + 1:]]]
    return out


def test_claims_pass_with_the_true_detectors():
    for cid, check in (("app-b.1.1/not-elementary", app_b._check_not_elementary_tensor),
                       ("app-b.2.1/not-elementary", app_b2._check_not_elementary_wedge)):
        out = check(Context(cid))
        assert out.status is Status.VERIFIED, out.summary
        assert out.evidence["detector_at_zeros"]["ok"]


def test_a_first_unfolding_only_defect_refutes_the_tensor_claim(monkeypatch):
    monkeypatch.setattr(ten, "elementary_defect", _first_unfolding_only)
    out = app_b._check_not_elementary_tensor(Context("app-b.1.1/not-elementary"))
    assert out.status is Status.REFUTED
    assert "DETECTOR WRONG" in out.summary


def test_a_sign_slip_in_wedge_map_refutes_the_wedge_claims(monkeypatch):
    monkeypatch.setattr(ext, "wedge_map", _wedge_map_sign_slip)
    out = app_b2._check_not_elementary_wedge(Context("app-b.2.1/not-elementary"))
    assert out.status is Status.REFUTED
    assert "DETECTOR WRONG" in out.summary
    # svd-exactly: the u_I (elementary wedges) no longer read defect ≈ 0
    cmp = app_b2._pc_svd_wedge_sub.compare(**app_b._FIXED_WEDGE[0])
    assert not cmp.ok and "detector at its zero" in cmp.detail["part"]


# -- top_minor_abs_mean against its definition ----------------------------------------------------------


def _rel(a, b):
    return abs(a - b) / abs(b)


def _moment_tol(t: int, n: int, p: float, extra: int = 0) -> float:
    """Relative rounding of top_minor_abs_moment(t, n, p) = exp(sum of 4t gammaln values): the absolute error
    of the sum (gammaln a few ulps each, at arguments in [1/2, (n + p)/2], where |gammaln| <= max(1,
    gammaln((n + p)/2))), which exp turns into a relative one; ``extra``: the reference's own operations."""
    return tol(4 * t + extra, scale=max(1.0, float(gammaln((n + p) / 2))))


@pytest.mark.parametrize("n", range(1, 9))
def test_top_minor_second_moment_is_one_over_binomial(n):
    """Cauchy-Binet: the squared t x t minors of the first t columns of an orthogonal matrix sum to 1, and
    are exchangeable under Haar measure, so E det(Ω^{t,t})^2 = 1 / C(n, t) — independent of the Beta law."""
    for t in range(1, n + 1):
        assert within(_rel(wedge.top_minor_abs_moment(t, n, 2.0), 1 / math.comb(n, t)), _moment_tol(t, n, 2.0, 1),
                      "second moment")


@pytest.mark.parametrize("n", range(2, 9))
def test_top_minor_mean_closed_forms_t1_and_t_n_minus_1(n):
    # t = 1: Ω_11 is a coordinate of a uniform unit vector, E|Ω_11| = Γ(n/2) / (√π Γ((n+1)/2))
    exact = math.exp(gammaln(n / 2) - gammaln((n + 1) / 2)) / math.sqrt(math.pi)
    # the reference: 2 gammaln, an exp, a sqrt and a division
    assert within(_rel(wedge.top_minor_abs_mean(1, n), exact), _moment_tol(1, n, 1.0, 5), "mean t=1")
    # t = n-1: by the cofactor identity the minor is ±det(Ω) Ω_nn, so the same law as |Ω_11|
    assert within(_rel(wedge.top_minor_abs_mean(n - 1, n), exact), _moment_tol(n - 1, n, 1.0, 5), "mean t=n-1")
    # fourth moment at t = 1: E Ω_11^4 = 3 / (n (n + 2))
    assert within(_rel(wedge.top_minor_abs_moment(1, n, 4.0), 3 / (n * (n + 2))), _moment_tol(1, n, 4.0, 2),
                  "fourth moment")
    assert wedge.top_minor_abs_mean(n, n) == 1.0


def test_top_minor_mean_matches_haar_monte_carlo():
    """Haar draws (QR of a Gaussian matrix, signs fixed): the sample mean of |det Ω^{t,t}| lies within
    5 standard errors of the closed form (a false alarm has probability < 1e-6 per case)."""
    rng = np.random.default_rng(2024)
    for n, t in ((3, 2), (4, 2), (5, 2), (5, 3), (6, 3)):
        g = rng.standard_normal((20000, n, n))
        q, r = np.linalg.qr(g)
        q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]
        v = np.abs(np.linalg.det(q[:, :t, :t]))
        se = v.std(ddof=1) / math.sqrt(v.size)
        assert abs(v.mean() - wedge.top_minor_abs_mean(t, n)) <= 5 * se, (n, t)
        # and the second moment, the exact 1 / C(n, t)
        se2 = (v**2).std(ddof=1) / math.sqrt(v.size)
        assert abs((v**2).mean() - 1 / math.comb(n, t)) <= 5 * se2, (n, t)


def test_top_minor_moment_validates_arguments():
    with pytest.raises(ValueError):
        wedge.top_minor_abs_moment(0, 3, 1.0)
    with pytest.raises(ValueError):
        wedge.top_minor_abs_moment(1, 3, -1.0)


# -- subspace distances and the wedge-norm helpers of Appendix C at their zeros ----------------------


@pytest.mark.parametrize("n,t", [(2, 1), (3, 2), (4, 2), (5, 3), (6, 4)])
def test_projector_distance_and_cosine_at_equal_spans(n, t):
    """Equal spans (W = V G, G invertible): distance 0, principal angles 0, |cos| = 1."""
    rng = np.random.default_rng(40 + n + t)
    V = rng.standard_normal((n, t))
    G = rng.standard_normal((t, t)) + 3 * np.eye(t)
    W = V @ G
    kappa = float(np.linalg.cond(V) * np.linalg.cond(G))
    bound = tol(n + t, kappa=kappa, kernels=4)
    assert ext.projector_distance(V, W) <= bound
    assert np.max(ext.principal_angles(V, W)) <= bound
    assert abs(ext.subspace_cosine(V, W) - 1.0) <= bound


@pytest.mark.parametrize("a,b", [(0.3, 1.1), (math.pi / 4, math.pi / 4), (0.0, math.pi / 2), (1e-6, 2e-6)])
def test_projector_distance_and_cosine_at_known_angles(a, b):
    """Planes of R^4 at principal angles (a, b): ||P_E - P_F|| = sin max(a, b), |<v̂∧, ŵ∧>| = cos a cos b (0
    when an angle is π/2: the zero of the orthogonality claim)."""
    e = np.eye(4)
    V = e[:, :2]
    W = np.column_stack([math.cos(a) * e[:, 0] + math.sin(a) * e[:, 2], math.cos(b) * e[:, 1] + math.sin(b) * e[:, 3]])
    bound = tol(6, kernels=4)
    assert abs(ext.projector_distance(V, W) - math.sin(max(a, b))) <= bound
    assert abs(ext.subspace_cosine(V, W) - math.cos(a) * math.cos(b)) <= bound
    assert np.allclose(ext.principal_angles(V, W), sorted([a, b]), rtol=0, atol=bound)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_wedge_compound_equals_exterior_power_and_exact_minors(n):
    rng = np.random.default_rng(50 + n)
    m = rng.integers(-3, 4, (n, n))
    for t in range(1, n + 1):
        exact = np.array(ext.minors_generic(m.tolist(), t), dtype=float)
        scale = float(np.linalg.norm(m, 2)) ** t
        bound = tol(math.comb(n, t) + n, scale=scale, kernels=2 * t)
        assert np.max(np.abs(wedge.compound(m.astype(float), t) - exact)) <= bound
        assert np.max(np.abs(ext.exterior_power(m.astype(float), t) - exact)) <= bound


def test_log_wedge_columns_against_the_gram_determinant_and_at_zero_volume():
    rng = np.random.default_rng(60)
    y = rng.standard_normal((5, 5))
    for i in range(1, 6):
        gram = y[:, :i].T @ y[:, :i]
        want = 0.5 * np.linalg.slogdet(gram)[1]
        assert abs(wedge.log_wedge_columns(y, i) - want) <= tol(5, kappa=float(np.linalg.cond(gram)), kernels=2 * i)
    z = y.copy()
    z[:, 2] = 0.0  # a zero column: the wedge of the first i >= 3 columns is 0
    assert wedge.log_wedge_columns(z, 3) == -np.inf and np.isfinite(wedge.log_wedge_columns(z, 2))
    assert wedge.log_wedge_columns(y[:3, :], 4) == -np.inf  # i > rows: i vectors in R^3 are dependent


def test_log_ratio_c6_is_zero_at_the_identity_and_matches_its_definition():
    """Ω = I with non-increasing a, b: ||∧^t(S_A S_B)|| = prod_{k<=t} a_k b_k, so the log ratio is 0 (its
    zero); for a Haar Ω it equals the ratio computed directly from compound matrices (moderate spectra)."""
    rng = np.random.default_rng(70)
    a = np.sort(rng.uniform(0.5, 2.0, 5))[::-1]
    b = np.sort(rng.uniform(0.5, 2.0, 5))[::-1]
    for t in range(1, 6):
        assert abs(wedge.log_ratio_c6(a, np.eye(5), b, t)) <= tol(math.comb(5, t), kernels=2 * t + 2)
    q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    for t in range(1, 6):
        direct = np.linalg.svd(ext.exterior_power(np.diag(a) @ q @ np.diag(b), t), compute_uv=False)[0]
        want = math.log(direct / (np.prod(a[:t]) * np.prod(b[:t])))
        assert abs(wedge.log_ratio_c6(a, q, b, t) - want) <= tol(math.comb(5, t), scale=4.0**t, kernels=2 * t + 2)


def test_wishart_logdet_mean_matches_monte_carlo():
    """E log det(X^T X), X t x i with N(0, sigma^2) entries: within 5 standard errors of the closed form."""
    rng = np.random.default_rng(80)
    for i, t, sigma in ((1, 3, 1.0), (2, 3, 0.5), (3, 5, 2.0)):
        x = sigma * rng.standard_normal((20000, t, i))
        v = np.linalg.slogdet(np.swapaxes(x, -1, -2) @ x)[1]
        se = v.std(ddof=1) / math.sqrt(v.size)
        assert abs(v.mean() - wedge.wishart_logdet_mean(i, t, sigma)) <= 5 * se, (i, t, sigma)
