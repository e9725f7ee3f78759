"""Centred kernel alignment (CKA) of two in-memory representations, and variants robust to outliers.

CKA (Kornblith et al. 2019, "Similarity of neural network representations
revisited") compares two representations of the same ``n`` examples (here:
spaCy tokens) through their ``n x n`` Gram matrices ``K`` and ``L``:
``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with
``HSIC(K, L) = tr(H K H L)`` (``H`` the centring matrix; the ``1/(n-1)^2`` cancels).

The variants, all options of :func:`compute_cka` (and of the streaming
:class:`~trfviz.analysis.similarity.cka.reducer.LayerCKA`):

``kernel="linear"`` (default)
    ``K = X X^T``; then ``CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``
    with column-centred ``Xc``, ``Yc``. It weighs directions by their variance,
    so a few dimensions with huge values on a few tokens decide it.
``kernel="rbf"``
    ``K_ij = exp(-||x_i - x_j||^2 / (2 s^2))`` with
    ``s = sigma * sqrt(median_ij ||x_i - x_j||^2)``, the median taken over all
    ``n^2`` pairs including ``i = j`` (as in Kornblith et al.'s code); ``sigma``
    defaults to 0.8, a value from their experiments. Tokens far from all
    others get a row of ~0 instead of dominating.
``features=``
    what the kernel sees, per layer, computed from the same tokens:
    ``"raw"`` the states; ``"standardized"`` every dimension z-scored
    (centred, divided by its standard deviation; constant dimensions are
    dropped); ``"trimmed"`` the ``trim_dims`` dimensions of largest variance
    removed; ``"clipped"`` every dimension clipped to its own
    ``[clip_quantile, 1 - clip_quantile]`` quantiles (numpy's default linear
    interpolation), i.e. winsorised.
``debiased=True``
    HSIC replaced by its unbiased estimator (Song et al. 2012, as used for
    CKA by Nguyen et al. 2021 and Davari et al. 2022): the diagonals of
    ``K`` and ``L`` are dropped and the estimate corrected for the number of
    examples, so CKA of unrelated representations is ~0 instead of growing
    with ``dim / n``. It can be slightly negative; it needs ``n >= 4``.

Why the variants: SmolLM2's residual stream has "massive activations" (Sun et
al. 2024): from layer 12 on, dimension 507 alone holds ~98 % of the variance,
with values near 30,000 on each sentence's first token against a median
absolute value near 2. Linear CKA against MiniLM is then ~0.06 for every such
layer. Dimension-wise fixes do not recover it (the same tokens are huge in
several dimensions); leaving the first token out (``skip_initial=1``) or the
RBF kernel do (see ``notebooks/same_words.ipynb``). Davari et al. (2022,
"Reliability of CKA as a similarity measure") show this sensitivity of linear
CKA to a few outlying points in general.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = [
    "FEATURES",
    "KERNELS",
    "Features",
    "Kernel",
    "center_gram",
    "check_features",
    "check_kernel",
    "cka_from_grams",
    "compute_cka",
    "gram_linear",
    "gram_rbf",
    "kept_dims",
    "linear_cka",
    "normalised",
    "prepare_features",
]

Kernel = Literal["linear", "rbf"]
Features = Literal["raw", "standardized", "trimmed", "clipped"]
KERNELS: tuple[str, ...] = ("linear", "rbf")
FEATURES: tuple[str, ...] = ("raw", "standardized", "trimmed", "clipped")


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two representations of the same ``n`` examples (Kornblith et al. 2019).

    Args:
        x: ``[n, p]``; y: ``[n, q]``. Rows are examples (tokens).

    Returns:
        ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with column-centred
        ``Xc``, ``Yc``: 1 for representations equal up to rotation and scale.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 4))
    >>> round(linear_cka(x, 3 * x), 12)
    1.0
    """
    return compute_cka(x, y)


def prepare_features(
    x: np.ndarray,
    features: Features = "raw",
    *,
    trim_dims: int = 1,
    clip_quantile: float = 0.01,
) -> np.ndarray:
    """Column-centred float64 ``[n, dim']`` features of ``x`` after the ``features`` transform.

    See the module docs for the transforms. ``"standardized"`` and
    ``"trimmed"`` may return fewer columns (constant / removed dimensions).

    >>> x = np.array([[0.0, 0.0], [1.0, 100.0], [2.0, 0.0]])
    >>> prepare_features(x, "trimmed").tolist()  # the high-variance column is gone
    [[-1.0], [0.0], [1.0]]
    """
    check_features(features, trim_dims, clip_quantile)
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be [examples, dims]; got shape {x.shape}")
    if features == "clipped":
        low, high = np.quantile(x, [clip_quantile, 1.0 - clip_quantile], axis=0)
        x = np.clip(x, low, high)
    xc = x - x.mean(axis=0)
    if features == "standardized":
        sd = np.sqrt((xc * xc).mean(axis=0))
        keep = sd > 0
        return xc[:, keep] / sd[keep]
    if features == "trimmed":
        return xc[:, kept_dims((xc * xc).sum(axis=0), trim_dims)]
    return xc


def gram_linear(x: np.ndarray) -> np.ndarray:
    """``[n, n]`` linear-kernel Gram matrix ``x x^T`` (float64)."""
    x = np.asarray(x, np.float64)
    return x @ x.T


def gram_rbf(x: np.ndarray, *, sigma: float = 0.8) -> np.ndarray:
    """``[n, n]`` RBF Gram matrix, bandwidth ``sigma`` times the median pairwise distance.

    ``K_ij = exp(-d_ij / (2 sigma^2 median(d)))`` with ``d`` the squared
    Euclidean distances, the median over all ``n^2`` entries (diagonal
    included), as in Kornblith et al.'s code.

    Raises:
        ValueError: the median squared distance is 0 (most examples coincide).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=0)  # distances are unchanged; the products below lose less
    norms = np.einsum("ij,ij->i", x, x)
    distances = norms[:, None] + norms[None, :] - 2.0 * (x @ x.T)
    np.maximum(distances, 0.0, out=distances)
    np.fill_diagonal(distances, 0.0)
    median = float(np.median(distances))
    if median <= 0:
        raise ValueError(
            "the median squared distance between examples is 0 (most examples coincide); "
            "the RBF bandwidth is undefined"
        )
    distances *= -1.0 / (2.0 * sigma**2 * median)
    return np.exp(distances, out=distances)


def center_gram(gram: np.ndarray, *, unbiased: bool = False) -> np.ndarray:
    """The centred copy of a symmetric ``[n, n]`` Gram matrix: ``H K H``, or its unbiased form.

    With ``unbiased=True`` this is the matrix whose inner product with
    another one gives ``n (n - 3)`` times the unbiased HSIC estimator of Song
    et al. (2012): the diagonal is zeroed, rows and columns are centred with
    ``n - 2`` in place of ``n`` and the diagonal zeroed again (the form of
    Kornblith et al.'s code).
    """
    gram = np.array(gram, dtype=np.float64)
    n = len(gram)
    if unbiased:
        if n < 4:
            raise ValueError(f"debiased CKA needs at least 4 examples; got {n}")
        np.fill_diagonal(gram, 0.0)
        means = gram.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        np.fill_diagonal(gram, 0.0)
    else:
        means = gram.mean(axis=0)
        means -= means.mean() / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def cka_from_grams(gram_x: np.ndarray, gram_y: np.ndarray, *, debiased: bool = False) -> float:
    """CKA of two ``[n, n]`` Gram matrices over the same examples (NaN if one is constant)."""
    if gram_x.shape != gram_y.shape or gram_x.shape[0] != gram_x.shape[-1]:
        raise ValueError(
            f"Gram matrices must be square and alike; got {gram_x.shape}, {gram_y.shape}"
        )
    kx = center_gram(gram_x, unbiased=debiased)
    ky = center_gram(gram_y, unbiased=debiased)
    return normalised(float(np.vdot(kx, ky)), float(np.vdot(kx, kx)), float(np.vdot(ky, ky)))


def compute_cka(
    x: np.ndarray,
    y: np.ndarray,
    *,
    kernel: Kernel = "linear",
    features: Features = "raw",
    debiased: bool = False,
    sigma: float = 0.8,
    trim_dims: int = 1,
    clip_quantile: float = 0.01,
) -> float:
    """CKA of two representations ``x [n, p]`` and ``y [n, q]`` of the same ``n`` examples.

    The variants are described in the module docs. Linear CKA is computed in
    feature space (``O(n p q)``, the debiased form by Kornblith et al.'s
    identity), RBF CKA from the ``n x n`` Gram matrices.

    Returns:
        The CKA, in ``[0, 1]`` unless ``debiased`` (then it may dip below 0);
        NaN when a representation is constant.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3))
    >>> round(compute_cka(x, 2 * x + 1, kernel="rbf", features="standardized"), 12)
    1.0
    """
    check_kernel(kernel, debiased, sigma)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples and y {len(y)}")
    if len(x) < 2:
        raise ValueError("CKA needs at least two examples")
    xc = prepare_features(x, features, trim_dims=trim_dims, clip_quantile=clip_quantile)
    yc = prepare_features(y, features, trim_dims=trim_dims, clip_quantile=clip_quantile)
    if kernel == "rbf":
        return cka_from_grams(
            gram_rbf(xc, sigma=sigma), gram_rbf(yc, sigma=sigma), debiased=debiased
        )
    cross = float(np.linalg.norm(yc.T @ xc) ** 2)
    self_x = float(np.linalg.norm(xc.T @ xc) ** 2)
    self_y = float(np.linalg.norm(yc.T @ yc) ** 2)
    if debiased:
        n = len(xc)
        if n < 4:
            raise ValueError(f"debiased CKA needs at least 4 examples; got {n}")
        rows_x, rows_y = np.einsum("ij,ij->i", xc, xc), np.einsum("ij,ij->i", yc, yc)
        cross = _debias(cross, rows_x, rows_y, n)
        self_x = _debias(self_x, rows_x, rows_x, n)
        self_y = _debias(self_y, rows_y, rows_y, n)
    return normalised(cross, self_x, self_y)


def _debias(product: float, rows_x: np.ndarray, rows_y: np.ndarray, n: int) -> float:
    """``n (n - 3)`` x unbiased HSIC of linear kernels from feature-space terms.

    For centred features, ``tr(K~ L~)`` and the row sums of the zero-diagonal
    Grams are expressed through ``||Y^T X||^2`` and the squared row norms
    (Kornblith et al.'s ``_debiased_dot_product_similarity_helper``).
    """
    return float(
        product
        - n / (n - 2.0) * float(rows_x @ rows_y)
        + float(rows_x.sum()) * float(rows_y.sum()) / ((n - 1.0) * (n - 2.0))
    )


def normalised(cross: float, self_x: float, self_y: float) -> float:
    """``cross / sqrt(self_x self_y)``: CKA from its three HSIC terms; NaN if one self term is 0."""
    if not (self_x > 0 and self_y > 0):
        return float("nan")
    return cross / float(np.sqrt(self_x) * np.sqrt(self_y))


def kept_dims(variances: np.ndarray, trim_dims: int) -> np.ndarray:
    """Bool mask without the ``trim_dims`` largest ``variances`` (ties: lower index goes first)."""
    keep = np.ones(len(variances), dtype=bool)
    if trim_dims:
        order = np.argsort(-variances, kind="stable")
        keep[order[:trim_dims]] = False
    return keep


def check_kernel(kernel: str, debiased: object, sigma: float) -> None:
    """Raise a clear error for a bad ``kernel``, ``debiased`` or ``sigma``."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}; got {kernel!r}")
    if not isinstance(debiased, bool | np.bool_):
        raise TypeError(f"debiased must be True or False; got {debiased!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")


def check_features(features: str, trim_dims: int, clip_quantile: float) -> None:
    """Raise a clear error for a bad ``features``, ``trim_dims`` or ``clip_quantile``."""
    if features not in FEATURES:
        raise ValueError(f"features must be one of {', '.join(FEATURES)}; got {features!r}")
    if int(trim_dims) != trim_dims or trim_dims < 0:
        raise ValueError(f"trim_dims must be a non-negative integer; got {trim_dims!r}")
    if not 0.0 <= clip_quantile < 0.5:
        raise ValueError(f"clip_quantile must be in [0, 0.5); got {clip_quantile}")
