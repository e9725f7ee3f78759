"""End to end on XLNet's layout: SentencePiece pieces, then ``<sep> <cls>`` with the class last.

A tiny random-weight XLNet is saved with the Unigram tokenizer trained in the
test run, loaded back through :func:`trfviz.load_model` like any local model,
and run with :func:`trfviz.extract`. The batched extraction is checked against
each sentence run on its own and pooled with :mod:`trfviz.pooling`, so padding
(XLNet pads on the left, with relative positions) cannot leak into the numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import trfviz
from trfviz.alignment import align_spans
from trfviz.pooling import pool_attention, pool_states

pytestmark = pytest.mark.model

D_MODEL, N_LAYER, N_HEAD = 32, 2, 2
TEXT = "The old man the boat. I saw the man with the telescope, and he isn't here."


@pytest.fixture(scope="module")
def xlnet_dir(tmp_path_factory, unigram):
    """A directory with a random-weight XLNet and the session's trained Unigram tokenizer."""
    import torch
    from transformers import XLNetConfig, XLNetModel

    tokenizer = unigram
    directory = tmp_path_factory.mktemp("tiny-xlnet")
    tokenizer.save_pretrained(directory)
    config = XLNetConfig(
        vocab_size=len(tokenizer),
        d_model=D_MODEL,
        n_layer=N_LAYER,
        n_head=N_HEAD,
        d_inner=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    XLNetModel(config).eval().save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def xlnet(xlnet_dir):
    return trfviz.load_model(xlnet_dir, device="cpu")


@pytest.fixture(scope="module")
def doc():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp(TEXT)
    assert len(list(doc.sents)) == 2
    return doc


def test_model_loads_with_the_trained_tokenizer(xlnet):
    assert xlnet.n_layers == N_LAYER
    assert xlnet.n_heads == N_HEAD
    assert xlnet.tokenizer.is_fast
    encoding = xlnet.tokenizer("I saw", return_special_tokens_mask=True)
    pieces = xlnet.tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    assert pieces[-2:] == ["<sep>", "<cls>"]
    assert encoding["special_tokens_mask"][-2:] == [1, 1]


@pytest.mark.parametrize("query_pooling", ["mean", "first", "max"])
def test_kept_specials_put_cls_last_and_rows_sum_to_one(xlnet, doc, query_pooling):
    ext = trfviz.extract(doc, xlnet, query_pooling=query_pooling, special_tokens="keep")
    assert ext.n_layers == N_LAYER and ext.n_heads == N_HEAD
    assert [s.n_tokens for s in ext.sentences] == [len(s) for s in doc.sents]
    for sentence in ext.sentences:
        n = sentence.n_tokens
        assert sentence.special_labels == ("<sep>", "<cls>")
        assert sentence.labels[-1] == "<cls>"
        assert sentence.pieces[-1] == "<cls>"
        assert sentence.alignment.special[-1]
        assert sentence.attention.shape == (N_LAYER, N_HEAD, n + 2, n + 2)
        assert sentence.attention.dtype == np.float32
        rows = sentence.attention.sum(axis=-1)
        present = np.concatenate([~sentence.missing, [True, True]])
        np.testing.assert_allclose(rows[..., present], 1.0, atol=1e-5)
        assert sentence.states.shape == (N_LAYER + 1, n, D_MODEL)
        assert np.isfinite(sentence.states).all()


def test_dropped_specials_leave_token_rows_summing_to_one(xlnet, doc):
    ext = trfviz.extract(doc, xlnet, special_tokens="drop")
    for sentence in ext.sentences:
        n = sentence.n_tokens
        assert sentence.special_labels == ()
        assert sentence.labels == sentence.tokens
        assert sentence.attention.shape == (N_LAYER, N_HEAD, n, n)
        rows = sentence.attention.sum(axis=-1)
        np.testing.assert_allclose(rows[..., ~sentence.missing], 1.0, atol=1e-5)


@pytest.mark.parametrize("special_tokens", ["keep", "drop"])
def test_batched_extraction_equals_each_sentence_alone(xlnet, doc, special_tokens):
    """Padding the shorter sentence changes nothing: compare with unpadded single runs."""
    import torch

    ext = trfviz.extract(doc, xlnet, special_tokens=special_tokens, batch_size=8)
    tokenizer, model = xlnet.tokenizer, xlnet.model
    for sentence, span in zip(ext.sentences, doc.sents, strict=True):
        encoding = tokenizer(
            span.text, return_offsets_mapping=True, return_special_tokens_mask=True
        )
        token_spans = [(t.idx - span.start_char, t.idx - span.start_char + len(t)) for t in span]
        alignment = align_spans(
            token_spans, encoding["offset_mapping"], encoding["special_tokens_mask"]
        )
        np.testing.assert_array_equal(sentence.alignment.pairs, alignment.pairs)
        with torch.inference_mode():
            output = model(
                input_ids=torch.tensor([encoding["input_ids"]]),
                output_attentions=True,
                output_hidden_states=True,
            )
        attention = torch.stack(output.attentions)[:, 0].numpy()  # [layer, head, P, P]
        hidden = torch.stack(output.hidden_states)[:, 0].numpy()  # [layer + 1, P, dim]
        expected_attention = pool_attention(attention, alignment, special_tokens=special_tokens)
        np.testing.assert_allclose(sentence.attention, expected_attention, atol=1e-5)
        np.testing.assert_allclose(sentence.states, pool_states(hidden, alignment), atol=1e-5)
