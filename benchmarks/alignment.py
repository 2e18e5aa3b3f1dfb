"""Time to regenerate the alignment figure set (Figures 5, 6, 10-12) at initialisation on this CPU.

Each figure panel is a batch of products (``theory.alignment.fgln_products``) followed by batched float64
SVDs and diagonal correlations (``alignment_profiles``); we time both stages per panel, at the sample
counts of the claims' quick and full profiles.
"""

from __future__ import annotations

import math
import time


def _panel(p, n, L, samples, reading="fgln"):
    import torch

    from theory import alignment as al

    g = torch.Generator()
    g.manual_seed(0)
    t0 = time.perf_counter()
    J, A = al.fgln_products(g, samples, n, p, L, 1 / math.sqrt(n), reading)
    t1 = time.perf_counter()
    al.alignment_profiles(J, A)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def run(quick: bool) -> str:
    s64, s128, s5 = (40, 20, 16) if quick else (200, 120, 200)
    panels = [("Fig. 5 (init)", 0.5, 128, 10, s5, "fgln"), ("Fig. 5 (init), masked reading", 0.5, 128, 10, s5, "masked")]
    panels += [(f"Figs. 10-12 p={p} n={n}", p, n, 20, s64 if n == 64 else s128, "fgln")
               for p, n in [(0.5, 64), (1.0, 64), (0.5, 128), (1.0, 128)]]
    panels += [(f"Fig. 6 L={L}", 1.0, 128, L, s5, "masked") for L in (2, 10, 20)]
    import torch

    rows, total = [], 0.0
    threads = torch.get_num_threads()
    # single-threaded, as the claims run (batched LAPACK SVDs of 128 x 128 matrices gain little from
    # threads and lose a lot under oversubscription); one panel is repeated with all threads below.
    torch.set_num_threads(1)
    for name, p, n, L, S, rd in panels:
        tp, ts = _panel(p, n, L, S, rd)
        total += tp + ts
        rows.append(f"| {name} | {n} | {L} | {S} | {tp:.2f} | {ts:.2f} | {S * (L - 1) / max(ts, 1e-9):.0f} |")
    torch.set_num_threads(threads)
    tp, ts = _panel(1.0, 128, 20, s128)
    rows.append(f"| Figs. 10-12 p=1.0 n=128, {threads} threads | 128 | 20 | {s128} | {tp:.2f} | {ts:.2f} | "
                f"{s128 * 19 / max(ts, 1e-9):.0f} |")
    head = [
        "## Alignment figures (Figures 5, 6, 10-12)", "",
        f"Profile: {'quick' if quick else 'full'} sample counts. Products and SVDs in float64 torch on CPU, "
        "single-threaded (the claims' setting) except the last row. Total = sum of the single-threaded rows.", "",
        "| panel | n | L | draws | products (s) | SVD + rho (s) | matrices / s |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows + ["", f"Total for the figure set (single-threaded): **{total:.1f} s**."])
