"""Verdict stability across CPU kernels (issue 18): the quick profile of every claim under numpy's default
OpenBLAS core type and under other core types (``OPENBLAS_CORETYPE``) with torch at its default,
non-vectorised CPU capability (``ATEN_CPU_CAPABILITY=default``); every verdict (printed form,
corrected form, each foil) must agree. The floats may differ in their last digits (other kernels sum
in another order), the verdicts must not: a difference is a tolerance that holds only on some kernels.

``python -m benchmarks --only kernels`` writes the section into reports/bench.md;
``python -m benchmarks.kernels --only ID ...`` prints it for a few claims (a quick try).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.seeds import _verdicts, differences, differences_md
from theory import dynamics

ROOT = Path(__file__).resolve().parents[1]


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")),
                set())


def _default_core() -> str:
    """The core type numpy's OpenBLAS picks here by itself (threadpoolctl)."""
    import numpy  # noqa: F401 (loads the BLAS threadpoolctl inspects)
    import threadpoolctl

    return next((i.get("architecture") or "" for i in threadpoolctl.threadpool_info()
                 if i.get("internal_api") == "openblas"), "")


def configurations(quick: bool) -> list[tuple[str, dict[str, str]]]:
    """(label, environment) pairs: the default kernels first, then each OpenBLAS core type this CPU can
    run (SkylakeX needs avx512f, Haswell avx2, Sandybridge avx) with torch's default CPU capability, the
    core type OpenBLAS picks by itself last (there only torch's kernels change); quick keeps the default
    and the first two others."""
    flags, current = _cpu_flags(), _default_core().lower()
    cores = [core for core, flag in (("SkylakeX", "avx512f"), ("Haswell", "avx2"), ("Sandybridge", "avx"))
             if flag in flags]
    cores.sort(key=lambda core: core.lower() == current)  # stable: the default core last
    out = [("default", {})] + [(f"{core}, torch default", {"OPENBLAS_CORETYPE": core, "ATEN_CPU_CAPABILITY": "default"})
                               for core in cores]
    return out[:3] if quick else out


def run(quick: bool, only: list[str] | None = None) -> str:
    configs = configurations(quick)
    tmp = Path(tempfile.mkdtemp(prefix="bench-kernels-"))
    ncpu = str(os.cpu_count() or 1)
    root = dynamics.local_mnist_root()  # as the seeds section: the trained panels are compared too
    mnist = ["--mnist-root", str(root)] if root else []
    select = ["--only", *only] if only else []
    runs, walls, kernels, raw = {}, {}, {}, {}
    try:
        for label, env in configs:
            out = tmp / f"run-{len(runs)}"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "checks", "verify", "--profile", "quick", "--no-cache",
                                   "--out", str(out), "--jobs", ncpu, "--cache-dir", str(tmp / "cache"), *mnist,
                                   *select],
                                  cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env})
            walls[label] = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"verify under {label} ({env}) failed: {proc.stderr[-2000:]}")
            raw[label] = (out / "claims.json").read_bytes()
            runs[label] = _verdicts(json.loads(raw[label]))
            prov = json.loads((out / "provenance.json").read_text())
            # what the run really used (the environment variables are requests)
            kernels[label] = (prov.get("blas", "?"), (prov.get("torch_build") or {}).get("cpu_capability", "?"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    plan = [label for label, _ in configs]
    keys, differ = differences(runs)
    base = raw[plan[0]]
    out = ["## Verdicts across CPU kernels", "",
           f"The quick profile (seed 0) of {'the claims ' + ', '.join(only) if only else 'every claim'}, "
           f"`--no-cache`, under {len(plan)} kernel configurations; {len(keys)} verdicts per run (printed "
           "forms, corrected forms and every foil). MNIST: "
           + (f"`--mnist-root {mnist[1]}`" if mnist else "no copy found (the trained panels are not-executable)")
           + ".", "",
           "| configuration | environment | BLAS (as the run's provenance names it) | torch CPU capability | wall | claims.json |",
           "|---|---|---|---|---|---|"]
    for label, env in configs:
        envs = " ".join(f"`{k}={v}`" for k, v in env.items()) or "—"
        same = "—" if label == plan[0] else ("same bytes" if raw[label] == base else "floats differ")
        out.append(f"| {label} | {envs} | {kernels[label][0]} | {kernels[label][1]} | {walls[label]:.0f} s | {same} |")
    out += ["", *differences_md(differ, plan, str)]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.kernels", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the default kernels and two others")
    ap.add_argument("--only", nargs="+", metavar="ID", help="these claims only (as verify --only)")
    args = ap.parse_args(argv)
    print(run(args.quick, args.only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
