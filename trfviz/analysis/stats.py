"""Shared statistics of the analyses: multiple-comparison control and paired permutation tests."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["benjamini_hochberg", "sign_flip_p"]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of the p-values ``p``; NaN where ``p`` is NaN."""
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        from scipy import stats

        q[finite] = stats.false_discovery_control(p[finite], method="bh")
    return q


def sign_flip_p(diffs: np.ndarray, *, permutations: int, seed: int) -> np.ndarray:
    """Two-sided sign-flip p-values of the mean difference, per column of ``diffs [items, heads]``.

    NaN entries (missing items) add nothing under any sign. When ``2 ** n_items
    <= permutations`` every sign pattern is used (an exact test); otherwise a
    Monte Carlo sample of ``permutations`` patterns drawn with ``seed``.
    """
    filled = np.where(np.isfinite(diffs), diffs, 0.0)  # a missing item adds 0 under any sign
    n_items = filled.shape[0]
    counts = np.maximum(np.sum(np.isfinite(diffs), axis=0), 1)
    observed = np.abs(filled.sum(0)) / counts
    if n_items <= math.log2(max(permutations, 1)):
        codes = np.arange(2**n_items)[:, None] >> np.arange(n_items)[None, :] & 1
        signs = 1.0 - 2.0 * codes  # every pattern, the identity included
        exact = True
    else:
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(permutations, n_items))
        exact = False
    flipped = np.abs(signs @ filled) / counts
    # A relative tolerance so that ties with the observed value count as extreme.
    extreme = np.sum(flipped >= observed * (1 - 1e-12), axis=0)
    if exact:
        return extreme / len(signs)
    return (extreme + 1.0) / (len(signs) + 1.0)
