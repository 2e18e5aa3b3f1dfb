"""Training dynamics of fixed-gates linear networks.

* :func:`gradient_flow` integrates ``dW_l/dt = -grad_{W_l} L(J)`` accurately with
  ``scipy.integrate.solve_ivp`` (DOP853, default rtol 1e-10, atol 1e-12): this is the object of
  Proposition 4.5 and Lemma E.1, which speak about gradient *flow*.
* :func:`train_gd` runs plain gradient descent (batched torch, on ``device``) on the mean-squared
  error of a linear regression task, recording the spectrum of J and g(t) = <grad_J L, u_1 v_1^T>
  (Appendix G.1 / Figures 1, 7, 8).

Losses are given by their gradient in J, ``grad_J(J) -> array``, since every claim here depends on
the loss only through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory import fgln


# ---------------------------------------------------------------------------------------------
# losses on J
# ---------------------------------------------------------------------------------------------
def quadratic_target(T):
    """L(J) = 1/2 ||J - T||_F^2, grad_J L = J - T."""
    T = np.asarray(T, dtype=np.float64)
    return lambda J: J - T


def mse_data(X, Y):
    """L(J) = 1/(2N) sum_i ||J x_i - y_i||^2 (columns of X, Y), grad_J L = (J Sxx - Syx)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    N = X.shape[1]
    Sxx, Syx = X @ X.T / N, Y @ X.T / N
    return lambda J: J @ Sxx - Syx


# ---------------------------------------------------------------------------------------------
# gradient flow
# ---------------------------------------------------------------------------------------------
def _pack(Ws):
    return np.concatenate([w.ravel() for w in Ws])


def _unpack(theta, shapes):
    out, i = [], 0
    for s in shapes:
        k = s[0] * s[1]
        out.append(theta[i:i + k].reshape(s))
        i += k
    return out


@dataclass
class Flow:
    """A gradient-flow trajectory: weights at the requested times."""

    t: np.ndarray
    weights: list  # weights[i] = [W_1(t_i), ..., W_L(t_i)]
    ds: list
    nfev: int = 0
    # solver settings, for the report
    settings: dict = field(default_factory=dict)


def gradient_flow(Ws, ds, grad_J, t_eval, *, rtol: float = 1e-10, atol: float = 1e-12,
                  method: str = "DOP853") -> Flow:
    """Integrate dW_l/dt = -A_l^T grad_J L(J) B_l^T (the exact chain rule, Section 7 A_l, B_l)."""
    Ws, ds = fgln.check_network(Ws, ds)
    from scipy.integrate import solve_ivp

    shapes = [w.shape for w in Ws]
    t_eval = np.asarray(t_eval, dtype=np.float64)

    def rhs(_t, theta):
        W = _unpack(theta, shapes)
        G = grad_J(fgln.jacobian(W, ds))
        return -_pack(fgln.grad_weights(W, ds, G))

    sol = solve_ivp(rhs, (0.0, float(t_eval[-1])), _pack(Ws), method=method, t_eval=t_eval,
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"gradient_flow: solver failed: {sol.message}")
    weights = [_unpack(sol.y[:, i], shapes) for i in range(sol.y.shape[1])]
    return Flow(sol.t, weights, ds, int(sol.nfev), {"method": method, "rtol": rtol, "atol": atol})


# ---------------------------------------------------------------------------------------------
# G.1 task and plain gradient descent (torch)
# ---------------------------------------------------------------------------------------------
@dataclass
class Task:
    """Linear regression: Gaussian inputs X (n x N), targets Y = T X with rank(T) = rank."""

    X: np.ndarray
    Y: np.ndarray
    T: np.ndarray


def synthetic_task(n: int, N: int, rank: int, rng: np.random.Generator) -> Task:
    """Appendix G.1: N Gaussian inputs in R^n labelled by a fixed random rank-``rank`` linear map.

    T = P Q^T / n with P, Q i.i.d. N(0,1) of shape (n, rank) (the scale makes s_1(T) = O(1)).
    """
    X = rng.standard_normal((n, N))
    T = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, n)) / n
    return Task(X, T @ X, T)


def init_masked(n: int, L: int, p: float, sigma: float, gen):
    """sigma-Ginibre weights and unconditioned p-gates (Section 8 setting), as float64 numpy."""
    from theory import samplers

    W = samplers.ginibre(L, n, sigma, gen)
    d = samplers.p_gate(max(L - 1, 1), n, p, gen)[: L - 1]
    return [w.cpu().numpy() for w in W], [x.cpu().numpy() for x in d]


@dataclass
class GDRun:
    """Recorded gradient-descent run."""

    steps: np.ndarray  # recorded step indices
    svals: np.ndarray  # (len(steps), n) singular values of J
    g1: np.ndarray  # g(t) = <grad_J L, u_1 v_1^T>
    loss: np.ndarray
    Ws0: list
    Ws: list  # final weights
    ds: list
    lr: float
    seconds: float = 0.0


def train_gd(Ws, ds, task: Task, *, lr: float, steps: int, device: str = "cpu",
             record_every: int = 1) -> GDRun:
    """Plain full-batch gradient descent on L(J) = 1/(2N) ||J X - Y||_F^2 (batched torch on ``device``).

    The loss enters only through grad_J L = J Sxx - Syx (Sxx = X X^T/N, Syx = Y X^T/N), exact for the
    MSE, so a step costs O(L n^3) independent of N. The weight gradients are the chain rule
    A_l^T grad_J L B_l^T from prefix/suffix products (4L matmuls per step; tests/test_dynamics.py
    checks them against torch autograd). The spectrum of J and g = <grad_J L, u_1 v_1^T> are recorded
    every ``record_every`` steps and at the last step.
    """
    import time

    import torch

    t0 = time.perf_counter()
    dev = torch.device(device)
    N = task.X.shape[1]
    Sxx = torch.tensor(task.X @ task.X.T / N, device=dev)
    Syx = torch.tensor(task.Y @ task.X.T / N, device=dev)
    Syy = float(np.sum(task.Y * task.Y) / N)
    W = [torch.tensor(w, device=dev) for w in Ws]
    D = [torch.tensor(d, device=dev) for d in ds]
    L = len(W)

    rec_steps, svals, g1, losses = [], [], [], []
    for step in range(steps + 1):
        # prefix products P_l = D_l W_l ... D_1 W_1 (P_0 = I): B_l = P_{l-1}
        P = [None] * L
        P[0] = W[0]
        for l in range(1, L):
            P[l] = W[l] @ (D[l - 1][:, None] * P[l - 1])
        J = P[-1]
        GJ = J @ Sxx - Syx
        if step % record_every == 0 or step == steps:
            U, S, Vh = torch.linalg.svd(J)
            rec_steps.append(step)
            svals.append(S.cpu().numpy())
            g1.append(float(U[:, 0] @ GJ @ Vh[0]))
            losses.append(0.5 * float(torch.sum((J @ Sxx) * J) - 2 * torch.sum(J * Syx) + Syy))
        if step == steps:
            break
        # suffix: R = A_l^T G (A_L = I; A_{l-1} = A_l W_l D_{l-1})
        R = GJ
        for l in range(L - 1, -1, -1):
            B = (D[l - 1][:, None] * P[l - 1]) if l > 0 else None
            grad = R @ B.T if l > 0 else R
            if l > 0:
                R_next = D[l - 1][:, None] * (W[l].T @ R)
            W[l] = W[l] - lr * grad
            if l > 0:
                R = R_next
    return GDRun(np.array(rec_steps), np.array(svals), np.array(g1), np.array(losses),
                 [np.array(w) for w in Ws], [w.cpu().numpy() for w in W],
                 [np.asarray(d) for d in ds], lr, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# MNIST (Section 8, trained panels): local idx files only, never downloaded
# ---------------------------------------------------------------------------------------------
def read_idx(path) -> np.ndarray:
    """Parse an IDX file (MNIST's format; optionally gzip-compressed) into a numpy array."""
    import gzip
    import struct

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4]!r})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {int(np.prod(dims))} values, found {arr.size}")
    return arr.reshape(dims)


def find_mnist(root) -> dict | None:
    """Locate train images/labels under root, root/raw or root/MNIST/raw (torchvision layout)."""
    from pathlib import Path

    root = Path(root)
    for d in (root / "MNIST" / "raw", root / "raw", root):
        for suffix in ("", ".gz"):
            im, lb = d / f"train-images-idx3-ubyte{suffix}", d / f"train-labels-idx1-ubyte{suffix}"
            if im.is_file() and lb.is_file():
                return {"images": im, "labels": lb}
    return None


def load_mnist(root, n_samples: int, rng: np.random.Generator):
    """(X, y): n_samples training images as float64 columns in [0,1] (784 x N), labels (N,)."""
    paths = find_mnist(root)
    if paths is None:
        raise FileNotFoundError(f"no MNIST idx files under {root}")
    images = read_idx(paths["images"])
    labels = read_idx(paths["labels"])
    idx = rng.choice(images.shape[0], size=min(n_samples, images.shape[0]), replace=False)
    X = images[idx].reshape(len(idx), -1).astype(np.float64).T / 255.0
    return X, labels[idx].astype(np.int64)


@dataclass
class MnistRun:
    Ws0: list  # hidden square weights at init
    Ws: list  # hidden square weights after training
    ds: list  # hidden gates (between hidden layers)
    acc: float
    loss: list


def train_mnist_fgln(X, y, *, n: int, L: int, p: float, lr: float, steps: int, batch: int, gen,
                     device: str = "cpu") -> MnistRun:
    """FGLN with input (n x 784) and output (10 x n) adapters around L square n x n layers with p-gates
    between all consecutive layers (Section 8); cross-entropy, minibatch SGD. Returns the hidden block."""
    import torch

    from theory import samplers

    dev = torch.device(device)
    d_in = X.shape[0]
    sigma = 1.0 / np.sqrt(n)
    W_in = (torch.randn(n, d_in, generator=gen, device=gen.device, dtype=torch.float64) / np.sqrt(d_in)).to(dev)
    Wh = samplers.ginibre(L, n, sigma, gen).to(dev)
    W_out = (torch.randn(10, n, generator=gen, device=gen.device, dtype=torch.float64) / np.sqrt(n)).to(dev)
    gates = samplers.p_gate(L + 1, n, p, gen).to(dev)  # after W_in, between hidden layers, before W_out
    params = [W_in.requires_grad_(), Wh.requires_grad_(), W_out.requires_grad_()]
    Ws0 = [w.detach().cpu().numpy().copy() for w in Wh]
    Xt = torch.tensor(X, device=dev)
    yt = torch.tensor(y, device=dev)
    perm_gen = torch.Generator(device="cpu")
    perm_gen.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen, device=gen.device).item()))
    losses = []

    def forward(xb):
        h = gates[0][:, None] * (W_in @ xb)
        for l in range(L):
            h = Wh[l] @ h
            h = gates[l + 1][:, None] * h
        return W_out @ h

    for step in range(steps):
        idx = torch.randint(0, Xt.shape[1], (batch,), generator=perm_gen).to(dev)
        logits = forward(Xt[:, idx])
        loss = torch.nn.functional.cross_entropy(logits.T, yt[idx])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, g in zip(params, grads):
                w -= lr * g
        if step % max(1, steps // 20) == 0:
            losses.append(float(loss.detach()))
    with torch.no_grad():
        acc = float((forward(Xt).argmax(0) == yt).double().mean())
    hidden_ds = [gates[l + 1].cpu().numpy() for l in range(L - 1)]
    return MnistRun(Ws0, [w.detach().cpu().numpy() for w in Wh], hidden_ds, acc, losses)
