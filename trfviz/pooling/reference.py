"""The plain, readable definition of pooling onto spaCy tokens, one sentence in numpy.

:func:`pool_states` and :func:`pool_attention` multiply one sentence's piece
outputs by the matrices of :mod:`trfviz.pooling.weights`; they are what the
batched torch kernel (:mod:`trfviz.pooling.batched`) must agree with, and what
to read to learn what a pooled number means.
"""

from __future__ import annotations

import numpy as np

from trfviz.alignment import Alignment
from trfviz.pooling.weights import (
    QueryPooling,
    SpecialTokens,
    StatePooling,
    attention_weights,
    state_weights,
)

__all__ = ["pool_attention", "pool_states", "renormalize_rows"]


def pool_states(
    states: np.ndarray, alignment: Alignment, *, pooling: StatePooling = "weighted"
) -> np.ndarray:
    """float32 ``[..., n_tokens, dim]`` from piece states ``[..., n_pieces, dim]``."""
    _check_pieces(states.shape[-2], alignment)
    return np.asarray(state_weights(alignment, pooling=pooling) @ states, dtype=np.float32)


def pool_attention(
    attention: np.ndarray,
    alignment: Alignment,
    *,
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
) -> np.ndarray:
    """float32 ``[..., query, key]`` over tokens from piece attention ``[..., n_pieces, n_pieces]``.

    With ``special_tokens="keep"`` the last ``alignment.special.sum()`` rows and
    columns are the special pseudo-tokens. Rows of tokens with pieces sum to 1
    when the piece rows do.
    """
    _check_pieces(attention.shape[-1], alignment)
    queries, keys = attention_weights(
        alignment, query_pooling=query_pooling, special_tokens=special_tokens
    )
    to_tokens = attention @ keys.T
    if query_pooling == "max":
        pooled = np.zeros((*to_tokens.shape[:-2], queries.shape[0], keys.shape[0]), np.float32)
        for row in np.flatnonzero(queries.any(axis=1)):
            pooled[..., row, :] = to_tokens[..., queries[row] > 0, :].max(axis=-2)
        pooled = renormalize_rows(pooled)
    else:
        pooled = np.asarray(queries @ to_tokens, dtype=np.float32)
    if special_tokens == "drop":
        pooled = renormalize_rows(pooled)
    return pooled


def renormalize_rows(attention: np.ndarray) -> np.ndarray:
    """``attention`` with every non-zero row divided by its sum (zero rows stay zero)."""
    sums = attention.sum(axis=-1, keepdims=True)
    return np.divide(attention, sums, out=np.zeros_like(attention), where=sums > 0)


def _check_pieces(n_pieces: int, alignment: Alignment) -> None:
    if n_pieces != alignment.n_pieces:
        raise ValueError(f"array has {n_pieces} pieces but the alignment has {alignment.n_pieces}")
