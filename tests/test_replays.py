"""The closed-form replays of refuted claims (``claim(replay=...)``): the numbers a replay prints are the
counterexample's, recomputed from their definitions here, not only "the comparison still fails"."""

from __future__ import annotations

import numpy as np

from checks.tolerance import EPS64 as EPS
from theory.claims import sec4


def test_crossing_replay_derivatives_are_the_one_sided_derivatives_of_the_ordered_s1():
    # Along the crossing flow s_1(t) = max(e^{1-2t}, e^{2t-1}) (balanced, L = 2, sigma(0) = (e, 1/e),
    # c = (-1, 1)): at t* = 1/2 the right derivative is +2, the left one -2, and the formula
    # -L s^{2-2/L} <-C, u_1 v_1^T> with u_1 = v_1 = e_1 and s = 1 gives L c_1 = -2.
    cex = dict(sec4.CROSS)
    t = cex["t_star"]
    s1 = lambda x: max(np.exp(1 - 2 * x), np.exp(2 * x - 1))
    h = 1e-6
    right_fd, left_fd = (s1(t + h) - s1(t)) / h, (s1(t) - s1(t - h)) / h
    cmp = sec4._crossing_replay(cex)
    d = cmp.detail
    fd_err = 4 * h + 8 * EPS / h  # O(h) truncation (s1'' = 4) plus rounding of the difference quotient
    assert abs(d["right_derivative"] - right_fd) <= fd_err and abs(d["left_derivative"] - left_fd) <= fd_err
    L = cex["L"]
    assert abs(d["formula"] - (-L * 1.0 * (-cex["c"][0]))) <= 8 * EPS
    # the counterexample: the formula is the left derivative but not the right one
    assert abs(d["formula"] - d["left_derivative"]) <= 8 * EPS and not cmp.ok
