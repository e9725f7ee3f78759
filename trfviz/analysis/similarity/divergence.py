"""Smoothed attention rows and the Jensen–Shannon divergence between them (Clark et al. 2019, §6).

Each row is mixed with the uniform distribution over its keys,
``(1 - ε) p + ε / n_keys`` with ``ε = 0.001`` (:data:`CLARK_EPSILON`, the
smoothing of ``head_distances.py`` in Clark et al.'s release), and rows are
compared with the Jensen–Shannon divergence in nats, so in ``[0, ln 2]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CLARK_EPSILON", "jensen_shannon", "smooth_rows", "sum_xlogx"]

#: Smoothing weight of Clark et al. (2019): rows are mixed with 0.1 % uniform.
CLARK_EPSILON = 0.001


def smooth_rows(
    rows: np.ndarray, support: np.ndarray, *, epsilon: float = CLARK_EPSILON
) -> np.ndarray:
    """``rows`` mixed with the uniform distribution over each row's support.

    Args:
        rows: ``[..., query, key]`` rows summing to 1 over their support.
        support: bool ``[query, key]``: the keys each row may attend to.
        epsilon: weight of the uniform part (Clark et al. 2019 use 0.001).

    Returns:
        ``(1 - epsilon) * rows + epsilon * support / support.sum(-1)``, same shape.
    """
    counts = support.sum(axis=-1, keepdims=True)
    uniform = np.divide(support, counts, out=np.zeros(support.shape, np.float64), where=counts > 0)
    return ((1.0 - epsilon) * rows + epsilon * uniform).astype(rows.dtype, copy=False)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (nats) between distributions along the last axis.

    Zero entries are allowed (``0 log 0 = 0``). Arrays broadcast.

    >>> float(jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])))  # ln 2
    0.6931471805599453
    """
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    m = 0.5 * (p + q)
    return 0.5 * (_xlogx(p).sum(-1) + _xlogx(q).sum(-1)) - _xlogx(m).sum(-1)


def _xlogx(x: np.ndarray) -> np.ndarray:
    return x * np.log(np.where(x > 0, x, 1))


def sum_xlogx(
    x: np.ndarray, *, positive: bool = False, out: np.ndarray | None = None
) -> np.ndarray:
    """``sum(x log x)`` over the last axis, in float64, with ``0 log 0 = 0``.

    ``positive`` says every entry is > 0 (no masking needed); ``out`` is a
    scratch buffer at least as large as ``x`` along every axis.
    """
    logs = np.empty_like(x) if out is None else out[tuple(slice(0, n) for n in x.shape)]
    if positive:
        np.log(x, out=logs)
    else:
        logs.fill(0.0)
        np.log(x, out=logs, where=x > 0)
    return np.einsum("...k,...k->...", x, logs).astype(np.float64)
