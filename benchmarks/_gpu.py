"""GPU run (issue 12 section 4): the Monte-Carlo claims on CUDA, compared with the committed CPU report,
and the product engine timed against the device's own fp64 GEMM throughput, into ``reports/gpu.md``.

    PYTHONPATH=. python -m benchmarks._gpu                      # on a CUDA machine (full profile)
    python -m benchmarks._gpu --device cpu --profile quick --only def-5.1 rem-5.4   # a dry run here

Not part of ``nox -s bench`` (the leading underscore keeps it out of discovery): it is meant for a
machine with a GPU, which CI never has. Verdicts must agree with the CPU report (same seed and profile;
the GPU draws different random numbers only where a claim draws on the device, so agreement is of
verdicts, not of bytes). Timings are wall-clock on the device, synchronised.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def gemm_gflops(device: str, n: int = 4096, reps: int = 5) -> float:
    """Sustained fp64 matmul throughput of the device (GFLOP/s), best of ``reps``."""
    a = torch.randn(n, n, dtype=torch.float64, device=device)
    b = torch.randn(n, n, dtype=torch.float64, device=device)
    a @ b
    _sync(device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def engine_rate(device: str, *, n: int, L: int, batch: int, p: float) -> tuple[float, float]:
    """(samples/s, GFLOP/s counted as the layer matmuls alone: 2 n^3 per layer and sample)."""
    from theory import products

    def once():
        g = torch.Generator(device=device).manual_seed(0)
        products.log_svals(n=n, depths=[L], batch=batch, p=p, sigma=n ** -0.5, gen=g, conditioned=False,
                           chunk=batch)
        _sync(device)

    once()  # warm-up (kernels, allocator)
    t0 = time.perf_counter()
    once()
    t = time.perf_counter() - t0
    return batch / t, 2 * n ** 3 * L * batch / t / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks._gpu", description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--only", nargs="+", help="claims to run (default: every statistical claim)")
    ap.add_argument("--reference", default=str(ROOT / "reports" / "claims.json"),
                    help="the CPU report to compare with")
    ap.add_argument("--out", default=str(ROOT / "reports" / "gpu.md"))
    args = ap.parse_args(argv)
    from checks import registry, runner

    device = runner.resolve_device(args.device)
    runner.pin_threads()
    reg = registry.load()
    ids = registry.select(reg, args.only) if args.only else [c for c, cl in reg.items() if cl.is_statistical]
    ref = {c["id"]: c for c in json.loads(Path(args.reference).read_text())["claims"]}
    t0 = time.perf_counter()
    results = runner.run_many(reg, ids, seed=0, profile=args.profile, device=device, jobs=1,
                              progress=runner.progress_printer())
    wall = time.perf_counter() - t0
    rows, agree = [], 0
    for cid in ids:
        rec = results[cid].record
        mine = (rec["status"], (rec.get("corrected") or {}).get("status"))
        theirs = (ref.get(cid, {}).get("status"), (ref.get(cid, {}).get("corrected") or {}).get("status"))
        same = mine == theirs
        agree += same
        rows.append(f"| `{cid}` | {mine[0]}{' / ' + mine[1] if mine[1] else ''} | "
                    f"{theirs[0]}{' / ' + theirs[1] if theirs[1] else ''} | {'yes' if same else '**no**'} | "
                    f"{results[cid].seconds:.1f} |")
    name = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or platform.machine()
    peak = gemm_gflops(device)
    eng = [(p, *engine_rate(device, n=128, L=100, batch=256, p=p)) for p in (1.0, 0.5)]
    lines = [
        "# GPU run", "",
        f"Device: **{name}** ({device}); torch {torch.__version__}; {time.strftime('%Y-%m-%d %H:%M')}; "
        f"profile {args.profile}, seed 0; {len(ids)} claims in {wall / 60:.1f} min.", "",
        f"## Verdicts vs the CPU report ({agree} of {len(ids)} agree)", "",
        "| claim | this device (printed / corrected) | CPU report | agree | seconds |", "|---|---|---|---|---|",
        *rows, "",
        "## Product engine vs the device's fp64 GEMM", "",
        f"fp64 GEMM (4096 x 4096, best of 5): **{peak:.0f} GFLOP/s**.", "",
        "| p | samples / s (n = 128, L = 100, batch 256) | layer-matmul GFLOP/s | share of GEMM peak |",
        "|---|---|---|---|",
        *[f"| {p} | {s:.0f} | {g:.1f} | {g / peak:.1%} |" for p, s, g in eng], "",
        "The share counts only the 2 n^3 flops of each layer product; the engine also factors every "
        "2-layer block (QR) and runs the final Jacobi SVD on the CPU, so it cannot reach the GEMM peak.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}: {agree}/{len(ids)} verdicts agree", file=sys.stderr)
    return 0 if agree == len(ids) else 1


if __name__ == "__main__":
    raise SystemExit(main())
