"""Tests for icl_lab.baselines.regression: every vectorised baseline against an
independent per-prefix computation (numpy / scikit-learn loops over k in the test)."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import torch

from icl_lab.baselines import lasso as lasso_module
from icl_lab.baselines import regression as reg
from icl_lab.baselines.regression import (
    REGRESSION_BASELINES,
    averaging,
    bayes,
    decision_tree,
    gd,
    gradient_boosting,
    knn,
    lasso,
    least_squares,
    predict_means,
    ridge,
    two_layer_net,
    zero,
)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """The tensors here are tiny: intra-op threads only add overhead (seconds per test
    on a loaded 2-core machine), so run single-threaded and restore afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _close(actual: torch.Tensor, desired: torch.Tensor, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    assert actual.shape == desired.shape and actual.dtype == desired.dtype
    np.testing.assert_allclose(actual.numpy(), desired.numpy(), rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def sk_lasso():
    """sklearn's Lasso (imported once, outside the timed test bodies)."""
    return pytest.importorskip("sklearn.linear_model").Lasso


def _data(b: int, n: int, d: int, seed: int = 0, noise: float = 0.1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(b, n, d, generator=g, dtype=torch.float64)
    w = torch.randn(b, d, generator=g, dtype=torch.float64)
    ys = (xs * w[:, None, :]).sum(-1) + noise * torch.randn(b, n, generator=g, dtype=torch.float64)
    return xs.to(dtype), ys.to(dtype)


def _per_prefix(xs: torch.Tensor, ys: torch.Tensor, fit) -> np.ndarray:
    """Reference predictions: preds[b, k] = fit(X[:k], y[:k], x_k), 0 for k = 0."""
    x, y = xs.double().numpy(), ys.double().numpy()
    out = np.zeros(y.shape)
    for b in range(y.shape[0]):
        for k in range(1, y.shape[1]):
            out[b, k] = fit(x[b, :k], y[b, :k], x[b, k])
    return out


# ----------------------------------------------------------------------------- least squares
@pytest.mark.parametrize("n,d", [(12, 5), (6, 8)])
def test_least_squares_matches_numpy_min_norm(n, d):
    # k < d (min-norm interpolant), k = d (exact) and k > d (OLS) prefixes.
    xs, ys = _data(3, n, d, seed=1)
    ref = _per_prefix(xs, ys, lambda X, y, q: q @ np.linalg.lstsq(X, y, rcond=None)[0])
    np.testing.assert_allclose(least_squares(xs, ys).numpy(), ref, rtol=1e-9, atol=1e-9)


def test_least_squares_rank_deficient_prefix():
    xs, ys = _data(2, 10, 4, seed=2)
    xs[:, 3] = xs[:, 1]  # duplicated input: rank-deficient prefixes, inconsistent targets
    xs[:, 6] = 2.0 * xs[:, 0]
    ref = _per_prefix(xs, ys, lambda X, y, q: q @ np.linalg.lstsq(X, y, rcond=None)[0])
    np.testing.assert_allclose(least_squares(xs, ys).numpy(), ref, rtol=1e-9, atol=1e-9)


def test_cholesky_fast_path_and_fallback_in_one_batch():
    """Prompts whose inputs lie in a subspace lose Cholesky pivots and take the
    rank-revealing path; the others the fast path. Both against numpy's lstsq / pinv."""
    xs, ys = _data(6, 14, 5, seed=9)
    xs[:2, :, 3:] = 0.0  # inputs in a 3-dim subspace
    _, _, ok = reg._min_norm_prefix_fits(xs, ys)
    assert ok.tolist() == [False, False, True, True, True, True]
    ref = _per_prefix(xs, ys, lambda X, y, q: q @ np.linalg.lstsq(X, y, rcond=None)[0])
    np.testing.assert_allclose(least_squares(xs, ys).numpy(), ref, rtol=1e-8, atol=1e-8)
    _, var = bayes(xs, ys, noise_std=0.0, prior_std=1.5)
    x = xs.double().numpy()
    for b in range(6):
        for k in range(14):
            proj = np.linalg.pinv(x[b, :k]) @ x[b, :k] if k else np.zeros((5, 5))
            assert abs(var[b, k].item() - 1.5**2 * np.sum(((np.eye(5) - proj) @ x[b, k]) ** 2)) < 1e-8, (b, k)


def test_min_norm_solve_svd_path_matches_gelsy():
    # The default (SVD) and the optional LAPACK gelsy agree on a rank-deficient design.
    xs, ys = _data(2, 9, 6, seed=3)
    xs[:, 4] = xs[:, 2]
    design, targets = reg._prefix_design(xs, ys)
    a = reg._min_norm_solve(design, targets[..., None], method="svd")
    b = reg._min_norm_solve(design, targets[..., None], method="gelsy")
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- ridge / bayes
def test_ridge_matches_closed_form():
    xs, ys = _data(3, 12, 5, seed=4)
    lam = 0.7
    ref = _per_prefix(xs, ys, lambda X, y, q: q @ np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y))
    np.testing.assert_allclose(ridge(xs, ys, lam).numpy(), ref, rtol=1e-10, atol=1e-12)
    _close(ridge(xs, ys, 0.0), least_squares(xs, ys))


def test_bayes_posterior_predictive():
    xs, ys = _data(3, 12, 5, seed=5)
    sigma, tau = 0.3, 1.7
    mean, var = bayes(xs, ys, noise_std=sigma, prior_std=tau)
    _close(mean, ridge(xs, ys, sigma**2 / tau**2), rtol=1e-12, atol=1e-12)

    x, y = xs.numpy(), ys.numpy()
    ref_var = np.zeros(y.shape)
    for b in range(y.shape[0]):
        for k in range(y.shape[1]):
            X = x[b, :k]
            cov = np.linalg.inv(X.T @ X / sigma**2 + np.eye(X.shape[1]) / tau**2)
            ref_var[b, k] = sigma**2 + x[b, k] @ cov @ x[b, k]
    np.testing.assert_allclose(var.numpy(), ref_var, rtol=1e-10)
    # empty prompt: prior predictive
    np.testing.assert_allclose(var[:, 0].numpy(), sigma**2 + tau**2 * (x[:, 0] ** 2).sum(-1), rtol=1e-12)


def test_bayes_noiseless_limit():
    xs, ys = _data(3, 9, 5, seed=6, noise=0.0)
    tau = 1.3
    mean, var = bayes(xs, ys, noise_std=0.0, prior_std=tau)
    _close(mean, least_squares(xs, ys))
    x = xs.numpy()
    ref_var = np.zeros(ys.shape)
    for b in range(x.shape[0]):
        for k in range(x.shape[1]):
            proj = np.linalg.pinv(x[b, :k]) @ x[b, :k] if k else np.zeros((5, 5))  # onto row space of X_k
            ref_var[b, k] = tau**2 * np.sum(((np.eye(5) - proj) @ x[b, k]) ** 2)
    np.testing.assert_allclose(var.numpy(), ref_var, rtol=1e-8, atol=1e-10)
    assert float(var[:, 5:].abs().max()) < 1e-12  # k >= d: x_q lies in the row space
    # ... and it is the sigma -> 0 limit of the noisy posterior
    mean_s, var_s = bayes(xs, ys, noise_std=1e-4, prior_std=tau)  # (smaller: ridge ill-conditioned)
    np.testing.assert_allclose(mean_s.numpy(), mean.numpy(), rtol=1e-4, atol=1e-5)
    # the difference is sigma² (1 + x_qᵀ G_k⁺ x_q), largest at the ill-conditioned k = d
    np.testing.assert_allclose(var_s.numpy(), var.numpy(), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- lasso
def _lasso_objective(w, X, y, alpha):
    return 0.5 / len(y) * np.sum((y - X @ w) ** 2) + alpha * np.abs(w).sum()


@pytest.mark.parametrize("alpha,d,sparse", [(0.1, 6, True), (0.01, 6, False), (0.05, 8, True)])
def test_lasso_matches_sklearn(alpha, d, sparse, sk_lasso):
    xs, ys = _data(3, 14, d, seed=7)
    if sparse:
        g = torch.Generator().manual_seed(8)
        w = torch.zeros(3, d, dtype=torch.float64)
        w[:, :2] = torch.randn(3, 2, generator=g, dtype=torch.float64)
        ys = (xs * w[:, None]).sum(-1) + 0.05 * torch.randn(3, 14, generator=g, dtype=torch.float64)
    preds = lasso(xs, ys, alpha).numpy()
    x, y = xs.numpy(), ys.numpy()
    n_compared = 0
    for b in range(3):
        assert preds[b, 0] == 0.0
        for k in range(1, 14):
            model = sk_lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=100000)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(x[b, :k], y[b, :k])
            if not caught:  # compare where sklearn itself converged
                np.testing.assert_allclose(preds[b, k], x[b, k] @ model.coef_, atol=1e-5, rtol=1e-5)
                n_compared += 1
    assert n_compared >= 30


def test_lasso_objective_not_worse_than_sklearn(sk_lasso):
    # Under-determined prefixes (k < d) where coordinate descent is slow: compare the
    # objective reached, using the weights of the internal solver.
    xs, ys = _data(2, 10, 8, seed=9)
    alpha = 0.02
    gram, xty = reg._prefix_gram(xs, ys)
    yy = reg._exclusive_cumsum(ys.square())
    k = torch.arange(10, dtype=torch.float64).expand(2, 10)
    flat = (gram.reshape(-1, 8, 8), xty.reshape(-1, 8), yy.reshape(-1), (alpha * k).reshape(-1), (k > 8).reshape(-1))
    w, fails = lasso_module._solve(*flat, max_iter=1000, tol=1e-10)
    assert fails == 0
    w = w.reshape(2, 10, 8).numpy()
    x, y = xs.numpy(), ys.numpy()
    for b in range(2):
        for k in range(1, 10):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = sk_lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=100000).fit(x[b, :k], y[b, :k])
            ours = _lasso_objective(w[b, k], x[b, :k], y[b, :k], alpha)
            assert ours <= _lasso_objective(ref.coef_, x[b, :k], y[b, :k], alpha) + 1e-12
    np.testing.assert_allclose(lasso(xs, ys, alpha).numpy(), (x * w).sum(-1), atol=1e-12)


@pytest.mark.parametrize("alpha", [0.3, 0.01])
def test_lasso_path_directions_agree(alpha):
    # the path walked down from lam_max and up from least squares reach the same point
    xs, ys = _data(3, 16, 5, seed=24)
    gram, xty = reg._prefix_gram(xs, ys)
    k = torch.arange(16, dtype=torch.float64).expand(3, 16).reshape(-1)
    args = (gram.reshape(-1, 5, 5), xty.reshape(-1, 5), alpha * k)
    w_down, ok_down = lasso_module._homotopy(*args, torch.zeros_like(k, dtype=torch.bool), max_steps=100)
    w_both, ok_both = lasso_module._homotopy(*args, k > 5, max_steps=100)
    assert ok_down.all() and ok_both.all()
    np.testing.assert_allclose(w_both.numpy(), w_down.numpy(), rtol=1e-9, atol=1e-11)


def test_lasso_fallback_and_warning():
    xs, ys = _data(2, 12, 5, seed=10)
    ref = lasso(xs, ys, 0.05)
    # max_iter=1: one homotopy step, then coordinate descent -> some problems stay open
    with pytest.warns(RuntimeWarning, match=r"lasso: \d+ of 24 problems did not converge"):
        lasso(xs, ys, 0.05, max_iter=1)
    # duplicated column makes the homotopy hit a singular G_AA; the CD fallback solves it
    xs_dup = torch.cat([xs, xs[..., :1]], dim=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = lasso(xs_dup, ys, 0.05)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


# ----------------------------------------------------------------------------- simple ones
def test_averaging_matches_brute_force():
    xs, ys = _data(3, 10, 4, seed=11)
    ref = _per_prefix(xs, ys, lambda X, y, q: q @ (X * y[:, None]).mean(0))
    np.testing.assert_allclose(averaging(xs, ys).numpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 50])
def test_knn_matches_brute_force(k):
    xs, ys = _data(3, 10, 4, seed=12)

    def fit(X, y, q):
        order = np.argsort(np.linalg.norm(X - q, axis=1))
        return y[order[:k]].mean()

    np.testing.assert_allclose(knn(xs, ys, k=k).numpy(), _per_prefix(xs, ys, fit), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("steps,lr", [(1, 0.05), (4, 0.05), (3, None)])
def test_gd_matches_explicit_loop(steps, lr):
    xs, ys = _data(3, 10, 4, seed=13)

    def fit(X, y, q):
        k = len(y)
        eta = lr if lr is not None else 1.0 / np.mean(np.sum(X**2, axis=1))
        w = np.zeros(X.shape[1])
        for _ in range(steps):
            w = w - eta * X.T @ (X @ w - y) / k
        return q @ w

    np.testing.assert_allclose(gd(xs, ys, steps=steps, lr=lr).numpy(), _per_prefix(xs, ys, fit), rtol=1e-10, atol=1e-12)


def test_gd_one_step_formula():
    xs, ys = _data(2, 8, 3, seed=14)
    eta = 0.3
    w = eta * torch.cumsum(xs * ys[..., None], 1) / torch.arange(1, 9, dtype=torch.float64)[:, None]
    expect = torch.zeros_like(ys)
    expect[:, 1:] = (xs[:, 1:] * w[:, :-1]).sum(-1)
    _close(gd(xs, ys, steps=1, lr=eta), expect)


def test_zero_has_unit_normalized_error():
    # y = wᵀx, x, w ~ N(0, I_d): E[y²]/d = 1 and Var(y²/d) = 2 + 6/d, so with n = 20000
    # independent prompts the standard error of the mean is sqrt((2 + 6/d)/n) ≈ 0.0107 (d = 20).
    n, d = 20000, 20
    g = torch.Generator().manual_seed(15)
    xs = torch.randn(n, 1, d, generator=g)
    w = torch.randn(n, d, generator=g)
    ys = (xs[:, 0] * w).sum(-1, keepdim=True)
    preds = zero(xs, ys)
    assert preds.shape == ys.shape and preds.dtype == ys.dtype and not preds.any()
    nmse = float(((preds - ys) ** 2).mean() / d)
    se = np.sqrt((2 + 6 / d) / n)
    assert abs(nmse - 1.0) < 5 * se


# ----------------------------------------------------------------------------- contract
_VECTORISED = {
    "zero": lambda xs, ys: zero(xs, ys),
    "least_squares": lambda xs, ys: least_squares(xs, ys),
    "ridge": lambda xs, ys: ridge(xs, ys, 0.3),
    "bayes_mean": lambda xs, ys: bayes(xs, ys, 0.2, 1.0)[0],
    "bayes_var": lambda xs, ys: bayes(xs, ys, 0.2, 1.0)[1],
    "bayes0_mean": lambda xs, ys: bayes(xs, ys, 0.0, 1.0)[0],
    "bayes0_var": lambda xs, ys: bayes(xs, ys, 0.0, 1.0)[1],
    "averaging": lambda xs, ys: averaging(xs, ys),
    "knn": lambda xs, ys: knn(xs, ys, 3),
    "lasso": lambda xs, ys: lasso(xs, ys, 0.05),
    "gd": lambda xs, ys: gd(xs, ys, steps=3),
    "two_layer_net": lambda xs, ys: two_layer_net(xs, ys, hidden=8, steps=3),
}


@pytest.mark.parametrize("name", sorted(_VECTORISED))
def test_causal(name):
    """preds[:, k] depends only on xs[:, :k+1] and ys[:, :k]."""
    fn = _VECTORISED[name]
    xs, ys = _data(3, 10, 4, seed=16)
    base = fn(xs, ys)
    for j in (0, 4, 8):
        ys2 = ys.clone()
        ys2[:, j] += 1.5
        out = fn(xs, ys2)
        assert torch.equal(out[:, : j + 1], base[:, : j + 1]), f"y_{j} leaked into preds[:, :{j + 1}]"
        xs2 = xs.clone()
        xs2[:, j] += 0.7
        out = fn(xs2, ys)
        assert torch.equal(out[:, :j], base[:, :j]), f"x_{j} leaked into preds[:, :{j}]"
        if name != "zero" and not name.endswith("var"):
            assert not torch.equal(out[:, j:], base[:, j:])


@pytest.mark.parametrize("name", sorted(_VECTORISED))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_and_empty_prompt(name, dtype):
    xs, ys = _data(2, 7, 3, seed=17, dtype=dtype)
    out = _VECTORISED[name](xs, ys)
    assert out.shape == ys.shape and out.dtype == dtype and out.device == ys.device
    assert torch.isfinite(out).all()
    if not name.endswith("var"):
        assert (out[:, 0] == 0).all()


@pytest.mark.parametrize("name", ["least_squares", "ridge", "bayes_var", "bayes0_var", "gd", "lasso"])
def test_chunking_does_not_change_results(name, monkeypatch):
    xs, ys = _data(5, 9, 4, seed=18)
    full = _VECTORISED[name](xs, ys)
    monkeypatch.setattr(reg, "_CHUNK_ELEMS", 1)  # one prompt per chunk
    monkeypatch.setattr(lasso_module, "_CHUNK_ELEMS", 1)
    _close(_VECTORISED[name](xs, ys), full, rtol=1e-12, atol=1e-12)


def test_float32_agrees_with_float64():
    xs, ys = _data(2, 9, 4, seed=19)
    for fn in (least_squares, averaging, lambda x, y: ridge(x, y, 0.1), lambda x, y: lasso(x, y, 0.05)):
        np.testing.assert_allclose(fn(xs.float(), ys.float()).double().numpy(), fn(xs, ys).numpy(), atol=1e-4)


def test_invalid_arguments():
    xs, ys = _data(1, 4, 2)
    with pytest.raises(ValueError):
        least_squares(xs, ys[:, :3])
    with pytest.raises(ValueError):
        ridge(xs, ys, -1.0)
    with pytest.raises(ValueError):
        bayes(xs, ys, 0.1, 0.0)
    with pytest.raises(ValueError):
        knn(xs, ys, 0)
    with pytest.raises(ValueError):
        lasso(xs, ys, 0.0)


# ----------------------------------------------------------------------------- per prompt
def test_two_layer_net_shapes_and_learns():
    xs, ys = _data(2, 6, 3, seed=20, dtype=torch.float32)
    out = two_layer_net(xs, ys, hidden=16, steps=5)
    assert out.shape == (2, 6) and out.dtype == torch.float32 and (out[:, 0] == 0).all()
    _close(two_layer_net(xs, ys, hidden=16, steps=5), out)  # seeded

    # y = 2x in 1-D: after training on >= 5 points, far better than predicting 0
    g = torch.Generator().manual_seed(21)
    x1 = torch.rand(4, 12, 1, generator=g) * 2 - 1
    y1 = 2 * x1[..., 0]
    pred = two_layer_net(x1, y1, hidden=32, steps=300, lr=1e-2)
    err = ((pred - y1)[:, 5:] ** 2).mean()
    assert err < 0.1 * (y1[:, 5:] ** 2).mean()


def _step_data():
    # training inputs on a grid on both sides of 0, later queries away from the step
    grid = torch.linspace(-1, 1, 20, dtype=torch.float64)
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(22))
    later = torch.tensor([0.9, -0.7, 0.35, -0.25, 0.6, -0.95, 0.2, -0.4], dtype=torch.float64)
    xs = torch.cat([grid[perm], later])[None, :, None]  # [1, 28, 1]
    return xs, torch.sign(xs[..., 0])


def test_decision_tree_fits_step():
    xs, ys = _step_data()
    out = decision_tree(xs, ys)
    assert out.shape == ys.shape and out.dtype == ys.dtype and out[0, 0] == 0
    _close(out[:, 20:], ys[:, 20:])
    out_shallow = decision_tree(xs, ys, max_depth=1)
    _close(out_shallow[:, 20:], ys[:, 20:])


def test_gradient_boosting_fits_step():
    xs, ys = _step_data()
    out = gradient_boosting(xs[:, :24], ys[:, :24], n_estimators=20, learning_rate=0.5)
    assert out.shape == (1, 24) and out[0, 0] == 0
    np.testing.assert_allclose(out[0, 20:].numpy(), ys[0, 20:24].numpy(), atol=1e-3)
    assert float(out[0, 1]) == pytest.approx(float(ys[0, 0]))  # one example: predict its target


def test_trees_missing_sklearn_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.tree", None)
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    xs, ys = _data(1, 3, 2)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[trees\]'"):
        decision_tree(xs, ys)
    with pytest.raises(ImportError, match="trees"):
        gradient_boosting(xs, ys)


# ----------------------------------------------------------------------------- registry
def test_registry_and_predict_means():
    assert set(REGRESSION_BASELINES) == {
        "zero", "least_squares", "ridge", "bayes", "averaging", "knn", "lasso", "gd",
        "two_layer_net", "decision_tree", "gradient_boosting",
    }  # fmt: skip
    xs, ys = _data(2, 6, 3, seed=23)
    _close(predict_means("bayes", xs, ys, noise_std=0.5, prior_std=1.0), bayes(xs, ys, 0.5, 1.0)[0])
    _close(predict_means("ridge", xs, ys, lam=0.25), ridge(xs, ys, 0.25))
    with pytest.raises(KeyError, match="unknown baseline"):
        predict_means("nope", xs, ys)
