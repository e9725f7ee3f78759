"""The head grid's computed relation accuracy and its one colour range per score across models."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.widget_data import make_document
from trfviz.analysis.syntax.prediction import predict_heads
from trfviz.widget import AttentionExplorer
from trfviz.widget.grid_scores import relation_accuracy, share_score_ranges


def test_relation_accuracy_is_the_share_of_arcs_each_head_predicts() -> None:
    """By hand from each head's predictions (Clark et al.'s most-attended-to other word)."""
    parses, extractions = make_document()
    sentence, parse = extractions["tiny-gpt"][0], parses[0]
    got = relation_accuracy(sentence, parse)
    assert sentence.attention is not None
    predicted = predict_heads(sentence.attention, len(parse.words))[0]  # [layer, head, word]
    heads = np.array([a.head for a in parse.arcs])
    dependents = np.array([a.dependent for a in parse.arcs])
    expected = (predicted[..., dependents] == heads).mean(axis=-1)
    assert got is not None and got.shape == (4, 2)
    np.testing.assert_allclose(got, expected)
    assert len(set(got.ravel())) > 1  # heads differ: a score worth a colour


def test_no_arcs_no_accuracy() -> None:
    from dataclasses import replace

    parses, extractions = make_document()
    assert relation_accuracy(extractions["tiny-bert"][0], replace(parses[0], arcs=())) is None


def test_the_explorer_scores_heads_by_the_parse_without_head_scores() -> None:
    parses, extractions = make_document()
    explorer = AttentionExplorer(parses, extractions, compare="tiny-gpt", show_grid=True)
    for key in ("tiny-bert", "tiny-gpt"):
        grid = explorer._grid[key]
        assert next(iter(grid["scores"])) == "relation accuracy"
        expected = relation_accuracy(extractions[key][0], parses[0])
        assert expected is not None
        shown = np.array(grid["scores"]["relation accuracy"])
        np.testing.assert_allclose(shown, expected, atol=1e-6)
    # One range per score over both grids (the JS distances, named per model, as one).
    grids = explorer._grid
    for name in ("relation accuracy", "entropy (bits)"):
        assert grids["tiny-bert"]["score_ranges"][name] == grids["tiny-gpt"]["score_ranges"][name]
        every = [v for g in grids.values() for row in g["scores"][name] for v in row]
        span = grids["tiny-bert"]["score_ranges"][name]
        assert span == pytest.approx([min(every), max(every)], abs=1e-6)
    js = [grids[k]["score_ranges"][n] for k in grids for n in grids[k]["scores"] if "JS" in n]
    assert len(js) == 2 and js[0] == js[1]
    assert all(g["shared_scale"] for g in grids.values())


def test_share_score_ranges_keeps_a_lone_grid_and_missing_scores() -> None:
    grids = {
        "a": {"score_ranges": {"s": [0.2, 0.5], "t": None}},
        "b": {"score_ranges": {"s": [0.1, 0.4]}},
    }
    out = share_score_ranges(grids)
    assert out["a"]["score_ranges"] == {"s": [0.1, 0.5], "t": None}
    assert out["b"]["score_ranges"] == {"s": [0.1, 0.5]}
    assert share_score_ranges({"a": grids["a"]})["a"]["shared_scale"] is False
    assert grids["a"]["score_ranges"]["s"] == [0.2, 0.5]  # the input is left alone
