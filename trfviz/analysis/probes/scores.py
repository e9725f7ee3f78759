"""How a probe's predictions are scored, by the conventions of Hewitt & Manning (2019).

- **UUAS** (:func:`uuas`): the minimum spanning tree of the predicted distances
  against the gold tree, undirected edges, punctuation left out of both (the
  gold edges are the minimum spanning tree of the gold distances over the
  non-punctuation words, as in their released code); pooled over sentences
  (correct edges / gold edges).
- **Distance Spearman** (:func:`distance_spearman`): per word, the Spearman
  correlation of its predicted and gold distances to every word of its
  sentence; averaged per sentence length, then over the lengths 5–50.
- **Root accuracy** (:func:`root_accuracy`): the share of sentences whose
  least deep non-punctuation word (by predicted depth) is the root.
- **Depth Spearman** (:func:`depth_spearman`): per sentence, predicted vs gold
  depths; averaged per length, then over lengths 5–50.
- **Accuracy** of the linear probes is the plain share of words labelled right.

>>> gold = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]])
>>> uuas([gold * 1.0], [gold], [np.zeros(3, dtype=bool)])
1.0
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from trfviz.analysis.probes.trees import minimum_spanning_edges

__all__ = [
    "SPEARMAN_LENGTHS",
    "depth_spearman",
    "distance_spearman",
    "root_accuracy",
    "uuas",
]

#: The sentence lengths (words, inclusive) Hewitt & Manning average Spearman over.
SPEARMAN_LENGTHS = (5, 50)


def uuas(
    predicted: Sequence[np.ndarray],
    gold: Sequence[np.ndarray],
    punctuation: Sequence[np.ndarray],
) -> float:
    """Undirected unlabelled attachment score of the predicted trees (NaN with no gold edge).

    Args:
        predicted: per sentence, float ``[n, n]`` predicted distances.
        gold: per sentence, ``[n, n]`` gold path distances.
        punctuation: per sentence, bool ``[n]``: words left out.
    """
    correct = total = 0
    for pred, true, punct in zip(predicted, gold, punctuation, strict=True):
        keep = ~np.asarray(punct, dtype=bool)
        gold_edges = minimum_spanning_edges(true, keep)
        correct += len(gold_edges & minimum_spanning_edges(pred, keep))
        total += len(gold_edges)
    return correct / total if total else float("nan")


def root_accuracy(
    predicted: Sequence[np.ndarray],
    roots: Sequence[int],
    punctuation: Sequence[np.ndarray],
) -> float:
    """Share of sentences whose least deep non-punctuation word is the gold root."""
    hits = []
    for depth, root, punct in zip(predicted, roots, punctuation, strict=True):
        keep = ~np.asarray(punct, dtype=bool)
        if not keep.any():
            continue
        candidates = np.where(keep, np.asarray(depth, dtype=float), np.inf)
        hits.append(int(np.argmin(candidates)) == int(root))
    return float(np.mean(hits)) if hits else float("nan")


def distance_spearman(predicted: Sequence[np.ndarray], gold: Sequence[np.ndarray]) -> float:
    """Spearman of predicted vs gold distances, per word, averaged by length over 5–50 words."""
    by_length: dict[int, list[float]] = defaultdict(list)
    for pred, true in zip(predicted, gold, strict=True):
        n = len(true)
        if SPEARMAN_LENGTHS[0] <= n <= SPEARMAN_LENGTHS[1]:
            by_length[n].extend(_row_spearman(np.asarray(pred), np.asarray(true)))
    return _macro_average(by_length)


def depth_spearman(predicted: Sequence[np.ndarray], gold: Sequence[np.ndarray]) -> float:
    """Spearman of predicted vs gold depths, per sentence, averaged by length over 5–50 words."""
    by_length: dict[int, list[float]] = defaultdict(list)
    for pred, true in zip(predicted, gold, strict=True):
        n = len(true)
        if SPEARMAN_LENGTHS[0] <= n <= SPEARMAN_LENGTHS[1]:
            by_length[n].extend(_row_spearman(np.asarray(pred)[None], np.asarray(true)[None]))
    return _macro_average(by_length)


def _macro_average(by_length: dict[int, list[float]]) -> float:
    means = [np.nanmean(values) for values in by_length.values() if not np.isnan(values).all()]
    return float(np.mean(means)) if means else float("nan")


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, ties given their average rank (as scipy's ``rankdata``)."""
    order = np.argsort(x, axis=-1, kind="stable")
    sorted_x = np.take_along_axis(x, order, axis=-1)
    ranks = np.empty_like(x, dtype=np.float64)
    n = x.shape[-1]
    for row in range(x.shape[0]):
        values = sorted_x[row]
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        ends = np.r_[starts[1:], n]
        average = (starts + ends - 1) / 2.0
        ranks[row, order[row]] = np.repeat(average, ends - starts)
    return ranks


def _row_spearman(predicted: np.ndarray, gold: np.ndarray) -> list[float]:
    """Spearman correlation of each row of ``predicted`` with the same row of ``gold``."""
    a = _ranks(np.asarray(predicted, dtype=np.float64))
    b = _ranks(np.asarray(gold, dtype=np.float64))
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (a * b).sum(axis=1) / denominator
    return [float(v) for v in values]
