"""The wordpiece read-out's payload: the raw weights shown add up to the pooled value shown."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.factories import random_attention
from trfviz.alignment import align_spans
from trfviz.extraction import SentenceExtraction
from trfviz.pooling import pool_attention
from trfviz.widget.payload import PackedMatrix
from trfviz.widget.pieces import pack_pieces


def _split_sentence(
    query_pooling: str = "mean", special_tokens: str = "keep"
) -> SentenceExtraction:
    """ "Unbelievably it isn't": 'Unbelievably' is three pieces, 'is' and "n't" share 'isn'."""
    tokens = ("Unbelievably", "it", "is", "n't")
    token_spans = np.array([[0, 12], [13, 15], [16, 18], [18, 21]])
    pieces = ("[CLS]", "un", "##bel", "##ievably", "it", "isn", "'", "t", "[SEP]")
    piece_spans = np.array(
        [[0, 0], [0, 2], [2, 5], [5, 12], [13, 15], [16, 19], [19, 20], [20, 21], [0, 0]]
    )
    special = np.array([True] + [False] * 7 + [True])
    alignment = align_spans(token_spans, piece_spans, special)
    raw = random_attention(np.random.default_rng(3), 2, 3, len(pieces))
    pooled = pool_attention(
        raw,
        alignment,
        query_pooling=query_pooling,  # type: ignore[arg-type]
        special_tokens=special_tokens,  # type: ignore[arg-type]
    )
    return SentenceExtraction(
        start=0,
        tokens=tokens,
        pieces=pieces,
        alignment=alignment,
        attention=pooled,
        states=None,
        special_labels=("[CLS]", "[SEP]") if special_tokens == "keep" else (),
        piece_attention=raw,
    )


def _unpack(payload: dict) -> np.ndarray:  # type: ignore[type-arg]
    w = payload["weights"]
    return PackedMatrix(w["data"], tuple(w["shape"]), w["lo"], w["scale"], w["bits"]).unpack()


@pytest.mark.parametrize("layer", [0, 1, "mean"])
def test_the_table_adds_up_to_the_pooled_value_shown(layer: int | str) -> None:
    """Mean over the word's piece rows of the sum over each word's pieces (times its share)."""
    sentence = _split_sentence()
    payload = pack_pieces(sentence, layer, 0, model="m")  # "Unbelievably": three pieces
    assert payload["rule"] == "mean"
    assert [payload["pieces"][r] for r in payload["rows"]] == ["un", "##bel", "##ievably"]
    weights = _unpack(payload)  # [head + 1, row, piece]
    assert weights.shape == (4, 3, 9)
    shown = np.array(payload["shown"])
    expected = np.asarray(sentence.attention)
    expected = expected.mean(axis=0) if layer == "mean" else expected[layer]
    np.testing.assert_allclose(shown[:3], expected[:, 0], atol=1e-6)
    np.testing.assert_allclose(shown[3], expected[:, 0].mean(axis=0), atol=1e-6)
    for group in payload["groups"]:
        # What the table shows for this word: its columns, weighted by their share.
        by_row = (weights[:, :, group["cols"]] * np.array(group["share"])).sum(axis=-1)
        table_value = by_row.mean(axis=1)
        np.testing.assert_allclose(table_value, shown[:, group["index"]], atol=1e-4)
        np.testing.assert_allclose(
            np.array(payload["pooled"])[:, group["index"]], shown[:, group["index"]], atol=1e-6
        )


def test_groups_name_each_words_pieces_and_the_shared_piece() -> None:
    payload = pack_pieces(_split_sentence(), 0, 2)  # "is"
    labels = [g["label"] for g in payload["groups"]]
    assert labels == ["Unbelievably", "it", "is", "n't", "[CLS]", "[SEP]"]
    pieces = payload["pieces"]
    by_label = {g["label"]: ([pieces[c] for c in g["cols"]], g["share"]) for g in payload["groups"]}
    assert by_label["Unbelievably"] == (["un", "##bel", "##ievably"], [1.0, 1.0, 1.0])
    assert by_label["is"] == (["isn"], [0.5])
    assert by_label["n't"] == (["isn", "'", "t"], [0.5, 1.0, 1.0])
    assert by_label["[CLS]"] == (["[CLS]"], [1.0])
    assert [pieces[r] for r in payload["rows"]] == ["isn"]


@pytest.mark.parametrize(
    ("query_pooling", "special_tokens"), [("first", "keep"), ("max", "keep"), ("mean", "drop")]
)
def test_the_rule_is_the_pooling_that_gives_the_shown_values(
    query_pooling: str, special_tokens: str
) -> None:
    sentence = _split_sentence(query_pooling, special_tokens)
    payload = pack_pieces(sentence, 1, 0)
    assert payload["rule"] == query_pooling
    np.testing.assert_allclose(payload["pooled"], payload["shown"], atol=1e-6)
    assert len(payload["groups"]) == (6 if special_tokens == "keep" else 4)


def test_shown_values_that_no_pooling_gives_are_flagged() -> None:
    sentence = _split_sentence()
    tampered = np.array(sentence.attention)
    tampered[:, :, 0] = np.roll(tampered[:, :, 0], 1, axis=-1)
    payload = pack_pieces(replace(sentence, attention=tampered), 0, 0)
    assert payload["rule"] is None
    assert "no pooling rule" in payload["rule_text"]
    assert not np.allclose(payload["pooled"], payload["shown"], atol=1e-4)


def test_bad_requests_say_what_to_do() -> None:
    sentence = _split_sentence()
    with pytest.raises(ValueError, match="piece_attention=True"):
        pack_pieces(replace(sentence, piece_attention=None), 0, 0)
    with pytest.raises(ValueError, match=r"word must be 0\.\.3"):
        pack_pieces(sentence, 0, 4)


@pytest.mark.model
def test_minilm_pooled_values_come_back_from_its_pieces() -> None:
    import trfviz
    from tests._shared import minilm, nlp

    extraction = trfviz.extract(
        nlp()("Unbelievably, it isn't New York's."), minilm(), piece_attention=True
    )
    (sentence,) = extraction.sentences
    assert sentence.attention is not None
    for word in range(sentence.n_tokens):
        for layer in (0, 5, "mean"):
            payload = pack_pieces(sentence, layer, word)
            assert payload["rule"] == "mean"
            values = (
                sentence.attention.mean(axis=0) if layer == "mean" else sentence.attention[layer]
            )
            np.testing.assert_allclose(np.array(payload["pooled"])[:12], values[:, word], atol=1e-5)


def test_the_explorer_sends_the_selected_words_pieces_only_while_asked() -> None:
    from tests.browser.pieces_data import make_piece_document
    from trfviz.widget import AttentionExplorer

    parses, extractions = make_piece_document()
    explorer = AttentionExplorer(parses, extractions, compare="tiny-gpt")
    assert explorer._pieces["available"] == ["tiny-bert"]  # the toggle is offered
    assert explorer._pieces["panels"] == []
    explorer.selected = 1  # "saw": split into "s" + "##aw"
    assert explorer._pieces["panels"] == []  # toggle off: nothing sent
    explorer.show_pieces = True
    (panel,) = explorer._pieces["panels"]
    assert (panel["model"], panel["word"], panel["layer"]) == ("tiny-bert", 1, 0)
    assert [panel["pieces"][r] for r in panel["rows"]] == ["s", "##aw"]
    shown = extractions["tiny-bert"][0].attention
    assert shown is not None
    np.testing.assert_allclose(np.array(panel["pooled"])[:3], shown[0, :, 1], atol=1e-6)
    sent = explorer._pieces
    explorer.head = 2  # heads are picked in the browser: nothing new sent
    assert explorer._pieces is sent
    explorer.layer = 1
    assert explorer._pieces["panels"][0]["layer"] == 1
    np.testing.assert_allclose(
        np.array(explorer._pieces["panels"][0]["pooled"])[:3], shown[1, :, 1], atol=1e-6
    )
    explorer.sentence = 1  # a new sentence unpins the word
    assert explorer._pieces["sentence"] == 1 and explorer._pieces["panels"] == []


@pytest.mark.parametrize("layer", [0, 1, "mean"])
def test_a_one_piece_words_pooled_value_is_its_raw_weight_exactly(layer: int | str) -> None:
    """The review saw raw 7.2e-4 beside pooled 7.3e-4 for a one-piece word: the raw weights
    went as 16-bit codes, the pooled values rounded to 6 decimals. Both now go as float32, so
    a word with one piece reads the same number twice."""
    sentence = _split_sentence()
    payload = pack_pieces(sentence, layer, 1, model="m")  # "it": one piece, its own row
    assert payload["weights"]["bits"] == 32
    weights = _unpack(payload)  # [head + 1, 1 row, piece]
    pooled = np.array(payload["pooled"], dtype=np.float32)
    it = next(g for g in payload["groups"] if g["label"] == "it")
    assert it["cols"] == [4] and it["share"] == [1.0]
    np.testing.assert_array_equal(pooled[:, it["index"]], weights[:, 0, 4])
    # Tiny weights too: not a code of a 16-bit step.
    assert np.array_equal(weights, weights.astype(np.float32))
