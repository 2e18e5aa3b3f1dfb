"""Shared Monte-Carlo depth ladders for the Section 5 / Appendix C / depth-figure claims.

Several claims read the same ladder (Theorem 5.3's limit, its correction, the ordering, Corollary
5.6, the universality of d_i). The ladder is drawn from a stream named after the *data set* (global
seed, ``"shared:<name>"``, config), not after the claim that happens to run first, so every claim
sees the same numbers in any order or process; within one process the result is cached.

Each depth of a ladder uses its own independent stream, so the per-depth means are independent
and :func:`checks.stats.fit_ladder` (which assumes independent errors) applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from checks import stats
from checks.model import derive_seed


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


@lru_cache(maxsize=64)
def _ladder(seed: int, device: str, name: str, cfg: Config, depths: tuple, batch: int) -> dict:
    from theory import products

    out = {}
    for L in depths:
        g = _gen(derive_seed(seed, "shared:" + name, cfg.label(), L), device)
        ls = products.log_svals(n=cfg.n, depths=[L], batch=batch, p=cfg.p, sigma=cfg.sigma, gen=g,
                                r=cfg.r if cfg.conditioned else None, conditioned=cfg.conditioned)
        out[L] = ls[0].cpu().numpy()  # (batch, n)
    return out


def ladder(ctx, name: str, cfg: Config, depths, batch: int) -> dict:
    """{L: (batch, n) array of log singular values of J_L}, independent across L."""
    return _ladder(ctx.seed, ctx.device, name, cfg, tuple(int(L) for L in depths), int(batch))


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
