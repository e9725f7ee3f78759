"""Property tests of alignment and pooling on arbitrary Unicode, for three tokenizer families.

spaCy's English tokenizer gives the token character spans; each fast tokenizer
gives its pieces' ``offset_mapping`` and ``special_tokens_mask``. The expected
alignment is recomputed here by brute force from the spans, the way the rules
in :mod:`trfviz.alignment` state it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tests.tokenizer_fixtures import FAMILIES
from trfviz.alignment import Alignment, align_spans, align_texts
from trfviz.pooling import (
    QUERY_POOLINGS,
    SPECIAL_TOKEN_MODES,
    pool_attention,
    pool_states,
    state_weights,
)

# The example count comes from the hypothesis profile (tests/conftest.py): 150 by
# default, 2,000 per tokenizer family in CI.
PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Pieces of text that are known to be hard; hypothesis mixes them with arbitrary text.
HARD_FRAGMENTS = (
    "isn't",
    "can't",
    "New York",
    " ",
    "  ",
    "\n\n",
    "\t",
    "\r\n",
    "\u200b",  # zero-width space: BERT and SentencePiece drop it
    " \u200b ",
    "\u200d",  # zero-width joiner
    "👨\u200d👩\u200d👧",  # family emoji, joined with ZWJ
    "👍🏽",  # emoji with a skin-tone modifier
    "e\u0301",  # e + combining acute
    " \u0301",  # a lone combining mark
    "a\u0308\u0323",  # two combining marks
    "中文字",
    "東京は日本",
    "\x00",
    "\x01",
    "\x7f",
    "\ufeff",
    "\u00a0",
    "Hello",
    "world",
    "don't",
    "U.S.A.",
    "...",
)

# Any code point a Python str can hand to the Rust tokenizers (lone surrogates cannot).
_characters = st.characters(exclude_categories=("Cs",))
texts = st.lists(
    st.one_of(st.sampled_from(HARD_FRAGMENTS), st.text(_characters, min_size=1, max_size=6)),
    max_size=10,
).map("".join)

# Plain ASCII words separated by single spaces, for the string fallback; the
# characters are all in the trained Unigram vocabulary (an unknown piece has no
# string to align by).
_ascii_word = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzINSTW.,';?"), min_size=1, max_size=8
)
ascii_texts = st.lists(_ascii_word, min_size=1, max_size=8).map(" ".join)


def token_spans(nlp, text: str) -> np.ndarray:
    """int64 ``[n_tokens, 2]``: the spaCy tokens' character spans."""
    doc = nlp.make_doc(text)
    return np.array([(t.idx, t.idx + len(t.text)) for t in doc], dtype=np.int64).reshape(-1, 2)


def encode(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The pieces' character spans, special mask and strings, specials included."""
    encoding = tokenizer(
        text,
        add_special_tokens=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    spans = np.array(encoding["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    special = np.array(encoding["special_tokens_mask"], dtype=bool)
    return spans, special, tokenizer.convert_ids_to_tokens(encoding["input_ids"])


def overlapping(span: np.ndarray, tokens: np.ndarray) -> list[int]:
    """Indices of the tokens that share at least one character with ``span``."""
    start, end = span
    return [t for t, (ts, te) in enumerate(tokens) if max(start, ts) < min(end, te)]


def kept_characters(text: str, pieces: np.ndarray, special: np.ndarray) -> np.ndarray:
    """bool ``[len(text)]``: characters some non-special piece's span covers."""
    kept = np.zeros(len(text), dtype=bool)
    for (start, end), is_special in zip(pieces, special, strict=True):
        if not is_special:
            kept[start:end] = True
    return kept


def random_attention(rng: np.random.Generator, n_pieces: int) -> np.ndarray:
    """float64 ``[2, 3, n_pieces, n_pieces]``: random positive rows summing to 1."""
    raw = rng.random((2, 3, n_pieces, n_pieces)) + 1e-3
    return raw / raw.sum(axis=-1, keepdims=True)


def aligned(nlp, tokenizer, text: str):
    tokens = token_spans(nlp, text)
    pieces, special, _ = encode(tokenizer, text)
    return tokens, pieces, special, align_spans(tokens, pieces, special)


@pytest.fixture(scope="module")
def nlp(blank_nlp):
    return blank_nlp


# --- alignment -------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts)
@example(text="a \x01")
@example(text=" \u200b ")
def test_every_piece_is_aligned_to_exactly_the_tokens_it_overlaps(
    nlp, tokenizers_by_family, family, text
):
    tokens, pieces, special, alignment = aligned(nlp, tokenizers_by_family[family], text)
    assert alignment.n_tokens == len(tokens)
    assert alignment.n_pieces == len(pieces)
    np.testing.assert_array_equal(alignment.special, special)
    covered = sorted(
        {t for p, span in enumerate(pieces) if not special[p] for t in overlapping(span, tokens)}
    )
    for p, span in enumerate(pieces):
        got = alignment.tokens_of(p).tolist()
        if special[p]:
            assert got == [], f"special piece {p} aligned to {got}"
            assert not alignment.orphan[p]
            continue
        expected = overlapping(span, tokens)
        if expected:
            assert got == expected, f"piece {p} {tuple(span)}: {got} != {expected}"
            assert not alignment.orphan[p]
        else:
            # Rule 3: a piece over no token's characters (a bare space) goes to the
            # next token that some piece overlaps, else to the last such token; it
            # never stands in for a token whose characters were all dropped, and
            # with no such token at all it is aligned to nothing.
            assert alignment.orphan[p]
            if not covered:
                assert got == []
            elif span[1] > span[0]:
                after = [t for t in covered if tokens[t, 0] >= span[1]]
                assert got == [after[0] if after else covered[-1]], (
                    f"orphan piece {p} {tuple(span)} attached to {got}"
                )
            else:
                assert len(got) == 1 and got[0] in covered


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts)
@example(text="a \u200b b")  # BERT and SentencePiece drop the zero-width space
@example(text="a \x01")  # SentencePiece drops \x01 but keeps the space before it as "▁"
@example(text=" \u200b ")  # SentencePiece keeps only the last space: no token keeps anything
@example(text="a \u0301 b")  # BERT drops a lone combining mark
def test_tokens_with_kept_characters_have_pieces_others_are_missing(
    nlp, tokenizers_by_family, family, text
):
    tokens, pieces, special, alignment = aligned(nlp, tokenizers_by_family[family], text)
    kept = kept_characters(text, pieces, special)
    for t, (start, end) in enumerate(tokens):
        if kept[start:end].any():
            assert not alignment.missing[t], f"token {t} {text[start:end]!r} flagged missing"
            # At least one piece really overlaps it (not just an orphan attached to it).
            assert (~alignment.orphan[alignment.pieces_of(t)]).any()
        else:
            assert alignment.missing[t], (
                f"token {t} {text[start:end]!r} lost all its characters but is aligned to "
                f"pieces {alignment.pieces_of(t).tolist()}"
            )
            assert alignment.pieces_of(t).size == 0


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts)
def test_pairs_are_sorted_unique_and_consistent(nlp, tokenizers_by_family, family, text):
    _, _, _, alignment = aligned(nlp, tokenizers_by_family[family], text)
    pairs = alignment.pairs
    assert pairs.dtype == np.int32
    keys = pairs[:, 0].astype(np.int64) * (alignment.n_pieces + 1) + pairs[:, 1]
    assert np.all(np.diff(keys) > 0), "pairs not sorted by (token, piece) or duplicated"
    incidence = alignment.incidence()
    np.testing.assert_array_equal(incidence.sum(axis=1), alignment.token_counts)
    np.testing.assert_array_equal(incidence.sum(axis=0), alignment.piece_counts)
    np.testing.assert_array_equal(alignment.missing, alignment.token_counts == 0)
    # Every non-special piece belongs somewhere when there is a token to belong to.
    if (~alignment.missing).any():
        np.testing.assert_array_equal(alignment.piece_counts > 0, ~alignment.special)
    for t in range(alignment.n_tokens):
        np.testing.assert_array_equal(alignment.pieces_of(t), np.flatnonzero(incidence[t]))


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=ascii_texts)
def test_string_fallback_agrees_with_offsets_on_ascii(nlp, tokenizers_by_family, family, text):
    tokenizer = tokenizers_by_family[family]
    doc = nlp.make_doc(text)
    tokens = np.array([(t.idx, t.idx + len(t.text)) for t in doc]).reshape(-1, 2)
    pieces, special, strings = encode(tokenizer, text)
    assume(tokenizer.unk_token not in strings)
    by_offsets = align_spans(tokens, pieces, special)
    by_strings = align_texts([t.text for t in doc], strings, special)
    np.testing.assert_array_equal(by_strings.pairs, by_offsets.pairs)
    np.testing.assert_array_equal(by_strings.missing, by_offsets.missing)
    np.testing.assert_array_equal(by_strings.special, by_offsets.special)
    # A bare "▁" has no characters to match by string but overlaps the next
    # character by offset: the orphan flags agree on every piece with text.
    has_text = np.array([bool(s.lstrip("▁Ġ")) for s in strings])
    np.testing.assert_array_equal(by_strings.orphan[has_text], by_offsets.orphan[has_text])


# --- pooling ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts)
def test_weighted_state_weights_of_every_piece_sum_to_one(nlp, tokenizers_by_family, family, text):
    _, _, special, alignment = aligned(nlp, tokenizers_by_family[family], text)
    weights = state_weights(alignment, pooling="weighted")
    assert weights.shape == (alignment.n_tokens, alignment.n_pieces)
    assert np.all(weights >= 0)
    columns = weights.sum(axis=0)
    if (~alignment.missing).any():
        np.testing.assert_allclose(columns, 1.0, atol=1e-6)
    else:
        np.testing.assert_allclose(columns, 0.0)
    # Missing tokens receive nothing, not even from special pieces.
    assert not weights[alignment.missing].any()
    # Specials are spread evenly over the present tokens.
    present = ~alignment.missing
    if present.any() and special.any():
        np.testing.assert_allclose(weights[np.ix_(present, special)], 1.0 / present.sum())


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts, seed=st.integers(0, 2**32 - 1))
def test_pooled_states_lose_nothing(nlp, tokenizers_by_family, family, text, seed):
    _, _, special, alignment = aligned(nlp, tokenizers_by_family[family], text)
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((3, alignment.n_pieces, 4)).astype(np.float32)

    weighted = pool_states(states, alignment, pooling="weighted")
    assert weighted.shape == (3, alignment.n_tokens, 4)
    assert weighted.dtype == np.float32
    if (~alignment.missing).any():
        # Every piece's weight over the tokens is 1: the pooled rows add up to the piece rows.
        np.testing.assert_allclose(weighted.sum(axis=1), states.sum(axis=1), atol=1e-4)

    summed = pool_states(states, alignment, pooling="sum")
    for t in range(alignment.n_tokens):
        expected = states[:, alignment.pieces_of(t)].sum(axis=1)
        np.testing.assert_allclose(summed[:, t], expected, atol=1e-5)
    # Without special pieces and shared pieces, sum pooling also adds up to the pieces.
    if alignment.n_tokens and np.all(alignment.piece_counts[~special] == 1):
        np.testing.assert_allclose(summed.sum(axis=1), states[:, ~special].sum(axis=1), atol=1e-4)

    mean = pool_states(states, alignment, pooling="mean")
    first = pool_states(states, alignment, pooling="first")
    last = pool_states(states, alignment, pooling="last")
    for t in range(alignment.n_tokens):
        own = alignment.pieces_of(t)
        if own.size == 0:
            assert not mean[:, t].any() and not first[:, t].any() and not last[:, t].any()
            continue
        np.testing.assert_allclose(mean[:, t], states[:, own].mean(axis=1), atol=1e-5)
        np.testing.assert_allclose(first[:, t], states[:, own[0]], atol=1e-6)
        np.testing.assert_allclose(last[:, t], states[:, own[-1]], atol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts, seed=st.integers(0, 2**32 - 1))
def test_pooled_attention_rows_of_aligned_tokens_sum_to_one(
    nlp, tokenizers_by_family, family, text, seed
):
    _, _, special, alignment = aligned(nlp, tokenizers_by_family[family], text)
    attention = random_attention(np.random.default_rng(seed), alignment.n_pieces)
    present = ~alignment.missing
    n_special = int(special.sum())
    for mode in SPECIAL_TOKEN_MODES:
        n_rows = alignment.n_tokens + (n_special if mode == "keep" else 0)
        for query_pooling in QUERY_POOLINGS:
            pooled = pool_attention(
                attention, alignment, query_pooling=query_pooling, special_tokens=mode
            )
            assert pooled.shape == (2, 3, n_rows, n_rows)
            assert np.all(pooled >= 0)
            rows = pooled.sum(axis=-1)
            np.testing.assert_allclose(
                rows[..., : alignment.n_tokens][..., present], 1.0, atol=1e-5
            )
            # Pseudo-tokens of kept special pieces are rows like any other (unless the
            # tokenizer dropped every token's characters: then a bare space has no token).
            if present.any():
                np.testing.assert_allclose(rows[..., alignment.n_tokens :], 1.0, atol=1e-5)
            # Missing tokens neither attend nor are attended to.
            missing = np.flatnonzero(alignment.missing)
            assert not pooled[..., missing, :].any()
            assert not pooled[..., :, missing].any()


@pytest.mark.parametrize("family", FAMILIES)
@PROPERTY_SETTINGS
@given(text=texts, seed=st.integers(0, 2**32 - 1))
def test_mean_pooled_attention_matches_clark_et_al(nlp, tokenizers_by_family, family, text, seed):
    """To a token: sum over its pieces (shared pieces split); from it: mean of its pieces."""
    _, _, special, alignment = aligned(nlp, tokenizers_by_family[family], text)
    if alignment.n_pieces == 0:
        return
    attention = random_attention(np.random.default_rng(seed), alignment.n_pieces)
    pooled = pool_attention(attention, alignment, query_pooling="mean", special_tokens="keep")
    counts = alignment.piece_counts
    # Column j of the piece attention, pooled onto each token and pseudo-token.
    to_tokens = np.zeros((*attention.shape[:-1], pooled.shape[-1]))
    for t in range(alignment.n_tokens):
        own = alignment.pieces_of(t)
        to_tokens[..., t] = (attention[..., own] / counts[own]).sum(axis=-1)
    for k, piece in enumerate(np.flatnonzero(special)):
        to_tokens[..., alignment.n_tokens + k] = attention[..., piece]
    for t in range(alignment.n_tokens):
        own = alignment.pieces_of(t)
        if own.size:
            np.testing.assert_allclose(
                pooled[..., t, :], to_tokens[..., own, :].mean(axis=-2), atol=1e-5
            )
    for k, piece in enumerate(np.flatnonzero(special)):
        np.testing.assert_allclose(
            pooled[..., alignment.n_tokens + k, :], to_tokens[..., piece, :], atol=1e-5
        )


def test_alignment_of_empty_text_is_empty(tokenizers_by_family, nlp):
    for tokenizer in tokenizers_by_family.values():
        _, pieces, _, alignment = aligned(nlp, tokenizer, "")
        assert isinstance(alignment, Alignment)
        assert alignment.n_tokens == 0
        assert alignment.pairs.shape == (0, 2)
        assert alignment.n_pieces == len(pieces)
