"""The logit lens: at the last layer it is the model's own next-piece distribution, exactly.

The model's own distribution comes from a ``...ForCausalLM`` run by the test
(SmolLM2's base model under a causal-LM head tied to its embeddings, as the
checkpoint ties them; a tiny random Llama with an untied head), independently
of the hooks and the final norm the code under test applies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests._shared import minilm, nlp, smollm
from trfviz import LoadedModel
from trfviz.measures import LogitLens, logit_lens
from trfviz.measures.logit_lens import unembedding

TEXT = "The horse raced past the barn fell. It isn't here."


def _sentencized(text: str) -> Any:
    import spacy

    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    return blank(text)


def _own_probabilities(causal_lm: Any, input_ids: list[int]) -> np.ndarray:
    """float32 ``[piece, vocab]``: the causal LM's own next-piece probabilities."""
    import torch

    with torch.inference_mode():
        logits = causal_lm(input_ids=torch.tensor([input_ids])).logits[0].float()
    return torch.softmax(logits, dim=-1).numpy()


def _check_last_layer(lens: LogitLens, loaded: LoadedModel, causal_lm: Any, doc: Any) -> None:
    from trfviz.measures.encoding import encode_doc

    _, encoded, _ = encode_doc(doc, loaded, None)
    for sentence, encoding in zip(lens.sentences, encoded, strict=True):
        assert sentence.layers[-1] == loaded.n_layers
        probs = _own_probabilities(causal_lm, encoding.input_ids)
        last = [int(encoding.alignment.pieces_of(t).max()) for t in range(sentence.n_tokens)]
        own = probs[last]  # [token, vocab]
        k = sentence.top_k
        expected_ids = np.argsort(-own, axis=-1, kind="stable")[:, :k]
        np.testing.assert_array_equal(sentence.top_ids[-1], expected_ids)
        # Bit for bit: the same norm and unembedding calls on the same states as the model's.
        np.testing.assert_array_equal(
            sentence.top_probs[-1], np.take_along_axis(own, expected_ids, -1)
        )
        for t in range(sentence.n_tokens):
            following = last[t] + 1
            if t + 1 < sentence.n_tokens:
                expected = encoding.input_ids[following]
                assert sentence.next_ids[t] == expected
                assert sentence.next_prob[-1, t] == own[t, expected]
                rank = int((own[t] > own[t, expected]).sum()) + 1
                assert sentence.next_rank[-1, t] == rank
            else:  # the sentence's last token has no next word
                assert sentence.next_ids[t] == -1 and sentence.next_rank[-1, t] == -1
                assert np.isnan(sentence.next_prob[:, t]).all()


@pytest.mark.model
def test_last_layer_is_smollm2s_own_next_piece_distribution() -> None:
    import torch
    import transformers

    loaded = smollm()
    base = loaded.model
    assert base.config.tie_word_embeddings
    with torch.device("meta"):
        causal_lm = transformers.LlamaForCausalLM(base.config)
    causal_lm.model = base
    causal_lm.lm_head = torch.nn.Linear(base.config.hidden_size, base.config.vocab_size, bias=False)
    causal_lm.lm_head.weight = base.embed_tokens.weight
    causal_lm.eval()
    doc = nlp()("The horse raced past the barn fell.")
    lens = logit_lens(doc, loaded, top_k=3)
    first = lens.sentences[0]
    assert first.layers == tuple(range(31))
    assert first.top_ids.shape == (31, 8, 3) and first.top_ids.dtype == np.int32
    assert first.top_probs.dtype == np.float32 and first.next_rank.dtype == np.int32
    _check_last_layer(lens, loaded, causal_lm, doc)
    # SmolLM2 expects "the" after "raced past" by its last layer.
    assert first.next_pieces[3] == " the" and first.next_rank[-1, 3] == 1


@pytest.fixture(scope="module")
def tiny_llama(byte_level_bpe: Any) -> tuple[LoadedModel, Any]:
    """A 3-layer random Llama with an untied head and grouped-query attention."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(byte_level_bpe),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
        max_position_embeddings=128,
    )
    config._attn_implementation = "eager"
    causal_lm = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # a head far from the embeddings, so untying matters
        causal_lm.lm_head.weight.normal_(0, 1.0)
    loaded = LoadedModel(
        name="tiny-llama",
        revision="random",
        model=causal_lm,
        tokenizer=byte_level_bpe,
        n_layers=3,
        n_heads=4,
        max_length=128,
        device="cpu",
    )
    return loaded, causal_lm


def test_last_layer_is_a_tiny_untied_llamas_own_distribution(tiny_llama: Any) -> None:
    loaded, causal_lm = tiny_llama
    doc = _sentencized(TEXT)
    lens = logit_lens(doc, loaded, top_k=4)
    _check_last_layer(lens, loaded, causal_lm, doc)
    for s in lens.sentences:
        assert s.layers == (0, 1, 2, 3)
        assert (np.diff(s.top_probs, axis=-1) <= 0).all()  # most probable first
        has = s.next_ids >= 0
        assert ((s.next_rank[:, has] == 1) == (s.top_ids[:, has, 0] == s.next_ids[has])).all()
        assert (s.next_prob[:, has] <= s.top_probs[:, has, 0] + 1e-7).all()


def test_a_piece_two_tokens_share_predicts_the_rest_of_the_next_token(tiny_llama: Any) -> None:
    loaded, _ = tiny_llama
    lens = logit_lens(_sentencized("It isn't here."), loaded, top_k=1, layers=[0, 3])
    (s,) = lens.sentences
    assert s.tokens == ("It", "is", "n't", "here", ".")
    assert s.layers == (0, 3) and s.top_ids.shape == (2, 5, 1)
    # GPT-2 pieces: "It" " isn" "'t" " here" ".": "is" ends on " isn", whose successor
    # "'t" is the rest of "n't"; "n't" ends on "'t", followed by " here".
    assert s.next_pieces == (" isn", "'t", " here", ".", "")
    frame = lens.to_frame()
    assert len(frame) == 2 * 5 * 1
    assert set(frame.columns) >= {"token", "layer", "rank", "piece", "prob", "next_rank"}
    assert frame["next_rank"].iloc[-1] == -1 and np.isnan(frame["next_prob"].iloc[-1])


def test_models_without_an_unembedding_are_refused(tiny_llama: Any) -> None:
    with pytest.raises(ValueError, match="encoder without a language-model head"):
        logit_lens(_sentencized("A test."), minilm())
    loaded, causal_lm = tiny_llama
    with pytest.raises(ValueError, match=r"not tied.*AutoModelForCausalLM"):
        unembedding(causal_lm.model)  # the base model alone: its untied head is not there
    with pytest.raises(ValueError, match="layer 4 does not exist"):
        logit_lens(_sentencized("A test."), loaded, layers=[4])
    with pytest.raises(ValueError, match="top_k"):
        logit_lens(_sentencized("A test."), loaded, top_k=0)


@pytest.mark.parametrize("head", [True, False], ids=["gpt2-lm-head", "gpt2-base-tied"])
def test_gpt2_style_blocks_and_final_norm(byte_level_bpe: Any, head: bool) -> None:
    import torch
    import transformers

    torch.manual_seed(2)
    config = transformers.GPT2Config(
        vocab_size=len(byte_level_bpe), n_embd=32, n_layer=2, n_head=2, n_positions=64
    )
    config._attn_implementation = "eager"
    causal_lm = transformers.GPT2LMHeadModel(config).eval()
    model = causal_lm if head else causal_lm.transformer  # tied: the base model suffices
    loaded = LoadedModel("tiny-gpt2", "random", model, byte_level_bpe, 2, 2, 64, "cpu")
    doc = _sentencized("It isn't here. The old man the boat.")
    _check_last_layer(logit_lens(doc, loaded, top_k=2), loaded, causal_lm, doc)


def test_tokens_past_the_length_limit_are_blank(tiny_llama: Any) -> None:
    loaded, _ = tiny_llama
    doc = _sentencized("The old man the boat and the young woman the ship.")
    with pytest.warns(UserWarning, match="truncated"):
        lens = logit_lens(doc, loaded, top_k=2, max_length=4)
    (s,) = lens.sentences
    assert s.truncated
    seen = s.top_ids[0, :, 0] >= 0
    assert seen[:4].all() and not seen[4:].any()  # one piece a word here
    assert np.isnan(s.top_probs[:, 4:]).all() and (s.next_rank[:, 3:] == -1).all()
    assert s.top_pieces[0][5] == ("", "")
