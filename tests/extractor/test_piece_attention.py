"""Keeping the raw wordpiece attention: it is what the pooled attention was computed from."""

from __future__ import annotations

import numpy as np
import pytest
import srsly
import torch

import trfviz
from tests._shared import minilm, nlp
from trfviz.extraction import ExtractionOptions
from trfviz.pooling import pool_attention

# Three sentences of different lengths (so two are padded in their batch), with
# split words ("telescope" is one piece, "isn't" and "York's" are not).
TEXT = "I saw the man with the telescope. Unbelievably, it isn't New York's. Hi."


@pytest.mark.model
@pytest.mark.parametrize(
    ("query_pooling", "special_tokens"),
    [("mean", "keep"), ("first", "drop"), ("max", "keep")],
)
def test_pooling_the_kept_piece_attention_gives_the_pooled_attention(
    query_pooling: str, special_tokens: str
) -> None:
    doc = nlp()(TEXT)
    extraction = trfviz.extract(
        doc,
        minilm(),
        piece_attention=True,
        query_pooling=query_pooling,  # type: ignore[arg-type]
        special_tokens=special_tokens,  # type: ignore[arg-type]
        batch_size=3,
    )
    assert extraction.options.piece_attention
    assert len(extraction.sentences) == 3
    assert any(len(s.pieces) > s.n_tokens + 2 for s in extraction.sentences)  # a split word
    for sentence in extraction.sentences:
        pieces = sentence.piece_attention
        assert pieces is not None and sentence.attention is not None
        n = sentence.alignment.n_pieces
        assert pieces.shape == (6, 12, n, n) and pieces.dtype == np.float32
        assert pieces.flags.owndata  # a compact copy, not a view into the padded batch
        np.testing.assert_allclose(pieces.sum(axis=-1), 1.0, atol=1e-5)
        pooled = pool_attention(
            pieces,
            sentence.alignment,
            query_pooling=query_pooling,  # type: ignore[arg-type]
            special_tokens=special_tokens,  # type: ignore[arg-type]
        )
        np.testing.assert_allclose(pooled, sentence.attention, rtol=1e-5, atol=1e-6)


@pytest.mark.model
def test_the_kept_piece_attention_is_the_models_own() -> None:
    """Unpadded, it equals the model run on the sentence alone."""
    loaded = minilm()
    doc = nlp()(TEXT)
    extraction = trfviz.extract(doc, loaded, piece_attention=True)
    for span, sentence in zip(doc.sents, extraction.sentences, strict=True):
        encoded = loaded.tokenizer(span.text, return_tensors="pt")
        with torch.inference_mode():
            output = loaded.model(**encoded, output_attentions=True)
        raw = torch.stack(output.attentions)[:, 0].numpy()
        assert sentence.piece_attention is not None
        np.testing.assert_allclose(sentence.piece_attention, raw, atol=1e-5)


@pytest.mark.model
def test_piece_attention_is_off_by_default() -> None:
    extraction = trfviz.extract(nlp()("Hi there."), minilm())
    assert not extraction.options.piece_attention
    assert all(s.piece_attention is None for s in extraction.sentences)


def test_piece_attention_option_is_checked() -> None:
    with pytest.raises(TypeError, match="piece_attention must be True or False"):
        ExtractionOptions(piece_attention="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs attention=True"):
        ExtractionOptions(attention=False, piece_attention=True)
    with pytest.raises(ValueError, match="needs attention=True"):
        trfviz.extract(nlp()("Hi."), "any/model", attention=False, piece_attention=True)


def test_a_message_written_before_piece_attention_existed_still_reads() -> None:
    """Older messages have no ``piece_attention`` field or option: they read back as None/False."""
    from tests.factories import synthetic_sentence, uniform_attention
    from trfviz.extraction_codec import _encode_msgpack

    sentence = synthetic_sentence(uniform_attention(1, 2, 3))
    old = _encode_msgpack(sentence)
    del old["fields"]["piece_attention"]
    options = _encode_msgpack(ExtractionOptions())
    del options["fields"]["piece_attention"]
    loaded = srsly.msgpack_loads(srsly.msgpack_dumps({"s": old, "o": options}))
    assert loaded["s"].piece_attention is None
    np.testing.assert_array_equal(loaded["s"].attention, sentence.attention)  # type: ignore[arg-type]
    assert loaded["o"] == ExtractionOptions()
