"""Best-matching heads across two models and the model-level summary of a head table."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import random_attention, synthetic_sentence
from trfviz.analysis.similarity import (
    best_matching_heads,
    compare_heads,
    summarize_head_similarity,
)


@pytest.mark.parametrize("by", ["correlation", "js_divergence", "argmax_agreement"])
def test_a_model_compared_with_itself_matches_every_head_to_itself(by: str) -> None:
    rng = np.random.default_rng(8)
    sentences = [synthetic_sentence(random_attention(rng, 3, 4, n)) for n in (6, 9, 7)]
    table = compare_heads(sentences, sentences, model_a="M", model_b="M")
    best = best_matching_heads(table, by=by)
    assert len(best) == 2 * 12
    assert set(best["direction"]) == {"a_to_b", "b_to_a"}
    assert (best["layer"] == best["matched_layer"]).all()
    assert (best["head"] == best["matched_head"]).all()
    summary = summarize_head_similarity(table)
    assert summary["best_correlation"].tolist() == pytest.approx([1.0, 1.0])
    assert summary["best_js_divergence"].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert (summary["n_heads"] == 12).all()


def test_best_match_directions_differ_for_different_models() -> None:
    # A has one head; B has a copy of it and an unrelated head.
    rng = np.random.default_rng(9)
    head = random_attention(rng, 1, 1, 6)
    b = np.concatenate([random_attention(rng, 1, 1, 6), head], axis=1)
    table = compare_heads(
        [synthetic_sentence(head)], [synthetic_sentence(b)], model_a="A", model_b="B"
    )
    best = best_matching_heads(table)
    a_to_b = best[best["direction"] == "a_to_b"]
    assert a_to_b[["matched_layer", "matched_head"]].values.tolist() == [[0, 1]]
    b_to_a = best[best["direction"] == "b_to_a"]
    assert b_to_a["matched_head"].tolist() == [0, 0]  # A has only one head to offer
    assert b_to_a["model"].unique().tolist() == ["B"]
    with pytest.raises(ValueError, match="by must be"):
        best_matching_heads(table, by="nonsense")
