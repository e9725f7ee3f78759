"""Shared statistics: Benjamini–Hochberg q-values and sign-flip permutation p-values."""

from __future__ import annotations

import numpy as np
import pytest

from trfviz.analysis.stats import benjamini_hochberg, sign_flip_p


def test_benjamini_hochberg_by_hand_leaves_nan_alone() -> None:
    # Finite p sorted: .01 .03 .04 .2 (m = 4); p * m / rank = .04 .06 .0533 .2, then the
    # running minimum from the top: .04 .0533 .0533 .2.
    q = benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03, 0.2]))
    np.testing.assert_allclose(q, [0.04, np.nan, 0.16 / 3, 0.16 / 3, 0.2])
    assert np.isnan(benjamini_hochberg(np.array([np.nan]))).all()


def test_sign_flip_p_exact_and_sampled() -> None:
    # Column 0: every difference positive, so of the 2**4 sign patterns only "all +" and
    # "all -" reach the observed |mean|: p = 2/16. Column 1: symmetric, every pattern does.
    diffs = np.array([[0.1, 1.0], [0.2, -1.0], [0.3, 1.0], [0.4, -1.0]])
    exact = sign_flip_p(diffs, permutations=16, seed=0)
    np.testing.assert_allclose(exact, [2 / 16, 1.0])
    sampled = sign_flip_p(diffs, permutations=4000, seed=0)  # 2**4 > 15: Monte Carlo
    assert sampled == pytest.approx(exact, abs=0.03)
    assert sampled[1] == 1.0  # (extreme + 1) / (samples + 1) with every sample extreme
    # A missing item adds nothing under any sign: the same as leaving it out.
    with_nan = np.vstack([diffs[:, :1], [[np.nan]]])
    assert sign_flip_p(with_nan, permutations=32, seed=0)[0] == pytest.approx(4 / 32)
