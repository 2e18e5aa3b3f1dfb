"""Tests of theory/dynamics.py: gradient flow against closed forms and conservation laws, GD steps
against torch autograd, the G.1 task, and the idx reader on generated files (MNIST itself: test_mnist.py)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from theory import dynamics, fgln


def test_gradient_flow_depth_one_closed_form():
    rng = np.random.default_rng(0)
    W0, T = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    t = np.array([0.0, 0.3, 1.0, 2.0])
    fl = dynamics.gradient_flow([W0], [], dynamics.quadratic_target(T), t)
    for ti, Ws in zip(t, fl.weights):
        np.testing.assert_allclose(Ws[0], T + (W0 - T) * np.exp(-ti), atol=1e-9)


def test_gradient_flow_conserves_delta_for_masked_networks():
    rng = np.random.default_rng(1)
    ns = [3, 4, 4, 2]
    Ws = [rng.standard_normal((ns[l + 1], ns[l])) * 0.7 for l in range(3)]  # unbalanced
    ds = [np.array([1, 0, 1, 1.0]), np.array([1, 1, 0, 1.0])]
    fl = dynamics.gradient_flow(Ws, ds, dynamics.quadratic_target(rng.standard_normal((2, 3))), [0.0, 0.5, 1.0])
    d0 = fgln.balance_defect(Ws, ds)
    for W in fl.weights:
        for a, b in zip(fgln.balance_defect(W, ds), d0):
            assert np.max(np.abs(a - b)) < 1e-8


def test_mse_gradient_against_autograd():
    rng = np.random.default_rng(2)
    X, Y, J = rng.standard_normal((3, 7)), rng.standard_normal((2, 7)), rng.standard_normal((2, 3))
    Jt = torch.tensor(J, requires_grad=True)
    loss = 0.5 * torch.sum((Jt @ torch.tensor(X) - torch.tensor(Y)) ** 2) / 7
    (g,) = torch.autograd.grad(loss, Jt)
    np.testing.assert_allclose(dynamics.mse_data(X, Y)(J), g.numpy(), atol=1e-13)


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
    for a, w, g in zip(run.Ws, Ws, grads):
        np.testing.assert_allclose(a, w - 0.1 * g.numpy(), atol=1e-13)
    assert abs(run.loss[0] - float(loss.detach())) < 1e-10
    run = dynamics.train_gd(Ws, ds, task, lr=0.05, steps=200, record_every=50)
    assert list(run.steps) == [0, 50, 100, 150, 200] and run.svals.shape == (5, 6)
    assert run.loss[-1] < run.loss[0]


def test_synthetic_task_rank():
    task = dynamics.synthetic_task(8, 30, 3, np.random.default_rng(4))
    assert np.linalg.matrix_rank(task.T) == 3
    np.testing.assert_allclose(task.Y, task.T @ task.X)


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
    np.testing.assert_allclose(b.svals[:, :2], a.svals[:, :2], rtol=1e-4)
    with pytest.raises(ValueError, match="dtype"):
        dynamics.train_gd(Ws, ds, task, lr=0.05, steps=1, dtype="float16")
