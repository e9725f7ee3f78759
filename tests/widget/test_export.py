"""Drawing a ViewSpec for export: the view at full precision, its title and file name."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.widget_data import TELESCOPE, make_document
from trfviz.view import ViewSpec
from trfviz.widget.compare import kept_words, renormalise_rows
from trfviz.widget.export import (
    compose_view,
    draw_view,
    head_choice,
    head_spec,
    layer_choice,
    layer_spec,
    view_file_name,
    view_title,
)
from trfviz.widget.payload import select_attention


def test_choices_translate_both_ways() -> None:
    assert [layer_spec(x) for x in (0, 3, "mean")] == [0, 3, None]
    assert [head_spec(x) for x in (1, "mean", "all")] == [1, None, "all"]
    assert [layer_choice(x) for x in (0, None)] == [0, "mean"]
    assert [head_choice(x) for x in (2, None, "all")] == [2, "mean", "all"]


def test_compose_view_from_a_spec() -> None:
    parses, extractions = make_document()
    sentences = {key: value[0] for key, value in extractions.items()}
    n = len(TELESCOPE[0])
    spec = ViewSpec(models=("tiny-bert", "tiny-gpt"), layers=(1, None), heads=(None, 1))
    view = compose_view(spec, parses[0], sentences)
    assert [p.model for p in view.panels] == ["tiny-bert", "tiny-gpt"]
    assert (view.panels[1].layer, view.panels[1].head) == ("mean", 1)
    attention = sentences["tiny-gpt"].attention
    assert attention is not None
    np.testing.assert_allclose(view.panels[1].attention, select_attention(attention, "mean", 1))
    diff = compose_view(
        ViewSpec(models=spec.models, layers=spec.layers, heads=spec.heads, mode="difference"),
        parses[0],
        sentences,
    )
    (panel,) = diff.panels
    assert (panel.model, panel.kind, diff.mode) == (
        "tiny-bert - tiny-gpt",
        "difference",
        "difference",
    )
    bert = sentences["tiny-bert"].attention
    assert bert is not None
    # Both rows over the same words (specials and the first word out), renormalised.
    keep = kept_words(n)
    expected = renormalise_rows(bert[1].mean(0)[:n, :n], keep) - renormalise_rows(
        attention.mean(0)[1][:n, :n], keep
    )
    np.testing.assert_allclose(panel.attention, expected, atol=1e-6)
    assert np.all(panel.attention[:, 0] == 0)


def test_title_and_file_name_say_what_is_shown() -> None:
    spec = ViewSpec(
        models=("org/tiny-bert", "tiny-gpt"), layers=(None, 2), heads=("all", None), sentence=3
    )
    assert view_title(spec) == "tiny-bert layer mean, all heads vs tiny-gpt layer 2, head mean"
    assert view_file_name(spec) == "attention-s3-tiny-bert-Lmean-Hall-vs-tiny-gpt-L2-Hmean.pdf"
    diff = ViewSpec(models=("a", "b"), layers=(0, 0), heads=(1, 1), mode="difference")
    assert view_file_name(diff) == "attention-s0-a-L0-H1-vs-b-L0-H1-diff.pdf"


def test_draw_view_without_a_widget() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    parses, extractions = make_document()
    sentences = {"tiny-bert": extractions["tiny-bert"][0]}
    spec = ViewSpec(models=("tiny-bert",), layers=(0,), heads=("all",))
    scores = {"tiny-bert": np.arange(6.0).reshape(2, 3)}
    figure = draw_view(spec, parses[0], sentences, scores=scores)
    assert len([ax for ax in figure.axes if ax.images]) >= 3  # one thumbnail per head
    plt.close(figure)
