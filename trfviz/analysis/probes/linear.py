"""Linear probes: a softmax classifier from one layer's word states to a label (UPOS, relation).

The probe is multinomial logistic regression (scikit-learn's
``LogisticRegression``, L-BFGS, L2 penalty ``1/C``) on states standardised
with the training words' mean and standard deviation; the standardisation is
folded into the returned weights, so :meth:`LinearProbe.predict` takes raw
states. Labels never seen in training cannot be predicted and count as wrong.

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(200, 4))
>>> labels = np.where(x[:, 0] > 0, "A", "B")
>>> probe = fit_linear_probe(x, labels)
>>> float((probe.predict(x) == labels).mean()) > 0.95
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trfviz.optional import require

__all__ = ["LinearProbe", "fit_linear_probe"]


@dataclass(frozen=True)
class LinearProbe:
    """A trained linear probe.

    Attributes:
        classes: the labels it can predict, ``n_classes`` of them.
        weights: float64 ``[n_classes, dim]``, the input standardisation folded in.
        bias: float64 ``[n_classes]``.
    """

    classes: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    def predict(self, states: np.ndarray) -> np.ndarray:
        """str ``[n]``: the most likely label of each row of float ``[n, dim]`` states."""
        logits = np.asarray(states, dtype=np.float64) @ self.weights.T + self.bias
        return np.asarray(self.classes, dtype=object)[np.argmax(logits, axis=1)]


def fit_linear_probe(
    states: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    *,
    c: float = 1.0,
    max_iter: int = 200,
) -> LinearProbe:
    """Train a linear probe on float ``[n, dim]`` states and their ``n`` labels.

    Args:
        c: inverse strength of the L2 penalty (scikit-learn's ``C``).
        max_iter: L-BFGS iterations at most (a warning that it stopped early is
            silenced: the held-out accuracy is what is reported).
    """
    linear_model = require("sklearn.linear_model", extra="analysis")
    threadpoolctl = require("threadpoolctl", extra="analysis")
    x = np.asarray(states, dtype=np.float64)
    y = np.asarray(labels, dtype=object).astype(str)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"states of shape {x.shape} for {y.shape[0]} labels; give [n, dim] and n")
    if x.shape[0] == 0:
        raise ValueError("no training words")
    classes = np.unique(y)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    if classes.size == 1:  # nothing to learn: always that label
        return LinearProbe((str(classes[0]),), np.zeros((1, x.shape[1])), np.zeros(1))
    model = linear_model.LogisticRegression(C=c, max_iter=max_iter)
    # One BLAS thread: these matrices are small, and BLAS threads competing with
    # torch's made one fit ten times slower here (7.4 s against 0.6 s on 2 cores).
    with threadpoolctl.threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        model.fit((x - mean) / std, y)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: one logit for the second class
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.r_[0.0, intercept]
    weights = coef / std[None, :]
    bias = intercept - weights @ mean
    return LinearProbe(tuple(str(c) for c in model.classes_), weights, bias)
