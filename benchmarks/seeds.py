"""Verdict stability across seeds (issue 10 section 4): the whole suite at seeds 0-5 of the quick profile
and seeds 0-1 of the full profile; every verdict (printed form, corrected form, each foil) must agree.

A disagreement is a false alarm or a weak foil somewhere: the table names the claim and the seeds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from theory import dynamics

ROOT = Path(__file__).resolve().parents[1]


def _verdicts(doc: dict) -> dict[str, str]:
    out = {}
    for rec in doc["claims"]:
        out[rec["id"]] = rec["status"]
        corr = rec.get("corrected")
        if corr:
            out[rec["id"] + " (corrected)"] = corr["status"]
        for form, label in ((rec, ""), (corr or {}, " (corrected)")):
            for k, f in enumerate(form.get("foils") or [], 1):
                out[f"{rec['id']}{label} foil {k}"] = f["status"]
    return out


def differences(runs: dict) -> tuple[list[str], dict]:
    """Every verdict key of ``runs`` ({run: _verdicts(...)}), and {key: {run: verdict}} for the keys whose
    verdict is not the same in every run ("absent" where a run lacks the key)."""
    keys = sorted(set().union(*runs.values()))
    differ = {k: {run: v.get(k, "absent") for run, v in runs.items()} for k in keys
              if len({v.get(k, "absent") for v in runs.values()}) > 1}
    return keys, differ


def differences_md(differ: dict, plan: list, label) -> list[str]:
    """Markdown: the agreement line, or a table of the differing verdicts (one column per run of
    ``plan``, headed ``label(run)``)."""
    if not differ:
        return [f"**Every verdict agrees across all {len(plan)} runs.**"]
    out = [f"**{len(differ)} verdict(s) differ between runs:**", "",
           "| verdict | " + " | ".join(label(r) for r in plan) + " |", "|---|" + "---|" * len(plan)]
    for k, per in differ.items():
        out.append(f"| {k} | " + " | ".join(per[r] for r in plan) + " |")
    return out


def run(quick: bool) -> str:
    plan = [("quick", s) for s in (range(2) if quick else range(6))] + ([] if quick else [("full", 0), ("full", 1)])
    tmp = Path(tempfile.mkdtemp(prefix="bench-seeds-"))
    ncpu = str(os.cpu_count() or 1)
    runs, walls = {}, {}
    root = dynamics.local_mnist_root()  # what `nox -s verify` passes, so the trained panels are compared too
    mnist = ["--mnist-root", str(root)] if root else []
    try:
        for profile, seed in plan:
            out = tmp / f"{profile}-{seed}"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "checks", "verify", "--profile", profile, "--seed",
                                   str(seed), "--out", str(out), "--jobs", ncpu, "--cache-dir", str(tmp / "cache"), *mnist],
                                  cwd=ROOT, capture_output=True, text=True)
            walls[(profile, seed)] = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"verify --profile {profile} --seed {seed} failed: {proc.stderr[-2000:]}")
            runs[(profile, seed)] = _verdicts(json.loads((out / "claims.json").read_text()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keys, differ = differences(runs)
    counts = defaultdict(int)
    for v in runs[plan[0]].values():
        counts[v] += 1
    out = ["## Verdicts across seeds", "",
           f"{len(plan)} whole runs: " + ", ".join(f"{p} seed {s} ({walls[(p, s)] / 60:.1f} min)" for p, s in plan)
           + f". {len(keys)} verdicts per run (printed forms, corrected forms and every foil); in the first run: "
           + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ". MNIST: "
           + (f"`--mnist-root {mnist[1]}` (the trained panels included)" if mnist else
              "no copy found, so the trained-MNIST panels are not-executable in every run") + ".", ""]
    out += differences_md(differ, plan, lambda r: f"{r[0]} {r[1]}")
    return "\n".join(out)
