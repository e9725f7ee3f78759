"""Cross-model head similarity: hand-worked cases, invariants, streaming; real models (with CKA)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon as scipy_js

from tests.factories import random_attention, synthetic_sentence
from trfviz.analysis.similarity import (
    CLARK_EPSILON,
    HeadSimilarity,
    best_matching_heads,
    compare_heads,
    compare_layers_cka,
    smooth_rows,
    summarize_head_similarity,
)
from trfviz.extraction import Extraction


def head_row(table: pd.DataFrame, la: int, ha: int, lb: int, hb: int) -> pd.Series:
    sel = table.query("layer_a == @la and head_a == @ha and layer_b == @lb and head_b == @hb")
    assert len(sel) == 1
    return sel.iloc[0]


# -- Jensen-Shannon and smoothing ---------------------------------------------------------------


def test_js_of_identical_heads_is_zero_and_matches_scipy_otherwise() -> None:
    rng = np.random.default_rng(1)
    att_a = random_attention(rng, 2, 3, 6)
    att_b = random_attention(rng, 1, 2, 6)
    table = compare_heads([synthetic_sentence(att_a)], [synthetic_sentence(att_a)])
    same = table.query("layer_a == layer_b and head_a == head_b")
    assert len(same) == 6
    np.testing.assert_allclose(same["js_divergence"], 0.0, atol=1e-6)

    table = compare_heads([synthetic_sentence(att_a)], [synthetic_sentence(att_b)])
    for la, ha, lb, hb in [(0, 0, 0, 0), (1, 2, 0, 1)]:
        p = smooth_rows(att_a[la, ha].astype(np.float64), np.ones((6, 6), bool))
        q = smooth_rows(att_b[lb, hb].astype(np.float64), np.ones((6, 6), bool))
        expected = np.mean([scipy_js(p[i], q[i]) ** 2 for i in range(6)])  # scipy: sqrt, base e
        row = head_row(table, la, ha, lb, hb)
        assert row["js_divergence"] == pytest.approx(expected, rel=1e-4)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 7),
    heads=st.integers(1, 3),
    keys=st.sampled_from(["all", "preceding"]),
)
def test_metrics_stay_in_range_and_self_comparison_is_perfect(
    seed: int, n: int, heads: int, keys: str
) -> None:
    rng = np.random.default_rng(seed)
    a = synthetic_sentence(random_attention(rng, 2, heads, n))
    b = synthetic_sentence(random_attention(rng, 1, heads + 1, n))
    table = compare_heads([a], [b], keys=keys)  # type: ignore[arg-type]
    assert len(table) == 2 * heads * (heads + 1)
    assert table["js_divergence"].between(0, np.log(2) + 1e-9).all()
    assert table["argmax_agreement"].between(0, 1).all()
    assert table["topk_overlap"].between(0, 1 + 1e-12).all()
    self_table = compare_heads([a], [a], keys=keys)  # type: ignore[arg-type]
    same = self_table.query("layer_a == layer_b and head_a == head_b")
    np.testing.assert_allclose(same["js_divergence"], 0.0, atol=1e-6)
    np.testing.assert_allclose(same["argmax_agreement"], 1.0)
    np.testing.assert_allclose(same["topk_overlap"], 1.0)


# -- argmax, top-k and correlation, hand-worked -------------------------------------------------


def test_argmax_agreement_and_topk_overlap_hand_case() -> None:
    # One head per model over 4 tokens (k = 2). Row by row:
    #   A argmax: 0, 1, 2, 3      B argmax: 0, 1, 3, 3   -> agree on 3 of 4 rows
    #   A top-2: {0,1} {1,2} {2,3} {3,0}
    #   B top-2: {0,1} {1,3} {3,2} {3,1}                 -> overlaps 2, 1, 2, 1 (of 2)
    a = np.array(
        [
            [0.6, 0.3, 0.05, 0.05],
            [0.05, 0.6, 0.3, 0.05],
            [0.05, 0.05, 0.6, 0.3],
            [0.3, 0.05, 0.05, 0.6],
        ]
    )
    b = np.array(
        [
            [0.6, 0.3, 0.05, 0.05],
            [0.05, 0.6, 0.05, 0.3],
            [0.05, 0.05, 0.3, 0.6],
            [0.05, 0.3, 0.05, 0.6],
        ]
    )
    table = compare_heads(
        [synthetic_sentence(a[None, None].astype(np.float32))],
        [synthetic_sentence(b[None, None].astype(np.float32))],
        top_k=2,
    )
    row = table.iloc[0]
    assert row["argmax_agreement"] == pytest.approx(3 / 4)
    assert row["topk_overlap"] == pytest.approx((1 + 0.5 + 1 + 0.5) / 4)
    assert row["correlation"] == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], rel=1e-5)
    assert row["n_rows"] == 4


def test_correlation_pools_cells_over_sentences() -> None:
    rng = np.random.default_rng(3)
    sentences_a = [synthetic_sentence(random_attention(rng, 1, 2, n)) for n in (3, 5)]
    sentences_b = [synthetic_sentence(random_attention(rng, 1, 1, n)) for n in (3, 5)]
    table = compare_heads(sentences_a, sentences_b)
    for head in (0, 1):
        x = np.concatenate([s.attention[0, head].ravel() for s in sentences_a])
        y = np.concatenate([s.attention[0, 0].ravel() for s in sentences_b])
        assert head_row(table, 0, head, 0, 0)["correlation"] == pytest.approx(
            np.corrcoef(x, y)[0, 1], abs=1e-5
        )


# -- what is compared: special tokens, missing tokens, key support ------------------------------


def test_special_pseudo_tokens_are_dropped_and_rows_renormalised() -> None:
    rng = np.random.default_rng(4)
    plain = random_attention(rng, 1, 2, 4)
    # The same token rows scaled by 0.4, with 0.6 of each row on two special columns.
    with_special = np.zeros((1, 2, 6, 6), np.float32)
    with_special[..., :4, :4] = 0.4 * plain
    with_special[..., :4, 4:] = 0.3
    with_special[..., 4:, :] = 1 / 6
    other = synthetic_sentence(random_attention(rng, 1, 3, 4))
    expected = compare_heads([synthetic_sentence(plain)], [other])
    got = compare_heads(
        [synthetic_sentence(with_special, specials=("[S0]", "[S1]"), specials_first=0)], [other]
    )
    metrics = ["js_divergence", "argmax_agreement", "topk_overlap", "correlation"]
    np.testing.assert_allclose(got[metrics], expected[metrics], rtol=1e-5, atol=1e-7)


def test_tokens_missing_in_either_model_are_skipped() -> None:
    rng = np.random.default_rng(5)
    full_a = random_attention(rng, 1, 2, 5)
    full_b = random_attention(rng, 1, 1, 5)
    full_b[..., :, 2] = 0.0  # a missing token has zero rows and columns
    full_b[..., 2, :] = 0.0
    kept = [0, 1, 3, 4]
    expected = compare_heads(
        [synthetic_sentence(full_a[..., kept, :][..., kept])],
        [synthetic_sentence(full_b[..., kept, :][..., kept])],
    )
    got = compare_heads([synthetic_sentence(full_a)], [synthetic_sentence(full_b, missing=(2,))])
    metrics = ["js_divergence", "argmax_agreement", "topk_overlap", "correlation"]
    np.testing.assert_allclose(got[metrics], expected[metrics], rtol=1e-5, atol=1e-7)
    assert (got["n_rows"] == 4).all()


def test_preceding_keys_make_a_causal_head_match_its_bidirectional_source() -> None:
    rng = np.random.default_rng(6)
    bidirectional = random_attention(rng, 1, 1, 5)
    causal = np.tril(bidirectional[0, 0])
    causal = (causal / causal.sum(-1, keepdims=True))[None, None].astype(np.float32)
    table = compare_heads(
        [synthetic_sentence(bidirectional)], [synthetic_sentence(causal)], keys="preceding"
    )
    assert table["js_divergence"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert table["argmax_agreement"].iloc[0] == 1.0
    # The first row has one preceding key and is skipped (min_keys=2).
    assert table["n_rows"].iloc[0] == 4
    assert (
        compare_heads([synthetic_sentence(bidirectional)], [synthetic_sentence(causal)])[
            "js_divergence"
        ].iloc[0]
        > 0.01
    )


def test_one_token_sentences_give_no_rows() -> None:
    one = synthetic_sentence(np.ones((1, 1, 1, 1), np.float32))
    with pytest.raises(ValueError, match="no attention rows"):
        compare_heads([one], [one])


def test_mismatched_inputs_are_refused() -> None:
    rng = np.random.default_rng(7)
    a = synthetic_sentence(random_attention(rng, 1, 1, 3))
    b = synthetic_sentence(random_attention(rng, 1, 1, 3), words=("x", "y", "z"))
    with pytest.raises(ValueError, match="differently"):
        compare_heads([a], [b])
    with pytest.raises(ValueError, match="sentences"):
        compare_heads([a, a], [a])
    no_attention = synthetic_sentence(None, np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="no attention"):
        compare_heads([no_attention], [no_attention])


# -- best matches and the model-level summary ----------------------------------------------------


# -- streaming: update, merge, pickle -----------------------------------------------------------


def test_merged_reducers_equal_one_pass_and_pickle() -> None:
    rng = np.random.default_rng(10)
    sa = [synthetic_sentence(random_attention(rng, 2, 2, n)) for n in (4, 6, 3, 8)]
    sb = [synthetic_sentence(random_attention(rng, 1, 3, n)) for n in (4, 6, 3, 8)]
    one_pass = compare_heads(sa, sb, model_a="A", model_b="B")
    first, second, third = HeadSimilarity(), HeadSimilarity(), HeadSimilarity(model_a="A")
    first.update(sa[0], sb[0])
    for x, y in zip(sa[1:3], sb[1:3], strict=True):
        second.update(x, y)
    third.update(sa[3], sb[3])
    third.model_b = "B"
    before = second.result()
    # Merging is in place and returns self; the merged-in reducer is left as it was.
    total = HeadSimilarity()
    assert total.merge(pickle.loads(pickle.dumps(first))) is total
    total.merge(second).merge(third).merge(HeadSimilarity())
    pd.testing.assert_frame_equal(total.result(), one_pass, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(second.result(), before)
    assert total.n_sentences == 4 and second.n_sentences == 2
    with pytest.raises(ValueError, match="different top_k"):
        first.merge(HeadSimilarity(top_k=5))
    with pytest.raises(ValueError, match="cannot merge heads"):
        first.merge(_reducer_of_other_shape())


def _reducer_of_other_shape() -> HeadSimilarity:
    reducer = HeadSimilarity()
    att = np.full((1, 1, 3, 3), 1 / 3, np.float32)
    reducer.update(synthetic_sentence(att), synthetic_sentence(att))
    return reducer


def test_update_accepts_whole_extractions_and_takes_their_names() -> None:
    rng = np.random.default_rng(11)
    sentences = [synthetic_sentence(random_attention(rng, 1, 2, n)) for n in (3, 4)]
    ext = Extraction(model="tiny", revision="r", text="", sentences=tuple(sentences))
    reducer = HeadSimilarity()
    reducer.update(ext, ext)
    table = reducer.result()
    assert table["model_a"].unique().tolist() == ["tiny"]
    pd.testing.assert_frame_equal(table, compare_heads(ext, ext))


# -- figures ------------------------------------------------------------------------------------


def test_similarity_figures_draw_the_tables() -> None:
    import matplotlib.pyplot as plt

    from trfviz.figures.similarity import plot_best_matches, plot_head_similarity, plot_layer_cka

    rng = np.random.default_rng(14)
    sa = [synthetic_sentence(random_attention(rng, 2, 3, 5), rng.normal(size=(3, 5, 4)))]
    sb = [synthetic_sentence(random_attention(rng, 3, 2, 5), rng.normal(size=(4, 5, 2)))]
    heads = compare_heads(sa, sb, model_a="A", model_b="B")
    fig, ax = plot_head_similarity(heads, metric="correlation")
    image = ax.get_images()[0].get_array()
    assert image.shape == (6, 6)
    assert image[0, 5] == pytest.approx(head_row(heads, 0, 0, 2, 1)["correlation"])
    assert ax.get_ylabel() == "A layer" and ax.get_xlabel() == "B layer"
    plt.close(fig)

    fig, ax = plot_layer_cka(compare_layers_cka(sa, sb))
    assert ax.get_images()[0].get_array().shape == (3, 4)
    assert len(ax.texts) == 12  # small enough to annotate every cell
    plt.close(fig)

    fig, ax = plt.subplots()
    fig2, ax2 = plot_best_matches(best_matching_heads(heads), direction="b_to_a", ax=ax)
    assert fig2 is fig and ax2 is ax
    assert ax.get_images()[0].get_array().shape == (3, 2)
    assert {t.get_text() for t in ax.texts} <= {f"{la}.{h}" for la in range(2) for h in range(3)}
    plt.close(fig)


# -- real models --------------------------------------------------------------------------------

SENTENCES = [
    "The old man the boat.",
    "Anna isn't sure whether the committee approved the plan yesterday.",
    "I saw the man with the telescope.",
]


@pytest.fixture(scope="module")
def real_extractions() -> tuple[list[Extraction], list[Extraction]]:
    import trfviz

    nlp = trfviz.load_pipeline("en_core_web_sm")
    docs = list(nlp.pipe(SENTENCES))
    minilm = list(trfviz.extract_docs(docs, "sentence-transformers/all-MiniLM-L6-v2"))
    smollm = list(trfviz.extract_docs(docs, "HuggingFaceTB/SmolLM2-135M-Instruct"))
    return minilm, smollm


@pytest.mark.model
@pytest.mark.filterwarnings("ignore:.*GGUF")
def test_minilm_against_smollm2(real_extractions: tuple[list, list]) -> None:
    minilm, smollm = real_extractions
    table = compare_heads(minilm, smollm)
    assert len(table) == 6 * 12 * 30 * 9
    assert set(table["model_a"]) == {"sentence-transformers/all-MiniLM-L6-v2"}
    assert table["js_divergence"].between(0, np.log(2)).all()
    assert table[["argmax_agreement", "topk_overlap"]].stack().between(0, 1).all()
    assert table["correlation"].dropna().between(-1, 1).all()
    summary = summarize_head_similarity(table)
    assert summary["n_heads"].tolist() == [72, 270]
    causal = compare_heads(minilm, smollm, keys="preceding")
    assert (causal["n_rows"] < table["n_rows"]).all()

    cka = compare_layers_cka(minilm, smollm)
    assert len(cka) == 7 * 31
    assert cka["cka"].between(0, 1 + 1e-9).all()


@pytest.mark.model
@pytest.mark.filterwarnings("ignore:.*GGUF")
def test_smollm2_massive_activations_swamp_linear_cka(real_extractions: tuple[list, list]) -> None:
    # Sun et al. 2024: from layer 12 on, one dimension of SmolLM2 holds almost all the variance,
    # carried by each sentence's first token; linear CKA is ~0, leaving that token out or the
    # RBF kernel is not.
    minilm, smollm = real_extractions
    states = np.concatenate([s.states[15] for e in smollm for s in e.sentences]).astype(float)
    variances = states.var(axis=0)
    assert variances.max() / variances.sum() > 0.9
    assert np.abs(states).max() > 1000 * np.median(np.abs(states))

    def best(**options: object) -> float:
        table = compare_layers_cka(minilm, smollm, layers_b=[15], **options)  # type: ignore[arg-type]
        return float(table["cka"].max())

    assert best() < 0.2
    assert best(skip_initial=1) > 0.4
    assert best(kernel="rbf") > 0.4


@pytest.mark.model
@pytest.mark.filterwarnings("ignore:.*GGUF")
def test_minilm_against_itself_finds_itself(real_extractions: tuple[list, list]) -> None:
    minilm, _ = real_extractions
    best = best_matching_heads(compare_heads(minilm, minilm), by="js_divergence")
    assert (best["layer"] == best["matched_layer"]).all()
    assert (best["head"] == best["matched_head"]).all()
    cka = compare_layers_cka(minilm, minilm)
    np.testing.assert_allclose(cka[cka["layer_a"] == cka["layer_b"]]["cka"], 1.0, rtol=1e-6)
    assert CLARK_EPSILON == 0.001
