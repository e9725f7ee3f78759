"""Every figure's default colours come from trfviz.palette; ``cmap=`` still overrides them."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trfviz.figures import plot_attention_heatmap, plot_head_grid, plot_model_comparison
from trfviz.figures.ambiguity import plot_effect_sizes
from trfviz.figures.interactive import palette_colorscale
from trfviz.figures.similarity import plot_head_similarity, plot_layer_cka
from trfviz.figures.syntax import plot_head_accuracy
from trfviz.palette import SCALES, colormap


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def cmap_names(ax) -> list[str]:
    return [artist.get_cmap().name for artist in [*ax.images, *ax.collections]]


ATT = np.full((3, 3), 1 / 3)
HEADS = pd.DataFrame(
    {
        "model": "M",
        "layer": [0, 0, 1, 1],
        "head": [0, 1, 0, 1],
        "effect_size": [1.0, -1.0, 0.5, 0.0],
        "relation": "all",
        "direction": "dependent->head",
        "accuracy": [0.1, 0.2, 0.3, 0.4],
    }
)


def test_heatmap_and_comparison_use_the_sequential_and_diverging_scales() -> None:
    _, ax = plot_attention_heatmap(ATT, ["a", "b", "c"])
    assert cmap_names(ax) == ["trfviz-sequential"]
    _, axes = plot_model_comparison(ATT, ATT * 0.5, ["a", "b", "c"], mode="all")
    assert [cmap_names(a) for a in axes] == [
        ["trfviz-sequential"],
        ["trfviz-sequential"],
        ["trfviz-diverging"],
    ]
    _, ax = plot_attention_heatmap(ATT, ["a", "b", "c"], cmap="magma")
    assert cmap_names(ax) == ["magma"]


def test_head_grid_frames_use_the_score_scale() -> None:
    att = np.full((2, 2, 3, 3), 1 / 3)
    fig, axes = plot_head_grid(att, ["a", "b", "c"], scores=np.arange(4.0).reshape(2, 2))
    assert cmap_names(axes[0, 0]) == ["trfviz-sequential"]
    (bar,) = [a for a in fig.axes if a not in axes.ravel()]
    assert "trfviz-score" in cmap_names(bar)
    edge = axes[0, 1].spines["top"].get_edgecolor()
    assert np.allclose(edge, colormap("score")(1 / 3))  # score 1 on a 0–3 scale


def test_analysis_figures_use_the_palette() -> None:
    assert cmap_names(plot_effect_sizes(HEADS, significance=None)[1]) == ["trfviz-diverging"]
    assert cmap_names(plot_head_accuracy(HEADS)[1]) == ["trfviz-score"]
    cka = pd.DataFrame({"layer_a": [0, 0, 1, 1], "layer_b": [0, 1, 0, 1], "cka": [1, 0, 0, 1]})
    assert cmap_names(plot_layer_cka(cka)[1]) == ["trfviz-sequential"]
    pairs = pd.DataFrame(
        {
            "layer_a": [0, 0],
            "head_a": [0, 0],
            "layer_b": [0, 0],
            "head_b": [0, 1],
            "js_divergence": [0.1, 0.2],
        }
    )
    # Smaller divergence is more similar: the scale runs the other way.
    assert cmap_names(plot_head_similarity(pairs)[1]) == ["trfviz-sequential_r"]


def test_plotly_colorscale_runs_through_the_palette_stops() -> None:
    scale = palette_colorscale("diverging")
    assert [color for _, color in scale] == list(SCALES["diverging"])
    assert scale[0][0] == 0.0 and scale[-1][0] == 1.0
