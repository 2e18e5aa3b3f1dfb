"""Unit tests that close blind spots found by mutation testing (issue 17, part 6) in the maths modules
theory/dynamics.py, fgln.py, products.py, subadditive.py and wedge.py: each compares a helper with an
independent computation from its definition, on small inputs."""

from __future__ import annotations

import hashlib
import struct
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from conftest import within

from checks.tolerance import tol
from theory import dynamics, fgln, products, subadditive, wedge


# ----------------------------------------------------------------------------------------------
# dynamics: the MNIST validator (tiny idx files, shapes patched) and the augmented pool
# ----------------------------------------------------------------------------------------------
SMALL = {"train-images-idx3-ubyte": (2051, (20, 28, 28)), "train-labels-idx1-ubyte": (2049, (20,)),
         "t10k-images-idx3-ubyte": (2051, (10, 28, 28)), "t10k-labels-idx1-ubyte": (2049, (10,))}


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A copy with 20 / 10 images (MNIST_FILES patched to those shapes), labels 0..9 cycling."""
    for name, spec in SMALL.items():
        monkeypatch.setitem(dynamics.MNIST_FILES, name, spec)
    monkeypatch.setattr(dynamics, "_MNIST_CACHE", {})
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    data = {}
    for name, (magic, dims) in SMALL.items():
        n = int(np.prod(dims))
        payload = (np.arange(n) % (256 if magic == 2051 else 10)).astype(np.uint8).tobytes()
        data[name] = struct.pack(">HBB", 0, 8, len(dims)) + struct.pack(">" + "I" * len(dims), *dims) + payload
        (raw / name).write_bytes(data[name])
    return tmp_path, data


def test_validate_mnist_returns_the_summary(tiny_mnist):
    root, data = tiny_mnist
    info = dynamics.validate_mnist(root)
    assert isinstance(info, dict) and info["train"] == 20 and info["test"] == 10
    assert info["train_label_counts"] == [2] * 10 and info["test_label_counts"] == [1] * 10
    assert info["md5"] == {k: hashlib.md5(v).hexdigest() for k, v in data.items()}
    assert not info["release"]


def test_validate_mnist_checksums_on_the_cached_copy(tiny_mnist):
    """The second call hits the cache; with checksums it must still name the first file whose md5 differs."""
    root, _ = tiny_mnist
    dynamics.validate_mnist(root)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*md5"):
        dynamics.validate_mnist(root, checksums=True)


def test_augmented_pool_shapes_and_streams():
    pytest.importorskip("kornia")
    imgs = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    imgs = imgs.astype(np.uint8)
    X, y = dynamics.augmented_pool(imgs, np.array([1, 2, 3]), 2, seed=5)
    assert tuple(X.shape) == (6, 28, 28) and y.tolist() == [1, 2, 3, 1, 2, 3]
    for c in range(2):
        np.testing.assert_array_equal(X[3 * c:3 * c + 3].numpy(),
                                      dynamics.cifar10_autoaugment(imgs, dynamics.derive_stream(5, c)).numpy())


# ----------------------------------------------------------------------------------------------
# fgln
# ----------------------------------------------------------------------------------------------
def test_pprod_empty_product_is_the_identity_on_the_input_of_M_a():
    rng = np.random.default_rng(0)
    Ms = [rng.standard_normal((4, 2)), rng.standard_normal((3, 4)), rng.standard_normal((5, 3))]
    for a in (1, 2, 3):
        np.testing.assert_array_equal(fgln.pprod(Ms, a, a - 1), np.eye(Ms[a - 1].shape[1]))
    np.testing.assert_array_equal(fgln.pprod(Ms, 4, 3), np.eye(5))
    # M_{a:b} M_{a'':a-1} composes: the identity's size must fit
    P = fgln.pprod(Ms, 1, 3)
    assert within(np.abs(fgln.pprod(Ms, 2, 3) @ fgln.pprod(Ms, 2, 1) @ Ms[0] - P),
                  tol(4, scale=float(np.abs(P).max()), kernels=2), "pprod composition")


def test_rem72_printed_from_its_definition_with_nonzero_delta():
    """On the chain with an orthogonal last factor, (i) holds as printed with delta_k = -gamma_k and
    s_k = e^{(L-1) gamma_k}: printed = e^{(1+1/L) delta} s^{1-1/L} (factored sum), delta != 0 here."""
    rng = np.random.default_rng(2)
    L, gam = 4, np.array([0.3, 0.0, -0.25])
    Ms = fgln.rem72_chain(3, L, gam, rng)
    Md = [rng.standard_normal((3, 3)) for _ in range(L)]
    r = fgln.rem72_diagnostics(Ms, Md)
    t = tol(3 * L, kappa=np.exp(L * (gam[0] - gam[-1])), kernels=3)
    assert within(np.abs(r["delta"] + gam), t, "delta = -gamma")
    assert within(np.abs(r["s"] / np.exp((L - 1) * gam) - 1), t, "s")
    want = np.exp(-(1 + 1 / L) * gam) * np.exp((L - 1) * gam) ** (1 - 1 / L) * r["factored_sum"]
    assert within(np.abs(r["printed"] - want), t * np.abs(want) + t * np.abs(r["factored_sum"]), "printed")
    assert np.min(np.abs(r["factored_sum"])) > 1e3 * t * np.max(np.abs(r["factored_sum"]))


# ----------------------------------------------------------------------------------------------
# products: the non-finite guard of log_svals_of
# ----------------------------------------------------------------------------------------------
def test_log_svals_of_reports_non_finite_layers_as_minus_inf():
    rng = np.random.default_rng(1)
    mats = rng.standard_normal((2, 3, 4, 4))
    mats[0, 1, 2, 1] = np.inf
    mats[1, 2, 0, 0] = np.nan
    out = products.log_svals_of(mats).numpy()
    assert out.shape == (2, 4) and not np.isnan(out).any()
    assert np.isneginf(out).any(axis=1).all()
    for row in out:  # descending, -inf from some index on
        fin = np.isfinite(row)
        assert fin.tolist() == sorted(fin.tolist(), reverse=True)


# ----------------------------------------------------------------------------------------------
# subadditive: the "geom" family off the exact path
# ----------------------------------------------------------------------------------------------
def test_geom_family_mpmath_branch_matches_its_formula():
    a, d, c = 1.5, 0.5, 0.75
    u = subadditive.family("geom", a, d, c)
    ue = subadditive.family("geom", Fraction(3, 2), Fraction(1, 2), Fraction(3, 4))
    for L in range(1, 8):
        want = mpmath.mpf(a) * L + d + mpmath.mpf(c) / 2 ** L
        assert abs(u(L) - want) <= 4 * mpmath.eps * abs(want)
        assert ue(L) == Fraction(3, 2) * L + Fraction(1, 2) + Fraction(3, 4) / 2 ** L


# ----------------------------------------------------------------------------------------------
# wedge: Lemma C.3 as printed
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("i,t,r,sigma", [(1, 3, 2, 0.7), (2, 5, 3, 1.3), (3, 4, 3, 0.5)])
def test_lemma_c3_printed_matches_mpmath(i, t, r, sigma):
    want = i / 2 * mpmath.log(2 * mpmath.mpf(sigma) ** 2) + sum(mpmath.digamma(mpmath.mpf(t - k + 1) / 2)
                                                               for k in range(1, i + 1)) / 2
    got = wedge.lemma_c3_printed(i, t, r, sigma)
    assert within(abs(got - float(want)), tol(i + 2, scale=float(abs(want)) + 1.0), "lemma C.3 printed")
    assert wedge.lemma_c3_printed(r + 1, t, r, sigma) == -np.inf
