"""Command line: ``python -m checks verify|list|show|replay``.

Bad input (unknown id, profile or device, unwritable --out) gets a one-line error and exit code 2.
Ctrl-C during ``verify`` leaves the previous report untouched (reports are written atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from checks.model import PROFILES, ClaimError

DEFAULT_OUT = "reports"
EXIT_USAGE = 2


class UsageError(Exception):
    """A user mistake: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m checks", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    v = sub.add_parser("verify", help="run claims and write the reports")
    v.add_argument("--profile", default="quick", help=f"cost level: {', '.join(PROFILES)} (default quick)")
    v.add_argument("--only", nargs="+", metavar="ID_OR_PREFIX", help="run only these claims (id or prefix)")
    v.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    v.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    v.add_argument("--out", default=DEFAULT_OUT, help=f"report directory (default {DEFAULT_OUT}/)")
    v.add_argument("--jobs", type=int, default=None,
                   help="worker processes, one thread each (default: number of CPUs on cpu, 1 on cuda)")
    v.add_argument("--mnist-root", metavar="PATH",
                   help="local MNIST in torchvision's layout (never downloaded); without it MNIST claims "
                        "are not-executable")

    ls = sub.add_parser("list", help="ids, kinds and the last verdicts")
    ls.add_argument("--out", default=DEFAULT_OUT)

    sh = sub.add_parser("show", help="statement, reading, evidence and counterexample of one claim")
    sh.add_argument("id")
    sh.add_argument("--out", default=DEFAULT_OUT)

    rp = sub.add_parser("replay", help="re-run a stored counterexample and print the failing comparison")
    rp.add_argument("id")
    rp.add_argument("--out", default=DEFAULT_OUT)
    return p


def _load_report(out: str) -> dict:
    path = Path(out) / "claims.json"
    if not path.exists():
        return {"claims": []}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def _resolve_one(reg: dict, cid: str) -> str:
    from checks.registry import select

    if cid in reg:
        return cid
    hits = select(reg, [cid])  # raises ClaimError with suggestions when nothing matches
    if len(hits) > 1:
        raise UsageError(f"{cid!r} matches {len(hits)} claims ({', '.join(hits[:5])}...); give a full id")
    return hits[0]


def cmd_verify(args) -> int:
    from checks import registry, report, runner

    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r} (choose {', '.join(PROFILES)})")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    device = runner.resolve_device(args.device)
    if args.jobs is None:
        # One process owns the GPU; on CPU, one single-threaded process per core.
        args.jobs = 1 if device == "cuda" else (os.cpu_count() or 1)
    data = {}
    if args.mnist_root:
        if not Path(args.mnist_root).is_dir():
            raise UsageError(f"--mnist-root {args.mnist_root}: not a directory")
        data["mnist"] = str(Path(args.mnist_root).resolve())
    out = Path(args.out)
    report.check_writable(out)
    reg = registry.load()
    ids = registry.select(reg, args.only)
    print(f"verifying {len(ids)} claim(s): profile={args.profile} seed={args.seed} device={device} "
          f"jobs={min(args.jobs, len(ids))} -> {out}/", file=sys.stderr)
    results = runner.run_many(reg, ids, seed=args.seed, profile=args.profile, device=device,
                              jobs=args.jobs, progress=runner.progress_printer(), data=data)
    written = report.write(out, reg, results, seed=args.seed, profile=args.profile, device=device)
    counts = written["counts"]
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v), file=sys.stderr)
    print(f"report: {out / 'CLAIMS.md'}", file=sys.stderr)
    return 0


def cmd_list(args) -> int:
    from checks import registry

    reg = registry.load()
    last = {c["id"]: c for c in _load_report(args.out)["claims"]}
    width = max(len(cid) for cid in reg) if reg else 10
    for cid, c in reg.items():
        rec = last.get(cid)
        status = rec["status"] if rec else "unchecked"
        if rec and rec.get("corrected"):
            status += f" (corrected: {rec['corrected']['status']})"
        print(f"{cid:<{width}}  {c.kind.value:<15} {status}")
    return 0


def cmd_show(args) -> int:
    from checks import registry, report

    reg = registry.load()
    cid = _resolve_one(reg, args.id)
    rec = {c["id"]: c for c in _load_report(args.out)["claims"]}.get(cid)
    print(report.claim_text(reg[cid], rec))
    return 0


def cmd_replay(args) -> int:
    from checks import registry, serialize

    reg = registry.load()
    cid = _resolve_one(reg, args.id)
    rec = {c["id"]: c for c in _load_report(args.out)["claims"]}.get(cid)
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
        print(json.dumps(ce, indent=1)[:4000])
        if replay is None:
            print("  this claim's check has no replay function; the stored data above is the evidence")
            continue
        cmp = replay(serialize.decode(ce))
        print(f"  replayed comparison: {cmp.describe()}")
        for k, v in cmp.detail.items():
            print(f"    {k}: {v}")
        reproduced &= not cmp.ok
    if not reproduced:
        print("the stored counterexample no longer fails", file=sys.stderr)
    return 0 if reproduced else 1


def main(argv: list[str] | None = None) -> int:
    from checks.runner import pin_threads

    pin_threads()
    try:
        args = _parser().parse_args(argv)
        return {"verify": cmd_verify, "list": cmd_list, "show": cmd_show, "replay": cmd_replay}[args.cmd](args)
    except (UsageError, ClaimError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: the previous report is left intact", file=sys.stderr)
        return 130
