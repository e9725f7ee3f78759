"""The neuron view: its queries and keys give the model's own attention, both families.

The identity: over wordpieces, ``softmax(q · k · scale)`` (keys after the query
masked for decoders) is the attention the model returns, to 1e-5, for MiniLM
(BERT) and SmolLM2 (Llama, rotary embeddings, grouped-query attention) and for
a tiny random Llama with an attention bias. Pooled vectors are the mean of a
token's pieces; products and scores are what the contract says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests._shared import minilm, nlp, smollm
from trfviz import LoadedModel
from trfviz.measures import PieceNeurons, SentenceNeurons, neuron_view, piece_neurons
from trfviz.measures.neuron import attention_modules

TEXT = "The old man the boat, said Ms. Wu."


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _check_identity(loaded: LoadedModel, text: str) -> PieceNeurons:
    ids = loaded.tokenizer(text)["input_ids"]
    pieces = piece_neurons(loaded, ids)
    n_layers, n_heads = loaded.n_layers, loaded.n_heads
    assert pieces.queries.shape[:3] == (n_layers, n_heads, len(ids))
    assert pieces.keys.shape == pieces.queries.shape
    for layer in range(n_layers):
        np.testing.assert_allclose(
            _softmax(pieces.scores(layer)), pieces.attention[layer], rtol=0, atol=1e-5
        )
    return pieces


@pytest.mark.model
@pytest.mark.parametrize("load", [minilm, smollm], ids=["minilm", "smollm2"])
def test_softmax_of_the_scores_is_the_models_attention(load: Any) -> None:
    loaded = load()
    pieces = _check_identity(loaded, TEXT)
    assert pieces.scale == pytest.approx(pieces.queries.shape[-1] ** -0.5)
    assert pieces.causal == loaded.is_causal
    if load is smollm:
        _check_grouped_keys(pieces.keys)


def _check_grouped_keys(keys: np.ndarray) -> None:
    """SmolLM2: 9 query heads on 3 key/value heads, each group sharing its keys."""
    for group in range(3):
        np.testing.assert_array_equal(keys[:, 3 * group], keys[:, 3 * group + 1])
        np.testing.assert_array_equal(keys[:, 3 * group], keys[:, 3 * group + 2])
    assert not np.allclose(keys[:, 0], keys[:, 3])


def test_a_tiny_llama_with_bias_and_more_kv_groups(byte_level_bpe: Any) -> None:
    import torch
    import transformers

    torch.manual_seed(1)
    config = transformers.LlamaConfig(
        vocab_size=len(byte_level_bpe),
        hidden_size=48,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=6,
        num_key_value_heads=2,
        attention_bias=True,
        max_position_embeddings=64,
    )
    config._attn_implementation = "eager"
    model = transformers.LlamaModel(config).eval()
    loaded = LoadedModel("tiny-llama", "random", model, byte_level_bpe, 2, 6, 64, "cpu")
    _check_identity(loaded, TEXT)


@pytest.mark.model
def test_pooled_vectors_are_the_mean_of_a_tokens_pieces() -> None:
    loaded = minilm()
    doc = nlp()("Tokenization helps.")
    result = neuron_view(doc, loaded)
    (sentence,) = result.sentences
    assert result.model == loaded.name and result.text == doc.text
    assert sentence.labels == ("Tokenization", "helps", ".", "[CLS]", "[SEP]")
    assert sentence.queries.shape == (6, 12, 5, 32) and sentence.queries.dtype == np.float32
    assert sentence.keys.shape == sentence.queries.shape
    ids = loaded.tokenizer("Tokenization helps.")["input_ids"]
    pieces = piece_neurons(loaded, ids)
    first = slice(1, len(ids) - 3)  # "Tokenization" is every piece between [CLS] and "helps"
    assert first.stop - first.start > 1
    np.testing.assert_allclose(
        sentence.queries[:, :, 0], pieces.queries[:, :, first].mean(axis=2), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        sentence.keys[:, :, 1], pieces.keys[:, :, len(ids) - 3], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(sentence.keys[:, :, 3], pieces.keys[:, :, 0], rtol=1e-6)  # [CLS]
    dropped = neuron_view(doc, loaded, special_tokens="drop").sentences[0]
    assert dropped.special_labels == () and dropped.labels == sentence.tokens
    np.testing.assert_array_equal(dropped.queries, sentence.queries[:, :, :3])


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float32, (2, 3, 4, 5), elements=st.floats(-4, 4, width=32)),
    arrays(np.float32, (2, 3, 4, 5), elements=st.floats(-4, 4, width=32)),
    st.integers(0, 1),
    st.integers(0, 2),
    st.integers(0, 3),
)
def test_products_sum_to_the_scores(
    queries: np.ndarray, keys: np.ndarray, layer: int, head: int, query: int
) -> None:
    sentence = SentenceNeurons(0, ("a", "b", "c"), ("[CLS]",), queries, keys, 5**-0.5)
    products = sentence.products(layer, head, query)
    assert products.shape == (4, 5)
    np.testing.assert_array_equal(products, queries[layer, head, query] * keys[layer, head])
    expected = keys[layer, head] @ queries[layer, head, query] * 5**-0.5
    np.testing.assert_allclose(sentence.scores(layer, head, query), expected, atol=1e-4)
    assert sentence.labels == ("a", "b", "c", "[CLS]")


def test_other_architectures_and_options_are_refused() -> None:
    from types import SimpleNamespace

    model = SimpleNamespace(config=SimpleNamespace(model_type="gpt2"), h=[])
    with pytest.raises(ValueError, match=r"BERT-style.*Llama-style.*gpt2"):
        attention_modules(model)
    with pytest.raises(ValueError, match="special_tokens"):
        neuron_view(nlp()("A test."), minilm(), special_tokens="hide")  # type: ignore[arg-type]
