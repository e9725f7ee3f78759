"""extract_pair on tiny random T5 and BART: shapes, Clark conventions on both sides, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import trfviz
from trfviz.pooling import pool_attention, pool_states
from trfviz.seq2seq import pool_cross_attention

SOURCE = "The old man the boat. She isn't here, and he can't come."
TARGET = "New York is bigger than New Haven. It was the best of times."


def _words_with_pieces(side: trfviz.PairSide) -> np.ndarray:
    return np.flatnonzero(~side.alignment.missing)


def test_shapes_and_labels(seq2seq, sentencized) -> None:  # type: ignore[no-untyped-def]
    result = trfviz.extract_pair(sentencized(SOURCE), sentencized(TARGET), seq2seq)
    assert len(result.pairs) == 2 and result.pair_by == "sentence"
    assert (result.encoder_layers, result.decoder_layers) == (2, 2)
    heads = seq2seq.decoder_heads
    for pair in result.pairs:
        s, t = len(pair.source.labels), len(pair.target.labels)
        assert pair.encoder_attention.shape == (2, seq2seq.encoder_heads, s, s)
        assert pair.decoder_attention.shape == (2, heads, t, t)
        assert pair.cross_attention.shape == (2, heads, t, s)
        assert pair.encoder_states.shape == (3, pair.source.n_tokens, 32)
        assert pair.decoder_states.shape == (3, pair.target.n_tokens, 32)
        assert pair.cross_attention.dtype == np.float32
        # The decoder_start piece is the target's first special pseudo-token.
        start = seq2seq.tokenizer.convert_ids_to_tokens(seq2seq.decoder_start_token_id)
        assert pair.target.special_labels[0] == start
    second = result.pairs[1]
    assert second.source.tokens[:2] == ("She", "is") and second.source.start == 6
    assert second.target.parse.words == second.target.tokens


# Every combination of the options is covered on synthetic alignments (test_cross.py);
# here two, through each real model.
@pytest.mark.parametrize(("query_pooling", "special_tokens"), [("mean", "keep"), ("max", "drop")])
def test_rows_sum_to_one_on_both_sides_and_across(  # type: ignore[no-untyped-def]
    seq2seq, sentencized, special_tokens, query_pooling
) -> None:
    result = trfviz.extract_pair(
        sentencized(SOURCE),
        sentencized(TARGET),
        seq2seq,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
        states=False,
    )
    for pair in result.pairs:
        assert pair.encoder_states is None and pair.decoder_states is None
        src, tgt = _words_with_pieces(pair.source), _words_with_pieces(pair.target)
        np.testing.assert_allclose(pair.encoder_attention[..., src, :].sum(-1), 1, atol=1e-5)
        np.testing.assert_allclose(pair.decoder_attention[..., tgt, :].sum(-1), 1, atol=1e-5)
        np.testing.assert_allclose(pair.cross_attention[..., tgt, :].sum(-1), 1, atol=1e-5)
        if special_tokens == "drop":
            assert pair.cross_attention.shape[-2:] == (pair.target.n_tokens, pair.source.n_tokens)


def test_pooled_numbers_are_the_models_own(seq2seq, sentencized) -> None:  # type: ignore[no-untyped-def]
    """The pooled arrays equal the reference pooling of one plain forward pass of the model."""
    source, target = sentencized("I saw the man with the telescope."), sentencized("Zürich!")
    (pair,) = trfviz.extract_pair(source, target, seq2seq, pooling="mean").pairs
    tokenizer = seq2seq.tokenizer
    ids = tokenizer(source.text, return_tensors="pt")["input_ids"]
    labels = tokenizer(target.text, return_tensors="pt")["input_ids"]
    # transformers' own teacher forcing: labels shifted right behind decoder_start.
    with torch.inference_mode():
        output = seq2seq.model(
            input_ids=ids, labels=labels, output_attentions=True, output_hidden_states=True
        )
    stack = lambda layers: torch.stack([a[0] for a in layers]).numpy()  # noqa: E731
    src, tgt = pair.source.alignment, pair.target.alignment
    np.testing.assert_allclose(
        pair.cross_attention, pool_cross_attention(stack(output.cross_attentions), tgt, src)
    )
    np.testing.assert_allclose(
        pair.encoder_attention, pool_attention(stack(output.encoder_attentions), src)
    )
    np.testing.assert_allclose(
        pair.decoder_attention, pool_attention(stack(output.decoder_attentions), tgt)
    )
    np.testing.assert_allclose(
        pair.decoder_states,
        pool_states(stack(output.decoder_hidden_states), tgt, pooling="mean"),
        atol=1e-6,
    )


def test_decoder_self_attention_is_causal(t5_path, sentencized) -> None:  # type: ignore[no-untyped-def]
    doc = sentencized("every layer and every head gives numbers")
    (pair,) = trfviz.extract_pair(doc, doc, str(t5_path), special_tokens="drop").pairs
    # A word's pieces all come before the next word's, so no word attends to a later one.
    assert np.all(np.triu(pair.decoder_attention, k=1) == 0)
    assert np.any(np.triu(pair.encoder_attention, k=1) > 0)  # the encoder does


def test_models_without_cross_attention_are_refused(tmp_path, sentencized) -> None:  # type: ignore[no-untyped-def]
    doc = sentencized("The cat sat.")
    for model_type in ("gpt2", "bert"):
        directory = tmp_path / model_type
        directory.mkdir()
        (directory / "config.json").write_text(json.dumps({"model_type": model_type}))
        with pytest.raises(trfviz.UnsupportedModelError) as caught:
            trfviz.extract_pair(doc, doc, str(directory))
        message = str(caught.value)
        assert f"({model_type}) is not an encoder-decoder model" in message
        assert "no cross-attention" in message and "trfviz.extract(doc, model)" in message
        assert "\n" not in message
    # The packaged SmolLM2 (decoder-only, from a GGUF file) is refused before anything loads.
    with pytest.raises(trfviz.UnsupportedModelError, match="decoder-only model: it has no cross"):
        trfviz.extract_pair(doc, doc, "HuggingFaceTB/SmolLM2-135M-Instruct")
    loaded = trfviz.LoadedModel("bert-like", "r", None, None, 2, 2, 32, "cpu")
    with pytest.raises(TypeError, match=r"no cross-attention.*trfviz\.extract"):
        trfviz.extract_pair(doc, doc, loaded)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model must be a hub id"):
        trfviz.extract_pair(doc, doc, 3)  # type: ignore[arg-type]


def test_options_are_checked_before_the_model_loads(sentencized) -> None:  # type: ignore[no-untyped-def]
    doc = sentencized("The cat sat.")
    missing = "/no/such/model"
    with pytest.raises(ValueError, match="query_pooling"):
        trfviz.extract_pair(doc, doc, missing, query_pooling="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_length"):
        trfviz.extract_pair(doc, doc, missing, max_length=0)
    with pytest.raises(ValueError, match="sentence"):
        trfviz.extract_pair(doc, sentencized("It sat. It slept."), missing)
    with pytest.raises(trfviz.ModelPathNotFoundError):
        trfviz.extract_pair(doc, doc, missing)


def test_long_sides_are_truncated_with_a_warning(t5_path, sentencized) -> None:  # type: ignore[no-untyped-def]
    doc = sentencized("The quick brown fox jumps over the lazy dog while the cat sleeps")
    with pytest.warns(UserWarning, match="truncated"):
        (pair,) = trfviz.extract_pair(doc, doc, str(t5_path), max_length=6).pairs
    assert pair.source.truncated and pair.source.alignment.missing[-1]
    assert np.all(pair.cross_attention[..., :, -1 - len(pair.source.special_labels)] == 0)


def test_extract_refuses_encoder_decoder_models_and_names_extract_pair(  # type: ignore[no-untyped-def]
    t5_path, sentencized
) -> None:
    trfviz.loading.clear_model_cache()
    with pytest.raises(trfviz.UnsupportedModelError, match=r"trfviz\.extract_pair\("):
        trfviz.extract(sentencized("The cat sat."), str(t5_path))
