"""Tests of theory/dynamics.py: gradient flow against closed forms and conservation laws, GD steps
against torch autograd, the G.1 task, and the idx reader on generated files (MNIST itself: test_mnist.py)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from checks.tolerance import tol
from conftest import within
from theory import dynamics, fgln


def _ode_tol(fl, scale):
    """Global error of a solve_ivp trajectory of a contracting (or conservative) flow: at most the sum of
    the local errors the solver allowed, (rtol scale + atol) per step (DOP853: 12 evaluations a step)."""
    steps = max(1, fl.nfev // 12)
    return steps * (fl.settings["rtol"] * scale + fl.settings["atol"])


def test_gradient_flow_depth_one_closed_form():
    rng = np.random.default_rng(0)
    W0, T = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    t = np.array([0.0, 0.3, 1.0, 2.0])
    fl = dynamics.gradient_flow([W0], [], dynamics.quadratic_target(T), t)
    for ti, Ws in zip(t, fl.weights):
        err = np.abs(Ws[0] - (T + (W0 - T) * np.exp(-ti)))
        assert within(err, _ode_tol(fl, np.abs(Ws[0]).max()), "depth-one flow")


def test_gradient_flow_conserves_delta_for_masked_networks():
    rng = np.random.default_rng(1)
    ns = [3, 4, 4, 2]
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) * 0.7 for l in range(3)]  # unbalanced
    ds = [np.array([1, 0, 1, 1.0]), np.array([1, 1, 0, 1.0])]
    fl = dynamics.gradient_flow(Ws, ds, dynamics.quadratic_target(rng.standard_normal((2, 3))), [0.0, 0.5, 1.0])
    d0 = fgln.balance_defect(Ws, ds)
    for W in fl.weights:
        wmax = max(np.abs(w).max() for w in W)
        # Delta = W^T W - W W^T: a weight error delta moves it by <= 2 n |W| delta (n = 4 terms per entry)
        t = 2 * 4 * wmax * _ode_tol(fl, wmax) + tol(4, scale=4 * wmax**2, kernels=2)
        for a, b in zip(fgln.balance_defect(W, ds), d0):
            assert within(np.abs(a - b), t, "conserved Delta")


def test_mse_gradient_against_autograd():
    rng = np.random.default_rng(2)
    X, Y, J = rng.standard_normal((3, 7)), rng.standard_normal((2, 7)), rng.standard_normal((2, 3))
    Jt = torch.tensor(J, requires_grad=True)
    loss = 0.5 * torch.sum((Jt @ torch.tensor(X) - torch.tensor(Y)) ** 2) / 7
    (g,) = torch.autograd.grad(loss, Jt)
    # (J X - Y) X^T / 7: two products of inner sizes 3 and 7, against the same in absolute values
    scale = ((np.abs(J) @ np.abs(X) + np.abs(Y)) @ np.abs(X).T).max() / 7
    assert within(np.abs(dynamics.mse_data(X, Y)(J) - g.numpy()), tol(3 + 7, scale=scale, kernels=2), "mse gradient")


def test_train_gd_step_matches_autograd_and_decreases_loss():
    rng = np.random.default_rng(3)
    gen = torch.Generator()
    gen.manual_seed(3)
    task = dynamics.synthetic_task(6, 40, 2, rng)
    Ws, ds = dynamics.init_masked(6, 4, 0.5, 0.6, gen)
    run = dynamics.train_gd(Ws, ds, task, lr=0.1, steps=1)
    W = [torch.tensor(w, requires_grad=True) for w in Ws]
    J = W[0]
    for l in range(1, 4):
        J = W[l] @ (torch.tensor(ds[l - 1])[:, None] * J)
    loss = 0.5 * torch.sum((J @ torch.tensor(task.X) - torch.tensor(task.Y)) ** 2) / 40
    grads = torch.autograd.grad(loss, W)
    # the step w - lr g: g a chain through widths 6 x 4 layers and the 40 samples (two routes: the
    # engine's Sxx, Syx form and autograd), scaled by lr, plus w's own ulp
    for a, w, g in zip(run.Ws, Ws, grads):
        scale = np.abs(w).max() + 0.1 * np.abs(g.numpy()).max() * 6
        assert within(np.abs(a - (w - 0.1 * g.numpy())), tol(6 * 4 + 40, scale=scale, kernels=2), "GD step")
    # the loss: a mean of 40 x 2 squares, by two routes
    assert within(abs(run.loss[0] - float(loss.detach())), tol(40 * 2, scale=float(loss.detach()), kernels=2), "loss")
    run = dynamics.train_gd(Ws, ds, task, lr=0.05, steps=200, record_every=50)
    assert list(run.steps) == [0, 50, 100, 150, 200] and run.svals.shape == (5, 6)
    assert run.loss[-1] < run.loss[0]


def test_synthetic_task_rank():
    task = dynamics.synthetic_task(8, 30, 3, np.random.default_rng(4))
    assert np.linalg.matrix_rank(task.T) == 3
    assert within(np.abs(task.Y - task.T @ task.X), tol(8, scale=(np.abs(task.T) @ np.abs(task.X)).max(), kernels=2),
                  "Y = T X")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader(tmp_path, gz):
    rng = np.random.default_rng(5)
    imgs = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if gz else ""))
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 7, 28, 28) + imgs.tobytes())
    np.testing.assert_array_equal(dynamics.read_idx(path), imgs)
    with pytest.raises(ValueError, match="missing.gz"):
        dynamics.read_idx(tmp_path / "missing.gz")


def test_train_gd_float32_follows_float64():
    rng = np.random.default_rng(6)
    gen = torch.Generator()
    gen.manual_seed(6)
    task = dynamics.synthetic_task(6, 40, 2, rng)
    Ws, ds = dynamics.init_masked(6, 4, 0.5, 0.6, gen)
    a = dynamics.train_gd(Ws, ds, task, lr=0.05, steps=100, record_every=50)
    b = dynamics.train_gd(Ws, ds, task, lr=0.05, steps=100, record_every=50, dtype="float32")
    assert b.svals.dtype == np.float64 and b.Ws[0].dtype == np.float64
    # float32 steps: each singular value of the 4-layer product to ~ n eps32 kappa_k relatively per layer
    # (kappa_k = s_1 / s_k), the errors damped by the contracting GD (measured: <= 25 eps32 for s_2)
    kappa = a.svals[:, :1] / a.svals[:, :2]
    rel = np.vectorize(lambda k: tol(6, kappa=k, dtype="float32", kernels=4))(kappa)
    assert within(np.abs(b.svals[:, :2] / a.svals[:, :2] - 1), rel, "float32 vs float64")
    with pytest.raises(ValueError, match="dtype"):
        dynamics.train_gd(Ws, ds, task, lr=0.05, steps=1, dtype="float16")
