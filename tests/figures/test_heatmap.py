"""Heatmap, head grid and model comparison: read the figures back."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt

from trfviz.figures import (
    attention_difference,
    plot_attention_heatmap,
    plot_head_grid,
    plot_model_comparison,
)
from trfviz.figures.style import PRESETS

TOKENS = ["The", "old", "man", "the", "boat", "."]
HARD = ["$5", "<b>", "&", "x_1", "$", "the"]  # math signs, markup, repeats


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def rows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(n), size=n)


def tick_texts(labels) -> list[str]:
    return [t.get_text() for t in labels]


@pytest.mark.parametrize("labels", [TOKENS, HARD])
def test_heatmap_ticks_are_the_tokens(labels: list[str]) -> None:
    fig, ax = plot_attention_heatmap(rows(len(labels)), labels, title="L3 H7")
    assert tick_texts(ax.get_xticklabels()) == labels
    assert tick_texts(ax.get_yticklabels()) == labels
    assert ax.get_title() == "L3 H7"
    fig.canvas.draw()  # "$5" and "$" must not start math mode (would raise or swallow text)
    assert fig.axes[1] is not ax  # the colour bar


def test_heatmap_cells_hold_the_weights_row_zero_on_top() -> None:
    att = rows(4)
    _, ax = plot_attention_heatmap(att, ["a", "b", "c", "d"], colorbar=False)
    mesh = ax.collections[0]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(4, 4), att)
    bottom, top = ax.get_ylim()
    assert bottom > top  # query 0 is the top row


def test_heatmap_specials_are_grey_and_window_cuts_both_axes() -> None:
    labels = [*TOKENS, "[CLS]", "[SEP]"]
    _, ax = plot_attention_heatmap(rows(8), labels, n_special=2)
    colors = [t.get_color() for t in ax.get_xticklabels()]
    assert colors[-2:] != colors[:1] * 2 and len(set(colors[:6])) == 1
    _, ax = plot_attention_heatmap(rows(8), labels, window=(2, 5))
    assert tick_texts(ax.get_xticklabels()) == ["man", "the", "boat"]
    with pytest.raises(ValueError, match="window"):
        plot_attention_heatmap(rows(8), labels, window=(5, 9))


def test_heatmap_annotates_small_matrices_only() -> None:
    _, ax = plot_attention_heatmap(rows(3), ["a", "b", "c"])
    assert len(ax.texts) == 9
    _, ax = plot_attention_heatmap(rows(13), [str(i) for i in range(13)])
    assert len(ax.texts) == 0


def test_heatmap_draws_into_the_callers_axes_and_checks_shapes() -> None:
    fig, axes = plt.subplots(1, 2)
    out_fig, out_ax = plot_attention_heatmap(rows(3), ["a", "b", "c"], ax=axes[1])
    assert out_fig is fig and out_ax is axes[1]
    with pytest.raises(ValueError, match="shape"):
        plot_attention_heatmap(rows(3), ["a", "b"])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 30), words=st.lists(st.text(min_size=1, max_size=8), min_size=30))
def test_heatmap_labels_any_token_text(n: int, words: list[str]) -> None:
    labels = words[:n]
    fig, ax = plot_attention_heatmap(rows(n), labels, preset="one-column")
    assert 0 < len(ax.get_xticks()) <= n  # thinned when the cells are smaller than a label
    assert fig.get_size_inches()[0] <= PRESETS["one-column"].width + 1e-6
    plt.close(fig)


def test_sixty_tokens_at_two_columns_stay_readable() -> None:
    labels = [f"w{i}" for i in range(60)]
    fig, ax = plot_attention_heatmap(rows(60), labels, preset="two-column")
    sizes = {t.get_fontsize() for t in ax.get_xticklabels()}
    assert min(sizes) >= 4.0
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_yticklabels()]
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(boxes))


def test_grid_has_a_panel_per_layer_and_head() -> None:
    att = np.random.default_rng(0).dirichlet(np.ones(5), size=(3, 4, 5))
    fig, axes = plot_head_grid(att, list("abcde"))
    assert axes.shape == (3, 4)
    assert len(fig.axes) == 12
    assert axes[2, 3].get_gid() == "head-2-3"
    assert [axes[0, j].get_title() for j in range(4)] == ["H0", "H1", "H2", "H3"]
    assert [axes[i, 0].get_ylabel() for i in range(3)] == ["L0", "L1", "L2"]
    np.testing.assert_allclose(axes[1, 2].images[0].get_array(), att[1, 2])


def test_grid_frames_panels_by_score() -> None:
    att = np.random.default_rng(0).dirichlet(np.ones(4), size=(2, 3, 4))
    scores = np.array([[0.1, 0.5, 0.9], [0.2, 0.3, 1.0]])
    fig, axes = plot_head_grid(att, list("abcd"), scores=scores, score_label="UAS")
    assert len(fig.axes) == 7  # 6 panels and the score colour bar
    assert fig.axes[-1].get_ylabel() == "UAS"
    edges = {(i, j): axes[i, j].spines["top"].get_edgecolor() for i in range(2) for j in range(3)}
    assert edges[(0, 0)] != edges[(1, 2)]
    assert [t.get_text() for t in axes[1, 2].texts] == ["1.00"]
    with pytest.raises(ValueError, match="scores"):
        plot_head_grid(att, list("abcd"), scores=scores[:1])


def test_twelve_by_twelve_grid_fits_two_columns() -> None:
    att = np.random.default_rng(0).dirichlet(np.ones(8), size=(12, 12, 8))
    fig, axes = plot_head_grid(
        att, list("abcdefgh"), scores=np.random.default_rng(1).random((12, 12)), preset="two-column"
    )
    assert axes.shape == (12, 12)
    assert fig.get_size_inches()[0] == pytest.approx(PRESETS["two-column"].width, rel=0.02)
    fig.canvas.draw()
    titles = [axes[0, j].title.get_window_extent() for j in range(12)]
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(titles))


def test_grid_replaces_the_callers_axes() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    att = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 2, 3))
    out_fig, _axes = plot_head_grid(att, list("abc"), ax=right)
    assert out_fig is fig and left in fig.axes and right not in fig.axes
    assert len(fig.axes) == 1 + 4


@pytest.mark.parametrize(("mode", "panels"), [("side_by_side", 2), ("difference", 1), ("all", 3)])
def test_comparison_panels(mode: str, panels: int) -> None:
    a, b = rows(8, 0), rows(6, 1)  # model A has two special pseudo-tokens more
    _fig, axes = plot_model_comparison(a, b, TOKENS, names=("MiniLM", "SmolLM2"), mode=mode)
    assert len(axes) == panels
    for ax in axes:
        assert tick_texts(ax.get_xticklabels()) == TOKENS
    if mode != "side_by_side":
        diff = axes[-1].collections[0]
        np.testing.assert_allclose(
            np.asarray(diff.get_array()).reshape(6, 6), a[:6, :6] - b[:6, :6]
        )
        low, high = diff.get_clim()
        assert low == pytest.approx(-high)  # diverging scale centred on 0
        assert axes[-1].get_title() == "MiniLM − SmolLM2"
    else:
        assert [ax.get_title() for ax in axes] == ["MiniLM", "SmolLM2"]
        assert axes[0].collections[0].get_clim() == axes[1].collections[0].get_clim()


def test_comparison_checks_its_inputs() -> None:
    np.testing.assert_allclose(attention_difference(np.eye(3), np.eye(4), 3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="at least"):
        plot_model_comparison(np.eye(2), np.eye(3), ["a", "b", "c"])
    with pytest.raises(ValueError, match="mode"):
        plot_model_comparison(np.eye(3), np.eye(3), ["a", "b", "c"], mode="overlay")  # type: ignore[arg-type]
    _fig, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="panels"):
        plot_model_comparison(np.eye(3), np.eye(3), ["a", "b", "c"], mode="all", ax=axes)


@pytest.mark.parametrize("preset", ["one-column", "two-column"])
def test_measures_draw_like_attention_with_their_name_on_the_colour_bar(preset: str) -> None:
    from tests.figures.legibility import legibility_problems

    # Norms are not distributions: values past 1, rows not summing to 1.
    rng = np.random.default_rng(3)
    norms_a, norms_b = rng.gamma(2.0, 3.0, size=(2, 12, 12))
    labels = [f"w{i}" for i in range(12)]
    fig, _ = plot_attention_heatmap(norms_a, labels, value_label="attention norm", preset=preset)
    bar = next(a for a in fig.axes if a.get_label() == "<colorbar>")
    assert bar.get_ylabel() == "attention norm"
    assert not legibility_problems(fig)
    fig, _ = plot_model_comparison(
        norms_a,
        norms_b,
        labels,
        names=("A", "B"),
        mode="all",
        value_label="attention norm",
        preset=preset,
    )
    bars = sorted(a.get_ylabel() for a in fig.axes if a.get_label() == "<colorbar>")
    assert bars == ["A − B", "attention norm"]
    assert not legibility_problems(fig)
