"""Pairing a source with a target, and the decoder input of teacher forcing."""

from __future__ import annotations

import numpy as np
import pytest
from spacy.tokens import Doc

import trfviz
from trfviz.seq2seq import pair_spans
from trfviz.seq2seq.pairing import encode_pairs


def test_sentences_pair_one_to_one(sentencized) -> None:  # type: ignore[no-untyped-def]
    source = sentencized("The cat sat. It slept.")
    target = sentencized("Die Katze saß. Sie schlief.")
    pairs = pair_spans(source, target, pair_by="sentence")
    assert [(s.text, t.text) for s, t in pairs] == [
        ("The cat sat.", "Die Katze saß."),
        ("It slept.", "Sie schlief."),
    ]
    ((whole_source, whole_target),) = pair_spans(source, target, pair_by="doc")
    assert whole_source.text == source.text and whole_target.text == target.text


def test_bad_pairings_say_what_to_do(sentencized, blank_nlp) -> None:  # type: ignore[no-untyped-def]
    source = sentencized("The cat sat. It slept.")
    with pytest.raises(ValueError, match=r"source_doc has 2 sentence\(s\) and target_doc 1.*"):
        pair_spans(source, sentencized("Die Katze saß."), pair_by="sentence")
    with pytest.raises(ValueError, match="pair_by='doc'"):
        pair_spans(source, sentencized("Die Katze saß."), pair_by="sentence")
    unsplit = blank_nlp("Die Katze saß. Sie schlief.")  # no sentence boundaries
    with pytest.raises(ValueError, match=r"^target_doc: the Doc has no sentence boundaries"):
        pair_spans(source, unsplit, pair_by="sentence")
    assert len(pair_spans(source, unsplit, pair_by="doc")) == 1  # read whole, it needs none
    with pytest.raises(ValueError, match="target_doc's text is empty"):
        pair_spans(source, blank_nlp("  "), pair_by="doc")
    with pytest.raises(TypeError, match="target_doc"):
        pair_spans(source, "Die Katze saß.", pair_by="doc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pair_by"):
        pair_spans(source, source, pair_by="word")  # type: ignore[arg-type]


def test_the_decoder_reads_the_target_shifted_right(seq2seq, sentencized) -> None:  # type: ignore[no-untyped-def]
    source, target = sentencized("The old man the boat."), sentencized("She isn't here.")
    ((encoded),) = encode_pairs(pair_spans(source, target, pair_by="doc"), seq2seq, max_length=64)
    tokenizer = seq2seq.tokenizer
    plain = tokenizer(text_target=target.text)["input_ids"]  # the target as a target
    assert plain[-1] == tokenizer.eos_token_id
    start = seq2seq.model.config.decoder_start_token_id
    # The decoder input: decoder_start, then the target's ids without its final </s>.
    assert encoded.target.input_ids == [start, *plain[:-1]]
    assert encoded.target.pieces[0] == tokenizer.convert_ids_to_tokens(start)
    alignment = encoded.target.alignment
    assert alignment.special[0] and alignment.n_pieces == len(plain)
    # Every word is still covered, by the same pieces one place on.
    assert not alignment.missing.any()
    words = [[encoded.target.pieces[p] for p in alignment.pieces_of(t)] for t in range(4)]
    assert "".join(words[1]).lstrip("▁Ġ") + "".join(words[2]) == "isn't"
    assert encoded.source.input_ids == tokenizer(source.text)["input_ids"]


def test_a_target_without_a_final_special_piece_loses_no_word() -> None:
    from trfviz.extractor.tokenize import EncodedSentence
    from trfviz.seq2seq import shift_right

    alignment = trfviz.Alignment(
        pairs=np.array([[0, 0], [1, 1]], dtype=np.int32),
        n_tokens=2,
        n_pieces=2,
        special=np.zeros(2, dtype=bool),
        orphan=np.zeros(2, dtype=bool),
        missing=np.zeros(2, dtype=bool),
    )
    target = EncodedSentence(0, 0, ("a", "b"), [5, 6], ("a", "b"), alignment, False)
    shifted = shift_right(target, 0, "<pad>")
    assert shifted.input_ids == [0, 5, 6] and shifted.pieces == ("<pad>", "a", "b")
    assert shifted.alignment.pairs.tolist() == [[0, 1], [1, 2]]
    assert shifted.alignment.special.tolist() == [True, False, False]


def test_docs_from_different_vocabularies_pair(sentencized) -> None:  # type: ignore[no-untyped-def]
    import spacy

    german = spacy.blank("de")
    target = Doc(german.vocab, words=["Hallo", "Welt"], sent_starts=[True, False])
    pairs = pair_spans(sentencized("Hello world"), target, pair_by="sentence")
    assert [t.text for _, t in pairs] == ["Hallo Welt"]


def test_marian_reads_the_target_with_its_target_sentencepiece(  # type: ignore[no-untyped-def]
    marian_path, sentencized
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = trfviz.load_seq2seq_model(str(marian_path))
    text = "New York is bigger than New Haven."
    doc = sentencized(text)
    ((encoded),) = encode_pairs(pair_spans(doc, doc, pair_by="doc"), loaded, max_length=64)
    tokenizer = loaded.tokenizer
    as_source = tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
    as_target = tokenizer.convert_ids_to_tokens(tokenizer(text_target=text)["input_ids"])
    assert as_source != as_target  # the two SentencePiece models segment this text apart
    assert list(encoded.source.pieces) == as_source
    assert list(encoded.target.pieces) == ["<pad>", *as_target[:-1]]
    assert not encoded.target.alignment.missing.any()
