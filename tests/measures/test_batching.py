"""Measures batched by length equal the same measures computed one sentence at a time.

A Doc of sentences of very different lengths is padded into batches; each
sentence's norms and rollout must equal those of its own unpadded forward pass
(:func:`piece_norms`), pooled by the reference (:func:`pool_norms`,
:func:`pool_attention`), for an encoder (MiniLM) and a causal decoder with
grouped-query attention (SmolLM2).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests._shared import minilm, nlp, smollm
from trfviz.measures import attention_norms, attention_rollout, piece_norms, pool_norms, rollout
from trfviz.measures.batching import sentence_batches
from trfviz.measures.encoding import encode_doc
from trfviz.measures.rollout import batch_rollout
from trfviz.pooling import pool_attention

TEXT = (
    "It rained. The chiropractor's unbelievably tired assistant, who isn't here today, "
    "said so twice in Düsseldorf. Yes! Ms. Wu left the old boat at the dock before dawn."
)


@pytest.mark.model
@pytest.mark.parametrize("load", [minilm, smollm], ids=["minilm", "smollm2"])
def test_batched_norms_and_rollout_equal_one_sentence_at_a_time(load) -> None:  # type: ignore[no-untyped-def]
    loaded = load()
    doc = nlp()(TEXT)
    _, encoded, _ = encode_doc(doc, loaded, None)
    assert len({len(e.input_ids) for e in encoded}) > 2  # padding in the batch
    norms = attention_norms(doc, loaded, keep_pieces=True)
    rolled = attention_rollout(doc, loaded, special_tokens="drop", keep_pieces=True)
    assert len(norms.sentences) == len(rolled.sentences) == len(encoded)
    for sentence, by_norm, by_roll in zip(encoded, norms.sentences, rolled.sentences, strict=True):
        assert by_norm.start == by_roll.start == sentence.start
        alone = piece_norms(loaded, sentence.input_ids)
        assert by_norm.piece_values is not None and by_roll.piece_values is not None
        np.testing.assert_allclose(by_norm.piece_values, alone.norms, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            by_norm.values, pool_norms(alone.norms, sentence.alignment), rtol=1e-4, atol=1e-5
        )
        pieces = rollout(alone.attention)
        np.testing.assert_allclose(by_roll.piece_values, pieces, rtol=1e-4, atol=1e-5)
        expected = pool_attention(pieces, sentence.alignment, special_tokens="drop")
        np.testing.assert_allclose(by_roll.values, expected, rtol=1e-4, atol=1e-5)


def test_batch_rollout_zeroes_padding_even_when_it_holds_nan() -> None:
    rng = np.random.default_rng(0)
    lengths = [3, 5]
    attention = rng.random((2, 2, 4, 5, 5)).astype(np.float32)  # [layer, batch, head, q, k]
    attention[:, 0, :, 3:, :] = np.nan  # the padded rows of the shorter sentence
    layers = [torch.from_numpy(layer.copy()) for layer in attention]
    result = batch_rollout(layers, lengths)
    assert all(layer is None for layer in layers)  # consumed
    for b, n in enumerate(lengths):
        own = rollout(attention[:, b, :, :n, :n])
        got = np.stack([layer[b, 0].numpy() for layer in result])
        np.testing.assert_allclose(got[:, :n, :n], own, rtol=1e-6)
        assert not got[:, n:].any() and not got[:, :, n:].any()


@pytest.mark.model
def test_sentence_batches_follow_the_extractors_budget() -> None:
    loaded = minilm()
    _, encoded, _ = encode_doc(nlp()(TEXT), loaded, None)
    batches = list(sentence_batches(loaded, encoded, batch_size=2, max_batch_pieces=10**6))
    assert sorted(i for b in batches for i in b.indices) == list(range(len(encoded)))
    widths = [b.width for b in batches]
    assert widths == sorted(widths) and all(len(b.indices) <= 2 for b in batches)
    for batch in batches:
        assert batch.width == max(batch.lengths)
        assert batch.mask.sum(dim=1).tolist() == batch.lengths
