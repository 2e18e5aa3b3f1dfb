"""Round r13 (fresh sample seed 10, at cde4541): kills for the survivors in sec4 (prop-4.5/missing-simple's replay
error, prop-4.5/sv-ode's stated nearest slip)."""
from __future__ import annotations

import numpy as np

from checks.model import REGISTRY
from checks.tolerance import EPS64 as EPS
from tests.conftest import within
from theory.claims import sec4


def test_crossing_replay_error_is_the_distance_to_the_farther_one_sided_derivative():
    """At t* = 1/2 (J = I) the formula is L c_1 and the one-sided derivatives of max(e^{1-2t}, e^{2t-1}) are +2 and
    -2, so the replay's error, max |formula - one-sided derivative|, is |L c_1| + 2 whatever the sign of c_1 (the
    formula agrees with neither side unless it equals one of them)."""
    for L in (2, 3):
        for c in ([-1.0, 1.0], [1.0, -1.0], [0.25, 3.0], [-3.0, 0.5]):
            cmp = sec4._crossing_replay({**sec4.CROSS, "L": L, "c": c})
            want = abs(L * c[0]) + 2.0
            assert within(abs(cmp.err - want), 8 * EPS * want, "replay error"), (L, c, cmp.err)


def test_sv_ode_nearest_slip_is_the_smallest_exponent_change_on_the_depths_drawn():
    """prop-4.5/sv-ode's nearest foil moves the exponent 2 - 2/L to 2 - 1/L, a change of 1/L; the stated slip
    (SV_ODE_SLIP, the foil's size and the knob's slip) is its smallest value over the depths _balanced_case draws."""
    rng = np.random.default_rng(0)
    depths = {len(sec4._balanced_case(rng, square=bool(i % 2))[0]) for i in range(200)}
    assert depths == {2, 3, 4}
    assert sec4.SV_ODE_SLIP == min(abs((2 - 1 / L) - (2 - 2 / L)) for L in depths)
    claim = REGISTRY["prop-4.5/sv-ode"]
    assert [f.size for f in claim.foils if f.nearest] == [sec4.SV_ODE_SLIP] == [claim.knob.nearest_slip]
