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
    """Plain full-batch gradient descent on L(J) = 1/(2N) ||J X - Y||_F^2 (torch autograd on W).

    The loss is evaluated through the second moments Sxx = X X^T/N, Syx = Y X^T/N, which is exact
    for the MSE and makes a step cost O(L n^3) independent of N.
    """
    import time

    import torch

    t0 = time.perf_counter()
    dev = torch.device(device)
    N = task.X.shape[1]
    Sxx = torch.tensor(task.X @ task.X.T / N, device=dev)
    Syx = torch.tensor(task.Y @ task.X.T / N, device=dev)
    Syy = float(np.sum(task.Y * task.Y) / N)
    W = [torch.tensor(w, device=dev, requires_grad=True) for w in Ws]
    D = [torch.tensor(d, device=dev) for d in ds]

    def J_of(W):
        J = W[0]
        for l in range(1, len(W)):
            J = W[l] @ (D[l - 1][:, None] * J)
        return J

    rec_steps, svals, g1, losses = [], [], [], []
    for step in range(steps + 1):
        J = J_of(W)
        loss = 0.5 * (torch.sum((J @ Sxx) * J) - 2 * torch.sum(J * Syx) + Syy)
        if step % record_every == 0 or step == steps:
            with torch.no_grad():
                U, S, Vh = torch.linalg.svd(J)
                GJ = J @ Sxx - Syx
                rec_steps.append(step)
                svals.append(S.cpu().numpy())
                g1.append(float(U[:, 0] @ GJ @ Vh[0]))
                losses.append(float(loss))
        if step == steps:
            break
        grads = torch.autograd.grad(loss, W)
        with torch.no_grad():
            for w, g in zip(W, grads):
                w -= lr * g
    return GDRun(np.array(rec_steps), np.array(svals), np.array(g1), np.array(losses),
                 [np.array(w) for w in Ws], [w.detach().cpu().numpy() for w in W],
                 [np.asarray(d) for d in ds], lr, time.perf_counter() - t0)
