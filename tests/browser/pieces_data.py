"""Synthetic extractions that kept their wordpiece attention, for the "Wordpieces" read-out.

The attention of :func:`tests.browser.widget_data.make_document` is random per word; here
it is random per wordpiece instead and pooled onto the words as :func:`trfviz.extract`
pools it, so the pooled values shown can be traced back to the pieces.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.browser.widget_data import make_document
from trfviz.extraction import SentenceExtraction
from trfviz.parse import SentenceParse
from trfviz.pooling import pool_attention


def with_piece_attention(sentence: SentenceExtraction, seed: int = 0) -> SentenceExtraction:
    """``sentence`` with random piece attention, its attention pooled from it (mean, keep)."""
    assert sentence.attention is not None
    layers, heads = sentence.attention.shape[:2]
    n = sentence.alignment.n_pieces
    logits = np.random.default_rng(seed).normal(size=(layers, heads, n, n)) * 2.0
    raw = np.exp(logits - logits.max(axis=-1, keepdims=True))
    raw = (raw / raw.sum(axis=-1, keepdims=True)).astype(np.float32)
    return replace(sentence, piece_attention=raw, attention=pool_attention(raw, sentence.alignment))


def make_piece_document() -> tuple[tuple[SentenceParse, ...], dict[str, list[SentenceExtraction]]]:
    """:func:`make_document` with ``tiny-bert``'s wordpiece attention kept (``tiny-gpt``: none)."""
    parses, extractions = make_document()
    extractions["tiny-bert"] = [
        with_piece_attention(s, seed=i) for i, s in enumerate(extractions["tiny-bert"])
    ]
    return parses, extractions
