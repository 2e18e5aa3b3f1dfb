"""Samplers for the random layers of Section 5 (Definitions 5.1 and 5.2), batched, in torch.

All samplers take an explicit ``torch.Generator`` (derive it from the claim's context) and return
float64 tensors on the generator's device, with a leading batch dimension.
"""

from __future__ import annotations

import torch


def _check_n(n: int) -> None:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")


def _check_p(p: float) -> None:
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must lie in (0, 1], got {p!r}")


def _check_sigma(sigma: float) -> None:
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")


def _check_r(r: int, n: int) -> None:
    if not isinstance(r, int) or not 1 <= r <= n:
        raise ValueError(f"r must be an integer in [1, n={n}], got {r!r}")


def _check_batch(batch: int) -> None:
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")


def ginibre(batch: int, n: int, sigma: float, gen: torch.Generator, m: int | None = None) -> torch.Tensor:
    """(batch, n, m) i.i.d. N(0, sigma^2) entries: sigma-Ginibre matrices (Definition 5.1)."""
    _check_batch(batch), _check_n(n), _check_sigma(sigma)
    m = n if m is None else m
    _check_n(m)
    return sigma * torch.randn(batch, n, m, generator=gen, device=gen.device, dtype=torch.float64)


def p_gate(batch: int, n: int, p: float, gen: torch.Generator) -> torch.Tensor:
    """(batch, n) diagonals of p-gates: i.i.d. Bernoulli(p) entries in {0., 1.} (Definition 5.1)."""
    _check_batch(batch), _check_n(n), _check_p(p)
    return (torch.rand(batch, n, generator=gen, device=gen.device, dtype=torch.float64) < p).to(torch.float64)


def rp_gate(batch: int, n: int, r: int, p: float, gen: torch.Generator,
            max_rounds: int = 10_000) -> torch.Tensor:
    """(batch, n) diagonals of (r, p)-gates: p-gates conditioned on rank >= r (Definition 5.2).

    Uses the paper's rejection procedure: draw p-gates and keep, per batch entry, the first one whose
    rank is at least r. Raises if ``max_rounds`` rounds do not fill the batch (P(rank >= r) tiny).
    """
    _check_batch(batch), _check_n(n), _check_r(r, n), _check_p(p)
    out = torch.empty(batch, n, dtype=torch.float64, device=gen.device)
    todo = torch.arange(batch, device=gen.device)
    for _ in range(max_rounds):
        d = p_gate(todo.numel(), n, p, gen)
        ok = d.sum(dim=1) >= r
        out[todo[ok]] = d[ok]
        todo = todo[~ok]
        if todo.numel() == 0:
            return out
    raise RuntimeError(f"rp_gate: P(rank >= {r}) under Bernoulli({p})^{n} is too small to sample "
                       f"by rejection in {max_rounds} rounds")


def layer(batch: int, n: int, r: int, p: float, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """(batch, n, n) (r, p, sigma)-layers M = D W (Definition 5.2), D and W independent."""
    d = rp_gate(batch, n, r, p, gen) if p < 1 else torch.ones(batch, n, dtype=torch.float64, device=gen.device)
    return d.unsqueeze(-1) * ginibre(batch, n, sigma, gen)


def masked_layer(batch: int, n: int, p: float, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """(batch, n, n) layers D W with *unconditioned* p-gates (the setting of Section 8)."""
    return p_gate(batch, n, p, gen).unsqueeze(-1) * ginibre(batch, n, sigma, gen)
