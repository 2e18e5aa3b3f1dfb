"""mpmath's working precision is set where a reference is computed (mpmath.workdps), never globally: importing
every claim module leaves it alone, and the references come out bit-identical whatever the global precision.

Until 2026-12-07 app_e set mp.dps = 40 at import, and four other checks (B.1.2/B.2.2's SVD and top checks, Remark
B.5, Lemma C.7's conclusion rows) silently ran their mpmath arithmetic at those 40 digits, only because
app_e happened to be imported first."""

from __future__ import annotations

import json
import subprocess
import sys

import mpmath
import numpy as np
import pytest

from checks.model import Context
from test_cli import ROOT


def test_loading_every_claim_leaves_mpmath_at_its_default_precision():
    code = ("import mpmath, json; from checks import registry; reg = registry.load(); "
            "print(json.dumps([len(reg), mpmath.mp.dps, mpmath.mp.prec]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    n, dps, prec = json.loads(out.stdout.strip().splitlines()[-1])
    assert n > 100 and (dps, prec) == (15, 53), (n, dps, prec)


def _references():
    from theory.claims import app_b, app_b2, app_c2, app_e

    M = np.asarray(app_b._FIXED_M4, dtype=float)
    rng = np.random.default_rng(4)
    J0, J1 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    return {
        "rem-b.5": app_b2._rem_b5_cmp(M).detail,
        "b.2.2/svd": app_b2._cmp_svd_wedge(M, 2).err,
        "b.2.2/top": app_b2._pc_top_wedge.compare(M, 2).err,
        "c.7 rows": [r["min_d(p,q)_on_grid"] for r in app_c2._c7_rows(Context(claim_id="lem-c.7/conclusion"))],
        "e.2 sdot": app_e._mp_sdot(J0, J1).tolist(),
    }


@pytest.mark.parametrize("dps", [15, 60])
def test_mpmath_references_do_not_depend_on_the_global_precision(dps):
    with mpmath.workdps(30):
        ref = _references()
    with mpmath.workdps(dps):
        assert _references() == ref
