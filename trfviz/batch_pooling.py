"""Pooling a padded batch of model outputs onto spaCy tokens, in torch.

The per-sentence matrices of :mod:`trfviz.pooling`, zero-padded to
``[batch, rows, width]`` (see :func:`~trfviz.pooling.batch_state_weights` and
:func:`~trfviz.pooling.batch_attention_weights`), are applied to a whole batch
at once by batched dense GEMMs, heads folded into the matrix dimension.

The matrices are mostly zeros, and a gather/scatter-add over their non-zeros
does asymptotically less arithmetic. Measured inside the extraction on a 2-core
CPU it was nonetheless slower at nearly every width from 3 to 450 wordpieces
(up to 2x for hidden states and 2x for attention at 250 pieces; it won by under
10 % for attention near 100 pieces): torch's CPU ``index_add_`` and the
permutes it needs cost more than MKL's GEMMs over the zeros. So only the dense
kernel is kept; its cost grows with the cube of the sentence length, which
matters for sentences of several hundred wordpieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["pool_attention_layers", "pool_state_layers"]


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
            sums = block.sum(dim=-1, keepdim=True)
            block = torch.where(sums > 0, block / sums.clamp_min(1e-30), block)
        # [batch, row, head, row]: each sentence's corner is copied out head-major.
        values = block.cpu().numpy()
        for row, n in enumerate(sizes):
            pooled[row][index] = values[row, :n, :, :n].transpose(1, 0, 2)
    return pooled
