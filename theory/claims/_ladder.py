"""Shared Monte-Carlo depth ladders for the Section 5 / Appendix C / depth-figure claims.

Several claims read the same ladder (Theorem 5.3's limit, its correction, the ordering, Corollary
5.6, the universality of d_i). The ladder is drawn from a stream named after the *data set* (global
seed, ``"shared:<name>"``, config), not after the claim that happens to run first, so every claim
sees the same numbers in any order or process; within one process the result is cached.

Each depth of a ladder uses its own independent stream, so the per-depth means are independent
and :func:`checks.stats.fit_ladder` (which assumes independent errors) applies. :func:`chain`
instead records several depths of the *same* products (one streaming pass; the depths are then
dependent, which per-depth tests at a Bonferroni level allow).

Both keep, beside the log singular values, the Benettin sums ``sum_l log|R_l[k,k]|`` of the same
pass, whose means are known exactly (``L gamma_k``): :func:`brackets` uses them for the finite-depth
bracket of :func:`theory.lyapunov.offset_bracket` (control variate: variance O(1) instead of O(L)),
computed once per process and data set (:func:`ladder_brackets`, :func:`chain_brackets`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy.stats import norm, skew

from checks import stats
from checks.model import derive_seed

# The bracket's upper side, E (v + rho) >= d_K, is tested with twice the critical distance: rho (a
# Jensen bound averaged over fresh Gaussians) is right-skewed (sample skewness 0.5-2.4 measured at
# n = 128), which makes a lower-tail t-test liberal; at 2 t the Edgeworth-corrected tail is below
# 1e-10 for m >= 32. The foils this side rejects (doubled constants, d_i for d_i - d_{i-1}) lie many
# times that distance away, so their power is unaffected (stated per foil).
UPPER_FACTOR = 2.0


@dataclass(frozen=True)
class Config:
    """One product model: (r, p, sigma)-layers of width n (``conditioned=False``: plain p-gates)."""

    n: int
    p: float
    sigma: float
    r: int
    conditioned: bool = True

    def label(self) -> str:
        kind = f"r={self.r}" if self.conditioned else "unconditioned"
        return f"n={self.n}, p={self.p:g}, sigma={self.sigma:.3g}, {kind}"


def _gen(seed: int, device: str) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def _spectrum(g, cfg: Config, depths, batch: int):
    from theory import products

    ps = products.product_spectrum(n=cfg.n, depths=list(depths), batch=batch, p=cfg.p, sigma=cfg.sigma, gen=g,
                                   r=cfg.r if cfg.conditioned else None, conditioned=cfg.conditioned)
    # Benettin *sums* (not averages) at each depth: log||J e_1 ^ ... ^ J e_k|| increments
    return {L: (ps.log_svals[j].cpu().numpy(), L * ps.benettin[j].cpu().numpy()) for j, L in enumerate(ps.depths)}


@lru_cache(maxsize=64)
def _ladder(seed: int, device: str, name: str, cfg: Config, depths: tuple, batch: int) -> dict:
    out = {}
    for L in depths:
        g = _gen(derive_seed(seed, "shared:" + name, cfg.label(), L), device)
        out[L] = _spectrum(g, cfg, [L], batch)[L]
    return out


@lru_cache(maxsize=16)
def _chain(seed: int, device: str, name: str, cfg: Config, depths: tuple, batch: int) -> dict:
    return _spectrum(_gen(derive_seed(seed, "chain:" + name, cfg.label()), device), cfg, depths, batch)


def ladder(ctx, name: str, cfg: Config, depths, batch: int) -> dict:
    """{L: (batch, n) array of log singular values of J_L}, independent across L."""
    return {L: v[0] for L, v in ladder_cv(ctx, name, cfg, depths, batch).items()}


def ladder_cv(ctx, name: str, cfg: Config, depths, batch: int) -> dict:
    """{L: (log singular values, Benettin sums)}, each (batch, n), independent across L (same draws as
    :func:`ladder`)."""
    return _ladder(ctx.seed, ctx.device, name, cfg, tuple(int(L) for L in depths), int(batch))


def chain(ctx, name: str, cfg: Config, depths, batch: int) -> dict:
    """{L: (log singular values, Benettin sums)} at every L of ``depths`` for the *same* ``batch`` products."""
    return _chain(ctx.seed, ctx.device, name, cfg, tuple(sorted(int(L) for L in depths)), int(batch))


def mean_curve(data: dict, f) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(depths, mean, se) of ``f(L, logsvals)`` (a per-sample vector) over the ladder."""
    Ls = np.array(sorted(data), dtype=float)
    ms, ses = [], []
    for L in sorted(data):
        m, s = stats.mean_se(f(L, data[L]))
        ms.append(m)
        ses.append(s)
    return Ls, np.array(ms), np.array(ses)


def fit(Ls, y, se, alpha: float, order: int = 1):
    """``fit_ladder`` of order 1 (c0 + c1/L); refit with a 1/L^2 term if the chi-square test rejects."""
    f = stats.fit_ladder(Ls, y, se, order=order)
    if order == 1 and f.dof > 1 and f.p_fit < alpha:
        return stats.fit_ladder(Ls, y, se, order=2)
    return f


def one_sided_power(margin: float, se: float, crit: float) -> float:
    """P(estimate - crit se > c) when the true mean exceeds c by ``margin`` (normal approximation)."""
    if se <= 0:
        return 1.0 if margin > 0 else 0.0
    return float(norm.sf(crit - margin / se))


@dataclass
class Bracket:
    """Estimates of E v and E (v + rho) at one (model, depth, K): E v <= d_K <= E (v + rho), and of
    E (v + R) = d_K exactly, R the remainder computed from its definition (theory.lyapunov.remainder_mc):
    the bracket's upper end is compared with this independent computation (R <= rho), and the point
    estimate gives the two-sided test a resolution that the bracket alone (width E rho) lacks."""

    label: str
    K: int
    v: float
    v_se: float
    w: float
    w_se: float
    m: int
    # E (v + R): equals d_K exactly at every depth (no bound, no remainder model)
    u: float = float("nan")
    u_se: float = float("nan")
    # mean rho - mean R >= 0 (Jensen) with its SE: the upper end checked against the exact remainder
    slack: float = float("nan")
    slack_se: float = float("nan")
    # sample skewness of v + R (right-skewed at K = 1: up to ~1.2 at n = 128, p = 1)
    u_skew: float = 0.0

    def point_crit(self, crit: float) -> float:
        """The point test's critical value, widened by the Cornish-Fisher term of a studentised mean,
        |skew| (2 t^2 + 1) / (6 sqrt(m)): with right-skewed v + R and few samples (m = 48 in the figures'
        quick profile) the plain t-test is liberal at the far tails that Bonferroni levels reach."""
        return float(crit + abs(self.u_skew) * (2 * crit ** 2 + 1) / (6 * math.sqrt(self.m)))

    @property
    def width(self) -> float:
        """The bracket's width E rho (the proven allowance for the o(1) remainder)."""
        return self.w - self.v

    def exact_violated(self, c: float, crit: float) -> bool:
        """The point estimate E (v + R) of d_K differs from c significantly (two-sided)."""
        return bool(abs(self.u - c) > self.point_crit(crit) * self.u_se)

    def rho_below_remainder(self, crit: float) -> bool:
        """The Jensen bound rho falls significantly below the exact remainder R (a bug in either)."""
        return bool(self.slack + crit * self.slack_se < 0)

    def lower_violated(self, c: float, crit: float) -> bool:
        """The data's offset E v exceeds c significantly (c is below the bracket)."""
        return bool(self.v - crit * self.v_se > c)

    def upper_violated(self, c: float, crit: float) -> bool:
        """E (v + rho) falls below c significantly (c is above the bracket); conservative (UPPER_FACTOR)."""
        return bool(self.w + UPPER_FACTOR * crit * self.w_se < c)

    def violated(self, c: float, crit: float) -> bool:
        """c is rejected: outside the bracket, or off the exact point estimate E (v + R)."""
        return self.lower_violated(c, crit) or self.upper_violated(c, crit) or self.exact_violated(c, crit)

    def gap(self, c: float, crit: float) -> float:
        """How far c lies beyond the acceptance region, in the quantity's units (> 0: rejected)."""
        return max(self.v - crit * self.v_se - c, c - self.w - UPPER_FACTOR * crit * self.w_se,
                   abs(self.u - c) - self.point_crit(crit) * self.u_se)

    def power(self, c: float, crit: float) -> float:
        """Probability of rejecting c, with the observed means taken as the truth."""
        return max(one_sided_power(self.v - c, self.v_se, crit),
                   one_sided_power(c - self.w, self.w_se, UPPER_FACTOR * crit),
                   stats.power(self.u - c, self.u_se, self.point_crit(crit)))

    def resolution(self, crit: float) -> float:
        """The smallest deviation from E (v + R) rejected with probability 0.9 (two-sided point test)."""
        return float((self.point_crit(crit) + norm.ppf(0.9)) * self.u_se)

    def as_dict(self, c: float, crit: float) -> dict:
        return {"name": self.label, "K": self.K, "E v (data offset)": self.v, "se v": self.v_se,
                "E (v + rho) (upper end)": self.w, "se v+rho": self.w_se, "samples": self.m,
                "bracket width E rho": self.width,
                "E (v + R) (= d_K exactly; R from its definition)": self.u, "se v+R": self.u_se,
                "skewness v+R": self.u_skew, "crit of the point test (Cornish-Fisher)": self.point_crit(crit),
                "E rho - E R (>= 0: Jensen)": self.slack, "se rho-R": self.slack_se,
                "predicted d_K": c, "crit": crit, "below bracket": self.lower_violated(c, crit),
                "above bracket": self.upper_violated(c, crit), "off the exact estimate": self.exact_violated(c, crit),
                "rho below the exact remainder": self.rho_below_remainder(crit)}


def _brackets(seed: int, name: str, label: str, data: tuple, Ks, draws: int) -> list[Bracket]:
    from theory import lyapunov

    ls, lr = data
    out = []
    for K in Ks:
        keep = np.isfinite(ls[:, K - 1])
        if keep.sum() < 8:
            continue
        # the Gaussians of rho are part of the data set (named like the ladder): shared by every claim
        g = torch.Generator().manual_seed(derive_seed(seed, "bracket:" + name, label, K))
        v, rho = lyapunov.offset_bracket(ls[keep], lr[keep], K, g, draws=draws)
        # the exact remainder from its definition, on its own stream (independent of rho's Gaussians)
        gr = torch.Generator().manual_seed(derive_seed(seed, "remainder:" + name, label, K))
        rem = lyapunov.remainder_mc(ls[keep], K, gr, draws=draws)
        mv, sv = stats.mean_se(v)
        mw, sw = stats.mean_se(v + rho)
        mu, su = stats.mean_se(v + rem)
        ms, ss = stats.mean_se(rho - rem)
        sk = float(skew(v + rem)) if np.ptp(v + rem) > 0 else 0.0
        out.append(Bracket(label, K, mv, sv, mw, sw, int(keep.sum()), mu, su, ms, ss, sk))
    return out


@lru_cache(maxsize=64)
def _ladder_brackets(seed, device, name, cfg, depths, batch, Ks, draws):
    lad = _ladder(seed, device, name, cfg, depths, batch)
    return {L: _brackets(seed, name, f"{cfg.label()}, L={L}", lad[L], Ks, draws) for L in depths}


@lru_cache(maxsize=64)
def _chain_brackets(seed, device, name, cfg, depths, batch, L, Ks, draws):
    return _brackets(seed, name, f"{cfg.label()}, L={L}", _chain(seed, device, name, cfg, depths, batch)[L], Ks, draws)


def ladder_brackets(ctx, name: str, cfg: Config, depths, batch: int, Ks, draws: int = 8) -> dict:
    """{L: [Bracket of d_K for K in Ks]} on :func:`ladder_cv`'s draws, using at each K the samples of rank >= K
    (for unconditioned gates, exactly the products whose every gate has rank >= K: a right-invariant
    (K, p, sigma)-product). Cached per process, like the ladder."""
    return _ladder_brackets(ctx.seed, ctx.device, name, cfg, tuple(int(L) for L in depths), int(batch),
                            tuple(int(K) for K in Ks), int(draws))


def chain_brackets(ctx, name: str, cfg: Config, depths, batch: int, L: int, Ks, draws: int = 8) -> list[Bracket]:
    """[Bracket of d_K for K in Ks] at depth L of :func:`chain`'s products (as :func:`ladder_brackets`)."""
    return _chain_brackets(ctx.seed, ctx.device, name, cfg, tuple(sorted(int(x) for x in depths)), int(batch), int(L),
                           tuple(int(K) for K in Ks), int(draws))


def cumulative(constant, K: int, n: int) -> float:
    """sum_{i<=K} constant(i, n): the prediction for d_K from a per-index first-order constant."""
    return float(sum(constant(i, n) for i in range(1, K + 1)))


def corrected_constant(i: int, n: int) -> float:
    """d_i - d_{i-1} (Lemma C.7 with u_L = E log||^i J_L||, consecutive i subtracted)."""
    from theory import lyapunov

    return lyapunov.d(i, n) - lyapunov.d(i - 1, n)


def printed_constant(i: int, n: int) -> float:
    """d_{i-1} - d_i, as printed in Theorem 5.3 and the figure captions."""
    return -corrected_constant(i, n)


def halved_constant(i: int, n: int) -> float:
    """Foil: (d_i - d_{i-1})/2."""
    return corrected_constant(i, n) / 2


def scaled_constant(i: int, n: int) -> float:
    """Nearest-slip foil: 1.5 (d_i - d_(i-1)) (a factor 1.5 on the constant, relative change 0.5)."""
    return 1.5 * corrected_constant(i, n)


def doubled_constant(i: int, n: int) -> float:
    """Foil: 2 (d_i - d_{i-1}) (e.g. d_i taken from E log det(Omega^{i,i})^2)."""
    return 2 * corrected_constant(i, n)


def bracket_counterexample(label: dict, b: Bracket, c: float, crit: float) -> dict:
    """A bracket violation as replayable data (see :func:`bracket_replay`)."""
    return {**label, "K": b.K, "v": b.v, "v_se": b.v_se, "w": b.w, "w_se": b.w_se, "u": b.u, "u_se": b.u_se,
            "point_crit": b.point_crit(crit), "crit": crit, "predicted": c, "upper_factor": UPPER_FACTOR}


def bracket_replay(cex: dict):
    """A stored violation: err > 0 when the predicted constant lies outside [v - t se, w + 2 t se] or
    |u - c| > t se_u (u = E (v + R), the exact point estimate)."""
    from checks import Comparison

    lo = cex["v"] - cex["crit"] * cex["v_se"]
    hi = cex["w"] + cex.get("upper_factor", UPPER_FACTOR) * cex["crit"] * cex["w_se"]
    err = max(lo - cex["predicted"], cex["predicted"] - hi)
    if "u" in cex and math.isfinite(cex["u"]):
        err = max(err, abs(cex["u"] - cex["predicted"]) - cex.get("point_crit", cex["crit"]) * cex["u_se"])
    return Comparison(err=err, tol=0.0, detail=dict(cex))


def decide(items, constant, crit: float, n_of=lambda label: None):
    """Bracket rows, powers, the worst violation and the resolution for ``items`` = [(label dict, n, Bracket)].

    ``constant(i, n)`` is the per-index first-order constant whose cumulative sum sum_{i<=K} constant(i, n) is
    tested against d_K (bracket and exact point estimate). The resolution is a relative change of the
    constants (a factor on all of them, as a derivation slip would make): per test
    ``(crit + z_0.9) se(v + R) / d_K``; the value reported is the worst (largest) over the tests, the best is
    in the evidence."""
    from theory import lyapunov

    rows, powers, worst, res = [], [], None, []
    for label, n, b in items:
        c = cumulative(constant, b.K, n)
        dk = lyapunov.d(b.K, n)
        row = {**label, **b.as_dict(c, crit), "exact d_K": dk}
        rows.append(row)
        powers.append(b.power(c, crit))
        gap = b.gap(c, crit)
        if worst is None or gap > worst[0]:
            worst = (gap, label, b, c)
        if dk > 0:
            res.append((b.resolution(crit) / dk, label, b.K))
    bad = [(r, it) for r, it in zip(rows, items) if it[2].violated(r["predicted d_K"], crit)]
    inconsistent = [r for r in rows if r["rho below the exact remainder"]]
    return rows, powers, worst, bad, inconsistent, res


def constant_resolution(res, what: str, nearest: float | None = None, statement: str = ""):
    """A :class:`checks.Resolution` (relative change of the first-order constants) from :func:`decide`'s list."""
    from checks import Resolution

    val, label, K = max(res, key=lambda t: t[0])
    best = min(res, key=lambda t: t[0])
    return Resolution(what, float(val), "relative",
                      f"computed: worst of {len(res)} two-sided point tests E(v + R) = d_K, (crit + Cornish-Fisher skewness term + "
                      f"z_0.9) x SE(v + R) / d_K "
                      f"(at {label}, K = {K}; the best test resolves {best[0]:.3g})", nearest, statement)
