"""Running a verify on a Dask cluster (``python -m checks verify --scheduler ADDRESS | local:N``).

Two levels of work become tasks:

- **claims**: one task per claim (its printed form, corrected form and foils), exactly
  :func:`checks.runner.run_claim`; a worker that dies mid-claim is replaced by Dask and the claim
  recomputed from scratch, which gives the same bytes;
- **batches inside a claim**: while a claim runs on a worker, :func:`theory.parallel.pmap` submits
  its independent batches (the product engine's chunks, and whatever else a claim maps) as tasks of
  their own, through ``distributed.worker_client``, so one long Monte-Carlo claim spreads over the
  cluster.

Every batch carries its own seed, derived from (global seed, claim, stream, batch index), so
``claims.json`` is byte-identical to a serial, ``--jobs N`` or ``pytest -n N`` run whatever the
number of workers — given the same environment on every worker, which :func:`connect` checks (Python,
package versions and the project's source digest, of the modules a worker has already imported where it
has: a mismatch is an error; other numeric kernels, a warning). Before that, :func:`probe` bounds the
connection and Dask's handshake in time, so an address that is not a Dask scheduler is a one-line error,
never a hang or a traceback. Each claim task returns the digests of the source its worker ran
(:func:`checks.runner.traced`), so the cache never stores a late worker's edit under the start's key.
"""

from __future__ import annotations

import hashlib
import sys
import time

from checks.model import ClaimError

# One claim task may retry this often after an *exception* (a dead worker is handled by Dask itself).
RETRIES = 1
# Seconds to reach a scheduler and complete Dask's handshake with it (distributed's own connect timeout
# covers the TCP connection but not the handshake read: a server that accepts and never answers hung
# `verify` for 12 min; one that answers HTTP made it allocate 3 EiB).
CONNECT_TIMEOUT = 10.0


def _fingerprint(ran: dict | None = None) -> dict:
    """What must match between the client and every worker for the bytes to match. ``ran``: on a worker,
    the digests of the project modules it has already imported (:func:`checks.sources.imported`): a
    long-lived worker runs those, whatever its files say now; the others are read from disk afresh."""
    import platform

    from checks import cache, provenance

    mods = sorted({m for root in ("theory", "checks") for m in _all_modules(root)})
    h = hashlib.sha256()
    for m in mods:
        if ran is None:
            digest = cache._file_digest(cache.module_path(m))
        elif m in ran:
            digest = ran[m] or "unknown"
        else:
            digest = hashlib.sha256(cache.module_path(m).read_bytes()).hexdigest()
        h.update(f"{m}\0{digest}\0".encode())
    return {"python": platform.python_version(), "packages": provenance.package_versions(),
            "source": h.hexdigest(), "kernels": provenance.numeric_kernels()}


def _all_modules(root: str) -> list[str]:
    from checks import cache

    base = cache.ROOT / root
    out = []
    for path in base.rglob("*.py"):
        rel = path.relative_to(cache.ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def _worker_fingerprint() -> dict:
    try:
        from checks import sources

        return _fingerprint(sources.imported())
    except Exception as exc:  # noqa: BLE001 - reported to the user as a mismatch
        return {"error": f"{type(exc).__name__}: {exc}"}


def _differences(mine: dict, theirs: dict) -> list[str]:
    if "error" in theirs:
        return [f"cannot load the project ({theirs['error']})"]
    out = []
    if mine["python"] != theirs["python"]:
        out.append(f"Python {theirs['python']} (here {mine['python']})")
    for name in sorted(set(mine["packages"]) | set(theirs["packages"])):
        a, b = mine["packages"].get(name), theirs["packages"].get(name)
        if a != b:
            out.append(f"{name} {b or 'missing'} (here {a or 'missing'})")
    if mine["source"] != theirs["source"]:
        out.append("a different checkout of the project (source digest differs)")
    return out


def _kernel_differences(mine: dict, theirs: dict) -> list[str]:
    """Numeric kernels that differ (provenance.numeric_kernels): not an error - the verdicts do not depend
    on them - but the last digits of claims.json may then differ from a run on this machine."""
    if "error" in theirs:
        return []
    return [f"{k} {theirs['kernels'].get(k)} (here {v})" for k, v in mine["kernels"].items()
            if theirs["kernels"].get(k) != v]


def probe(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``timeout`` seconds, in an event loop
    of our own that is torn down afterwards; anything else is a one-line ClaimError: unreachable (nothing
    listens, or no route), silent (accepts but never answers: not a Dask scheduler, or a hung one), or
    foreign (answers with something that is not Dask's protocol, e.g. an HTTP server)."""
    import asyncio

    from distributed.comm import connect as dask_connect

    async def handshake():
        # the TCP connection gets most of the time (distributed retries it until then; a refusal is
        # "cannot reach"), the handshake the rest
        comm = await dask_connect(address, timeout=0.6 * timeout)
        try:
            if not isinstance(comm.remote_info, dict) or "compression" not in comm.remote_info:
                raise ValueError("unexpected handshake")
        finally:
            comm.abort()

    where = f"--scheduler {address}"
    try:
        asyncio.run(asyncio.wait_for(handshake(), timeout))
    except (asyncio.TimeoutError, TimeoutError):
        raise ClaimError(f"{where}: connected, but no Dask handshake within {timeout:g} s (not a Dask "
                         "scheduler, or one that hangs)") from None
    except OSError as exc:  # refused, unreachable, timed out connecting, closed mid-handshake
        if "closed" in type(exc).__name__.lower() or "closed" in str(exc).lower():
            raise ClaimError(f"{where}: the server closed the connection during Dask's handshake (not a Dask "
                             "scheduler?)") from None
        raise ClaimError(f"{where}: cannot reach the Dask scheduler ({exc})") from None
    except ValueError as exc:
        if "address" in str(exc).lower() or "scheme" in str(exc).lower() or "unknown" in str(exc).lower():
            raise ClaimError(f"{where}: not a scheduler address ({exc})") from None
        raise ClaimError(f"{where}: does not answer like a Dask scheduler ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - e.g. MemoryError from a length read off an HTTP reply
        raise ClaimError(f"{where}: does not answer like a Dask scheduler ({type(exc).__name__})") from None


def close(client) -> None:
    """Close the client and, for ``local:N``, the cluster it started."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def connect(scheduler: str):
    """A ``distributed.Client`` for ``scheduler`` (an address, or ``local:N`` for a LocalCluster of N
    single-threaded worker processes), after checking every worker runs the same environment.
    Any failure is a one-line ClaimError."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClaimError("--scheduler needs dask.distributed: pip install 'deep-jacobian-claims[dask]' "
                         "(nox sessions install it from the lock)") from None
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ClaimError(f"--scheduler {scheduler}: expected local:N with N >= 1 worker processes")
        import logging

        logging.getLogger("distributed").setLevel(logging.ERROR)
        # preload: each worker process runs dask_setup below (ignore Ctrl-C) when it starts, restarts included
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, preload=[__name__])
        client = Client(cluster)
    else:
        probe(scheduler)  # bounded: a server that is not a Dask scheduler is an error within seconds
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT:g}s")
        except (OSError, TimeoutError) as exc:
            raise ClaimError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
        except ValueError as exc:
            raise ClaimError(f"--scheduler {scheduler}: not a scheduler address ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - anything else from a foreign server: one line
            raise ClaimError(f"--scheduler {scheduler}: does not answer like a Dask scheduler "
                             f"({type(exc).__name__})") from None
    try:
        client.wait_for_workers(1, timeout=60)
    except (OSError, TimeoutError):
        client.close()
        raise ClaimError(f"--scheduler {scheduler}: no worker joined within 60 s") from None
    mine = _fingerprint()
    theirs = client.run(_worker_fingerprint)
    bad = {w: d for w, fp in theirs.items() if (d := _differences(mine, fp))}
    if bad:
        client.close()
        w, d = next(iter(bad.items()))
        more = f" (and {len(bad) - 1} more worker(s))" if len(bad) > 1 else ""
        raise ClaimError(f"--scheduler {scheduler}: worker {w} lacks this project's environment: "
                         f"{'; '.join(d[:3])}{more}")
    odd = {w: d for w, fp in theirs.items() if (d := _kernel_differences(mine, fp))}
    if odd:
        w, d = next(iter(odd.items()))
        print(f"warning: {len(odd)} worker(s) use other numeric kernels than this machine (e.g. {w}: "
              f"{'; '.join(d)}): the verdicts are unaffected, but the last digits of claims.json may differ "
              "from a run here", file=sys.stderr)
    return client


def dask_setup(worker=None) -> None:
    """Dask preload hook, run in each worker process of a ``local:N`` cluster as it starts: ignore Ctrl-C, and
    keep shutdown logging of the worker's own clients off the terminal.
    A terminal sends SIGINT to the whole process group, workers included; each then printed its own
    tracebacks (78-93 lines, issue 18) while the client, which got it too, stops the cluster anyway."""
    import logging
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # When the client stops the cluster, a claim task's in-worker client (worker_client) loses its scheduler
    # and logs the closed comm (distributed.batched INFO, tornado.application ERROR with a traceback) into the
    # terminal after the one 'interrupted' line. Task failures reach the client as exceptions, not logs.
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # The same in-worker client, collected after the worker's event loop has closed, tries to close itself
    # from Client.__del__ and fails ("IOLoop is closed"); Python prints that through sys.unraisablehook, not
    # logging: 10 lines of traceback after Ctrl-C, depending on which of the two finishes first.
    sys.unraisablehook = _quiet_unraisable


def _quiet_unraisable(unraisable) -> None:
    """sys.unraisablehook of a local:N worker process: drop only Client.__del__'s 'IOLoop is closed' (the
    client of a task cut off by the cluster's shutdown, see dask_setup); pass anything else to Python's hook.
    It may run while the interpreter shuts down, so it imports nothing and matches the finaliser by name."""
    fn, exc = unraisable.object, unraisable.exc_value
    if (getattr(fn, "__qualname__", None) == "Client.__del__"
            and getattr(fn, "__module__", None) == "distributed.client"
            and isinstance(exc, RuntimeError) and "IOLoop is closed" in str(exc)):
        return
    sys.__unraisablehook__(unraisable)


def _dask_mapper(fn, items):
    """theory.parallel mapper inside a claim task: each batch becomes a task of the cluster."""
    from distributed import worker_client

    with worker_client(separate_thread=True) as client:
        futures = client.map(fn, items, pure=False, retries=RETRIES)
        return client.gather(futures)


def _claim_task(cid: str, seed: int, profile: str, device: str, n_statistical: int, data: dict):
    from checks import registry, runner
    from theory import parallel

    reg = registry.load()
    with parallel.using(_dask_mapper):
        return runner.traced(reg[cid], seed=seed, profile=profile, device=device,
                             n_statistical=n_statistical, data=data)


def run_many(client, reg, ids, *, seed: int, profile: str, device: str, data: dict | None = None,
             on_result=None, stream=None) -> dict:
    """Run ``ids`` as claim tasks on ``client``; progress (done / running / queued) on stderr."""
    from distributed import as_completed

    from checks.registry import n_statistical

    stream = stream or sys.stderr
    n_stat = n_statistical(reg)
    futures = {}
    for cid in ids:
        fut = client.submit(_claim_task, cid, seed, profile, device, n_stat, dict(data or {}), pure=False,
                            retries=RETRIES)
        futures[fut] = cid
    results = {}
    t0 = time.perf_counter()
    try:
        for k, fut in enumerate(as_completed(futures), 1):
            cid = futures[fut]
            res = fut.result()
            results[cid] = res
            if on_result:
                on_result(cid, res)
            claim_keys = {f.key for f in futures if futures[f] not in results}
            running = sum(1 for keys in client.processing().values() for key in keys if key in claim_keys)
            queued = len(ids) - k - running
            stream.write(f"[{k}/{len(ids)} done, {running} running, {queued} queued] {cid:<34} "
                         f"{res.record['status']:<14} {res.seconds:6.1f}s  ({time.perf_counter() - t0:.0f}s)\n")
            stream.flush()
    except BaseException:
        client.cancel(list(futures))
        raise
    return {cid: results[cid] for cid in ids}
