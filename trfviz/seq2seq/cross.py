"""Cross-attention pooled onto spaCy tokens: target words (queries) over source words (keys).

The same Clark et al. (2019) conventions as :func:`trfviz.pooling.pool_attention`,
with the query side aligned by the target's alignment and the key side by the
source's: attention *to* a source word is the sum over its pieces (a piece shared
by ``k`` words gives ``1/k`` to each), attention *from* a target word is the mean
of its pieces' rows (or the first piece's row, or the element-wise maximum
renormalised); special pieces are kept as pseudo-tokens after the words on each
side, or dropped with every row renormalised over the source words left. The
matrices are :func:`trfviz.pooling.attention_weights` of each alignment, so with
one alignment on both sides this is exactly ``pool_attention``.

Worked example: a target word of two pieces whose rows over the source pieces
are ``[.2, .3, .5]`` and ``[.4, .4, .2]``, and a source word of the last two
pieces, gets ``((.3 + .5) + (.4 + .2)) / 2 = .7`` of attention to that word.
"""

from __future__ import annotations

import numpy as np

from trfviz.alignment import Alignment
from trfviz.pooling import QueryPooling, SpecialTokens, attention_weights, renormalize_rows

__all__ = ["pool_cross_attention"]


def pool_cross_attention(
    attention: np.ndarray,
    queries: Alignment,
    keys: Alignment,
    *,
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
) -> np.ndarray:
    """float32 ``[..., query_row, key_row]`` from piece attention ``[..., query_piece, key_piece]``.

    Args:
        attention: e.g. a decoder's cross-attention, ``[layer, head, tgt_piece, src_piece]``.
        queries: the alignment of the query side (the target: the decoder input).
        keys: the alignment of the key side (the source).
        query_pooling, special_tokens: as in :mod:`trfviz.pooling`.

    Rows are ``queries.n_tokens`` words, then (kept) one pseudo-token per special
    query piece; columns likewise for the keys. Rows of words with pieces sum to
    1 when the piece rows do.
    """
    if attention.shape[-2:] != (queries.n_pieces, keys.n_pieces):
        raise ValueError(
            f"attention has pieces {attention.shape[-2:]} but the alignments have "
            f"({queries.n_pieces}, {keys.n_pieces}) (query pieces, key pieces)"
        )
    query_matrix, _ = attention_weights(
        queries, query_pooling=query_pooling, special_tokens=special_tokens
    )
    _, key_matrix = attention_weights(keys, query_pooling="mean", special_tokens=special_tokens)
    to_keys = attention @ key_matrix.T
    if query_pooling == "max":
        pooled = np.zeros((*to_keys.shape[:-2], query_matrix.shape[0], key_matrix.shape[0]))
        for row in np.flatnonzero(query_matrix.any(axis=1)):
            pooled[..., row, :] = to_keys[..., query_matrix[row] > 0, :].max(axis=-2)
        pooled = renormalize_rows(pooled)
    else:
        pooled = query_matrix @ to_keys
    if special_tokens == "drop":
        pooled = renormalize_rows(pooled)
    return np.asarray(pooled, dtype=np.float32)
