"""The fast kernel: a padded batch of model outputs pooled onto spaCy tokens, in torch.

:func:`pool_batch` is the one entry point (what :func:`trfviz.extract` calls
after each forward pass). The per-sentence matrices of
:mod:`trfviz.pooling.weights`, zero-padded to ``[batch, rows, width]`` (see
:func:`~trfviz.pooling.weights.batch_state_weights` and
:func:`~trfviz.pooling.weights.batch_attention_weights`), are applied to a whole
batch at once by batched dense GEMMs, heads folded into the matrix dimension;
the results equal :mod:`trfviz.pooling.reference` sentence by sentence.

The dense GEMMs' cost grows with the cube of the sentence length. Above
:data:`BLOCKED_MIN_WIDTH` wordpieces (on CPU) attention is pooled sentence by
sentence instead, multiplying only the blocks of :data:`BLOCK_PIECES` pieces
that hold non-zeros: a token's pieces are contiguous, so each block of pieces
touches one short run of tokens, and the work grows with the square of the
length. Measured on a 2-core CPU, that pools 32 sentences of ~250 pieces in
0.2 s instead of 0.7 s, and is no faster below ~100 pieces.

A gather/scatter-add over the matrices' non-zeros was measured too and was
slower at nearly every width from 3 to 450 wordpieces (torch's CPU
``index_add_`` and the permutes it needs cost more than MKL's GEMMs over the
zeros), so it is not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trfviz.alignment import Alignment
from trfviz.pooling.reference import pool_attention
from trfviz.pooling.weights import (
    QueryPooling,
    SpecialTokens,
    StatePooling,
    attention_rows,
    batch_attention_weights,
    batch_state_weights,
)

__all__ = ["pool_attention_layers", "pool_batch", "pool_state_layers"]

#: Above this width (in wordpieces) attention is pooled sentence by sentence, one
#: block of pieces at a time, on CPU (see :func:`pool_attention_layers`).
BLOCKED_MIN_WIDTH = 128

#: Wordpieces per block in the blocked kernel.
BLOCK_PIECES = 64


def pool_batch(
    alignments: Sequence[Alignment],
    *,
    width: int,
    attention: list[Any] | None = None,
    states: Sequence[Any] | None = None,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    attention_out: list[np.ndarray] | None = None,
) -> tuple[list[np.ndarray] | None, Any]:
    """Per sentence float32 ``[layer, head, row, row]`` attention, and a float32 tensor
    ``[layer + 1, batch, token, dim]`` of states, pooled from one padded batch.

    Args:
        alignments: per sentence of the batch, its token/piece alignment.
        width: the padded width of the batch, in wordpieces.
        attention: the model's attention, per layer ``[batch, head, width, width]``;
            consumed (each entry set to None once pooled). None: no attention pooled.
        states: the model's hidden states, per layer ``[batch, width, dim]``, or None.
        pooling, query_pooling, special_tokens: as in :mod:`trfviz.pooling`.
        attention_out: per sentence, a float32 ``[layer, head, row, row]`` array to
            fill (ignored when its layers or heads do not match the model's output).

    Returns:
        ``(attention, states)``, each None when not asked for.
    """
    pooled_attention = None
    if attention is not None:
        pooled_attention = _pool_attention(
            alignments,
            attention,
            width=width,
            query_pooling=query_pooling,
            special_tokens=special_tokens,
            out=attention_out,
        )
    pooled_states = None
    if states is not None:
        weights = batch_state_weights(alignments, pooling=pooling, cols=width)
        pooled_states = pool_state_layers(states, weights)
    return pooled_attention, pooled_states


def _pool_attention(
    alignments: Sequence[Alignment],
    layers: list[Any],
    *,
    width: int,
    query_pooling: QueryPooling,
    special_tokens: SpecialTokens,
    out: list[np.ndarray] | None,
) -> list[np.ndarray]:
    """Per sentence, the pooled attention of one batch (see :func:`pool_batch`)."""
    import torch

    if query_pooling == "max":
        # Not a linear map: pool each sentence on its own, in numpy.
        stacked = torch.stack([layer.float() for layer in layers]).cpu().numpy()
        return [
            pool_attention(
                stacked[:, row, :, : a.n_pieces, : a.n_pieces],
                a,
                query_pooling="max",
                special_tokens=special_tokens,
            )
            for row, a in enumerate(alignments)
        ]
    queries, keys = batch_attention_weights(
        alignments, query_pooling=query_pooling, special_tokens=special_tokens, cols=width
    )
    if out is not None and out[0].shape[:2] != (len(layers), layers[0].shape[1]):
        out = None  # a config that misstates the layers or heads: allocate to fit
    sizes = (
        [array.shape[-1] for array in out]
        if out is not None
        else [attention_rows(a, special_tokens=special_tokens) for a in alignments]
    )
    return pool_attention_layers(
        layers, queries, keys, sizes, drop=special_tokens == "drop", out=out
    )


def pool_state_layers(layers: Sequence[Any], weights: np.ndarray) -> Any:
    """float32 tensor ``[layer, batch, rows, dim]`` pooled from piece states.

    Args:
        layers: per layer, a tensor ``[batch, width, dim]`` of piece states.
        weights: float32 ``[batch, rows, width]``, zero-padded state weights.
    """
    import torch

    n_batch, _, dim = layers[0].shape
    rows = weights.shape[1]
    device = layers[0].device
    pooled = torch.empty((len(layers), n_batch, rows, dim), dtype=torch.float32, device=device)
    weights_t = torch.from_numpy(weights).to(device)
    for index, layer in enumerate(layers):
        torch.bmm(weights_t, layer.float(), out=pooled[index])
    return pooled


def pool_attention_layers(
    layers: list[Any],
    queries: np.ndarray,
    keys: np.ndarray,
    sizes: Sequence[int],
    *,
    drop: bool,
    out: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Per sentence, float32 ``[layer, head, row, row]``: ``queries @ attention @ keys.T``.

    Args:
        layers: per layer, attention ``[batch, head, width, width]``. Each entry
            is released (set to None) once pooled, so the batch never holds piece-
            and token-level attention for all layers at once.
        queries: float32 ``[batch, rows, width]`` query pooling matrices.
        keys: float32 ``[batch, rows, width]`` key pooling matrices.
        sizes: rows kept per sentence (its tokens, plus kept special pieces).
        drop: renormalise every row to sum to 1 (special pieces were dropped).
        out: per sentence, a float32 ``[layer, head, row, row]`` array to fill
            (allocated here when None).
    """
    import torch

    n_batch, n_heads, width = layers[0].shape[:3]
    rows = queries.shape[1]
    device = layers[0].device
    pooled = (
        [np.empty((len(layers), n_heads, n, n), dtype=np.float32) for n in sizes]
        if out is None
        else out
    )
    if device.type == "cpu" and width > BLOCKED_MIN_WIDTH:
        _pool_blocked(layers, queries, keys, sizes, pooled, drop=drop)
        return pooled
    query_matrix = torch.from_numpy(queries).to(device)
    keys_t = torch.from_numpy(np.ascontiguousarray(keys.transpose(0, 2, 1))).to(device)
    for index in range(len(layers)):
        layer = layers[index].float().reshape(n_batch, n_heads * width, width)
        layers[index] = None
        # Heads folded into the matrix dimension: one GEMM per side and layer.
        to_tokens = torch.bmm(layer, keys_t)
        del layer
        by_piece = to_tokens.reshape(n_batch, n_heads, width, rows).transpose(1, 2)
        from_tokens = torch.bmm(query_matrix, by_piece.reshape(n_batch, width, n_heads * rows))
        del to_tokens, by_piece
        block = from_tokens.reshape(n_batch, rows, n_heads, rows)
        if drop:
            block = _renormalized_rows(block)
        # [batch, row, head, row]: each sentence's corner is copied out head-major.
        values = block.cpu().numpy()
        for row, n in enumerate(sizes):
            pooled[row][index] = values[row, :n, :, :n].transpose(1, 0, 2)
    return pooled


def _renormalized_rows(block: Any) -> Any:
    """``block`` with every non-zero row divided by its sum (zero rows stay zero)."""
    import torch

    sums = block.sum(dim=-1, keepdim=True)
    return torch.where(sums > 0, block / sums.clamp_min(1e-30), block)


def _row_runs(matrix: np.ndarray, block: int) -> list[list[tuple[slice, int, int]]]:
    """Per block of ``block`` columns: (columns, first row, end row) of each run of rows
    that have a non-zero in those columns. Alignments are monotone, so a block of
    pieces touches one short run of tokens (plus a special piece's pseudo-token).
    """
    runs: list[list[tuple[slice, int, int]]] = []
    for start in range(0, matrix.shape[1], block):
        columns = slice(start, start + block)
        rows = np.flatnonzero(matrix[:, columns].any(axis=1))
        if rows.size == 0:
            runs.append([])
            continue
        breaks = np.flatnonzero(np.diff(rows) > 1) + 1
        firsts = rows[np.concatenate([[0], breaks])]
        lasts = rows[np.concatenate([breaks - 1, [rows.size - 1]])]
        runs.append([(columns, int(a), int(b) + 1) for a, b in zip(firsts, lasts, strict=True)])
    return runs


def _pool_blocked(
    layers: list[Any],
    queries: np.ndarray,
    keys: np.ndarray,
    sizes: Sequence[int],
    pooled: list[np.ndarray],
    *,
    drop: bool,
) -> None:
    """Sentence by sentence, multiply only the blocks of the pooling matrices that
    hold non-zeros: work grows with the square of the length, not its cube.
    """
    import torch

    plans = []
    for row, n in enumerate(sizes):
        # Columns past the last non-zero (padding) contribute nothing.
        used = queries[row, :n].any(axis=0) | keys[row, :n].any(axis=0)
        n_pieces = int(np.flatnonzero(used).max(initial=-1)) + 1
        query_rows = np.ascontiguousarray(queries[row, :n, :n_pieces])
        key_rows = np.ascontiguousarray(keys[row, :n, :n_pieces])
        plans.append(
            (
                n_pieces,
                torch.from_numpy(query_rows),
                torch.from_numpy(key_rows),
                _row_runs(query_rows, BLOCK_PIECES),
                _row_runs(key_rows, BLOCK_PIECES),
            )
        )
    for index in range(len(layers)):
        layer = layers[index].float()
        layers[index] = None
        for row, (n_pieces, q, k, query_runs, key_runs) in enumerate(plans):
            attention = layer[row, :, :n_pieces, :n_pieces]
            n = sizes[row]
            to_tokens = torch.zeros((attention.shape[0], n_pieces, n))
            for runs in key_runs:
                for columns, first, end in runs:
                    to_tokens[:, :, first:end] += attention[:, :, columns] @ k[first:end, columns].T
            target = torch.from_numpy(pooled[row][index])  # [head, row, row], filled in place
            target.zero_()
            for runs in query_runs:
                for columns, first, end in runs:
                    target[:, first:end, :] += q[first:end, columns] @ to_tokens[:, columns, :]
            if drop:
                target.copy_(_renormalized_rows(target))
        del layer
