"""Exact streaming linear CKA: means and centred second moments, updated, combined and read out.

For each model the running mean of every kept layer's states (side by side,
``[layers * dim]``), the centred second moments ``Xc^T Xc`` per layer
(``[layers, dim, dim]``) and the centred cross-moment ``Xc^T Yc`` of every layer
pair (``[layers_a * dim_a, layers_b * dim_b]``) are all linear CKA needs, also
after the ``"standardized"`` and ``"trimmed"`` feature transforms (per-dimension
weights computed from the moments' diagonals). Batches are folded in and
partial moments combined by the pairwise update of Chan et al., accurate where
hidden states have large means. The big arrays are updated in place.
"""

from __future__ import annotations

import numpy as np

from trfviz.analysis.similarity.cka.kernels import kept_dims

__all__ = ["MOMENT_FEATURES", "combine_moments", "feature_weights", "fold_rows", "moment_cka"]

#: Feature transforms linear CKA can stream from second moments.
MOMENT_FEATURES = frozenset({"raw", "standardized", "trimmed"})


def fold_rows(
    n: int,
    means: tuple[np.ndarray, np.ndarray],
    self_a: np.ndarray,
    self_b: np.ndarray,
    cross: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    dims: tuple[int, int],
) -> tuple[int, np.ndarray, np.ndarray]:
    """The new token count and means after folding rows ``x``, ``y`` into the moments.

    ``self_a``, ``self_b`` and ``cross`` are updated in place.
    """
    mean_a, mean_b = means
    m = len(x)
    total = n + m
    # Welford-style batch update: M += (x - mean_old)^T (y - mean_new) is exactly the
    # pairwise combination of the old moments with the batch's, in one product.
    new_mean_a = mean_a + (x.sum(0) - m * mean_a) / total
    new_mean_b = mean_b + (y.sum(0) - m * mean_b) / total
    xo, xn = x - mean_a, x - new_mean_a
    yo, yn = y - mean_b, y - new_mean_b
    cross += xo.T @ yn
    dim_a, dim_b = dims
    xo3, xn3 = xo.reshape(m, -1, dim_a), xn.reshape(m, -1, dim_a)
    yo3, yn3 = yo.reshape(m, -1, dim_b), yn.reshape(m, -1, dim_b)
    for layer in range(xo3.shape[1]):
        self_a[layer] += xo3[:, layer].T @ xn3[:, layer]
    for layer in range(yo3.shape[1]):
        self_b[layer] += yo3[:, layer].T @ yn3[:, layer]
    return total, new_mean_a, new_mean_b


def combine_moments(
    n: int,
    means: tuple[np.ndarray, np.ndarray],
    self_a: np.ndarray,
    self_b: np.ndarray,
    cross: np.ndarray,
    other: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    dims: tuple[int, int],
) -> tuple[int, np.ndarray, np.ndarray]:
    """The combined token count and means of two sets of moments (Chan et al.).

    ``other`` is ``(n, mean_a, mean_b, self_a, self_b, cross)``, read only;
    ``self_a``, ``self_b`` and ``cross`` are updated in place.
    """
    mean_a, mean_b = means
    other_n, other_mean_a, other_mean_b, other_self_a, other_self_b, other_cross = other
    total = n + other_n
    weight = n * other_n / total
    delta_a, delta_b = other_mean_a - mean_a, other_mean_b - mean_b
    dim_a, dim_b = dims
    da, db = delta_a.reshape(-1, dim_a), delta_b.reshape(-1, dim_b)
    cross += other_cross
    cross += weight * np.outer(delta_a, delta_b)
    self_a += other_self_a + weight * da[:, :, None] * da[:, None, :]
    self_b += other_self_b + weight * db[:, :, None] * db[:, None, :]
    return total, mean_a + delta_a * (other_n / total), mean_b + delta_b * (other_n / total)


def moment_cka(
    self_a: np.ndarray,
    self_b: np.ndarray,
    cross: np.ndarray,
    *,
    features: str,
    trim_dims: int,
) -> np.ndarray:
    """``[layers_a, layers_b]`` linear CKA from the moments, features weighted per dimension."""
    n_a, dim_a = self_a.shape[:2]
    n_b, dim_b = self_b.shape[:2]
    # Standardising scales dimension p by 1/sd_p and trimming by 0 or 1: both act on the
    # moments as per-dimension weights w, so CKA needs only the weighted Frobenius norms.
    weights_a = feature_weights(np.einsum("app->ap", self_a), features, trim_dims)
    weights_b = feature_weights(np.einsum("app->ap", self_b), features, trim_dims)
    blocks = cross.reshape(n_a, dim_a, n_b, dim_b)
    if features == "raw":
        products = np.einsum("apbq,apbq->ab", blocks, blocks)
    else:
        products = np.einsum("ap,apbq,bq->ab", weights_a**2, blocks**2, weights_b**2, optimize=True)
    scaled_a = self_a * weights_a[:, :, None] * weights_a[:, None, :]
    scaled_b = self_b * weights_b[:, :, None] * weights_b[:, None, :]
    norm_a = np.sqrt(np.einsum("apq,apq->a", scaled_a, scaled_a))
    norm_b = np.sqrt(np.einsum("apq,apq->a", scaled_b, scaled_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = products / np.outer(norm_a, norm_b)
    values[~np.isfinite(values)] = np.nan
    return values


def feature_weights(variances: np.ndarray, features: str, trim_dims: int) -> np.ndarray:
    """``[layers, dim]`` per-dimension weights of the feature transform (from variances)."""
    if features == "standardized":
        sd = np.sqrt(np.maximum(variances, 0.0))
        return np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0)
    if features == "trimmed":
        return np.stack([kept_dims(v, trim_dims) for v in variances]).astype(float)
    return np.ones_like(variances)
