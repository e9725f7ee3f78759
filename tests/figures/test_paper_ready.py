"""Paper-ready figures: at each preset and at 12, 40 and 64 tokens every text is legible.

Measured from the renderer's extents (tests/figures/legibility.py): every text
drawn is at least 6 pt, inside the figure, overlapping no other text, and no
title lies over an axes or colour bar; a figure grows with the sentence up to
its preset's maximum height; a long sentence can be windowed, and the window
is marked. Interactive pages share one plotly.js per folder and stay small.
"""

from __future__ import annotations

import itertools
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests.figures.legibility import drawn_texts, legibility_problems
from trfviz.figures import (
    plot_attention_arcs,
    plot_attention_heatmap,
    plot_head_grid,
    plot_model_comparison,
)
from trfviz.figures.arcs.selection import format_weight
from trfviz.figures.style import MIN_TEXT_SIZE, get_preset
from trfviz.parse import Arc, EntitySpan, SentenceParse

SENTENCE = (
    "The committee said on Tuesday that it would consider the revised proposal carefully , "
    "despite strong objections from several international organisations and Mr. Smith ."
)
WORDS = SENTENCE.split(" ")
PRESETS = ("one-column", "two-column")
SIZES = (12, 40, 64)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def words(n: int) -> list[str]:
    return [WORDS[i % len(WORDS)] for i in range(n)]


def attention(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(n) * 0.3, size=n)


def parse(n: int) -> SentenceParse:
    arcs = tuple(Arc(i + 1, i, "nsubj") for i in range(0, n - 1, 2)) + tuple(
        Arc(i, i + 3, "obj") for i in range(1, n - 3, 4)
    )
    return SentenceParse(
        words=tuple(words(n)), tags=("",) * n, arcs=arcs, entities=(EntitySpan(0, 2, "ORG"),)
    )


def draw(kind: str, n: int, preset: str, **options):
    labels = [*words(n), "[CLS]", "[SEP]"]
    if kind == "heatmap":
        return plot_attention_heatmap(
            attention(n + 2),
            labels,
            n_special=2,
            title="MiniLM layer 3 head 7",
            preset=preset,
            **options,
        )[0]
    if kind == "comparison":
        return plot_model_comparison(
            attention(n),
            attention(n, 1),
            words(n),
            names=("MiniLM", "SmolLM2"),
            title="layer 3 head 7",
            preset=preset,
            **options,
        )[0]
    if kind == "grid":
        att = np.stack([np.stack([attention(n, h) for h in range(12)])] * 6)
        scores = np.linspace(0, 1, 72).reshape(6, 12)
        return plot_head_grid(att, words(n), scores=scores, title="MiniLM", preset=preset)[0]
    options.setdefault("source", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # too tall: tested below
        return plot_attention_arcs(
            parse(n),
            attention(n + 2),
            special_labels=["[CLS]", "[SEP]"],
            title="MiniLM layer 3 head 7",
            preset=preset,
            **options,
        )[0]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("kind", ["heatmap", "comparison", "grid", "arcs"])
def test_every_text_is_legible_and_placed(kind: str, preset: str, n: int) -> None:
    fig = draw(kind, n, preset)
    assert legibility_problems(fig, min_size=MIN_TEXT_SIZE) == []
    assert fig.get_size_inches()[0] <= get_preset(preset).width + 0.01


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("kind", ["heatmap", "comparison", "arcs"])
def test_size_grows_with_the_sentence_up_to_the_maximum(kind: str, preset: str) -> None:
    sizes = [draw(kind, n, preset).get_size_inches() for n in (6, 12, 40, 64)]
    # Arcs wrap at the preset's width and grow downwards; heatmaps grow until the width
    # or the maximum height is reached, then keep that size.
    limit = get_preset(preset).max_height
    assert all(h <= limit + 0.01 for _, h in sizes)
    if kind == "arcs":  # the words stand upright on one line past the width: no growth
        assert all(w <= get_preset(preset).width + 0.01 for w, _ in sizes)
        return
    grows = [w * h for w, h in sizes]
    assert all(b >= a * 0.98 for a, b in itertools.pairwise(grows)), grows
    if preset == "two-column" or kind == "heatmap":
        assert grows[0] < grows[-1]


def test_special_tokens_stay_labelled_when_labels_are_thinned() -> None:
    fig = draw("heatmap", 64, "one-column")
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert len(shown) < 66  # thinned
    assert shown[-1] == "[SEP]"  # the last special is always labelled
    assert ax.get_xticklabels()[-1].get_fontstyle() == "italic"
    assert legibility_problems(fig) == []


@pytest.mark.parametrize("kind", ["heatmap", "comparison", "arcs"])
def test_a_window_is_drawn_and_marked(kind: str) -> None:
    extra = {"source": 25} if kind == "arcs" else {}
    fig = draw(kind, 64, "one-column", window=slice(20, 32), **extra)
    texts = [t.text for t in drawn_texts(fig)]
    assert any("tokens 21–32 of 6" in t for t in texts)  # of 64 words (66 with specials)
    assert legibility_problems(fig) == []
    assert fig.get_size_inches()[1] <= get_preset("one-column").max_height
    span = draw(kind, 64, "two-column", window=(20, 32), **extra)
    assert any("tokens 21–32 of 6" in t.text for t in drawn_texts(span))


def test_a_sentence_too_long_for_a_column_is_windowed_marked_and_noted() -> None:
    from trfviz.figures.arcs.vertical import vertical_capacity

    page = get_preset("one-column")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it fits: no warning
        fig, ax = plot_attention_arcs(parse(64), attention(64), source=3, preset="one-column")
    shown = sorted(
        int(t.get_gid().split("-")[1]) for t in ax.texts if t.get_gid().startswith("word-")
    )
    # As many words as a column holds upright at 6 pt (the figure's font is 9.05 pt).
    assert len(shown) == vertical_capacity(9.05, page.width, MIN_TEXT_SIZE) < 64
    assert shown == list(range(shown[0], shown[-1] + 1))
    assert shown[0] == 0  # around the source (3), from the start
    texts = {t.get_gid(): t.get_text() for t in ax.texts}
    assert f"tokens 1–{len(shown)} of 64" in texts["title"]
    assert f"holds {len(shown)} words legibly" in texts["note"].replace("\n", " ")
    assert fig.get_size_inches()[1] <= page.max_height + 1e-6
    assert legibility_problems(fig) == []
    two = plot_attention_arcs(parse(64), attention(64), source=3, preset="two-column")[1]
    assert sum(t.get_gid().startswith("word-") for t in two.texts) == 64  # the whole sentence


def test_an_arc_figure_too_tall_even_squeezed_says_to_window_it() -> None:
    with pytest.warns(UserWarning, match="window"):
        plot_attention_arcs(parse(64), attention(64), source=3, preset="two-column", max_height=1.0)


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="no step"):
        draw("heatmap", 12, "one-column", window=slice(0, 10, 2))
    with pytest.raises(ValueError, match="none of"):
        draw("heatmap", 12, "one-column", window=slice(5, 5))
    with pytest.raises(TypeError, match="slice"):
        draw("heatmap", 12, "one-column", window=3)


def test_plotly_pages_share_one_plotly_js_and_stay_small(tmp_path) -> None:
    pytest.importorskip("plotly")
    from trfviz.figures import interactive_heatmap, save_figure

    labels = [*words(40), "[CLS]", "[SEP]"]
    for name in ("a.html", "b.html"):
        save_figure(interactive_heatmap(attention(42), labels), tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html", "b.html", "plotly.min.js"]
    assert (tmp_path / "a.html").stat().st_size <= 300_000
    assert 'src="plotly.min.js"' in (tmp_path / "a.html").read_text()


@pytest.mark.parametrize("preset", PRESETS)
def test_arcs_fit_a_height_by_squeezing_then_leaving_out_the_weakest(preset: str) -> None:
    n, source = 12, 0  # arcs nested to the right: each one left out saves a level
    att = np.zeros((n, n))
    att[source] = np.arange(1, n + 1) / np.arange(1, n + 1).sum()  # all distinct, ≥ .013
    kwargs = {"source": source, "threshold": 0.01, "preset": preset}

    def shown(ax) -> set[int]:  # type: ignore[no-untyped-def]
        found = {p.get_gid() for p in ax.patches if (p.get_gid() or "").startswith("att-arc-")}
        return {int(g.split("-")[3]) for g in found}

    natural, ax = plot_attention_arcs(parse(n), att, max_height=100, **kwargs)
    every = shown(ax)
    tall = natural.get_size_inches()[1]
    # A little less room: the levels come closer, every arc is still drawn.
    fig, ax = plot_attention_arcs(parse(n), att, max_height=tall * 0.9, **kwargs)
    assert fig.get_size_inches()[1] <= tall * 0.9 + 1e-6
    assert shown(ax) == every and not any("not drawn" in t.get_text() for t in ax.texts)
    assert legibility_problems(fig) == []
    # Less than the closest levels allow, more than the parse alone needs: the weakest
    # arcs are left out, and the note says at which weight.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # too tall however close the levels
        closest = plot_attention_arcs(parse(n), att, max_height=0.1, **kwargs)[0]
        bare = plot_attention_arcs(parse(n), att * 0, max_height=0.1, **kwargs)[0]
    room = (closest.get_size_inches()[1] + bare.get_size_inches()[1]) / 2
    fig, ax = plot_attention_arcs(parse(n), att, max_height=room, **kwargs)
    assert fig.get_size_inches()[1] <= room + 1e-6
    kept, gone = shown(ax), every - shown(ax)
    assert kept and gone and min(att[source, k] for k in kept) > max(att[source, k] for k in gone)
    (note,) = [t.get_text() for t in ax.texts if t.get_gid() == "note"]
    cut = max(att[source, k] for k in gone)
    assert f"attention ≤ {format_weight(cut)} not drawn" in note
    assert legibility_problems(fig) == []
    # No room at all: nothing is left out, and the warning says to show a window.
    with pytest.warns(UserWarning, match="window"):
        fig, ax = plot_attention_arcs(parse(n), att, max_height=0.5, **kwargs)
    assert shown(ax) == every
