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
             record_every: int = 1, dtype: str = "float64") -> GDRun:
    """Plain full-batch gradient descent on L(J) = 1/(2N) ||J X - Y||_F^2 (batched torch on ``device``).

    The loss enters only through grad_J L = J Sxx - Syx (Sxx = X X^T/N, Syx = Y X^T/N), exact for the
    MSE, so a step costs O(L n^3) independent of N. The weight gradients are the chain rule
    A_l^T grad_J L B_l^T from prefix/suffix products (4L matmuls per step; tests/test_dynamics.py
    checks them against torch autograd). The spectrum of J and g = <grad_J L, u_1 v_1^T> are recorded
    every ``record_every`` steps and at the last step. ``dtype``: arithmetic of the steps (float32
    halves the cost; the recorded spectra and the returned weights are float64 either way).
    """
    import time

    import torch

    t0 = time.perf_counter()
    dev = torch.device(device)
    N = task.X.shape[1]
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    dt = getattr(torch, dtype)
    Sxx = torch.tensor(task.X @ task.X.T / N, device=dev, dtype=dt)
    Syx = torch.tensor(task.Y @ task.X.T / N, device=dev, dtype=dt)
    Syy = float(np.sum(task.Y * task.Y) / N)
    W = [torch.tensor(w, device=dev, dtype=dt) for w in Ws]
    D = [torch.tensor(d, device=dev, dtype=dt) for d in ds]
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
            Jd, GJd = J.double(), GJ.double()  # spectra in float64 whatever the arithmetic of the steps
            U, S, Vh = torch.linalg.svd(Jd)
            rec_steps.append(step)
            svals.append(S.cpu().numpy())
            g1.append(float(U[:, 0] @ GJd @ Vh[0]))
            losses.append(0.5 * float(torch.sum((Jd @ Sxx.double()) * Jd) - 2 * torch.sum(Jd * Syx.double()) + Syy))
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
                 [np.array(w) for w in Ws], [w.cpu().double().numpy() for w in W],
                 [np.asarray(d) for d in ds], lr, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# MNIST (Section 8, trained panels): local idx files only, never downloaded
# ---------------------------------------------------------------------------------------------
# The four files of the release, torchvision's raw names (each may be gzip-compressed), with what
# the idx header must say: magic number (0x0803 images, 0x0801 labels), dimensions.
MNIST_FILES = {
    "train-images-idx3-ubyte": (2051, (60000, 28, 28)),
    "train-labels-idx1-ubyte": (2049, (60000,)),
    "t10k-images-idx3-ubyte": (2051, (10000, 28, 28)),
    "t10k-labels-idx1-ubyte": (2049, (10000,)),
}
# md5 of the *decompressed* idx bytes of the LeCun-Cortes-Burges release: the same whatever tool
# compressed the .gz (../shared/mnist's .gz files have other md5s than the original .gz files, the
# same contents; its label counts match the published ones).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def local_mnist_root():
    """The MNIST copy the tests and benchmarks use without being told (never downloaded), as a resolved Path:
    $MNIST_ROOT when set, else ``../shared/mnist`` beside the checkout when it holds ``MNIST/raw``, else None.

    The CLI never guesses: it reads only ``--mnist-root``. ``noxfile.py`` repeats this lookup to pass that
    flag, because it runs before an environment that can import this module exists.
    """
    import os
    from pathlib import Path

    env = os.environ.get("MNIST_ROOT")
    if env:
        return Path(env).resolve()
    shared = Path(__file__).resolve().parents[2] / "shared" / "mnist"
    return shared if (shared / "MNIST" / "raw").is_dir() else None


def _idx_bytes(path) -> bytes:
    """The idx bytes of a file, decompressed if it ends in .gz; ValueError naming the file if unreadable."""
    import gzip
    import zlib

    path = str(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()  # reading to the end checks gzip's CRC-32 and length
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ValueError(f"{path}: not a readable {'gzip' if path.endswith('.gz') else 'idx'} file "
                         f"({type(exc).__name__}: {exc})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse unsigned-byte IDX bytes (MNIST's format) into an array; ValueError naming ``name`` if malformed."""
    import struct

    if len(data) < 4:
        raise ValueError(f"{name}: {len(data)} bytes, too short for an idx header")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 4:
        raise ValueError(f"{name}: not an unsigned-byte idx file (magic {data[:4].hex()}, expected 000008 + ndim)")
    if len(data) < 4 + 4 * ndim:
        raise ValueError(f"{name}: truncated idx header ({len(data)} bytes)")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(data) != expected:
        raise ValueError(f"{name}: header says {'x'.join(map(str, dims))} values ({expected} bytes), "
                         f"file has {len(data)} bytes ({'truncated' if len(data) < expected else 'trailing data'})")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_idx(path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed) into a numpy array."""
    return parse_idx(_idx_bytes(path), str(path))


def mnist_files(root) -> dict:
    """The four MNIST files under root/MNIST/raw, root/raw or root (torchvision layout; .gz or not).

    ValueError naming what is missing: every file and every folder looked in when none is found,
    else the files missing from the folder that holds the others.
    """
    from pathlib import Path

    root = Path(root)
    dirs = (root / "MNIST" / "raw", root / "raw", root)
    best: dict = {}
    for d in dirs:
        found = {}
        for name in MNIST_FILES:
            for suffix in ("", ".gz"):
                if (d / (name + suffix)).is_file():
                    found[name] = d / (name + suffix)
                    break
        if len(found) == len(MNIST_FILES):
            return found
        if len(found) > len(best):
            best = found
    if not best:
        raise ValueError(f"no MNIST under {root}: none of {', '.join(n + '[.gz]' for n in MNIST_FILES)} "
                         f"in {', '.join(str(d) for d in dirs)}")
    where = next(iter(best.values())).parent
    missing = [n + "[.gz]" for n in MNIST_FILES if n not in best]
    raise ValueError(f"incomplete MNIST in {where}: missing {', '.join(missing)}")


def _check_mnist_array(name: str, path, arr: np.ndarray, magic: int) -> None:
    want_magic, want_shape = MNIST_FILES[name]
    if magic != want_magic:
        raise ValueError(f"{path}: idx magic {magic} but {name} has {want_magic} "
                         f"({'images' if want_magic == 2051 else 'labels'})")
    if arr.shape != want_shape:
        raise ValueError(f"{path}: shape {arr.shape}, expected {want_shape} for {name}")
    if want_magic == 2049 and arr.size and int(arr.max()) > 9:
        raise ValueError(f"{path}: label {int(arr.max())} outside 0..9")


_MNIST_CACHE: dict = {}  # (file, size, mtime)s -> (summary, arrays): claims sharing a process read once


def _read_mnist(root, checksums: bool):
    import hashlib

    files = mnist_files(root)
    key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files.values())
    if key in _MNIST_CACHE:
        summary, arrays = _MNIST_CACHE[key]
        if checksums and not summary["release"]:
            bad = next(k for k in MNIST_FILES if summary["md5"][k] != MNIST_MD5[k])
            raise ValueError(f"{files[bad]}: md5 of the idx contents {summary['md5'][bad]} differs from the MNIST "
                             f"release's {MNIST_MD5[bad]}")
        return summary, arrays
    arrays, md5 = {}, {}
    for name, path in files.items():
        data = _idx_bytes(path)
        arr = parse_idx(data, str(path))
        _check_mnist_array(name, path, arr, int.from_bytes(data[:4], "big"))
        md5[name] = hashlib.md5(data).hexdigest()
        if checksums and md5[name] != MNIST_MD5[name]:
            raise ValueError(f"{path}: md5 of the idx contents {md5[name]} differs from the MNIST release's "
                             f"{MNIST_MD5[name]}")
        arrays[name] = arr
    summary = {"folder": str(next(iter(files.values())).parent),
               "files": {k: str(v) for k, v in files.items()},
               "train": int(arrays["train-labels-idx1-ubyte"].size),
               "test": int(arrays["t10k-labels-idx1-ubyte"].size),
               "train_label_counts": np.bincount(arrays["train-labels-idx1-ubyte"], minlength=10).tolist(),
               "test_label_counts": np.bincount(arrays["t10k-labels-idx1-ubyte"], minlength=10).tolist(),
               "md5": md5,
               "release": all(md5[k] == MNIST_MD5[k] for k in MNIST_FILES)}
    _MNIST_CACHE.clear()  # one copy in memory (~55 MB)
    _MNIST_CACHE[key] = (summary, arrays)
    return summary, arrays


def validate_mnist(root, *, checksums: bool = False) -> dict:
    """Check a local MNIST copy up front; ValueError with one line naming the offending file.

    Checks: the four files exist (see :func:`mnist_files`), gzip integrity (CRC), idx magic numbers,
    dimensions (60000 / 10000 x 28 x 28), exact file sizes, labels in 0..9 and, with ``checksums``,
    the md5 of each file's idx contents against the release (:data:`MNIST_MD5`). Returns a summary:
    folder, files, counts, label counts, md5s and whether they are the release's ("release").
    """
    return _read_mnist(root, checksums)[0]


def load_mnist(root, split: str = "train"):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of the validated local copy; ``split``: train or test."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    _, arrays = _read_mnist(root, False)
    pre = "train" if split == "train" else "t10k"
    return arrays[f"{pre}-images-idx3-ubyte"], arrays[f"{pre}-labels-idx1-ubyte"].astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Auto-augment (Section 8: "augmented with the auto-augment policy of Cifar10 from torchvision")
# ---------------------------------------------------------------------------------------------
def cifar10_autoaugment(images, seed: int):
    """AutoAugment with the CIFAR-10 policy on uint8 images (N, 28, 28) -> float32 (N, 28, 28) in [0, 1].

    kornia's ``AutoAugment(policy="cifar10")`` (optional extra ``mnist``: ``pip install kornia``; imported
    here only). Two adaptations make it act like torchvision's transform applied image by image:
    kornia draws one sub-policy per call, torchvision one per image, so each image gets its own
    sub-policy and every group is passed separately; kornia's Color (saturation) needs 3 channels,
    so images go through as 3 equal channels (saturating a grey image leaves it grey, as PIL does on
    mode "L") and come back as their mean. kornia draws from torch's global generator: it is forked
    and seeded with ``seed``, so the result is a function of (images, seed).
    """
    import torch

    try:
        from kornia.augmentation.auto import AutoAugment
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the MNIST setting needs kornia (auto-augment): pip install 'deep-jacobian-claims[mnist]'"
                          ) from None
    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0)[:, None]
    subs = list(AutoAugment(policy="cifar10").children())
    out = torch.empty_like(x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) % (2**63))
        pick = torch.randint(0, len(subs), (x.shape[0],))
        for k, sub in enumerate(subs):
            m = pick == k
            if bool(m.any()):
                out[m] = sub(x[m].expand(-1, 3, -1, -1)).mean(1, keepdim=True).clamp_(0.0, 1.0)
    return out[:, 0]


# ---------------------------------------------------------------------------------------------
# Training the Section 8 network
# ---------------------------------------------------------------------------------------------
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the usual per-pixel normalisation of MNIST (training set)


def augmented_pool(images, labels, copies: int, seed: int, augment: bool = True):
    """(X float32 (copies N, 28, 28) in [0, 1], y (copies N,)): ``copies`` independently auto-augmented
    copies of ``images`` (``augment=False``: the images themselves, once). Training draws minibatches
    from the pool, so a pass over it shows every image in ``copies`` different augmentations, as
    on-the-fly augmentation over ``copies`` epochs would, at a fraction of the cost when several
    networks are trained on the same data."""
    import torch

    images = np.asarray(images)
    labels = np.asarray(labels, dtype=np.int64)
    if not augment:
        return torch.from_numpy(images.astype(np.float32) / 255.0), labels.copy()
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    X = torch.cat([cifar10_autoaugment(images, derive_stream(seed, c)) for c in range(copies)])
    return X, np.tile(labels, copies)


def derive_stream(seed: int, k: int) -> int:
    """A 62-bit seed for stream k of ``seed`` (deterministic, order-free)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{int(seed)}:{int(k)}".encode()).digest()[:8], "little") >> 2


@dataclass
class MnistRun:
    Ws0: list  # hidden square weights at init
    Ws: list  # hidden square weights after training
    ds: list  # hidden gates D_1..D_{L-1}
    acc: float  # accuracy on the un-augmented ``eval`` set (training images)
    test_acc: float | None
    loss: list  # training loss, ~20 points
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0


def train_mnist_fgln(X, y, *, n: int = 128, L: int = 10, p: float = 0.5, optimizer: str = "sgd",
                     lr: float, momentum: float = 0.0, steps: int, batch: int = 128, gen,
                     evaluate=None, test=None, dtype: str = "float32", device: str = "cpu") -> MnistRun:
    """Section 8's network: x -> W_out J W_in x with J = W_L D_{L-1} ... D_1 W_1 a square FGLN of width n
    (unconditioned p-gates, sigma = 1/sqrt(n) Ginibre), adapters W_in (n x 784) and W_out (10 x n) with
    N(0, 1/fan_in) entries and no gates at the junctions (Def. 4.1: D_0 = D_L = I).

    Cross-entropy; minibatch SGD (heavy-ball ``momentum``) or Adam; ``steps`` minibatches of ``batch``
    drawn without replacement from the pool ``X`` (float images in [0, 1], e.g. :func:`augmented_pool`),
    reshuffled at each pass; pixels normalised by the MNIST mean and std. Arithmetic in ``dtype``
    (float32, as such networks are trained; the initial weights are drawn in float64 and the trained
    ones returned in float64). ``gen``: CPU torch.Generator for initialisation, gates and shuffles.
    ``evaluate``/``test``: (uint8 images, labels) whose accuracy is reported. Returns the hidden block
    before and after training.
    """
    import time

    import torch

    from theory import samplers

    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if steps < 1 or batch < 1 or lr <= 0 or not 0 <= momentum < 1:
        raise ValueError(f"need steps >= 1, batch >= 1, lr > 0, 0 <= momentum < 1 "
                         f"(got {steps}, {batch}, {lr}, {momentum})")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    t0 = time.perf_counter()
    dev, dt = torch.device(device), getattr(torch, dtype)
    M = X.shape[0]
    d_in = int(np.prod(X.shape[1:]))
    batch = min(batch, M)
    W_in = torch.randn(n, d_in, generator=gen, dtype=torch.float64) / np.sqrt(d_in)
    Wh = samplers.ginibre(L, n, 1.0 / np.sqrt(n), gen)
    W_out = torch.randn(10, n, generator=gen, dtype=torch.float64) / np.sqrt(n)
    gates = samplers.p_gate(max(L - 1, 1), n, p, gen)[: L - 1]
    Ws0 = [w.numpy().copy() for w in Wh]
    # one leaf per layer: indexing a stacked (L, n, n) leaf would make every backward pass build L
    # full-size zero gradients
    params = [W_in.to(dev, dt).requires_grad_(), *[w.to(dev, dt).requires_grad_() for w in Wh],
              W_out.to(dev, dt).requires_grad_()]
    W_in_t, Wh_t, W_out_t = params[0], params[1:-1], params[-1]
    D = gates.to(dev, dt)
    # rows are images: a minibatch is a gather of rows (gathering columns of a (784, M) array is 10x slower)
    Xf = (torch.as_tensor(X).reshape(M, d_in).to(dev, dt) - MNIST_MEAN) / MNIST_STD
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=dev)

    def forward(xb):
        h = Wh_t[0] @ (W_in_t @ xb)
        for l in range(1, L):
            h = Wh_t[l] @ (D[l - 1][:, None] * h)
        return W_out_t @ h

    # the update rules of torch.optim.SGD (heavy ball) and Adam (betas 0.9, 0.999, eps 1e-8), written
    # out: importing torch.optim costs seconds (it loads torch._dynamo)
    m1 = [torch.zeros_like(w) for w in params]
    m2 = [torch.zeros_like(w) for w in params]
    losses = []
    per_pass = max(1, M // batch)
    perm = None
    for step in range(steps):
        if step % per_pass == 0:
            perm = torch.randperm(M, generator=gen).to(dev)
        idx = perm[(step % per_pass) * batch:(step % per_pass + 1) * batch]
        loss = torch.nn.functional.cross_entropy(forward(Xf[idx].T).T, yt[idx])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, g, a, b in zip(params, grads, m1, m2):
                if optimizer == "sgd":
                    if momentum:
                        (a.mul_(momentum).add_(g) if step else a.copy_(g))
                        g = a
                    w.sub_(lr * g)
                else:
                    a.mul_(0.9).add_(g, alpha=0.1)
                    b.mul_(0.999).addcmul_(g, g, value=0.001)
                    w.addcdiv_(a / (1 - 0.9 ** (step + 1)), (b / (1 - 0.999 ** (step + 1))).sqrt_().add_(1e-8),
                               value=-lr)
        if step % max(1, steps // 20) == 0 or step == steps - 1:
            losses.append(float(loss.detach()))

    def accuracy(data):
        if data is None:
            return None
        imgs, labs = data
        with torch.no_grad():
            x = torch.from_numpy(np.asarray(imgs, dtype=np.float32).reshape(len(labs), -1) / 255.0).to(dev, dt)
            pred = forward(((x - MNIST_MEAN) / MNIST_STD).T).argmax(0).cpu().numpy()
        return float(np.mean(pred == np.asarray(labs)))

    settings = {"n": n, "L": L, "p": p, "optimizer": optimizer, "lr": lr, "momentum": momentum, "steps": steps,
                "batch": batch, "pool": M, "dtype": dtype}
    return MnistRun(Ws0, [w.detach().cpu().double().numpy() for w in Wh_t], [d.numpy() for d in gates],
                    accuracy(evaluate), accuracy(test), losses, settings, time.perf_counter() - t0)
