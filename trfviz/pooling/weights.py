"""Pooling weights: an :class:`~trfviz.alignment.Alignment` turned into weight matrices.

Both poolings onto spaCy tokens are linear maps given by matrices built here
from an alignment, so the same matrices pool one sentence in numpy
(:mod:`trfviz.pooling.reference`) or a whole padded batch in torch
(:mod:`trfviz.pooling.batched`). The pooling modes and what they mean are
described in :mod:`trfviz.pooling`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from trfviz.alignment import Alignment
from trfviz.validation import check_choice

__all__ = [
    "QUERY_POOLINGS",
    "SPECIAL_TOKEN_MODES",
    "STATE_POOLINGS",
    "QueryPooling",
    "SpecialTokens",
    "StatePooling",
    "attention_rows",
    "attention_weights",
    "batch_attention_weights",
    "batch_state_weights",
    "state_weights",
]

StatePooling = Literal["weighted", "mean", "sum", "first", "last"]
QueryPooling = Literal["mean", "first", "max"]
SpecialTokens = Literal["keep", "drop"]

STATE_POOLINGS: tuple[str, ...] = ("weighted", "mean", "sum", "first", "last")
QUERY_POOLINGS: tuple[str, ...] = ("mean", "first", "max")
SPECIAL_TOKEN_MODES: tuple[str, ...] = ("keep", "drop")


def state_weights(alignment: Alignment, *, pooling: StatePooling = "weighted") -> np.ndarray:
    """float32 ``[n_tokens, n_pieces]``: row ``t`` pools token ``t``'s hidden state."""
    return batch_state_weights([alignment], pooling=pooling)[0]


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
    queries, keys = batch_attention_weights(
        [alignment], query_pooling=query_pooling, special_tokens=special_tokens
    )
    return queries[0], keys[0]


def attention_rows(alignment: Alignment, *, special_tokens: SpecialTokens = "keep") -> int:
    """Rows (and columns) of the pooled attention: tokens, plus specials when kept."""
    check_choice("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    kept = int(alignment.special.sum()) if special_tokens == "keep" else 0
    return alignment.n_tokens + kept


class _Flat:
    """The pairs and masks of a batch of alignments, flattened with a sentence index."""

    def __init__(self, alignments: Sequence[Alignment], cols: int | None) -> None:
        self.size = len(alignments)
        self.n_tokens = np.array([a.n_tokens for a in alignments], dtype=np.int64)
        n_pieces = np.array([a.n_pieces for a in alignments], dtype=np.int64)
        self.cols = int(n_pieces.max(initial=0)) if cols is None else cols
        if np.any(n_pieces > self.cols):
            raise ValueError(f"cols={self.cols} is fewer than the pieces of a sentence")
        n_pairs = [len(a.pairs) for a in alignments]
        self.sentence = np.repeat(np.arange(self.size), n_pairs)
        pairs = (
            np.concatenate([a.pairs for a in alignments]).astype(np.int64)
            if alignments
            else np.zeros((0, 2), dtype=np.int64)
        )
        self.token, self.piece = pairs[:, 0], pairs[:, 1]
        self.special = self._padded([a.special for a in alignments], n_pieces, self.cols)
        self.present = ~self._padded(
            [a.missing for a in alignments], self.n_tokens, int(self.n_tokens.max(initial=0))
        )
        self.present &= np.arange(self.present.shape[1]) < self.n_tokens[:, None]

    @staticmethod
    def _padded(masks: Sequence[np.ndarray], lengths: np.ndarray, width: int) -> np.ndarray:
        out = np.zeros((len(masks), width), dtype=bool)
        out[np.arange(width) < lengths[:, None]] = np.concatenate(masks) if masks else []
        return out

    def piece_counts(self) -> np.ndarray:
        """int64 per pair: how many tokens the pair's piece is aligned to."""
        flat = self.sentence * self.cols + self.piece
        return np.bincount(flat, minlength=self.size * self.cols)[flat]

    def token_counts(self, rows: int) -> np.ndarray:
        """int64 per pair: how many pieces the pair's token is aligned to."""
        flat = self.sentence * rows + self.token
        return np.bincount(flat, minlength=self.size * rows)[flat]

    def empty(self, rows: int | None) -> np.ndarray:
        return np.zeros((self.size, self._rows(rows, self.n_tokens), self.cols), dtype=np.float32)

    @staticmethod
    def _rows(rows: int | None, needed: np.ndarray) -> int:
        most = int(needed.max(initial=0))
        if rows is None:
            return most
        if rows < most:
            raise ValueError(f"rows={rows} is fewer than the {most} a sentence needs")
        return rows


def batch_state_weights(
    alignments: Sequence[Alignment],
    *,
    pooling: StatePooling = "weighted",
    rows: int | None = None,
    cols: int | None = None,
) -> np.ndarray:
    """float32 ``[batch, rows, cols]``: :func:`state_weights` of each alignment, zero-padded.

    ``rows`` and ``cols`` default to the most tokens and pieces in the batch.
    Built in one vectorised pass, for pooling a padded batch of hidden states.
    """
    check_choice("pooling", pooling, STATE_POOLINGS)
    flat = _Flat(alignments, cols)
    weights = flat.empty(rows)
    at = (flat.sentence, flat.token, flat.piece)
    if pooling == "weighted":
        weights[at] = 1.0 / flat.piece_counts()
        # Special pieces are spread over every present token of their sentence.
        n_present = flat.present.sum(axis=1, keepdims=True)
        share = np.divide(1.0, n_present, out=np.zeros(n_present.shape), where=n_present > 0)
        present = np.zeros(weights.shape[:2], dtype=bool)
        present[:, : flat.present.shape[1]] = flat.present
        weights += (present * share)[:, :, None] * flat.special[:, None, :]
    elif pooling == "sum":
        weights[at] = 1.0
    elif pooling == "mean":
        weights[at] = 1.0 / flat.token_counts(weights.shape[1])
    else:
        weights[at] = 1.0
        _keep_one_per_row(weights, last=pooling == "last")
    return weights


def batch_attention_weights(
    alignments: Sequence[Alignment],
    *,
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    rows: int | None = None,
    cols: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Query and key matrices, float32 ``[batch, rows, cols]``, of :func:`attention_weights`.

    Row counts per sentence are given by :func:`attention_rows`; ``rows`` and
    ``cols`` default to the most rows and pieces in the batch.
    """
    check_choice("query_pooling", query_pooling, QUERY_POOLINGS)
    check_choice("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    flat = _Flat(alignments, cols)
    n_special = flat.special.sum(axis=1) if special_tokens == "keep" else np.zeros(flat.size, int)
    n_rows = flat._rows(rows, flat.n_tokens + n_special)
    keys = np.zeros((flat.size, n_rows, flat.cols), dtype=np.float32)
    at = (flat.sentence, flat.token, flat.piece)
    keys[at] = 1.0 / flat.piece_counts()
    queries = np.zeros_like(keys)
    if query_pooling == "mean":
        queries[at] = 1.0 / flat.token_counts(n_rows)
    else:
        queries[at] = 1.0
        if query_pooling == "first":
            _keep_one_per_row(queries, last=False)
    if special_tokens == "keep":
        # One pseudo-token per special piece, in piece order, after the sentence's tokens.
        sentence, piece = np.nonzero(flat.special)
        rank = np.arange(len(sentence)) - np.repeat(np.cumsum(n_special) - n_special, n_special)
        pseudo = flat.n_tokens[sentence] + rank
        keys[sentence, pseudo, piece] = 1.0
        queries[sentence, pseudo, piece] = 1.0
    return queries, keys


def _keep_one_per_row(weights: np.ndarray, *, last: bool) -> None:
    """Keep only the first (or last) non-zero of each row of ``[..., rows, cols]``, set to 1."""
    if weights.shape[-1] == 0:
        return
    nonzero = weights > 0
    has = nonzero.any(axis=-1)
    if last:
        cols = weights.shape[-1] - 1 - np.argmax(nonzero[..., ::-1], axis=-1)
    else:
        cols = np.argmax(nonzero, axis=-1)
    index = np.nonzero(has)
    weights[...] = 0.0
    weights[(*index, cols[index])] = 1.0
