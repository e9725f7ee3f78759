"""Pooling of wordpiece hidden states and attention onto spaCy tokens.

Both poolings are linear maps given by weight matrices built from an
:class:`~trfviz.alignment.Alignment`, so the same matrices pool one sentence
in numpy or a whole padded batch in torch.

Hidden states (``pooling=``):

- ``"weighted"`` (default, the spacy-transformers convention): a piece aligned
  to ``k`` tokens gives ``1/k`` of its row to each; special pieces are aligned
  to every present token of the sentence. Every piece's weights sum to 1, so
  summing the pooled rows gives back the sum of the piece rows: nothing lost.
- ``"mean"``, ``"sum"``, ``"first"``, ``"last"``: over each token's own
  (non-special) pieces.

Attention (Clark et al. 2019, "What does BERT look at?"):

- attention *to* a token is the sum of the attention to its pieces (a piece
  shared by ``k`` tokens gives ``1/k`` to each, so rows still sum to 1);
- attention *from* a token is the mean (``query_pooling="mean"``, default) of its
  pieces' rows, or the first piece's row (``"first"``), or the element-wise
  maximum renormalised to sum to 1 (``"max"``);
- special pieces are kept as named pseudo-tokens appended after the spaCy
  tokens (``special_tokens="keep"``, default) or dropped with each row
  renormalised over the remaining tokens (``"drop"``).

Tokens with no piece (:attr:`Alignment.missing`) get zero rows and columns.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from trfviz.alignment import Alignment

__all__ = [
    "QueryPooling",
    "SpecialTokens",
    "StatePooling",
    "attention_weights",
    "pool_attention",
    "pool_states",
    "renormalize_rows",
    "state_weights",
]

StatePooling = Literal["weighted", "mean", "sum", "first", "last"]
QueryPooling = Literal["mean", "first", "max"]
SpecialTokens = Literal["keep", "drop"]

STATE_POOLINGS: tuple[str, ...] = ("weighted", "mean", "sum", "first", "last")
QUERY_POOLINGS: tuple[str, ...] = ("mean", "first", "max")
SPECIAL_TOKEN_MODES: tuple[str, ...] = ("keep", "drop")


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def state_weights(alignment: Alignment, *, pooling: StatePooling = "weighted") -> np.ndarray:
    """float32 ``[n_tokens, n_pieces]``: row ``t`` pools token ``t``'s hidden state."""
    _check("pooling", pooling, STATE_POOLINGS)
    tok, piece = alignment.pairs[:, 0], alignment.pairs[:, 1]
    weights = np.zeros((alignment.n_tokens, alignment.n_pieces), dtype=np.float32)
    if pooling == "weighted":
        weights[tok, piece] = 1.0 / alignment.piece_counts[piece]
        present = ~alignment.missing
        if present.any():
            weights[np.ix_(present, alignment.special)] = 1.0 / present.sum()
    elif pooling == "sum":
        weights[tok, piece] = 1.0
    elif pooling == "mean":
        weights[tok, piece] = 1.0 / alignment.token_counts[tok]
    else:
        weights[tok, piece] = 1.0
        _keep_one_per_row(weights, last=pooling == "last")
    return weights


def _keep_one_per_row(weights: np.ndarray, *, last: bool) -> None:
    rows = np.flatnonzero(weights.any(axis=1))
    if rows.size == 0:
        return
    if last:
        cols = weights.shape[1] - 1 - np.argmax(weights[rows, ::-1] > 0, axis=1)
    else:
        cols = np.argmax(weights[rows] > 0, axis=1)
    weights[rows] = 0.0
    weights[rows, cols] = 1.0


def attention_weights(
    alignment: Alignment,
    *,
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
) -> tuple[np.ndarray, np.ndarray]:
    """The query and key pooling matrices, each float32 ``[n_rows, n_pieces]``.

    ``n_rows`` is ``n_tokens`` plus, with ``special_tokens="keep"``, one
    pseudo-token per special piece (in piece order, after the spaCy tokens).
    Pooled attention is ``queries @ attention @ keys.T``; for
    ``query_pooling="max"`` the query matrix is the token/piece incidence used
    to select rows (see :func:`pool_attention`).
    """
    _check("query_pooling", query_pooling, QUERY_POOLINGS)
    _check("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    tok, piece = alignment.pairs[:, 0], alignment.pairs[:, 1]
    special = np.flatnonzero(alignment.special) if special_tokens == "keep" else np.zeros(0, int)
    n_rows = alignment.n_tokens + len(special)
    keys = np.zeros((n_rows, alignment.n_pieces), dtype=np.float32)
    keys[tok, piece] = 1.0 / alignment.piece_counts[piece]
    queries = np.zeros_like(keys)
    if query_pooling == "mean":
        queries[tok, piece] = 1.0 / alignment.token_counts[tok]
    else:
        queries[tok, piece] = 1.0
        if query_pooling == "first":
            _keep_one_per_row(queries, last=False)
    pseudo = alignment.n_tokens + np.arange(len(special))
    keys[pseudo, special] = 1.0
    queries[pseudo, special] = 1.0
    return queries, keys


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
