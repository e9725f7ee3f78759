"""Smoothing with the uniform distribution and the Jensen–Shannon divergence (Clark et al. 2019)."""

from __future__ import annotations

import numpy as np
import pytest

from trfviz.analysis.similarity import jensen_shannon, smooth_rows


def test_smoothing_is_clarks_mixture_with_uniform() -> None:
    row = np.array([[1.0, 0.0, 0.0, 0.0]])
    smoothed = smooth_rows(row, np.ones((1, 4), bool), epsilon=0.001)
    np.testing.assert_allclose(smoothed, [[0.999 + 0.00025, 0.00025, 0.00025, 0.00025]])
    # With a restricted support, the uniform part only covers the allowed keys.
    smoothed = smooth_rows(row, np.array([[True, True, False, False]]), epsilon=0.001)
    np.testing.assert_allclose(smoothed, [[0.999 + 0.0005, 0.0005, 0.0, 0.0]])


def test_jensen_shannon_hand_cases() -> None:
    assert jensen_shannon(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(np.log(2))
    assert jensen_shannon(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0.0)
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4).
    expected = 0.5 * np.log(1 / 0.75) + 0.5 * (0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25))
    assert jensen_shannon(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(expected)
