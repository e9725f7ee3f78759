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

from collections.abc import Sequence
from typing import Literal

import numpy as np

from trfviz.alignment import Alignment

__all__ = [
    "QueryPooling",
    "SpecialTokens",
    "StatePooling",
    "attention_rows",
    "attention_weights",
    "batch_attention_weights",
    "batch_state_weights",
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
    from trfviz.validation import check_choice

    check_choice(name, value, allowed)


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
    _check("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
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
    _check("pooling", pooling, STATE_POOLINGS)
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
    _check("query_pooling", query_pooling, QUERY_POOLINGS)
    _check("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
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
