"""Two models exported on one word axis, and the compact view exported as shaded words.

As the widget shows them: the first model's arcs above the words, the second's
below, the parse in its own band above both; each word drawn once, so the same
word is in the same column for both models (checked from the renderer: every
arrow of either model lands inside its key word's box) at 12, 40 and 64 tokens
and both presets. With ``compact=True`` the export shades each word by the
attention it receives from the focus, a strip per model on one scale.
"""

from __future__ import annotations

import re
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

from tests.factories import random_attention, synthetic_sentence
from tests.figures.legibility import legibility_problems, min_text_size
from tests.figures.test_paper_ready import parse, words
from trfviz.figures.style import get_preset
from trfviz.palette import colormap
from trfviz.view import ViewSpec
from trfviz.widget.export import draw_view, figure_view

PRESETS = ("one-column", "two-column")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data(n: int):  # type: ignore[no-untyped-def]
    """A parse and two models' attention; both attend from the focus to words near it."""
    rng = np.random.default_rng(n)
    first, second = random_attention(rng, 2, 2, n + 2), random_attention(rng, 2, 2, n)
    for attention in (first, second):
        near = np.zeros(attention.shape[-1])
        near[[n // 2 - 1, n // 2 + 2]] = 0.5
        attention[:, :, n // 2] = 0.5 * attention[:, :, n // 2] + 0.5 * near
    a = synthetic_sentence(first, words=words(n), specials=("[CLS]", "[SEP]"))
    b = synthetic_sentence(second, words=words(n))
    return parse(n), {"MiniLM": a, "SmolLM2": b}


def _spec(n: int, **changes: object) -> ViewSpec:
    values: dict[str, object] = {
        "models": ("MiniLM", "SmolLM2"),
        "layers": (1, 0),
        "heads": (0, 1),
        "focus": n // 2,
        "threshold": 0.02,
        "show_heatmap": False,
    }
    return ViewSpec(**{**values, **changes})  # type: ignore[arg-type]


def _draw(spec: ViewSpec, n: int, preset: str | None):  # type: ignore[no-untyped-def]
    sentence_parse, sentences = _data(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        figure = draw_view(spec, sentence_parse, sentences, preset=preset)
    assert figure_view(figure) == spec
    return figure


def _by_gid(figure, prefix: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    artists = [a for ax in figure.axes for a in [*ax.patches, *ax.texts]]
    return {a.get_gid(): a for a in artists if (a.get_gid() or "").startswith(prefix)}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("n", [12, 40, 64])
def test_both_models_share_one_word_axis(n: int, preset: str) -> None:
    figure = _draw(_spec(n), n, preset)
    assert legibility_problems(figure) == []
    assert min_text_size(figure) >= 6.0
    renderer = figure.canvas.get_renderer()
    px = figure.dpi / 72
    word_texts = _by_gid(figure, "word-")
    assert word_texts, "no words drawn"
    boxes = {int(g.split("-")[1]): t.get_window_extent(renderer) for g, t in word_texts.items()}
    focus = n // 2
    arrows = {"above": _by_gid(figure, "above-att-arrow-"), "below": _by_gid(figure, "att-arrow-")}
    assert arrows["above"] and arrows["below"], "each model draws arcs from the focus"
    landed: dict[str, set[int]] = {}
    for side, found in arrows.items():
        landed[side] = set()
        for gid, arrow in found.items():
            key = int(re.search(r"arrow-\d+-(\d+)", gid).group(1))  # type: ignore[union-attr]
            tip = arrow.axes.transData.transform(arrow.get_xy()[2])  # type: ignore[attr-defined]
            box = boxes[key]
            # A word's column: its glyphs, at least a font size wide (arcs meeting at a
            # comma spread over that much, as in the widget).
            half = max(box.width, word_texts[f"word-{key}"].get_fontsize() * px) / 2  # type: ignore[attr-defined]
            centre = (box.x0 + box.x1) / 2
            assert abs(tip[0] - centre) <= half + 1, f"{side} arrow to word {key} misses it"
            # The first model's arcs end on the words from above, the second's from below.
            assert (tip[1] >= box.y0) if side == "above" else (tip[1] <= box.y1)
            landed[side].add(key)
    assert focus in boxes

    # The parse is in its own band: on each line, every dependency arrow sits above
    # the first model's highest arc.
    def part(gid: str) -> str:
        return gid[gid.find("-part") :] if "-part" in gid else ""

    for line in {part(g) for g in _by_gid(figure, "above-att-arc-")}:
        tops = [
            p.get_window_extent(renderer).y1  # type: ignore[attr-defined]
            for g, p in _by_gid(figure, "above-att-arc-").items()
            if part(g) == line
        ]
        tips = [
            p.axes.transData.transform(p.get_xy()[2])[1]  # type: ignore[attr-defined]
            for g, p in _by_gid(figure, "dep-arrow-").items()
            if part(g) == line
        ]
        assert all(tip >= max(tops) - 1 for tip in tips), line
    title = next(t.get_text() for g, t in _by_gid(figure, "title").items())
    assert "(above)" in title and "(below)" in title


def _too_tall(figure) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``figure`` says it is taller than its preset's max_height (and how to fit it)."""
    notes = [t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "view-note"]
    return any("more than the preset's" in note and "zoom in" in note for note in notes)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("n", [12, 40, 64])
def test_arcs_and_heatmaps_stay_within_the_page(n: int, preset: str) -> None:
    page = get_preset(preset)
    figure = _draw(_spec(n, show_heatmap=True), n, preset)
    width, height = figure.get_size_inches()
    # Exactly the page's width; no taller than its max_height, or the figure says so
    # (the user's window is never narrowed to fit).
    assert abs(width - page.width) < 0.01
    assert height <= page.max_height + 1e-6 or _too_tall(figure)
    assert legibility_problems(figure) == []
    assert min_text_size(figure) >= 6.0
    # Both models' arcs from the focus are still drawn, and the focus is a word shown.
    assert _by_gid(figure, "above-att-arc-") and _by_gid(figure, "att-arc-")
    assert f"word-{n // 2}" in _by_gid(figure, "word-")
    # The arcs are drawn at the size they were measured: one data unit is one point.
    (arcs,) = {t.axes for t in _by_gid(figure, "word-").values()}  # type: ignore[attr-defined]
    box = arcs.get_window_extent()
    points = 72 / figure.dpi
    assert np.ptp(arcs.get_ylim()) == pytest.approx(box.height * points, rel=1e-3)
    assert np.ptp(arcs.get_xlim()) == pytest.approx(box.width * points, rel=1e-3)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize(
    "changes",
    [{"focus": None}, {"threshold": 0.005}, {"mode": "difference"}, {"compact": True}],
    ids=["no-focus", "low-threshold", "difference", "compact"],
)
def test_every_kind_of_view_stays_within_the_page(changes: dict, preset: str) -> None:
    n = 64
    figure = _draw(_spec(n, show_heatmap=True, **changes), n, preset)
    assert figure.get_size_inches()[1] <= get_preset(preset).max_height + 1e-6 or _too_tall(figure)
    assert legibility_problems(figure) == []
    assert min_text_size(figure) >= 6.0
    # Arcs left out to fit are said, at one weight: every arc drawn is above it.
    notes = [t.get_text() for t in _by_gid(figure, "note").values()]  # type: ignore[attr-defined]
    cuts = [
        float(line.split("≤ ")[1].split(" ")[0])
        for n in notes
        for line in n.split("\n")
        if "not drawn" in line
    ]
    weights = [float(t.get_text()) for g, t in _by_gid(figure, "").items() if "att-label-" in g]  # type: ignore[attr-defined]
    for cut in cuts:
        assert all(w >= cut for w in weights)


def test_own_scales_are_said_and_spare_neither_model() -> None:
    shared = _draw(_spec(12), 12, None)
    own = _draw(_spec(12, shared_range=False), 12, None)

    def widths(figure) -> dict[str, float]:  # type: ignore[no-untyped-def]
        return {g: p.get_linewidth() for g, p in _by_gid(figure, "above-att-arc-").items()}

    title = next(iter(_by_gid(own, "title").values())).get_text()  # type: ignore[attr-defined]
    assert "(own scales)" in title
    assert "own" not in next(iter(_by_gid(shared, "title").values())).get_text()  # type: ignore[attr-defined]
    # Scaled to its own largest weight, each arc of a model is at least as wide.
    a, b = widths(shared), widths(own)
    assert a.keys() == b.keys() and all(b[g] >= a[g] - 1e-9 for g in a)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("n", [12, 40, 64])
def test_compact_export_shades_each_word_by_what_it_receives(n: int, preset: str) -> None:
    spec = _spec(n, compact=True)
    figure = _draw(spec, n, preset)
    assert legibility_problems(figure) == []
    assert min_text_size(figure) >= 6.0
    assert not _by_gid(figure, "att-arc-") and not _by_gid(figure, "above-att-arc-")
    sentence_parse, sentences = _data(n)
    a = sentences["MiniLM"].attention[1, 0, :n, :n].astype(float)  # words only, as compared
    b = sentences["SmolLM2"].attention[0, 1].astype(float)
    rows = np.stack([a[n // 2], b[n // 2]])
    rows[:, n // 2] = np.nan  # the focus itself is not shaded
    # The heatmaps' scale, shared by both models: 0 to the largest weight either shows.
    low, high = 0.0, max(float(a.max()), float(b.max()))
    cmap = colormap("sequential")
    shades = _by_gid(figure, "shade-")
    drawn = {int(g.split("-")[2]) for g in shades}
    assert n // 2 not in drawn
    for gid, patch in shades.items():
        row, word = (int(x) for x in gid.split("-")[1:3])
        expected = to_hex(cmap((rows[row, word] - low) / (high - low)))
        assert to_hex(patch.get_facecolor()) == expected, gid  # type: ignore[attr-defined]
    assert _by_gid(figure, "entity-")  # the parse's entities, as the widget shows them
    notes = {t.get_text() for t in _by_gid(figure, "note-").values()}  # type: ignore[attr-defined]
    focus_arcs = [arc for arc in sentence_parse.arcs if n // 2 in (arc.head, arc.dependent)]
    assert bool(notes) == bool(focus_arcs)


def test_compact_difference_is_diverging_and_symmetric() -> None:
    spec = _spec(12, compact=True, mode="difference")
    figure = _draw(spec, 12, "one-column")
    shades = _by_gid(figure, "shade-")
    assert shades and all(g.startswith("shade-0-") for g in shades)  # one row: A − B
    bars = [c for ax in figure.axes for c in ax.child_axes]
    (bar,) = bars
    low, high = bar.get_xlim()
    assert low == pytest.approx(-high)
    assert legibility_problems(figure) == []


def test_compact_without_a_focus_shades_the_mean_received() -> None:
    n = 12
    figure = _draw(_spec(n, compact=True, focus=None), n, "one-column")
    _, sentences = _data(n)
    a = sentences["MiniLM"].attention[1, 0, :n, :n].astype(float).mean(axis=0)
    b = sentences["SmolLM2"].attention[0, 1].astype(float).mean(axis=0)
    top = max(a.max(), b.max())  # the means' own range, shared by both models
    cmap = colormap("sequential")
    shades = _by_gid(figure, "shade-")
    assert len(shades) == 2 * n  # no focus: every word shaded
    assert to_hex(shades["shade-1-3"].get_facecolor()) == to_hex(cmap(b[3] / top))  # type: ignore[attr-defined]
    (bar,) = [c for ax in figure.axes for c in ax.child_axes]
    assert bar.get_title() == "mean attention received"
    assert legibility_problems(figure) == []
