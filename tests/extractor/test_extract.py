"""The extraction engine on real models: shapes, conventions, batching, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from spacy.tokens import Doc

import trfviz
from tests._shared import MINILM, minilm, nlp, smollm
from trfviz.pooling import pool_attention, state_weights

pytestmark = pytest.mark.model

TEXT = "I saw the man with the telescope. The old man the boat. It isn't New York's."


def _raw_outputs(loaded: trfviz.LoadedModel, text: str):  # type: ignore[no-untyped-def]
    """The model's own wordpiece-level outputs for one sentence."""
    enc = loaded.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model(**enc, output_attentions=True, output_hidden_states=True)
    attention = torch.stack(out.attentions)[:, 0].numpy()
    states = torch.stack(out.hidden_states)[:, 0].numpy()
    return attention, states


def _check_rows(sentence: trfviz.SentenceExtraction) -> None:
    assert sentence.attention is not None
    sums = sentence.attention.sum(axis=-1)
    present = np.concatenate([~sentence.missing, np.ones(len(sentence.special_labels), bool)])
    np.testing.assert_allclose(sums[..., present], 1.0, atol=1e-5)
    np.testing.assert_allclose(sums[..., ~present], 0.0, atol=1e-7)


def test_two_models_give_arrays_over_the_same_spacy_tokens() -> None:
    doc = nlp()(TEXT)
    bert = trfviz.extract(doc, minilm())
    smol = trfviz.extract(doc, smollm())
    assert len(bert.sentences) == len(smol.sentences) == len(list(doc.sents)) == 3
    for sent, a, b in zip(doc.sents, bert.sentences, smol.sentences, strict=True):
        assert a.tokens == b.tokens == tuple(t.text for t in sent)
        assert a.start == b.start == sent.start
        assert a.attention is not None and b.attention is not None
        assert a.states is not None and b.states is not None
        n = len(sent)
        assert a.special_labels == ("[CLS]", "[SEP]")
        assert a.attention.shape == (6, 12, n + 2, n + 2)
        assert a.states.shape == (7, n, 384)
        assert b.special_labels == ()  # SmolLM2 adds no special tokens
        assert b.attention.shape == (30, 9, n, n)
        assert b.states.shape == (31, n, 576)
        _check_rows(a)
        _check_rows(b)
        # Causal: no token attends to a later token, except through a piece it shares
        # with that token ("isn" of "is" + "n't").
        shared = b.alignment.incidence().astype(int)
        linked = (shared @ shared.T) > 0
        later = np.triu(np.ones((n, n), bool), k=1) & ~linked
        assert np.allclose(b.attention[..., later], 0.0, atol=1e-6)
        assert a.attention.dtype == np.float32 and b.states.dtype == np.float32
    assert bert.token_states().shape == (len(doc), 384)
    assert smol.token_states(0).shape == (len(doc), 576)


def test_contraction_is_aligned_many_to_many() -> None:
    doc = nlp()("It isn't here.")
    smol = trfviz.extract(doc, smollm(), attention=False, states=False).sentences[0]
    assert smol.tokens[1:3] == ("is", "n't")
    shared = set(smol.alignment.pieces_of(1)) & set(smol.alignment.pieces_of(2))
    assert [smol.pieces[p] for p in shared] == ["Ġisn"]


def test_pooled_states_add_up_to_the_wordpiece_states() -> None:
    loaded = minilm()
    doc = nlp()("Unbelievably, the chiropractor isn't here.")
    sentence = trfviz.extract(doc, loaded).sentences[0]
    _, raw_states = _raw_outputs(loaded, doc.text)
    assert sentence.states is not None
    np.testing.assert_allclose(
        sentence.states.sum(axis=1), raw_states.sum(axis=1), rtol=1e-4, atol=1e-3
    )
    # And each token's row is the documented weighted sum.
    expected = state_weights(sentence.alignment) @ raw_states
    np.testing.assert_allclose(sentence.states, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("query_pooling", ["mean", "first", "max"])
@pytest.mark.parametrize("special_tokens", ["keep", "drop"])
def test_batched_pooling_equals_the_reference_pooling(query_pooling, special_tokens) -> None:  # type: ignore[no-untyped-def]
    loaded = minilm()
    doc = nlp()("The chiropractor's assistant isn't unbelievably tired.")
    sentence = trfviz.extract(
        doc, loaded, query_pooling=query_pooling, special_tokens=special_tokens, states=False
    ).sentences[0]
    raw_attention, _ = _raw_outputs(loaded, doc.text)
    expected = pool_attention(
        raw_attention,
        sentence.alignment,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
    )
    assert sentence.attention is not None
    np.testing.assert_allclose(sentence.attention, expected, atol=1e-5)
    _check_rows(sentence)
    assert len(sentence.special_labels) == (2 if special_tokens == "keep" else 0)


def test_batching_and_padding_do_not_change_the_numbers() -> None:
    texts = [
        "Short one.",
        "A much longer sentence that needs many more wordpieces than the others do.",
        "Medium length sentence here.",
        "Tiny.",
    ]
    docs = list(nlp().pipe(texts))
    together = list(trfviz.extract_docs(docs, minilm(), batch_size=3, max_batch_pieces=40))
    for doc, batched in zip(docs, together, strict=True):
        alone = trfviz.extract(doc, minilm())
        assert batched.text == doc.text
        for a, b in zip(alone.sentences, batched.sentences, strict=True):
            assert a.attention is not None and b.attention is not None
            np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)
            np.testing.assert_allclose(a.states, b.states, atol=1e-4)  # type: ignore[arg-type]
            # Unpadded arrays of their own, never views into a batch.
            assert b.attention.base is None and b.states is not None and b.states.base is None


def test_outputs_can_be_switched_off() -> None:
    doc = nlp()("The old man the boat.")
    ext = trfviz.extract(doc, minilm(), attention=False, states=False)
    assert ext.sentences[0].attention is None and ext.sentences[0].states is None
    with pytest.raises(ValueError, match="no hidden states"):
        ext.token_states()


def test_empty_and_whitespace_only_text() -> None:
    # extract() refuses them (tests/test_bad_input.py); a stream of Docs goes on past them.
    empty, spaces = trfviz.extract_docs([nlp()(""), nlp()("   ")], minilm())
    assert empty.sentences == () and empty.n_tokens == 0
    (sentence,) = spaces.sentences
    assert sentence.missing.all()  # nothing for the model to see
    assert sentence.states is not None and not sentence.states.any()
    _check_rows(sentence)


def test_a_long_text_without_spaces() -> None:
    doc = nlp()("ab" * 10_000)
    # WordPiece gives up on words over 100 characters: one [UNK] covers the token.
    (bert,) = trfviz.extract(doc, minilm()).sentences
    assert bert.pieces == ("[CLS]", "[UNK]", "[SEP]") and not bert.missing.any()
    _check_rows(bert)
    # Byte-level BPE cuts it into 10,000 pieces: truncated at the attention memory
    # limit, with a warning; the token keeps the pieces that fit.
    with pytest.warns(UserWarning, match="truncated"):
        (smol,) = trfviz.extract(doc, smollm()).sentences
    assert smol.truncated and not smol.missing.any()
    assert smol.alignment.n_pieces < smollm().max_length
    _check_rows(smol)


def test_tokens_past_the_maximum_length_get_zero_rows_and_a_flag() -> None:
    words = ["word"] * 600
    doc = Doc(nlp().vocab, words=words, sent_starts=[True] + [False] * 599)
    with pytest.warns(UserWarning, match=r"1 sentence\(s\).*truncated"):
        ext = trfviz.extract(doc, minilm())
    (sentence,) = ext.sentences
    assert sentence.truncated and ext.truncated
    kept = minilm().max_length - 2  # [CLS] and [SEP]
    assert not sentence.missing[:kept].any() and sentence.missing[kept:].all()
    assert sentence.states is not None and not sentence.states[:, kept:].any()
    _check_rows(sentence)


def test_markup_is_just_text() -> None:
    doc = nlp()("<b>Bold</b> &amp; <script>alert(1)</script> done.")
    for sentence in trfviz.extract(doc, minilm()).sentences:
        _check_rows(sentence)
        assert "".join(sentence.tokens).replace(" ", "") in doc.text.replace(" ", "")


def test_control_characters_and_zero_width_space_are_flagged_not_guessed() -> None:
    doc = Doc(
        nlp().vocab,
        words=["a", "\u200b", "b"],
        spaces=[True, True, False],
        sent_starts=[True, False, False],
    )
    (sentence,) = trfviz.extract(doc, minilm()).sentences
    assert sentence.missing.tolist() == [False, True, False]
    _check_rows(sentence)


def test_doc_without_sentence_boundaries_is_a_clear_error() -> None:
    doc = Doc(nlp().vocab, words=["no", "sentences", "here"])
    with pytest.raises(ValueError, match="sentencizer"):
        trfviz.extract(doc, minilm())


def test_single_token_doc_needs_no_sentence_boundaries() -> None:
    doc = Doc(nlp().vocab, words=["Hello"])
    (sentence,) = trfviz.extract(doc, minilm()).sentences
    assert sentence.tokens == ("Hello",)


def test_bad_options_are_rejected() -> None:
    doc = nlp()("Fine.")
    with pytest.raises(ValueError, match="pooling"):
        trfviz.extract(doc, minilm(), pooling="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="special_tokens"):
        trfviz.extract(doc, minilm(), special_tokens="hide")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        trfviz.extract(doc, minilm(), batch_size=0)


def test_unknown_model_names_what_to_do() -> None:
    with pytest.raises(trfviz.ModelNotAvailableError, match="cannot load model"):
        trfviz.load_model("no-such-org/no-such-model-xyz")


class _SlowTokenizer:
    """A tokenizer that cannot give character offsets, like transformers' Python tokenizers."""

    is_fast = False

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner

    def __call__(self, texts, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("return_offsets_mapping"):
            raise NotImplementedError("return_offset_mapping is not available")
        return self._inner(texts, **kwargs)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._inner, name)


def test_tokenizer_without_offsets_falls_back_to_string_alignment() -> None:
    loaded = minilm()
    slow = trfviz.LoadedModel(
        name=MINILM,
        revision=loaded.revision,
        model=loaded.model,
        tokenizer=_SlowTokenizer(loaded.tokenizer),
        n_layers=loaded.n_layers,
        n_heads=loaded.n_heads,
        max_length=loaded.max_length,
        device=loaded.device,
    )
    doc = nlp()("The chiropractor isn't here.")
    fast = trfviz.extract(doc, loaded).sentences[0]
    fallback = trfviz.extract(doc, slow).sentences[0]
    np.testing.assert_array_equal(fast.alignment.pairs, fallback.alignment.pairs)
    np.testing.assert_allclose(fast.attention, fallback.attention, atol=1e-6)  # type: ignore[arg-type]


def test_progress_bar_for_long_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    docs = list(nlp().pipe(["One.", "Two."]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray warnings from the progress bar path
        list(trfviz.extract_docs(docs, minilm(), progress=True, attention=False))
    assert "extract" in capsys.readouterr().err


def test_special_token_text_in_the_input_is_text() -> None:
    doc = nlp()("Type [CLS] or <|im_end|> here.")
    bert = trfviz.extract(doc, minilm(), states=False).sentences[0]
    assert bert.special_labels == ("[CLS]", "[SEP]")
    assert bert.pieces.count("[CLS]") == 1
    smol = trfviz.extract(doc, smollm(), states=False).sentences[0]
    assert smol.special_labels == () and "<|im_end|>" not in smol.pieces


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_gives_the_cpu_numbers() -> None:
    doc = nlp()("The old man the boat.")
    on_gpu = trfviz.load_model(MINILM, device="cuda")
    assert on_gpu.device == "cuda"
    a = trfviz.extract(doc, minilm()).sentences[0]
    b = trfviz.extract(doc, on_gpu).sentences[0]
    np.testing.assert_allclose(a.attention, b.attention, atol=1e-4)  # type: ignore[arg-type]
    np.testing.assert_allclose(a.states, b.states, atol=1e-3)  # type: ignore[arg-type]


@pytest.mark.parametrize("special_tokens", ["keep", "drop"])
def test_long_sentence_is_pooled_by_the_indexed_kernel_like_the_reference(special_tokens) -> None:  # type: ignore[no-untyped-def]
    from trfviz.pooling import batched

    loaded = minilm()
    text = "The chiropractor's unbelievably tired assistant, who isn't here, said so " * 12
    doc = nlp().make_doc(text.strip() + ".")
    doc[0].is_sent_start = True  # one long sentence, whatever a parser would say
    for token in doc[1:]:
        token.is_sent_start = False
    sentence = trfviz.extract(doc, loaded, special_tokens=special_tokens, states=False).sentences[0]
    assert len(sentence.pieces) > batched.INDEXED_MIN_WIDTH  # the indexed kernel ran
    raw_attention, _ = _raw_outputs(loaded, doc.text)
    expected = pool_attention(raw_attention, sentence.alignment, special_tokens=special_tokens)
    assert sentence.attention is not None
    np.testing.assert_allclose(sentence.attention, expected, atol=1e-5)
    _check_rows(sentence)
