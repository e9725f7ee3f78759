"""Comparing two models' attention honestly: the same words, rows renormalised, a divergence.

Two models' raw attention rows are not comparable: each spends mass on its own
special tokens (``[CLS]``/``[SEP]`` for BERT, none for SmolLM2) and causal
models park most of it on the first token (an *attention sink*). Before
subtracting, both rows are put on the same support — the sentence's words,
without the special tokens and, by default, without the first word — and
renormalised to sum to 1 there; the Jensen–Shannon divergence (base 2, in
[0, 1]) then says how differently the two models spread their attention over
those words. Plain numpy; the browser mirrors :func:`renormalise_rows`.

>>> import numpy as np
>>> renormalise_rows(np.array([[0.5, 0.25, 0.25]]), np.array([False, True, True]))
array([[0. , 0.5, 0.5]])
>>> float(js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "RowComparison",
    "attention_to_specials",
    "compare_rows",
    "head_entropy",
    "js_distance_to_other",
    "js_divergence",
    "kept_words",
    "pair_divergences",
    "renormalise_rows",
    "row_difference",
]


def kept_words(n_tokens: int, *, exclude_sink: bool = True) -> np.ndarray:
    """bool ``[n_tokens]``: the words compared (all but the first when ``exclude_sink``)."""
    if n_tokens < 0:
        raise ValueError(f"n_tokens must be >= 0, got {n_tokens}")
    keep = np.ones(n_tokens, dtype=bool)
    if exclude_sink and n_tokens:
        keep[0] = False
    return keep


def renormalise_rows(matrix: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """float64 ``matrix`` with the columns not in ``keep`` zeroed and each row summing to 1.

    A row with no mass left on the kept columns stays all zero (nothing to compare).

    Args:
        matrix: ``[..., query, key]`` non-negative weights.
        keep: bool ``[key]``, the columns kept.
    """
    values = np.asarray(matrix, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != values.shape[-1:]:
        raise ValueError(f"keep must be bool [{values.shape[-1]}], got shape {keep.shape}")
    kept = np.where(keep, np.nan_to_num(values, nan=0.0), 0.0)
    total = kept.sum(axis=-1, keepdims=True)
    return np.divide(kept, total, out=np.zeros_like(kept), where=total > 0)


def row_difference(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """float64 ``a - b`` of renormalised ``[..., query, key]`` crops, NaN where nothing compares.

    NaN in every row where either side has no mass left (a causal model's first
    word once the sink is left out: "the other model − 0" would be no comparison)
    and in the key columns not in ``keep``; what the widget draws as "no data".
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    empty = (a.sum(axis=-1, keepdims=True) <= 0) | (b.sum(axis=-1, keepdims=True) <= 0)
    return np.where(empty | ~np.asarray(keep, dtype=bool), np.nan, a - b)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (base 2, in [0, 1]) between distributions on the last axis.

    Rows that are all zero on either side (no distribution) give NaN.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        ratio = np.divide(a, m, out=np.ones_like(a * m), where=(a > 0) & (m > 0))
        return np.sum(np.where(a > 0, a * np.log2(ratio), 0.0), axis=-1)

    out = np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0)
    empty = (p.sum(axis=-1) <= 0) | (q.sum(axis=-1) <= 0)
    return np.where(empty, np.nan, out)


@dataclass(frozen=True)
class RowComparison:
    """Two models' attention over the same words, renormalised, and their divergence per word.

    Attributes:
        a: float64 ``[word, word]``, the first model's rows over the kept words.
        b: the same for the second model.
        divergence: float64 ``[word]``, the Jensen–Shannon divergence of each
            query word's two rows (NaN where a row has no mass left).
        kept: bool ``[word]``, the key words compared.
        excluded: the labels left out: each model's special tokens, then the
            first word when it was excluded as the attention sink.
    """

    a: np.ndarray
    b: np.ndarray
    divergence: np.ndarray
    kept: np.ndarray
    excluded: tuple[str, ...]

    @property
    def difference(self) -> np.ndarray:
        """float64 ``[word, word]``: ``a - b``, NaN where nothing compares (``row_difference``)."""
        return row_difference(self.a, self.b, self.kept)


def compare_rows(
    a: np.ndarray,
    b: np.ndarray,
    words: Sequence[str],
    *,
    specials: Sequence[str] = (),
    exclude_sink: bool = True,
) -> RowComparison:
    """Two ``[query, key]`` attention matrices compared over the sentence's words.

    Args:
        a: the first model's ``[label, label]`` weights (words first, then its specials).
        b: the second model's, the same way (its specials may differ in number).
        words: the sentence's words (the first ``len(words)`` labels of each).
        specials: the special-token labels of both models, reported as excluded.
        exclude_sink: also leave out the first word (the attention sink of causal models).
    """
    n = len(words)
    for name, m in (("a", a), ("b", b)):
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < n:
            raise ValueError(f"{name} must be a square [label, label] matrix over >= {n} labels")
    keep = kept_words(n, exclude_sink=exclude_sink)
    ra = renormalise_rows(np.asarray(a)[:n, :n], keep)
    rb = renormalise_rows(np.asarray(b)[:n, :n], keep)
    excluded = tuple(dict.fromkeys(specials)) + ((words[0],) if exclude_sink and n else ())
    return RowComparison(ra, rb, js_divergence(ra, rb), keep, excluded)


def pair_divergences(
    heads_a: np.ndarray, heads_b: np.ndarray, n_tokens: int, *, exclude_sink: bool = True
) -> np.ndarray:
    """float64 ``[head_a + 1, head_b + 1, word]``: JS divergence per query word for every head pair.

    Index ``head`` (the last along each of the first two axes) is the mean over
    the layer's heads, as the widget's ``"mean"`` (and ``"all"``) choice.

    Args:
        heads_a: ``[head, label, label]`` of the first model's layer.
        heads_b: ``[head, label, label]`` of the second model's layer.
        n_tokens: the number of words (the first labels of each).
        exclude_sink: leave out the first word too.
    """
    keep = kept_words(n_tokens, exclude_sink=exclude_sink)

    def rows(heads: np.ndarray) -> np.ndarray:
        cropped = np.asarray(heads, dtype=np.float64)[:, :n_tokens, :n_tokens]
        with_mean = np.concatenate([cropped, cropped.mean(axis=0, keepdims=True)])
        return renormalise_rows(with_mean, keep)

    return js_divergence(rows(heads_a)[:, None], rows(heads_b)[None, :])


def head_entropy(attention: np.ndarray, n_tokens: int) -> np.ndarray:
    """float64 ``[layer, head]``: each head's row entropy in bits, averaged over the words."""
    rows = np.asarray(attention, dtype=np.float64)[:, :, :n_tokens, :]
    total = rows.sum(axis=-1, keepdims=True)
    p = np.divide(rows, total, out=np.zeros_like(rows), where=total > 0)
    logs = np.log2(np.where(p > 0, p, 1.0))
    return np.asarray(-(p * logs).sum(axis=-1).mean(axis=-1))


def attention_to_specials(attention: np.ndarray, n_tokens: int) -> np.ndarray:
    """float64 ``[layer, head]``: the mass words put on special tokens, averaged over the words."""
    rows = np.asarray(attention, dtype=np.float64)[:, :, :n_tokens, :]
    return np.asarray(rows[..., n_tokens:].sum(axis=-1).mean(axis=-1))


def js_distance_to_other(
    attention_a: np.ndarray,
    attention_b: np.ndarray,
    n_tokens: int,
    *,
    exclude_sink: bool = True,
) -> np.ndarray:
    """float64 ``[layer, head]`` of model A: JS distance to the nearest head of B at that depth.

    For each head of A, the Jensen–Shannon *distance* (the square root of the
    divergence, a metric in [0, 1]) to each head of B's layer at the same
    relative depth, averaged over the query words compared; the smallest over
    B's heads is kept ("does any head of B attend like this one?").
    """
    n_a, n_b = attention_a.shape[0], attention_b.shape[0]
    out = np.full(attention_a.shape[:2], np.nan)
    for layer in range(n_a):
        other = 0 if n_b == 1 or n_a == 1 else round(layer * (n_b - 1) / (n_a - 1))
        pairs = pair_divergences(
            attention_a[layer], attention_b[other], n_tokens, exclude_sink=exclude_sink
        )[:-1, :-1]
        distance = np.sqrt(pairs)
        valid = ~np.isnan(distance)
        count = valid.sum(axis=-1)
        total = np.where(valid, distance, 0.0).sum(axis=-1)
        mean = np.divide(total, count, out=np.full(total.shape, np.inf), where=count > 0)
        nearest = mean.min(axis=-1)
        out[layer] = np.where(np.isinf(nearest), np.nan, nearest)
    return out
