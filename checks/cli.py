"""Command line: ``python -m checks verify|list|show|replay|report``.

Bad input (unknown id, profile or device, unusable --out, bad MNIST files...) gets a one-line error
and exit code 2; an I/O error while writing (full disk) one line and exit code 1. ``verify`` holds a
lock on ``--out`` for the whole run (a second run into the same report fails at once, exit 2) and
commits the new report by one replace of ``claims.json``; every other file is rendered from it, and
an interrupted write is finished by the next command of any kind (``report`` re-renders on demand).
Ctrl-C stops the workers within seconds (exit 130; SIGTERM: 143), and the message says whether the
new report was installed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from checks.model import PROFILES, ClaimError

DEFAULT_OUT = "reports"
EXIT_USAGE = 2


class UsageError(Exception):
    """A user mistake: printed as one line, exit code 2."""


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that workers are stopped and locks released."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m checks", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    v = sub.add_parser("verify", help="run claims and write the reports")
    v.add_argument("--profile", default="quick", help=f"cost level: {', '.join(PROFILES)} (default quick)")
    v.add_argument("--only", nargs="+", metavar="ID_OR_PREFIX",
                   help="run only these claims: an exact id selects that claim alone, PREFIX* or a non-id "
                        "prefix selects every id starting with it; merges into a compatible report")
    v.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    v.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    v.add_argument("--out", default=DEFAULT_OUT, help=f"report directory (default {DEFAULT_OUT}/)")
    v.add_argument("--jobs", type=int, default=None,
                   help="worker processes, one thread each (default and maximum: the number of CPUs on cpu; "
                        "1 on cuda)")
    v.add_argument("--mnist-root", metavar="PATH",
                   help="local MNIST in torchvision's layout (never downloaded); without it MNIST claims "
                        "are not-executable")
    v.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster (tcp://host:8786), or local:N for a local cluster of N worker "
                        "processes; without it the run is local (--jobs)")
    v.add_argument("--no-cache", action="store_true", help="recompute every claim (the cache is still refreshed)")
    v.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="result cache (default .cache/verify, or $CLAIMS_CACHE_DIR)")

    for name, text in (("list", "ids, kinds and the last verdicts"),
                       ("show", "statement, reading, evidence, foils and counterexample of one claim"),
                       ("replay", "re-run a stored counterexample and print the failing comparison"),
                       ("report", "re-render CLAIMS.md, the claim pages, timing.json and provenance.json "
                                  "from claims.json")):
        sp = sub.add_parser(name, help=text)
        if name in ("show", "replay"):
            sp.add_argument("id")
        sp.add_argument("--out", default=DEFAULT_OUT, help=f"report directory to read (default {DEFAULT_OUT}/)")
    return p


def _report_dir(out: str, reg: dict | None = None) -> Path:
    """--out of a reading command: must be an existing directory (a typo is an error, not 'unchecked').
    An interrupted write there is finished first (by re-rendering from claims.json)."""
    from checks import report

    path = Path(out)
    if reg is not None:
        report.repair_for_reading(path, reg)
    if not path.exists():
        raise UsageError(f"--out {out}: no such directory (no report there; run verify first)")
    if not path.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    return path


def _resolve_one(reg: dict, cid: str) -> str:
    from checks.registry import select

    if cid in reg:
        return cid
    hits = select(reg, [cid])  # raises ClaimError with suggestions when nothing matches
    if len(hits) > 1:
        raise UsageError(f"{cid!r} matches {len(hits)} claims ({', '.join(hits[:5])}...); give a full id")
    return hits[0]


def _mnist(root: str) -> dict:
    """Validate a user's MNIST copy up front: a bad file is bad input (exit 2), not a claim error."""
    path = Path(root)
    if not path.is_dir():
        raise UsageError(f"--mnist-root {root}: not a directory")
    from theory import dynamics

    validate = getattr(dynamics, "validate_mnist", None)
    if validate is not None:
        try:
            validate(path)
        except ValueError as exc:
            raise UsageError(f"--mnist-root {root}: {exc}") from None
    return {"mnist": str(path.resolve())}


def _jobs(requested: int | None, device: str) -> int:
    cores = os.cpu_count() or 1
    if requested is None:
        # One process owns the GPU; on CPU, one single-threaded process per core.
        return 1 if device == "cuda" else cores
    if requested < 1:
        raise UsageError(f"--jobs must be >= 1, got {requested}")
    if requested > cores:
        print(f"note: --jobs {requested} capped at the {cores} CPU core(s) of this machine", file=sys.stderr)
        return cores
    return requested


def _cached_run(reg, ids, args, device, jobs, data, cache_dir, client=None):
    """Run ``ids``, taking each result from the cache when its inputs are unchanged and storing each
    fresh result as soon as it is computed (an interrupted run keeps what it finished)."""
    from checks import cache as cache_mod
    from checks import registry, runner

    n_stat = registry.n_statistical(reg)
    store = cache_mod.ResultCache(cache_dir)
    keys = {cid: cache_mod.key(reg[cid], seed=args.seed, profile=args.profile, device=device,
                               n_statistical=n_stat, data=data) for cid in ids}
    expected = {cid: cache_mod.sources(reg[cid]) for cid in ids}  # the source each key was computed from
    hits = {} if args.no_cache else {cid: r for cid in ids if (r := store.get(keys[cid], cid)) is not None}
    todo = [cid for cid in ids if cid not in hits]
    if store.rejected:
        print(cache_mod.rejected_notice(store.rejected), file=sys.stderr)
    if hits:
        print(f"{len(hits)} of {len(ids)} claim(s) unchanged since a cached run: taken from {cache_dir}/ "
              "(--no-cache recomputes them)", file=sys.stderr)
    changed = []

    def put(cid, res):  # stored as soon as computed, unless the source changed under the run
        if not store.put(keys[cid], res, claim_id=cid, sources=expected[cid]):
            changed.append(cid)

    if client is not None:
        from checks import dask_runner

        results = dask_runner.run_many(client, reg, todo, seed=args.seed, profile=args.profile,
                                       device=device, data=data, on_result=put)
    else:
        results = runner.run_many(reg, todo, seed=args.seed, profile=args.profile, device=device, jobs=jobs,
                                  progress=runner.progress_printer(), data=data, on_result=put)
    results.update(hits)
    if changed:
        print(cache_mod.changed_notice(changed), file=sys.stderr)
    return {cid: results[cid] for cid in ids}, {"claims": len(ids), "hits": len(hits)}


def cmd_verify(args) -> int:
    from checks import registry, report, runner

    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r} (choose {', '.join(PROFILES)})")
    device = runner.resolve_device(args.device)
    jobs = _jobs(args.jobs, device)
    data = _mnist(args.mnist_root) if args.mnist_root else {}
    out = report.check_writable(Path(args.out))  # creates nothing
    reg = registry.load()
    ids = registry.select(reg, args.only)
    client = None
    if args.scheduler:  # before anything runs: an unreachable scheduler or a foreign worker is bad input
        from checks import dask_runner

        client = dask_runner.connect(args.scheduler)
    try:
        return _verify_locked(args, reg, ids, out, device, jobs, data, client)
    finally:
        if client is not None:
            dask_runner.close(client)


def _verify_locked(args, reg, ids, out, device, jobs, data, client) -> int:
    import time

    from checks import install, provenance, report

    with install.locked(out):
        partial = args.only is not None
        if partial:  # refuse before the run, not after it
            report.check_mergeable(out, seed=args.seed, profile=args.profile, device=device, n_run=len(ids))
        where = f"scheduler={args.scheduler}" if args.scheduler else f"jobs={min(jobs, len(ids))}"
        print(f"verifying {len(ids)} claim(s): profile={args.profile} seed={args.seed} device={device} "
              f"{where} -> {args.out}/", file=sys.stderr)
        t0 = time.perf_counter()
        git = provenance.git_state()  # the code this run imports, not HEAD when it ends
        cache_dir = Path(args.cache_dir or os.environ.get("CLAIMS_CACHE_DIR") or ".cache/verify")
        results, cache_stats = _cached_run(reg, ids, args, device, jobs, data, cache_dir, client)
        prov = provenance.collect(profile=args.profile, seed=args.seed, device=device, jobs=jobs,
                                  wall_seconds=time.perf_counter() - t0, argv=sys.argv[1:] if args.argv is None
                                  else args.argv, cache=cache_stats, scheduler=args.scheduler, git=git)
        written = report.write(out, reg, results, seed=args.seed, profile=args.profile, device=device,
                               partial=partial, lock=False, provenance=prov)
    _settle()
    counts = written["counts"]
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v), file=sys.stderr)
    _missing_plots(written)
    print(f"report: {Path(args.out) / 'CLAIMS.md'}", file=sys.stderr)
    install._fault("reported")
    return 0


def _missing_plots(written: dict) -> None:
    if written.get("missing_plots"):
        names = written["missing_plots"]
        print(f"note: {len(names)} plot(s) that claims.json refers to are missing or damaged "
              f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}); re-run verify --only for their "
              "claims to draw them again", file=sys.stderr)


def cmd_report(args) -> int:
    from checks import install, registry, report

    reg = registry.load()
    out = _report_dir(args.out, reg)
    real = install.resolve(out)
    with install.locked(real):
        if not (real / "claims.json").is_file():
            raise UsageError(f"--out {args.out}: no claims.json (no report there; run verify first)")
        written = report.render(real, reg)
    _missing_plots(written)
    print(f"rendered {args.out}/ from claims.json: CLAIMS.md and {written['n']} claim page(s)", file=sys.stderr)
    return 0


def cmd_list(args) -> int:
    from checks import registry, report

    reg = registry.load()
    out = _report_dir(args.out, reg)
    doc = report.read_report(out)
    if doc is None:
        print(f"note: no report in {args.out}/ yet (claims.json missing): every claim is unchecked",
              file=sys.stderr)
    last = report.records_by_id(doc)
    width = max(len(cid) for cid in reg) if reg else 10
    for cid, c in reg.items():
        rec = last.get(cid)
        status = rec["status"] if rec else "unchecked"
        if rec and rec.get("severity"):
            status += f" [{rec['severity']}]"
        if rec and rec.get("corrected"):
            status += f" (corrected: {rec['corrected'].get('status', '?')})"
        print(f"{cid:<{width}}  {c.kind.value:<15} {status}")
    return 0


def cmd_show(args) -> int:
    from checks import registry, report

    reg = registry.load()
    out = _report_dir(args.out, reg)
    cid = _resolve_one(reg, args.id)
    rec = report.records_by_id(report.read_report(out)).get(cid)
    print(report.page_text(reg[cid], rec))
    return 0


def cmd_replay(args) -> int:
    from checks import registry, report, serialize

    reg = registry.load()
    out = _report_dir(args.out, reg)
    cid = _resolve_one(reg, args.id)
    rec = report.records_by_id(report.read_report(out)).get(cid)
    if rec is None:
        raise UsageError(f"{cid} has no stored result in {args.out}/claims.json; run verify first")
    c = reg[cid]
    targets = []
    if rec.get("counterexample"):
        targets.append(("printed form", c.replay, rec["counterexample"]))
    corr = rec.get("corrected") or {}
    if corr.get("counterexample"):
        targets.append(("corrected form", c.corrected.replay if c.corrected else None, corr["counterexample"]))
    if not targets:
        raise UsageError(f"{cid} has no stored counterexample (status {rec['status']})")
    reproduced = True
    for label, replay, ce in targets:
        print(f"{cid} [{label}] counterexample:")
        print(json.dumps(ce, indent=1, ensure_ascii=False)[:4000])
        if replay is None:
            print("  this claim's check has no replay function; the stored data above is the evidence")
            continue
        try:
            cmp = replay(serialize.decode(ce))
        except Exception as exc:  # noqa: BLE001 - stale or foreign data: one line, not a traceback
            raise UsageError(f"{cid}: the stored counterexample does not fit this claim's replay "
                             f"({type(exc).__name__}: {exc}); re-run verify --only {cid}") from None
        print(f"  replayed comparison: {cmp.describe()}")
        for k, v in cmp.detail.items():
            print(f"    {k}: {v}")
        reproduced &= not cmp.ok
    if not reproduced:
        print("the stored counterexample no longer fails", file=sys.stderr)
    return 0 if reproduced else 1


def _on_sigterm(signum, frame):
    raise Terminated()


def _late_signal(signum, frame):
    """After the report is installed a signal can lose nothing: the run has succeeded."""


def _settle() -> None:
    """The report is installed: from now on SIGINT/SIGTERM change nothing (the exit code stays 0,
    interpreter shutdown included), instead of ending a successful run by a signal."""
    signal.signal(signal.SIGINT, _late_signal)
    signal.signal(signal.SIGTERM, _late_signal)


def _interrupted(what: str, code: int) -> int:
    """The message after Ctrl-C/SIGTERM, true to what was written (see checks.install.STATE)."""
    from checks import install

    state = install.STATE
    if state["complete"]:
        _settle()
        print(f"\n{what} after the new report was installed in {state['out']}: nothing was lost", file=sys.stderr)
        return 0
    if state["committed"]:
        print(f"\n{what}: the new report is installed in {state['out']} (claims.json), but not all its pages were "
              "rendered; the next command (or python -m checks report) renders them", file=sys.stderr)
        return code
    print(f"\n{what}: workers stopped; the previous report is left intact (nothing of this run was installed)",
          file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    from checks.runner import pin_threads

    from checks import install

    pin_threads()
    install.STATE.update(out=None, committed=False, complete=False)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C must work even where the shell started us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        args = _parser().parse_args(argv)
        args.argv = argv
        return {"verify": cmd_verify, "list": cmd_list, "show": cmd_show, "replay": cmd_replay,
                "report": cmd_report}[args.cmd](args)
    except install.WriteFailed as exc:  # not bad input: the environment (full disk, EIO)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (UsageError, ClaimError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return _interrupted("interrupted", 130)
    except Terminated:
        return _interrupted("terminated", 143)
