"""Cross-attention pooling: a 3-word pair by hand, and the identity with pool_attention."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.pooling.test_batched import sentences
from trfviz.alignment import Alignment, align_spans
from trfviz.pooling import pool_attention
from trfviz.seq2seq import pool_cross_attention


def _alignment(pairs: list[tuple[int, int]], n_tokens: int, special: list[bool]) -> Alignment:
    n = len(special)
    return Alignment(
        pairs=np.array(pairs, dtype=np.int32).reshape(-1, 2),
        n_tokens=n_tokens,
        n_pieces=n,
        special=np.array(special),
        orphan=np.zeros(n, dtype=bool),
        missing=np.zeros(n_tokens, dtype=bool),
    )


# Source "New York rocks": pieces New | Yo rk | rocks | </s>.
SOURCE = _alignment([(0, 0), (1, 1), (1, 2), (2, 3)], 3, [False, False, False, False, True])
# Target (decoder input) "Neu York rockt": pieces <pad> | Neu | Yo rk | rockt.
TARGET = _alignment([(0, 1), (1, 2), (1, 3), (2, 4)], 3, [True, False, False, False, False])
# Cross-attention of one head: rows are target pieces, columns source pieces.
CROSS = np.array(
    [
        [0.2, 0.2, 0.2, 0.2, 0.2],  # <pad>
        [0.5, 0.1, 0.1, 0.2, 0.1],  # Neu
        [0.1, 0.4, 0.2, 0.1, 0.2],  # Yo
        [0.1, 0.2, 0.4, 0.2, 0.1],  # rk
        [0.0, 0.1, 0.1, 0.6, 0.2],  # rockt
    ]
)[None, None]


def test_three_word_pair_by_hand() -> None:
    pooled = pool_cross_attention(CROSS, TARGET, SOURCE)
    # Columns: New, York (Yo + rk), rocks, </s>; rows: Neu, York (mean of Yo, rk), rockt, <pad>.
    # York's row: Yo gives [.1, .4+.2, .1, .2], rk gives [.1, .2+.4, .2, .1]; their mean.
    expected = np.array(
        [
            [0.5, 0.2, 0.2, 0.1],
            [0.1, 0.6, 0.15, 0.15],
            [0.0, 0.2, 0.6, 0.2],
            [0.2, 0.4, 0.2, 0.2],
        ]
    )
    np.testing.assert_allclose(pooled[0, 0], expected, atol=1e-6)
    np.testing.assert_allclose(pooled.sum(-1), 1.0, atol=1e-6)


def test_three_word_pair_without_specials_and_other_query_poolings() -> None:
    dropped = pool_cross_attention(CROSS, TARGET, SOURCE, special_tokens="drop")
    # </s> and <pad> gone; each row divided by what is left of it (.9, .85, .8).
    expected = np.array([[0.5, 0.2, 0.2], [0.1, 0.6, 0.15], [0.0, 0.2, 0.6]])
    expected /= np.array([[0.9], [0.85], [0.8]])
    np.testing.assert_allclose(dropped[0, 0], expected, atol=1e-6)
    first = pool_cross_attention(CROSS, TARGET, SOURCE, query_pooling="first")
    np.testing.assert_allclose(first[0, 0, 1], [0.1, 0.6, 0.1, 0.2], atol=1e-6)  # Yo's row
    largest = pool_cross_attention(CROSS, TARGET, SOURCE, query_pooling="max")
    # Element-wise max of Yo's and rk's pooled rows, [.1, .6, .2, .2], renormalised.
    np.testing.assert_allclose(largest[0, 0, 1], np.array([0.1, 0.6, 0.2, 0.2]) / 1.1, atol=1e-6)


def test_a_piece_shared_by_two_source_words_gives_each_half() -> None:
    # spaCy's "is" "n't" both covered by one piece "isn't".
    source = _alignment([(0, 0), (1, 0)], 2, [False, True])
    target = _alignment([(0, 1)], 1, [True, False])
    attention = np.array([[0.5, 0.5], [0.8, 0.2]])
    pooled = pool_cross_attention(attention, target, source)
    np.testing.assert_allclose(pooled[0], [0.4, 0.4, 0.2], atol=1e-6)


def test_mismatched_pieces_are_refused() -> None:
    with pytest.raises(ValueError, match="query pieces, key pieces"):
        pool_cross_attention(CROSS[..., :4], TARGET, SOURCE)


@settings(max_examples=60, deadline=None)
@given(
    sentences(),
    st.sampled_from(["mean", "first", "max"]),
    st.sampled_from(["keep", "drop"]),
    st.integers(0, 2**32 - 1),
)
def test_one_alignment_on_both_sides_is_pool_attention(
    sentence: tuple[np.ndarray, np.ndarray, np.ndarray], query: str, special: str, seed: int
) -> None:
    alignment = align_spans(*sentence)
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(2, 3, alignment.n_pieces, alignment.n_pieces))
    attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    options = {"query_pooling": query, "special_tokens": special}
    np.testing.assert_allclose(
        pool_cross_attention(attention, alignment, alignment, **options),  # type: ignore[arg-type]
        pool_attention(attention, alignment, **options),  # type: ignore[arg-type]
        atol=1e-6,
    )


@settings(max_examples=60, deadline=None)
@given(
    sentences(),
    sentences(),
    st.sampled_from(["mean", "first", "max"]),
    st.sampled_from(["keep", "drop"]),
    st.integers(0, 2**32 - 1),
)
def test_rows_of_target_words_sum_to_one(
    target: tuple[np.ndarray, np.ndarray, np.ndarray],
    source: tuple[np.ndarray, np.ndarray, np.ndarray],
    query: str,
    special: str,
    seed: int,
) -> None:
    queries, keys = align_spans(*target), align_spans(*source)
    logits = np.random.default_rng(seed).normal(size=(2, queries.n_pieces, keys.n_pieces))
    attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    pooled = pool_cross_attention(
        attention,
        queries,
        keys,
        query_pooling=query,  # type: ignore[arg-type]
        special_tokens=special,  # type: ignore[arg-type]
    )
    kept = special == "keep"
    rows = queries.n_tokens + (int(queries.special.sum()) if kept else 0)
    cols = keys.n_tokens + (int(keys.special.sum()) if kept else 0)
    assert pooled.shape == (2, rows, cols)
    with_pieces = np.flatnonzero(np.bincount(queries.pairs[:, 0], minlength=rows) > 0)
    aligned = np.zeros(keys.n_pieces, dtype=bool)
    aligned[keys.pairs[:, 1]] = True
    # Kept, every key piece that is a word's or a special gives its weight to some column, so
    # rows sum to 1 when all are; dropped, rows are renormalised over what the words received.
    complete = keys.n_pieces > 0 and np.all(aligned | keys.special)  # rows of 1 to begin with
    if (kept and complete) or (not kept and aligned.any()):
        np.testing.assert_allclose(pooled[:, with_pieces].sum(-1), 1.0, atol=1e-5)
    else:
        assert np.all(pooled[:, with_pieces].sum(-1) <= 1.0 + 1e-5)
