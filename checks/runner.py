"""Running claims: one claim to one JSON-able result, serially or in worker processes.

Reproducibility: each claim runs single-threaded (torch and BLAS), with every random stream derived
from (seed, claim id), so a claim's result does not depend on which process runs it or in what
order — serial, ``--jobs N`` and ``pytest -n N`` runs give byte-identical ``claims.json``.
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context

from checks import serialize
from checks.model import (PROFILES, RESOLUTION_POWER, Claim, ClaimError, Context, Foil, Kind, Knob, Outcome,
                          Resolution, Status)


def pin_threads() -> None:
    """One thread per process for torch and BLAS: determinism, and no oversubscription.

    Multi-threaded BLAS may split a product differently from a single-threaded one, which changes
    rounding-level digits (and with them which generated case is the "worst"). The environment
    variables cover libraries loaded from now on; threadpoolctl re-limits those already loaded
    (numpy's OpenBLAS is often loaded before any of our code runs, e.g. under pytest).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when available else 'cpu'; 'cuda' without CUDA is a ClaimError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ClaimError("--device cuda requested but no CUDA device is available")
    if device not in ("cpu", "cuda"):
        raise ClaimError(f"unknown device {device!r} (choose auto, cpu or cuda)")
    return device


@dataclass
class Result:
    """A claim's verdict and evidence (``record`` goes into claims.json) plus rendered plots."""

    record: dict
    # name -> PNG bytes
    plots: dict = field(default_factory=dict)
    seconds: float = 0.0
    # module -> sha256 of the source the computing process imported (checks.sources.imported), so the cache
    # stores the result only under the key of that source; None for a result read from the cache
    sources: dict | None = field(default=None, compare=False)


def _render(figures: dict, prefix: str) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        out[f"{prefix}{name}"] = buf.getvalue()
    return out


def _execute(check, ctx: Context) -> Outcome:
    try:
        out = check(ctx)
        if not isinstance(out, Outcome):
            raise TypeError(f"check returned {type(out).__name__}, expected Outcome")
        return out
    except Exception as exc:
        tb = "".join(traceback.format_exception(exc))
        return Outcome(Status.ERROR, f"check crashed: {type(exc).__name__}: {exc}"[:200],
                       evidence={"traceback": tb})


def _outcome_record(out: Outcome) -> dict:
    return {
        "status": out.status.value,
        "summary": out.summary,
        "method": out.method,
        "evidence": serialize.encode(out.evidence),
        "counterexample": serialize.encode(out.counterexample),
        "plots": sorted(out.figures),
    }


def _close(figures: dict) -> None:
    if figures:
        import matplotlib.pyplot as plt

        for fig in figures.values():
            plt.close(fig)


def _scan(knob: Knob, ctx: Context) -> Resolution:
    """The smallest deviation ``knob.nearest_slip * 2**-k`` (k = 0..steps) that the check rejects on
    every side; ``inf`` on a side where even the nearest slip passes (the check is not sharp)."""
    worst, tried = 0.0, []
    for side in knob.sides:
        smallest = math.inf
        for k in range(knob.steps + 1):
            delta = knob.nearest_slip * 2.0 ** -k
            fout = _execute(knob.variant(side * delta), ctx)
            _close(fout.figures)
            rejected = fout.status is Status.REFUTED
            tried.append(f"{side * delta:+.4g}:{'rejected' if rejected else 'passed'}")
            if not rejected:
                break
            smallest = delta
        worst = max(worst, smallest)
    return Resolution(knob.quantity, worst, knob.unit,
                      f"scan over the {knob.unit} deviation (nearest slip x 2^-k): " + ", ".join(tried),
                      knob.nearest_slip, knob.nearest_slip_statement)


def _resolution(out: Outcome, foils: tuple[Foil, ...], records: list[dict], knob: Knob | None,
                kind: Kind | None, ctx: Context) -> Resolution | None:
    """A passing form's resolution: the check's own, else its knob scan, else its rejected nearest
    foil's size (a discrete slip: index, r, count; or a deterministic check, which rejects anything
    beyond its tolerance); symbolic proofs are exact. The nearest slip is the form's nearest foil's
    size where the resolution does not name one."""
    nearest = [(f, r) for f, r in zip(foils, records) if f.nearest and f.size is not None]
    res = out.resolution
    if res is None and knob is not None:
        res = _scan(knob, ctx)
    if res is None and kind is Kind.SYMBOLIC:
        res = Resolution("the symbolic identity", 0.0, "exact",
                         "proved symbolically (sympy): every deviation from the statement is rejected")
    if res is None and nearest:
        f, r = min(nearest, key=lambda fr: fr[0].size)
        power = r.get("power")
        if r["status"] == "refuted" and (power is None or power >= RESOLUTION_POWER):
            res = Resolution(f.kind or "the statement", float(f.size), f.unit or "slip",
                             f"the nearest-slip foil '{f.statement.strip()[:80]}' is rejected "
                             + ("by the deterministic check (a discrete slip: nothing nearer exists in this unit)"
                                if power is None else f"with power {power:.3g} >= {RESOLUTION_POWER}"))
        elif r["status"] == "refuted":
            # A statistical foil rejected on these draws, but with power below the bar: this budget does
            # not resolve the slip reliably, so the pass is not sharp.
            res = Resolution(f.kind or "the statement", math.inf, f.unit or "slip",
                             f"the nearest-slip foil '{f.statement.strip()[:80]}' was rejected, but with power "
                             f"{power:.3g} < {RESOLUTION_POWER}: not resolved reliably at this budget")
    if res is not None and res.nearest_slip is None and nearest:
        same = [f for f, _ in nearest if not f.unit or f.unit == res.unit] or [f for f, _ in nearest]
        f = min(same, key=lambda f: f.size)
        res = replace(res, nearest_slip=float(f.size), nearest_slip_statement=f.statement.strip())
    return res


def _run_form(check, foils: tuple[Foil, ...], ctx: Context, *, knob: Knob | None = None,
              kind: Kind | None = None) -> tuple[Outcome, dict]:
    """Run a form's check, then (if it passes) each of its foils under the same context, and state its
    resolution (see :func:`_resolution`).

    Returns the outcome, possibly downgraded to ``inconclusive`` when a foil is not rejected or the
    resolution is coarser than the nearest slip, and the fields that go beside it in the record:
    ``check_status`` (the check's own verdict), ``foils`` and ``resolution``.
    """
    out = _execute(check, ctx)
    records = []
    for foil in foils:
        if not out.status.passing:
            records.append({"statement": foil.statement.strip(), "kind": foil.kind, "status": "not-run",
                            "summary": f"not run: the form it foils is {out.status.value}", "power": None,
                            "evidence": {}, "nearest": foil.nearest})
            continue
        fout = _execute(foil.check, ctx)
        _close(fout.figures)
        records.append({"statement": foil.statement.strip(), "kind": foil.kind, "status": fout.status.value,
                        "summary": fout.summary, "power": None if fout.power is None else float(fout.power),
                        "evidence": serialize.encode(fout.evidence), "nearest": foil.nearest})
    res = _resolution(out, foils, records, knob, kind, ctx) if out.status.passing else None
    extra = {"check_status": out.status.value, "foils": records,
             "resolution": None if res is None else res.as_dict()}
    weak = [f for f in records if f["status"] not in ("refuted", "not-run")]
    if weak:
        names = "; ".join(f"'{f['statement'][:80]}' ({f['status']})" for f in weak)
        out = replace(out, status=Status.INCONCLUSIVE,
                      summary=f"weak check: {len(weak)} of {len(records)} foil(s) not rejected: {names}. "
                              f"The check alone gave {out.status.value}: {out.summary}")
    elif res is not None and extra["resolution"]["sharp"] is False:
        out = replace(out, status=Status.INCONCLUSIVE,
                      summary=f"not sharp: resolution {res.value:.3g} {res.unit} of {res.quantity} is coarser "
                              f"than the nearest slip {res.nearest_slip:.3g} ({res.nearest_slip_statement[:80]}). "
                              f"The check alone gave {out.status.value}: {out.summary}")
    return out, extra


def run_claim(c: Claim, *, seed: int, profile: str, device: str, n_statistical: int,
              data: dict | None = None) -> Result:
    """Run one claim (its printed form, its corrected form if any, and their foils)."""
    pin_threads()
    t0 = time.perf_counter()
    data = dict(data or {})
    cache: dict = {}  # shared by each form and its foils (Context.memo), dropped after the claim

    def context(cid: str) -> Context:
        return Context(cid, seed=seed, profile=PROFILES[profile], device=device,
                       n_statistical=n_statistical, data=data, cache=cache)

    out, extra = _run_form(c.check, c.foils, context(c.id), knob=c.knob, kind=c.kind)
    refuted = out.status is Status.REFUTED
    record = {
        "id": c.id,
        "ref": c.ref,
        "section": c.section,
        "kind": c.kind.value,
        "statement": c.statement.strip(),
        "reading": c.reading.strip(),
        "hypotheses": list(c.hypotheses),
        "exercises": c.exercises.strip(),
        "depends_on": list(c.depends_on),
        "proof_conditions": list(c.proof_conditions),
        **_outcome_record(out),
        **extra,
        # How much a refutation matters; null unless the printed form is refuted.
        "severity": c.severity.value if refuted and c.severity is not None else None,
        "severity_note": c.severity_note.strip() if refuted else "",
        "corrected": None,
    }
    plots = _render(out.figures, "")
    if c.corrected is not None:
        cout, cextra = _run_form(c.corrected.check, c.corrected.foils, context(c.id + "#corrected"),
                                 knob=c.corrected.knob, kind=c.kind)
        record["corrected"] = {
            "statement": c.corrected.statement.strip(),
            "reading": c.corrected.reading.strip(),
            "derivation": c.corrected.derivation.strip(),
            **_outcome_record(cout),
            **cextra,
        }
        plots.update(_render(cout.figures, "corrected-"))
    return Result(record, plots, time.perf_counter() - t0)


def traced(c: Claim, **kwargs) -> Result:
    """:func:`run_claim`, with the digests of the project sources this process ran attached."""
    from checks import sources

    res = run_claim(c, **kwargs)
    res.sources = sources.imported()
    return res


def _worker(args) -> Result:
    cid, seed, profile, device, n_stat, data = args
    from checks import registry

    reg = registry.load()
    return traced(reg[cid], seed=seed, profile=profile, device=device, n_statistical=n_stat, data=data)


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def worker_init(parent: int) -> None:
    """In each worker process: ignore Ctrl-C (the parent stops the workers, so a Ctrl-C to the whole
    process group does not make each worker print a traceback and carry on with the next claim), and
    exit as soon as the parent is gone (SIGKILL'd, crashed), instead of running orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # Linux: the kernel kills us when the parent dies
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued claims and terminate running workers now (not after the queue drains)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 5
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()


def run_many(reg: dict[str, Claim], ids: list[str], *, seed: int, profile: str, device: str,
             jobs: int = 1, progress=None, data: dict | None = None, on_result=None) -> dict[str, Result]:
    """Run ``ids``; ``progress(done, total, cid, result)`` is called as each starts (result None) and
    finishes; ``on_result(cid, result)`` as each finishes (e.g. to cache it at once).

    Ctrl-C (KeyboardInterrupt) or any error stops the run within seconds: queued claims are cancelled
    and worker processes terminated before the exception propagates.
    """
    from checks.registry import n_statistical

    if profile not in PROFILES:
        raise ClaimError(f"unknown profile {profile!r} (choose {', '.join(PROFILES)})")
    n_stat = n_statistical(reg)
    results: dict[str, Result] = {}

    def done(k, cid, res):
        results[cid] = res
        if on_result:
            on_result(cid, res)
        if progress:
            progress(k, len(ids), cid, res)

    if jobs <= 1 or len(ids) <= 1:
        for k, cid in enumerate(ids, 1):
            if progress:
                progress(k - 1, len(ids), cid, None)
            done(k, cid, traced(reg[cid], seed=seed, profile=profile, device=device,
                                n_statistical=n_stat, data=data))
        return results
    # 'spawn': workers do not inherit torch/BLAS thread pools from the parent.
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(ids)), mp_context=get_context("spawn"),
                               initializer=worker_init, initargs=(os.getpid(),))
    try:
        futs = {pool.submit(_worker, (cid, seed, profile, device, n_stat, data)): cid for cid in ids}
        for k, fut in enumerate(as_completed(futs), 1):
            done(k, futs[fut], fut.result())
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return {cid: results[cid] for cid in ids}


def progress_printer(stream=None):
    """A progress line on stderr: rewritten in place on a terminal, one line per claim otherwise."""
    stream = stream or sys.stderr
    tty = stream.isatty()

    def show(done: int, total: int, cid: str, result: Result | None) -> None:
        width = 24
        bar = "#" * (width * done // max(total, 1))
        if result is None:
            if tty:
                stream.write(f"\r[{bar:<{width}}] {done}/{total} running {cid:<40}")
                stream.flush()
            return
        status = result.record["status"]
        line = f"[{bar:<{width}}] {done}/{total} {cid:<34} {status:<14} {result.seconds:6.1f}s"
        stream.write(("\r" + line + "\n") if tty else (line + "\n"))
        stream.flush()

    return show
