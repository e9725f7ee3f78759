"""The batched code paths agree with the one-sentence ones they replace in extraction.

Extraction aligns a whole chunk of sentences in one vectorised pass
(:func:`align_spans_batch`), builds each batch's pooling matrices at once
(:func:`batch_state_weights`, :func:`batch_attention_weights`) and pools them
in torch (:mod:`trfviz.pooling.batched`). Each is checked here against the
sentence-at-a-time functions, on synthetic sentences made to contain the hard
cases: gaps between tokens, zero-length and orphan pieces, pieces shared by
several tokens, tokens with no piece, special pieces first and last, empty
sentences.
"""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trfviz.alignment import Alignment, align_spans, align_spans_batch
from trfviz.pooling import (
    QUERY_POOLINGS,
    SPECIAL_TOKEN_MODES,
    STATE_POOLINGS,
    attention_rows,
    attention_weights,
    batch_attention_weights,
    batch_state_weights,
    batched,
    pool_attention,
    pool_batch,
    pool_states,
    state_weights,
)
from trfviz.pooling.batched import pool_attention_layers, pool_state_layers

Sentence = tuple[np.ndarray, np.ndarray, np.ndarray]


@st.composite
def sentences(draw: st.DrawFn) -> Sentence:
    """(token spans, piece spans, special mask) of one synthetic sentence."""
    length = draw(st.integers(0, 24))
    cuts = sorted(draw(st.sets(st.integers(0, length), max_size=10)))
    tokens = [(a, b) for a, b in itertools.pairwise(cuts) if draw(st.booleans())]
    pieces: list[tuple[int, int]] = []
    special: list[bool] = []
    if draw(st.booleans()):
        pieces.append((0, 0))
        special.append(True)
    position = 0
    while position < length:
        size = draw(st.integers(0, 4))
        start = max(0, position - draw(st.integers(0, 1)))  # sometimes overlapping the last
        end = min(length, position + size)
        pieces.append((start, end))
        special.append(False)
        position = max(position + 1, end)
    if draw(st.booleans()):
        pieces.append((length, length))  # a zero-length piece at the end
        special.append(False)
    if draw(st.booleans()):
        pieces.append((0, 0))
        special.append(True)
    return (
        np.array(tokens, dtype=np.int64).reshape(-1, 2),
        np.array(pieces, dtype=np.int64).reshape(-1, 2),
        np.array(special, dtype=bool),
    )


def assert_same_alignment(got: Alignment, expected: Alignment) -> None:
    assert (got.n_tokens, got.n_pieces) == (expected.n_tokens, expected.n_pieces)
    for field in ("pairs", "special", "orphan", "missing"):
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), err_msg=field)


@settings(max_examples=300, deadline=None)
@given(st.lists(sentences(), min_size=1, max_size=6))
def test_batch_alignment_equals_one_sentence_at_a_time(batch: list[Sentence]) -> None:
    aligned = align_spans_batch(
        [t for t, _, _ in batch], [p for _, p, _ in batch], [s for *_, s in batch]
    )
    assert len(aligned) == len(batch)
    for got, (tokens, pieces, special) in zip(aligned, batch, strict=True):
        assert_same_alignment(got, align_spans(tokens, pieces, special))
        # Compact copies, not views into the batch's arrays.
        assert got.pairs.base is None and got.missing.base is None


def test_orphans_never_cross_into_another_sentence() -> None:
    # Sentence 0: a token, then a piece over a space no token keeps (an orphan at the
    # end); sentence 1 starts with a covered token. The orphan must go back to its
    # own sentence's last token, not forward into sentence 1.
    first = (np.array([[0, 3]]), np.array([[0, 3], [3, 4]]), np.array([False, False]))
    second = (np.array([[0, 2]]), np.array([[0, 2]]), np.array([False]))
    a, b = align_spans_batch(*zip(first, second, strict=True))
    assert a.pairs.tolist() == [[0, 0], [0, 1]] and a.orphan.tolist() == [False, True]
    assert b.pairs.tolist() == [[0, 0]]


def test_batch_alignment_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="one entry per sentence"):
        align_spans_batch([np.zeros((0, 2))], [])
    with pytest.raises(ValueError, match="special has shape"):
        align_spans_batch([[(0, 1)]], [[(0, 1)]], [[True, False]])
    with pytest.raises(ValueError, match="sorted"):
        align_spans_batch([[(0, 1)], [(2, 4), (3, 5)]], [[(0, 1)], [(2, 5)]])
    assert align_spans_batch([], []) == []


def aligned_batch(batch: list[Sentence]) -> list[Alignment]:
    return align_spans_batch(
        [t for t, _, _ in batch], [p for _, p, _ in batch], [s for *_, s in batch]
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(sentences(), min_size=1, max_size=5), st.integers(0, 3), st.booleans())
def test_batch_weights_equal_padded_one_sentence_weights(
    batch: list[Sentence], extra: int, truncate: bool
) -> None:
    alignments = aligned_batch(batch)
    if truncate:  # tokens cut off at a length limit are missing
        alignments = [a.truncate(max(0, a.n_tokens - 1)) for a in alignments]
    cols = max(a.n_pieces for a in alignments) + extra
    for pooling in STATE_POOLINGS:
        rows = max(a.n_tokens for a in alignments) + extra
        padded = batch_state_weights(alignments, pooling=pooling, rows=rows, cols=cols)
        assert padded.shape == (len(alignments), rows, cols) and padded.dtype == np.float32
        for b, a in enumerate(alignments):
            expected = np.zeros((rows, cols), dtype=np.float32)
            expected[: a.n_tokens, : a.n_pieces] = state_weights(a, pooling=pooling)
            np.testing.assert_array_equal(padded[b], expected, err_msg=pooling)
    for query_pooling in QUERY_POOLINGS:
        for mode in SPECIAL_TOKEN_MODES:
            queries, keys = batch_attention_weights(
                alignments, query_pooling=query_pooling, special_tokens=mode, cols=cols
            )
            for b, a in enumerate(alignments):
                n = attention_rows(a, special_tokens=mode)
                one_q, one_k = attention_weights(
                    a, query_pooling=query_pooling, special_tokens=mode
                )
                assert one_q.shape == (n, a.n_pieces)
                np.testing.assert_array_equal(queries[b, :n, : a.n_pieces], one_q)
                np.testing.assert_array_equal(keys[b, :n, : a.n_pieces], one_k)
                assert not queries[b, n:].any() and not keys[b, n:].any()
                assert not queries[b, :, a.n_pieces :].any() and not keys[b, :, a.n_pieces :].any()


def test_batch_weights_refuse_too_small_padding() -> None:
    (a,) = aligned_batch(
        [(np.array([[0, 2], [3, 5]]), np.array([[0, 2], [3, 5]]), np.zeros(2, bool))]
    )
    with pytest.raises(ValueError, match="rows=1"):
        batch_state_weights([a], rows=1)
    with pytest.raises(ValueError, match="cols=1"):
        batch_attention_weights([a], cols=1)


def random_batch(rng: np.random.Generator, alignments: list[Alignment], width: int):
    """Piece attention ``[layer][batch, head, width, width]`` (rows sum to 1) and states."""
    n_layers, n_heads, dim = 3, 2, 5
    attention, states = [], []
    for _ in range(n_layers):
        layer = np.zeros((len(alignments), n_heads, width, width), dtype=np.float32)
        for b, a in enumerate(alignments):
            raw = rng.random((n_heads, a.n_pieces, a.n_pieces)) + 1e-3
            layer[b, :, : a.n_pieces, : a.n_pieces] = raw / raw.sum(-1, keepdims=True)
        attention.append(layer)
        states.append(rng.standard_normal((len(alignments), width, dim)).astype(np.float32))
    return attention, states


@settings(max_examples=120, deadline=None)
@given(
    st.lists(sentences(), min_size=1, max_size=5),
    st.sampled_from(["mean", "first"]),
    st.sampled_from(SPECIAL_TOKEN_MODES),
    st.sampled_from(STATE_POOLINGS),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_torch_batch_pooling_equals_numpy_per_sentence(
    batch: list[Sentence], query_pooling, special_tokens, pooling, seed: int, indexed: bool
) -> None:
    """Dense GEMMs, and the indexed kernel forced at every width."""
    if not indexed:
        check_batch_pooling(batch, query_pooling, special_tokens, pooling, seed)
        return
    with mock.patch.object(batched, "INDEXED_MIN_WIDTH", 0):
        check_batch_pooling(batch, query_pooling, special_tokens, pooling, seed)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**32 - 1), st.booleans())
def test_indexed_kernel_takes_any_matrices(
    n_batch: int, width: int, seed: int, incidence: bool
) -> None:
    """Matrices that do not factor into an incidence and one scale per row (queries) or
    piece (keys) are multiplied densely; those that do are added; both equal ``Q A Kᵀ``."""
    rng = np.random.default_rng(seed)
    rows = max(1, width - 1)
    shape = (n_batch, rows, width)
    queries = (rng.random(shape) < 0.5).astype(np.float32)
    keys = (rng.random(shape) < 0.5).astype(np.float32)
    if not incidence:
        queries *= rng.random(shape, dtype=np.float32)
        keys *= rng.random(shape, dtype=np.float32)
    attention = rng.random((2, n_batch, 3, width, width), dtype=np.float32)
    with mock.patch.object(batched, "INDEXED_MIN_WIDTH", 0):
        pooled = pool_attention_layers(
            [torch.from_numpy(layer) for layer in attention],
            queries,
            keys,
            [rows] * n_batch,
            drop=False,
        )
    for b in range(n_batch):
        expected = queries[b] @ attention[:, b] @ keys[b].T
        np.testing.assert_allclose(pooled[b], expected, rtol=1e-5, atol=1e-6)


def check_batch_pooling(
    batch: list[Sentence], query_pooling, special_tokens, pooling, seed: int
) -> None:
    alignments = [a for a in aligned_batch(batch) if a.n_pieces]
    if not alignments:
        return
    width = max(a.n_pieces for a in alignments) + 1  # one column of padding
    attention, states = random_batch(np.random.default_rng(seed), alignments, width)
    queries, keys = batch_attention_weights(
        alignments, query_pooling=query_pooling, special_tokens=special_tokens, cols=width
    )
    sizes = [attention_rows(a, special_tokens=special_tokens) for a in alignments]
    layers = [torch.from_numpy(layer) for layer in attention]
    pooled = pool_attention_layers(layers, queries, keys, sizes, drop=special_tokens == "drop")
    assert all(layer is None for layer in layers)  # each layer released once pooled
    weights = batch_state_weights(alignments, pooling=pooling, cols=width)
    pooled_states = pool_state_layers([torch.from_numpy(s) for s in states], weights).numpy()
    assert_like_the_reference(
        pooled, pooled_states, alignments, attention, states, query_pooling, special_tokens, pooling
    )


def assert_like_the_reference(
    pooled, pooled_states, alignments, attention, states, query_pooling, special_tokens, pooling
) -> None:
    """Each sentence of a pooled batch equals :mod:`trfviz.pooling.reference` on its own."""
    for b, a in enumerate(alignments):
        n = a.n_pieces
        piece_attention = np.stack([layer[b, :, :n, :n] for layer in attention])
        expected = pool_attention(
            piece_attention, a, query_pooling=query_pooling, special_tokens=special_tokens
        )
        assert pooled[b].shape == expected.shape and pooled[b].flags.c_contiguous
        np.testing.assert_allclose(pooled[b], expected, rtol=1e-5, atol=1e-6)
        piece_states = np.stack([s[b, :n] for s in states])
        np.testing.assert_allclose(
            pooled_states[:, b, : a.n_tokens],
            pool_states(piece_states, a, pooling=pooling),
            rtol=1e-5,
            atol=1e-5,
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(sentences(), min_size=1, max_size=4),
    st.sampled_from(QUERY_POOLINGS),
    st.sampled_from(SPECIAL_TOKEN_MODES),
    st.sampled_from(STATE_POOLINGS),
    st.integers(0, 2**32 - 1),
)
def test_pool_batch_equals_the_reference_per_sentence(
    batch: list[Sentence], query_pooling, special_tokens, pooling, seed: int
) -> None:
    """The one entry point, "max" queries (pooled in numpy) included, and either output alone."""
    alignments = [a for a in aligned_batch(batch) if a.n_pieces]
    if not alignments:
        return
    width = max(a.n_pieces for a in alignments) + 1
    attention, states = random_batch(np.random.default_rng(seed), alignments, width)
    layers = [torch.from_numpy(layer) for layer in attention]
    pooled, pooled_states = pool_batch(
        alignments,
        width=width,
        attention=layers,
        states=[torch.from_numpy(s) for s in states],
        pooling=pooling,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
    )
    assert pooled is not None and pooled_states is not None
    assert_like_the_reference(
        pooled,
        pooled_states.numpy(),
        alignments,
        attention,
        states,
        query_pooling,
        special_tokens,
        pooling,
    )
    # States written straight into per-sentence arrays equal the padded tensor's rows.
    dim = states[0].shape[-1]
    out = [np.full((len(states), a.n_tokens, dim), np.nan, np.float32) for a in alignments]
    _, filled = pool_batch(
        alignments,
        width=width,
        states=[torch.from_numpy(s) for s in states],
        pooling=pooling,
        states_out=out,
    )
    assert filled is out
    for b, a in enumerate(alignments):
        np.testing.assert_allclose(
            out[b], pooled_states.numpy()[:, b, : a.n_tokens], rtol=1e-5, atol=1e-6
        )
    no_attention = pool_batch(alignments, width=width, states=[torch.from_numpy(states[0])])
    assert no_attention[0] is None and no_attention[1] is not None
    no_states = pool_batch(
        alignments, width=width, attention=[torch.from_numpy(attention[0])], query_pooling="max"
    )
    assert no_states[1] is None and len(no_states[0] or ()) == len(alignments)


def test_attention_pooling_fills_the_given_arrays() -> None:
    (a,) = aligned_batch(
        [
            (
                np.array([[0, 2], [2, 5]]),
                np.array([[0, 0], [0, 3], [3, 5], [0, 0]]),
                np.array([True, False, False, True]),
            )
        ]
    )
    attention, _ = random_batch(np.random.default_rng(0), [a], a.n_pieces)
    queries, keys = batch_attention_weights([a])
    out = [np.full((3, 2, 4, 4), np.nan, dtype=np.float32)]
    pooled = pool_attention_layers(
        [torch.from_numpy(layer) for layer in attention], queries, keys, [4], drop=False, out=out
    )
    assert pooled is out and not np.isnan(out[0]).any()
    np.testing.assert_allclose(out[0].sum(-1), 1.0, rtol=1e-5)


def test_truncating_tokenizer_copy_is_made_once_per_tokenizer_and_vocabulary() -> None:
    from tests.tokenizer_fixtures import load_wordpiece
    from trfviz.extractor.tokenize import truncating_backend

    tokenizer = load_wordpiece()  # a fresh one: tokens are added below
    first = truncating_backend(tokenizer, 16)
    assert first is not None and truncating_backend(tokenizer, 16) is first
    assert truncating_backend(tokenizer, 8) is not first  # another length limit
    assert len(first.encode("word " * 40).ids) == 16
    tokenizer.add_tokens(["trfvizzz"])
    renewed = truncating_backend(tokenizer, 16)
    assert renewed is not first
    assert "trfvizzz" in renewed.encode("a trfvizzz b").tokens
