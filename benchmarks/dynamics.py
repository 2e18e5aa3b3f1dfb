"""Time of the FGLN / dynamics section's claims (Sections 1, 4, 7, 8-trained, Appendices A, E, G.1) and
training throughput on this CPU.

* Per-claim wall time of every claim declared in ``theory.claims.{sec4, sec7, app_a, app_e, fig_training}``
  at the quick profile (``quick=True``) or the full profile (``quick=False``), single-threaded as the
  runner runs them, in one process (so the G.1 training runs are shared through the module cache).
* GD throughput (steps/s) at the G.1 sizes with the spectrum recorded every 10 steps and every step,
  and the gradient-flow right-hand side rate of ``theory.dynamics.gradient_flow``.
"""

from __future__ import annotations

import importlib
import time

MODULES = ("sec4", "sec7", "app_a", "app_e", "fig_training")


# the ids this section declares (exact ids, or prefixes ending in '/' or '.')
PREFIXES = ("def-4.", "rem-4.", "prop-4.5/", "lem-a.1", "lem-e.", "prop-7.1", "rem-7.2", "fig-1", "fig-7",
            "fig-8", "fig-4/trained", "fig-5/trained", "fig-4/trained-synthetic", "fig-5/trained-synthetic")


def _mine(cid: str) -> bool:
    for p in PREFIXES:
        if cid == p or cid.startswith(p + "/") or (p.endswith((".", "/")) and cid.startswith(p)):
            return True
    return False


def _claim_times(profile: str):
    from checks import runner
    from checks.model import REGISTRY

    for m in MODULES:
        importlib.import_module(f"theory.claims.{m}")
    rows = []
    for cid in sorted(c for c in REGISTRY if _mine(c)):
        t0 = time.perf_counter()
        res = runner.run_claim(REGISTRY[cid], seed=0, profile=profile, device="cpu", n_statistical=100)
        rows.append((cid, res.record["status"], time.perf_counter() - t0))
    return rows


def _throughput():
    import numpy as np
    import torch

    from theory import dynamics, fgln

    rng = np.random.default_rng(0)
    gen = torch.Generator()
    gen.manual_seed(0)
    task = dynamics.synthetic_task(64, 1000, 10, rng)
    Ws, ds = dynamics.init_masked(64, 10, 0.5, 1 / 8, gen)
    out = []
    for every, steps in ((10, 1000), (1, 400)):
        t0 = time.perf_counter()
        dynamics.train_gd(Ws, ds, task, lr=0.05, steps=steps, record_every=every)
        dt = time.perf_counter() - t0
        out.append((f"GD, n=64, L=10, spectrum every {every} step(s)", steps / dt, "steps/s"))
    ns = [6, 6, 6, 6, 6]
    d = [np.ones(6)] * 3
    W = fgln.balanced_masked_init(ns, d, [1.0, 0.8], rng)
    t0 = time.perf_counter()
    fl = dynamics.gradient_flow(W, d, dynamics.quadratic_target(rng.standard_normal((6, 6))), [0.0, 1.0])
    dt = time.perf_counter() - t0
    out.append(("gradient flow DOP853 rtol 1e-10, n=6, L=4, t in [0,1]", fl.nfev / dt, "RHS evals/s"))
    return out


def run(quick: bool) -> str:
    profile = "quick" if quick else "full"
    t0 = time.perf_counter()
    rows = _claim_times(profile)
    total = time.perf_counter() - t0
    thr = _throughput()
    lines = [f"## FGLN dynamics (Sections 1, 4, 7, 8-trained; Appendices A, E, G.1) — {profile} profile", "",
             f"All {len(rows)} claims of this section, one process, single-threaded: **{total:.1f} s**.", "",
             "| claim | status | seconds |", "|---|---|---|"]
    lines += [f"| {cid} | {st} | {sec:.1f} |" for cid, st, sec in sorted(rows, key=lambda r: -r[2])]
    lines += ["", "| throughput | rate |", "|---|---|"]
    lines += [f"| {name} | {rate:.0f} {unit} |" for name, rate, unit in thr]
    return "\n".join(lines) + "\n"
