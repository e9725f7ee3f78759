"""Pooling of piece states and attention onto tokens: hand-worked numbers and edge cases.

The property tests over real tokenizers are in ``test_alignment_properties.py``;
these pin the conventions down on examples small enough to work out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from trfviz.alignment import align_spans
from trfviz.pooling import (
    attention_weights,
    pool_attention,
    pool_states,
    renormalize_rows,
    state_weights,
)

# --- a split word's attention, by hand --------------------------------------------------------

# "walking home": "walk" "##ing" | "home" (no special pieces).
_SPLIT = align_spans([(0, 7), (8, 12)], [(0, 4), (4, 7), (8, 12)])
_SPLIT_ATTENTION = np.array(
    [
        [0.2, 0.3, 0.5],  # walk
        [0.4, 0.4, 0.2],  # ##ing
        [0.1, 0.6, 0.3],  # home
    ]
)
# To tokens (sum over pieces): walk -> [0.5, 0.5], ##ing -> [0.8, 0.2], home -> [0.7, 0.3].
_SPLIT_EXPECTED = {
    "mean": [[0.65, 0.35], [0.7, 0.3]],
    "first": [[0.5, 0.5], [0.7, 0.3]],
    "max": [[0.8 / 1.3, 0.5 / 1.3], [0.7, 0.3]],  # max of [.5,.5] and [.8,.2], renormalised
}


@pytest.mark.parametrize("query_pooling", ["mean", "first", "max"])
@pytest.mark.parametrize("special_tokens", ["keep", "drop"])
def test_split_word_attention_without_specials(query_pooling, special_tokens):
    pooled = pool_attention(
        _SPLIT_ATTENTION[None, None],
        _SPLIT,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
    )
    np.testing.assert_allclose(pooled[0, 0], _SPLIT_EXPECTED[query_pooling], rtol=1e-6)


# "[CLS] walking home": "[CLS]" | "walk" "##ing" | "home".
_SPECIAL = align_spans(
    [(0, 7), (8, 12)], [(0, 0), (0, 4), (4, 7), (8, 12)], [True, False, False, False]
)
_SPECIAL_ATTENTION = np.array(
    [
        [0.1, 0.2, 0.3, 0.4],  # [CLS]
        [0.5, 0.1, 0.2, 0.2],  # walk
        [0.2, 0.2, 0.2, 0.4],  # ##ing
        [0.25, 0.25, 0.25, 0.25],  # home
    ]
)
# Over (walking, home, [CLS]): [CLS] -> [.5, .4, .1], walk -> [.3, .2, .5],
# ##ing -> [.4, .4, .2], home -> [.5, .25, .25].
_SPECIAL_EXPECTED = {
    ("mean", "keep"): [[0.35, 0.3, 0.35], [0.5, 0.25, 0.25], [0.5, 0.4, 0.1]],
    ("first", "keep"): [[0.3, 0.2, 0.5], [0.5, 0.25, 0.25], [0.5, 0.4, 0.1]],
    ("max", "keep"): [[0.4 / 1.3, 0.4 / 1.3, 0.5 / 1.3], [0.5, 0.25, 0.25], [0.5, 0.4, 0.1]],
    # Dropped: [CLS]'s column goes and rows are renormalised; no [CLS] row.
    ("mean", "drop"): [[0.35 / 0.65, 0.3 / 0.65], [0.5 / 0.75, 0.25 / 0.75]],
    ("first", "drop"): [[0.6, 0.4], [2 / 3, 1 / 3]],
    ("max", "drop"): [[0.5, 0.5], [2 / 3, 1 / 3]],  # max of [.3,.2] and [.4,.4]
}


@pytest.mark.parametrize("query_pooling", ["mean", "first", "max"])
@pytest.mark.parametrize("special_tokens", ["keep", "drop"])
def test_split_word_attention_with_cls(query_pooling, special_tokens):
    pooled = pool_attention(
        _SPECIAL_ATTENTION[None, None],
        _SPECIAL,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
    )
    np.testing.assert_allclose(
        pooled[0, 0], _SPECIAL_EXPECTED[query_pooling, special_tokens], rtol=1e-6
    )


def test_attention_to_a_shared_piece_is_split():
    # "isn't": "is" "n't" | "isn" "'" "t"; "isn" belongs to both tokens.
    a = align_spans([(0, 2), (2, 5)], [(0, 3), (3, 4), (4, 5)])
    attention = np.array([[0.2, 0.2, 0.6], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8]])
    # To tokens: isn -> [.1, .9], ' -> [.25, .75], t -> [.05, .95].
    pooled = pool_attention(attention[None, None], a)
    np.testing.assert_allclose(pooled[0, 0], [[0.1, 0.9], [0.4 / 3, 2.6 / 3]], rtol=1e-6)


def test_pooling_keeps_leading_axes():
    rng = np.random.default_rng(1)
    attention = rng.random((3, 2, 4, 4))
    attention /= attention.sum(axis=-1, keepdims=True)
    pooled = pool_attention(attention, _SPECIAL)
    for layer in range(3):
        for head in range(2):
            np.testing.assert_allclose(
                pooled[layer, head], pool_attention(attention[layer, head], _SPECIAL), rtol=1e-6
            )


@pytest.mark.parametrize("pooling", ["first", "last", "mean", "sum", "weighted"])
def test_state_pooling_with_no_pieces(pooling):
    """An empty text through a tokenizer that adds no special tokens (GPT-2): no pieces."""
    a = align_spans(np.zeros((0, 2)), np.zeros((0, 2)))
    assert pool_states(np.zeros((2, 0, 4)), a, pooling=pooling).shape == (2, 0, 4)


@pytest.mark.parametrize("query_pooling", ["mean", "first", "max"])
def test_attention_pooling_with_no_pieces(query_pooling):
    a = align_spans(np.zeros((0, 2)), np.zeros((0, 2)))
    pooled = pool_attention(np.zeros((2, 3, 0, 0)), a, query_pooling=query_pooling)
    assert pooled.shape == (2, 3, 0, 0)


def test_states_of_a_split_word_by_hand():
    states = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 4.0]])  # walk, ##ing, home
    expected = {
        "weighted": [[4.0, 2.0], [5.0, 4.0]],
        "sum": [[4.0, 2.0], [5.0, 4.0]],
        "mean": [[2.0, 1.0], [5.0, 4.0]],
        "first": [[1.0, 0.0], [5.0, 4.0]],
        "last": [[3.0, 2.0], [5.0, 4.0]],
    }
    for pooling, rows in expected.items():
        np.testing.assert_allclose(pool_states(states, _SPLIT, pooling=pooling), rows)


def test_weighted_states_spread_cls_over_the_sentence():
    states = np.array([[6.0], [1.0], [2.0], [4.0]])  # [CLS], walk, ##ing, home
    # walking: 1 + 2 + 6/2; home: 4 + 6/2. Nothing lost: 9 + 7 == 6 + 1 + 2 + 4.
    np.testing.assert_allclose(pool_states(states, _SPECIAL), [[6.0], [7.0]])
    # The other poolings ignore special pieces.
    np.testing.assert_allclose(pool_states(states, _SPECIAL, pooling="sum"), [[3.0], [4.0]])
    np.testing.assert_allclose(pool_states(states, _SPECIAL, pooling="mean"), [[1.5], [4.0]])


def test_pooled_arrays_are_float32():
    states = np.ones((2, 4, 3), dtype=np.float64)
    assert pool_states(states, _SPECIAL).dtype == np.float32
    attention = np.full((2, 1, 4, 4), 0.25)
    for query_pooling in ("mean", "first", "max"):
        for special_tokens in ("keep", "drop"):
            pooled = pool_attention(
                attention, _SPECIAL, query_pooling=query_pooling, special_tokens=special_tokens
            )
            assert pooled.dtype == np.float32
    queries, keys = attention_weights(_SPECIAL)
    assert queries.dtype == keys.dtype == np.float32


@pytest.mark.parametrize(
    ("option", "value"),
    [("pooling", "median"), ("query_pooling", "last"), ("special_tokens", "hide")],
)
def test_unknown_options_are_refused(option, value):
    with pytest.raises(ValueError, match=option):
        if option == "pooling":
            state_weights(_SPLIT, pooling=value)
        else:
            attention_weights(_SPLIT, **{option: value})


def test_arrays_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="pieces"):
        pool_states(np.zeros((5, 2)), _SPLIT)
    with pytest.raises(ValueError, match="pieces"):
        pool_attention(np.zeros((1, 1, 4, 4)), _SPLIT)


def test_renormalize_rows_leaves_zero_rows_zero():
    rows = np.array([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(renormalize_rows(rows), [[0.25, 0.75], [0, 0], [0.5, 0.5]])


def test_all_tokens_missing_gives_zeros():
    # A text of one zero-width space through BERT: "[CLS] [SEP]", one token with no piece.
    a = align_spans([(0, 1)], [(0, 0), (0, 0)], [True, True])
    assert a.missing.tolist() == [True]
    assert not state_weights(a).any()
    pooled = pool_attention(np.full((1, 1, 2, 2), 0.5), a)
    # Row and column of the token are zero; the two pseudo-tokens keep their rows.
    np.testing.assert_allclose(pooled[0, 0], [[0, 0, 0], [0, 0.5, 0.5], [0, 0.5, 0.5]])
    dropped = pool_attention(np.full((1, 1, 2, 2), 0.5), a, special_tokens="drop")
    np.testing.assert_allclose(dropped[0, 0], [[0.0]])
