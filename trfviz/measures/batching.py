"""A measure's forward passes, batched by length as :func:`trfviz.extract` batches them.

:func:`sentence_batches` sorts a Doc's encoded sentences by wordpiece length
and cuts them into padded batches under the same budgets as extraction
(:func:`trfviz.extractor.runner.length_batches`), so a measure runs the model
once per batch, not once per sentence. :func:`pool_layers` pools a batch's
per-layer ``[batch, head, piece, piece]`` values onto spaCy tokens with the
extractor's kernel (:func:`trfviz.pooling.batched.pool_attention_layers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from trfviz.extractor.runner import length_batches, pad_id_of, padded_ids
from trfviz.extractor.tokenize import EncodedSentence
from trfviz.loading import LoadedModel
from trfviz.pooling import (
    QueryPooling,
    SpecialTokens,
    attention_rows,
    batch_attention_weights,
    pool_attention,
)
from trfviz.pooling.batched import pool_attention_layers

__all__ = [
    "SentenceBatch",
    "attention_forward",
    "piece_blocks",
    "pool_layers",
    "sentence_batches",
]

#: Most sentences in one forward pass, as :func:`trfviz.extract`'s default.
BATCH_SIZE = 32

#: Most wordpieces (padding included) in one forward pass, as :func:`trfviz.extract`'s default.
MAX_BATCH_PIECES = 16384


@dataclass(frozen=True)
class SentenceBatch:
    """Sentences of similar length, padded on the right into one forward pass.

    Attributes:
        indices: the sentences' positions in the Doc's list of encoded sentences.
        sentences: the encoded sentences, in batch order.
        ids: int64 tensor ``[batch, width]``, the padded wordpiece ids.
        mask: int64 tensor ``[batch, width]``, 1 for a piece, 0 for padding.
    """

    indices: list[int]
    sentences: list[EncodedSentence]
    ids: Any
    mask: Any

    @property
    def width(self) -> int:
        """The padded width, in wordpieces."""
        return int(self.ids.shape[1])

    @property
    def lengths(self) -> list[int]:
        """Per sentence, its wordpieces."""
        return [len(e.input_ids) for e in self.sentences]


def sentence_batches(
    loaded: LoadedModel,
    encoded: list[EncodedSentence],
    *,
    batch_size: int = BATCH_SIZE,
    max_batch_pieces: int = MAX_BATCH_PIECES,
) -> Iterator[SentenceBatch]:
    """The sentences of ``encoded``, sorted by length and padded in batches."""
    pad = pad_id_of(loaded.tokenizer)
    lengths = [len(e.input_ids) for e in encoded]
    cuts = length_batches(lengths, batch_size=batch_size, max_batch_pieces=max_batch_pieces)
    for indices in cuts:
        sentences = [encoded[i] for i in indices]
        ids, mask = padded_ids([e.input_ids for e in sentences], pad)
        yield SentenceBatch(indices, sentences, ids, mask)


def attention_forward(loaded: LoadedModel, batch: SentenceBatch) -> list[Any]:
    """The model's attention over ``batch``, per layer float32 ``[batch, head, width, width]``."""
    import torch

    with torch.inference_mode():
        output = loaded.model(
            input_ids=batch.ids.to(loaded.device),
            attention_mask=batch.mask.to(loaded.device),
            output_attentions=True,
        )
    layers = output.attentions
    if layers is None or any(layer is None for layer in layers):
        raise RuntimeError(
            f"{loaded.name} returned no attention weights; load it with "
            "trfviz.load_model(..., attention=True) (eager attention)"
        )
    return [layer.float() for layer in layers]


def piece_blocks(layers: list[Any], batch: SentenceBatch) -> list[np.ndarray]:
    """Per sentence, a float32 copy of its ``[layer, head, piece, piece]`` corner of ``layers``."""
    stacked = [layer.cpu().numpy() for layer in layers]
    return [
        np.ascontiguousarray(np.stack([layer[row, :, :n, :n] for layer in stacked]))
        for row, n in enumerate(batch.lengths)
    ]


def pool_layers(
    layers: list[Any],
    batch: SentenceBatch,
    *,
    query_pooling: QueryPooling,
    special_tokens: SpecialTokens,
    renormalize: bool,
) -> list[np.ndarray]:
    """Per sentence, float32 ``[layer, head, row, row]`` pooled from per-layer piece values.

    Pooled like attention (see :mod:`trfviz.pooling`); rows are renormalised after
    dropping special pieces only when ``renormalize`` (attention, rollout; not norms).
    ``layers`` is consumed. ``query_pooling="max"`` (not a linear map) pools each
    sentence with :func:`trfviz.pooling.pool_attention`.
    """
    alignments = [e.alignment for e in batch.sentences]
    if query_pooling == "max":
        return [
            pool_attention(block, a, query_pooling="max", special_tokens=special_tokens)
            for block, a in zip(piece_blocks(layers, batch), alignments, strict=True)
        ]
    queries, keys = batch_attention_weights(
        alignments, query_pooling=query_pooling, special_tokens=special_tokens, cols=batch.width
    )
    sizes = [attention_rows(a, special_tokens=special_tokens) for a in alignments]
    drop = renormalize and special_tokens == "drop"
    return pool_attention_layers(layers, queries, keys, sizes, drop=drop)
