"""Value-weighted norms: the exact identity with the attention block's own output, two families.

The identity (Kobayashi et al. 2020): for each layer, head ``h`` and query ``i``,
``Σ_j α_hij · f_h(x_j)`` is head ``h``'s share of the output projection's output,
``context[i, h] · W_O^hᵀ``; over all heads, plus the output bias, it is the output
projection's output. Both sides here are captured from the model with hooks of
the test's own, independently of the code under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests._shared import minilm, nlp, smollm
from trfviz.measures import attention_blocks, attention_norms, piece_norms

TEXT = "The old man the boat, said Ms. Wu."


def _captured(loaded: Any, ids: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer, the output projection's input (the heads' context) and its output."""
    import torch

    inputs: list[np.ndarray] = []
    outputs: list[np.ndarray] = []

    def hook(_module: Any, args: Any, output: Any) -> None:
        inputs.append(args[0][0].detach().float().cpu().numpy())
        outputs.append(output[0].detach().float().cpu().numpy())

    blocks = attention_blocks(loaded.model)
    handles = [b.output.register_forward_hook(hook) for b in blocks]
    try:
        with torch.inference_mode():
            loaded.model(input_ids=torch.tensor([ids]), output_attentions=True)
    finally:
        for handle in handles:
            handle.remove()
    return inputs, outputs


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    # float32 throughout: 1e-5 relative to the size of the output, per layer.
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.model
@pytest.mark.parametrize("load", [minilm, smollm], ids=["minilm", "smollm2"])
def test_norm_terms_sum_to_the_blocks_own_output(load: Any) -> None:
    loaded = load()
    ids = loaded.tokenizer(TEXT)["input_ids"]
    result = piece_norms(loaded, ids, vectors=True)
    assert result.vectors is not None
    contexts, outputs = _captured(loaded, ids)
    blocks = attention_blocks(loaded.model)
    n = len(ids)
    assert result.norms.shape == (loaded.n_layers, loaded.n_heads, n, n)
    for layer, block in enumerate(blocks):
        alpha, vectors = result.attention[layer], result.vectors[layer]
        terms = alpha[..., None] * vectors[:, None, :, :]  # [head, query, key, dim]
        per_head = terms.sum(axis=2)  # [head, query, dim]
        weight = block.output.weight.detach().float().numpy()
        width = block.head_dim
        for head in range(block.n_heads):
            part = slice(head * width, (head + 1) * width)
            _close(per_head[head], contexts[layer][:, part] @ weight[:, part].T)
        _close(per_head.sum(axis=0) + result.bias[layer], outputs[layer])
        # The norms are the norms of those very terms.
        np.testing.assert_allclose(
            result.norms[layer], np.linalg.norm(terms, axis=-1), rtol=1e-5, atol=1e-7
        )


@pytest.mark.model
def test_grouped_query_heads_read_their_key_value_head() -> None:
    blocks = attention_blocks(smollm().model)
    assert (blocks[0].n_heads, blocks[0].n_kv_heads) == (9, 3)
    assert blocks[0].kv_head().tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


@pytest.mark.model
def test_doc_level_norms_are_pooled_like_attention() -> None:
    doc = nlp()("The old man the boat.")
    result = attention_norms(doc, minilm(), keep_pieces=True)
    (sentence,) = result.sentences
    assert result.axes == ("layer", "head", "query", "key")
    assert sentence.labels == ("The", "old", "man", "the", "boat", ".", "[CLS]", "[SEP]")
    assert sentence.values.shape == (6, 12, 8, 8)
    assert sentence.values.dtype == np.float32
    pieces = sentence.piece_values
    assert pieces is not None and pieces.shape == (6, 12, 8, 8)
    # One piece per word here: token t is piece t + 1, [CLS] piece 0, [SEP] the last.
    order = [1, 2, 3, 4, 5, 6, 0, 7]
    np.testing.assert_allclose(sentence.values, pieces[..., order, :][..., order], rtol=1e-6)
    dropped = attention_norms(doc, minilm(), special_tokens="drop").sentences[0].values
    # Not renormalised: the special columns are simply left out.
    np.testing.assert_allclose(dropped, sentence.values[..., :6, :6], rtol=1e-6)


@pytest.mark.model
def test_split_words_sum_their_key_pieces_and_average_their_query_pieces() -> None:
    doc = nlp()("Tokenization helps.")
    sentence = attention_norms(doc, minilm(), keep_pieces=True).sentences[0]
    pieces = sentence.piece_values
    assert pieces is not None
    word = np.flatnonzero(sentence.alignment.pairs[:, 0] == 0)
    owned = sentence.alignment.pairs[word, 1]
    assert len(owned) > 1  # "Tokenization" is several pieces
    key_sum = pieces[..., 0, owned].sum(axis=-1)  # [CLS]'s row, to the word's pieces
    np.testing.assert_allclose(sentence.values[..., 3, 0], key_sum, rtol=1e-5)


def test_other_architectures_are_refused_by_name() -> None:
    from types import SimpleNamespace

    model = SimpleNamespace(config=SimpleNamespace(model_type="gpt2"), h=[])
    with pytest.raises(ValueError, match=r"BERT-style.*Llama-style.*gpt2"):
        attention_blocks(model)
