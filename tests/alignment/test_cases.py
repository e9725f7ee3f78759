"""Hand-picked hard cases of alignment and pooling, with the numbers worked out by hand.

Where a real tokenizer is used, its pieces and offsets are asserted first, so
that a change in the tokenizer shows up as such and not as an alignment error.
"""

from __future__ import annotations

import numpy as np

from trfviz.alignment import align_spans
from trfviz.pooling import attention_weights, pool_attention, pool_states, state_weights


def spans(doc) -> list[tuple[int, int]]:
    return [(t.idx, t.idx + len(t.text)) for t in doc]


def encode(tokenizer, text: str):
    """(piece strings, offsets, special mask) with the special tokens added."""
    encoding = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    strings = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    offsets = [tuple(o) for o in encoding["offset_mapping"]]
    return strings, offsets, encoding["special_tokens_mask"]


def align_doc(nlp, tokenizer, text: str):
    doc = nlp.make_doc(text)
    strings, offsets, special = encode(tokenizer, text)
    return doc, strings, offsets, align_spans(spans(doc), offsets, special)


def pieces_per_token(alignment) -> list[list[int]]:
    return [alignment.pieces_of(t).tolist() for t in range(alignment.n_tokens)]


# --- contractions: spaCy and the models split them differently ---------------------------


def test_isnt_bert_piece_shared_by_two_tokens(blank_nlp, wordpiece):
    doc, strings, offsets, a = align_doc(blank_nlp, wordpiece, "isn't")
    assert [t.text for t in doc] == ["is", "n't"]
    assert strings == ["[CLS]", "isn", "'", "t", "[SEP]"]
    assert offsets == [(0, 0), (0, 3), (3, 4), (4, 5), (0, 0)]
    # "isn" (0-3) overlaps "is" (0-2) and "n't" (2-5).
    assert pieces_per_token(a) == [[1], [1, 2, 3]]
    assert a.tokens_of(1).tolist() == [0, 1]
    assert a.special.tolist() == [True, False, False, False, True]
    assert not a.orphan.any() and not a.missing.any()
    # Weighted: "isn" gives 1/2 to each token; [CLS] and [SEP] 1/2 to each of the 2 tokens.
    np.testing.assert_allclose(
        state_weights(a),
        [[0.5, 0.5, 0.0, 0.0, 0.5], [0.5, 0.5, 1.0, 1.0, 0.5]],
    )
    np.testing.assert_allclose(
        state_weights(a, pooling="mean"), [[0, 1, 0, 0, 0], [0, 1 / 3, 1 / 3, 1 / 3, 0]]
    )
    np.testing.assert_allclose(state_weights(a, pooling="first"), [[0, 1, 0, 0, 0]] * 2)
    np.testing.assert_allclose(state_weights(a, pooling="last"), [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])
    np.testing.assert_allclose(state_weights(a, pooling="sum"), [[0, 1, 0, 0, 0], [0, 1, 1, 1, 0]])


def test_isnt_gpt2_leading_space_piece_spans_both_tokens(blank_nlp, byte_level_bpe):
    doc, strings, offsets, a = align_doc(blank_nlp, byte_level_bpe, "It isn't")
    assert [t.text for t in doc] == ["It", "is", "n't"]
    assert strings == ["It", "Ġisn", "'t"]
    assert offsets == [(0, 2), (2, 6), (6, 8)]
    # "Ġisn" (2-6): its space (2) belongs to no token, "is" (3-5) and "n" (5) do.
    assert pieces_per_token(a) == [[0], [1], [1, 2]]
    assert not a.orphan.any()
    np.testing.assert_allclose(state_weights(a), [[1, 0, 0], [0, 0.5, 0], [0, 0.5, 1]])


def test_cant_bert_and_gpt2_cover_the_same_spacy_tokens(blank_nlp, wordpiece, byte_level_bpe):
    doc, strings, _, bert = align_doc(blank_nlp, wordpiece, "I can't")
    assert [t.text for t in doc] == ["I", "ca", "n't"]
    assert strings == ["[CLS]", "i", "can", "'", "t", "[SEP]"]
    assert pieces_per_token(bert) == [[1], [2], [2, 3, 4]]
    _, strings, _, gpt2 = align_doc(blank_nlp, byte_level_bpe, "I can't")
    assert strings == ["I", "Ġcan", "'t"]
    assert pieces_per_token(gpt2) == [[0], [1], [1, 2]]
    # Both pool onto the same three spaCy tokens.
    rng = np.random.default_rng(0)
    assert pool_states(rng.random((6, 4)), bert).shape == (3, 4)
    assert pool_states(rng.random((3, 4)), gpt2).shape == (3, 4)


# --- several words in one piece, one word in several pieces ------------------------------


def test_new_york_one_piece_two_tokens():
    # spaCy: "New" "York"; a tokenizer with "New York" as one piece.
    a = align_spans([(0, 3), (4, 8)], [(0, 8)])
    assert pieces_per_token(a) == [[0], [0]]
    np.testing.assert_allclose(state_weights(a), [[0.5], [0.5]])
    np.testing.assert_allclose(state_weights(a, pooling="mean"), [[1.0], [1.0]])
    # The only piece attends to itself: each token receives half, each row sums to 1.
    pooled = pool_attention(np.ones((1, 1, 1, 1)), a)
    np.testing.assert_allclose(pooled[0, 0], [[0.5, 0.5], [0.5, 0.5]])


def test_new_york_merged_by_spacy_two_gpt2_pieces(blank_nlp, byte_level_bpe):
    doc = blank_nlp.make_doc("New York")
    with doc.retokenize() as retokenizer:
        retokenizer.merge(doc[0:2])
    assert [t.text for t in doc] == ["New York"]
    strings, offsets, special = encode(byte_level_bpe, doc.text)
    assert strings == ["New", "ĠYork"]
    a = align_spans(spans(doc), offsets, special)
    assert pieces_per_token(a) == [[0, 1]]
    states = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(pool_states(states, a), [[4.0, 8.0]])
    np.testing.assert_allclose(pool_states(states, a, pooling="mean"), [[2.0, 4.0]])
    np.testing.assert_allclose(pool_states(states, a, pooling="last"), [[3.0, 6.0]])


# --- spaces --------------------------------------------------------------------------------


def test_gpt2_double_space_orphan_goes_to_next_token(blank_nlp, byte_level_bpe):
    doc, strings, offsets, a = align_doc(blank_nlp, byte_level_bpe, "a  b")
    # spaCy keeps the second space as a whitespace token.
    assert [t.text for t in doc] == ["a", " ", "b"]
    assert spans(doc) == [(0, 1), (2, 3), (3, 4)]
    assert strings == ["a", "Ġ", "Ġb"]
    assert offsets == [(0, 1), (1, 2), (2, 4)]
    # "Ġ" (1-2) is a's trailing space: no token's character, attached to the next token.
    # "Ġb" (2-4) overlaps the whitespace token (2) and "b" (3).
    assert a.orphan.tolist() == [False, True, False]
    assert pieces_per_token(a) == [[0], [1, 2], [2]]
    np.testing.assert_allclose(state_weights(a), [[1, 0, 0], [0, 1, 0.5], [0, 0, 0.5]])


def test_bert_drops_whitespace_token(blank_nlp, wordpiece):
    _, strings, _, a = align_doc(blank_nlp, wordpiece, "a  b")
    assert strings == ["[CLS]", "a", "b", "[SEP]"]
    assert a.missing.tolist() == [False, True, False]
    assert pieces_per_token(a) == [[1], [], [2]]


def test_sentencepiece_offsets_with_leading_space():
    # "I saw": "▁I" (0-1), "▁saw" (1-5, its "▁" is the space), then "<sep>" "<cls>".
    a = align_spans([(0, 1), (2, 5)], [(0, 1), (1, 5), (0, 0), (0, 0)], [0, 0, 1, 1])
    assert pieces_per_token(a) == [[0], [1]]
    assert not a.orphan.any()
    # A bare "▁" before a piece of the next word (1-2) is attached to that word.
    a = align_spans([(0, 1), (2, 5)], [(0, 1), (1, 2), (2, 5), (0, 0)], [0, 0, 0, 1])
    assert a.orphan.tolist() == [False, True, False, False]
    assert pieces_per_token(a) == [[0], [1, 2]]


# --- Unicode -------------------------------------------------------------------------------


def test_cjk_characters_split_into_pieces(blank_nlp, wordpiece, byte_level_bpe):
    doc, strings, _, bert = align_doc(blank_nlp, wordpiece, "中文字 abc")
    assert [t.text for t in doc] == ["中文字", "abc"]
    assert strings == ["[CLS]", "中", "文", "[UNK]", "abc", "[SEP]"]
    assert pieces_per_token(bert) == [[1, 2, 3], [4]]
    np.testing.assert_allclose(
        state_weights(bert, pooling="mean")[0], [0, 1 / 3, 1 / 3, 1 / 3, 0, 0], rtol=1e-6
    )
    # GPT-2: a three-byte character is split over two byte pieces with the same offsets.
    _, strings, offsets, gpt2 = align_doc(blank_nlp, byte_level_bpe, "中文字 abc")
    assert offsets == [(0, 1), (1, 2), (1, 2), (2, 3), (2, 3), (3, 6), (6, 7)]
    assert pieces_per_token(gpt2) == [[0, 1, 2, 3, 4], [5, 6]]


def test_emoji_zwj_family_one_unknown_piece_over_five_tokens(blank_nlp, wordpiece):
    text = "👨\u200d👩\u200d👧 waved"
    doc, strings, offsets, a = align_doc(blank_nlp, wordpiece, text)
    # spaCy splits the emoji and the joiners; BERT makes one [UNK] of the whole cluster.
    assert [t.text for t in doc] == ["👨", "\u200d", "👩", "\u200d", "👧", "waved"]
    assert strings == ["[CLS]", "[UNK]", "waved", "[SEP]"]
    assert offsets[1] == (0, 5)
    assert a.tokens_of(1).tolist() == [0, 1, 2, 3, 4]
    weights = state_weights(a)
    # [UNK] gives 1/5 to each of the five; [CLS]/[SEP] give 1/6 to each of the six tokens.
    np.testing.assert_allclose(weights[:5, 1], 0.2, rtol=1e-6)
    np.testing.assert_allclose(weights[:, [0, 3]], 1 / 6, rtol=1e-6)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-6)
    # Attention to [UNK] is shared out evenly over the five tokens.
    attention = np.full((1, 1, 4, 4), 0.25)
    pooled = pool_attention(attention, a, special_tokens="drop")
    np.testing.assert_allclose(pooled[0, 0, 5], [0.1] * 5 + [0.5], rtol=1e-6)


def test_emoji_zwj_family_gpt2_bytes(blank_nlp, byte_level_bpe):
    _, _, offsets, a = align_doc(blank_nlp, byte_level_bpe, "👨\u200d👩\u200d👧")
    # Two byte pieces per code point, each with the code point's span.
    assert offsets == [
        (0, 1),
        (0, 1),
        (1, 2),
        (1, 2),
        (2, 3),
        (2, 3),
        (3, 4),
        (3, 4),
        (4, 5),
        (4, 5),
    ]
    assert pieces_per_token(a) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]


def test_combining_marks(blank_nlp, wordpiece, byte_level_bpe):
    # BERT strips the accent: "cafe" covers 0-4 and the mark (4) has no piece, but the
    # token keeps characters and so is aligned.
    doc, strings, offsets, a = align_doc(blank_nlp, wordpiece, "cafe\u0301 ok")
    assert [t.text for t in doc] == ["cafe\u0301", "ok"]
    assert strings == ["[CLS]", "cafe", "ok", "[SEP]"]
    assert offsets[1] == (0, 4)
    assert pieces_per_token(a) == [[1], [2]]
    # A lone combining mark that BERT drops entirely is missing, not guessed.
    doc, strings, _, a = align_doc(blank_nlp, wordpiece, "a \u0301 b")
    assert [t.text for t in doc] == ["a", "\u0301", "b"]
    assert strings == ["[CLS]", "a", "b", "[SEP]"]
    assert a.missing.tolist() == [False, True, False]
    # GPT-2 keeps it: two byte pieces.
    _, strings, _, a = align_doc(blank_nlp, byte_level_bpe, "a \u0301 b")
    assert strings == ["a", "Ġ", "Ì", "ģ", "Ġb"]
    assert not a.missing.any()
    assert pieces_per_token(a) == [[0], [1, 2, 3], [4]]
    assert a.orphan.tolist() == [False, True, False, False, False]


def test_lone_zero_width_space_is_missing_with_zero_rows(blank_nlp, wordpiece):
    doc, strings, _, a = align_doc(blank_nlp, wordpiece, "a \u200b b")
    assert [t.text for t in doc] == ["a", "\u200b", "b"]
    assert strings == ["[CLS]", "a", "b", "[SEP]"]
    assert a.missing.tolist() == [False, True, False]
    # [CLS] and [SEP] spread over the two present tokens only.
    np.testing.assert_allclose(state_weights(a), [[0.5, 1, 0, 0.5], [0, 0, 0, 0], [0.5, 0, 1, 0.5]])
    pooled = pool_attention(np.full((1, 1, 4, 4), 0.25), a)
    assert pooled.shape == (1, 1, 5, 5)
    assert not pooled[0, 0, 1].any() and not pooled[0, 0, :, 1].any()
    np.testing.assert_allclose(pooled[0, 0].sum(axis=-1), [1, 0, 1, 1, 1], rtol=1e-6)


def test_orphan_space_is_not_attached_to_a_token_whose_characters_were_dropped(blank_nlp, unigram):
    """'a \\x01': SentencePiece's normaliser removes the control character but keeps the
    space before it as a bare '▁' (1-2). That space must not stand in for the control
    character: the token has no piece of its own and is flagged missing."""
    doc, strings, offsets, a = align_doc(blank_nlp, unigram, "a \x01")
    assert [t.text for t in doc] == ["a", "\x01"]
    assert strings == ["▁a", "▁", "<sep>", "<cls>"]
    assert offsets[:2] == [(0, 1), (1, 2)]
    assert a.orphan.tolist() == [False, True, False, False]
    assert a.missing.tolist() == [False, True]
    # The orphan goes to the nearest token that keeps characters: "a".
    assert pieces_per_token(a) == [[0, 1], []]


# --- special tokens first or last ------------------------------------------------------------


def test_cls_first_for_bert_and_last_for_xlnet_layout(blank_nlp, wordpiece, unigram):
    _, strings, _, bert = align_doc(blank_nlp, wordpiece, "Hello world")
    assert strings[0] == "[CLS]" and strings[-1] == "[SEP]"
    assert bert.special.tolist() == [True, False, False, True]
    _, strings, _, xlnet = align_doc(blank_nlp, unigram, "Hello world")
    assert strings[-2:] == ["<sep>", "<cls>"]
    assert xlnet.special.tolist() == [False] * (len(strings) - 2) + [True, True]
    for a in (bert, xlnet):
        special = np.flatnonzero(a.special)
        # Kept specials are pseudo-tokens after the spaCy tokens, in piece order: for the
        # XLNet layout the class token is the last row and column.
        queries, keys = attention_weights(a)
        assert queries.shape == keys.shape == (a.n_tokens + 2, a.n_pieces)
        for k, piece in enumerate(special):
            expected = np.zeros(a.n_pieces)
            expected[piece] = 1.0
            np.testing.assert_array_equal(keys[a.n_tokens + k], expected)
            np.testing.assert_array_equal(queries[a.n_tokens + k], expected)
        # Wherever they sit, special pieces spread over all the sentence's tokens.
        np.testing.assert_allclose(state_weights(a)[:, special], 0.5)
    assert np.flatnonzero(xlnet.special)[-1] == xlnet.n_pieces - 1
