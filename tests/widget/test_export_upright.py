"""A long sentence exported at a paper width: its words upright on one line, within the page.

As the widget writes words upright when they do not fit lying down, the export
keeps one word axis at any length: at 12, 40 and 64 words, both presets, one
model or two, with the heatmaps, the figure is no taller than the preset's
``max_height``, every text is at least 6 pt and none overlaps; the same word has
the same x for both models; the whole sentence is drawn wherever upright 6 pt
words fit, and where they cannot (64 words in one column) the words shown
around the focus are marked in the title and a note says how to see the rest.
The focus's incoming attention is drawn in the palette's "to" colour.
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

from tests.figures.legibility import legibility_problems, min_text_size
from tests.widget.test_export_aligned import _data, _spec
from trfviz.figures.arcs.vertical import vertical_capacity
from trfviz.figures.style import MIN_TEXT_SIZE, get_preset
from trfviz.palette import TO_COLOR
from trfviz.widget.export import draw_view, figure_view

PRESETS = ("one-column", "two-column")
#: The arcs figure's font at a preset: raised so that its weights are 6 pt.
ARC_FONT = 9.05


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(figure, prefix: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        t.get_gid(): t
        for ax in figure.axes
        for t in ax.texts
        if (t.get_gid() or "").startswith(prefix)
    }


def _draw(n: int, preset: str, models: int, **changes: object):  # type: ignore[no-untyped-def]
    parse, sentences = _data(n)
    if models == 1:
        changes = {"models": ("MiniLM",), "layers": (1,), "heads": (0,), **changes}
    spec = _spec(n, show_heatmap=True, **changes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # heatmap cells under 1.5 pt
        figure = draw_view(spec, parse, sentences, preset=preset)
    assert figure_view(figure) == spec  # the figure is the widget's view
    return figure, parse, sentences


@pytest.mark.parametrize("models", [1, 2])
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("n", [12, 40, 64])
def test_a_sentence_of_any_length_fits_the_page(n: int, preset: str, models: int) -> None:
    page = get_preset(preset)
    figure, _, _ = _draw(n, preset, models)
    width, height = figure.get_size_inches()
    assert height <= page.max_height + 1e-6
    assert abs(width - page.width) < 0.01
    assert min_text_size(figure) >= MIN_TEXT_SIZE - 1e-6
    assert legibility_problems(figure) == []
    words = sorted(int(g.split("-")[1]) for g in _texts(figure, "word-"))
    title = next(iter(_texts(figure, "title").values())).get_text()  # type: ignore[attr-defined]
    notes = " ".join(t.get_text() for t in _texts(figure, "note").values()).replace("\n", " ")  # type: ignore[attr-defined]
    fits = vertical_capacity(ARC_FONT, page.width, MIN_TEXT_SIZE)
    assert title.count("\n") <= 1
    if n <= fits:  # the whole sentence, never narrowed
        assert words == list(range(n))
        assert "tokens" not in title
    else:  # as many words as fit at 6 pt, around the focus, marked and noted
        assert len(words) == fits and words == list(range(words[0], words[0] + fits))
        assert words[0] <= n // 2 < words[-1]
        assert f"tokens {words[0] + 1}–{words[-1] + 1} of {n}" in title
        assert f"holds {fits} words legibly" in notes and "wider preset" in notes
    if preset == "two-column":
        assert words == list(range(n))  # 64 upright words fit two columns


def _upright(figure) -> bool:  # type: ignore[no-untyped-def]
    return all(t.get_rotation() == 90 for t in _texts(figure, "word-").values())  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset", PRESETS)
def test_words_stand_upright_only_when_they_do_not_fit_lying_down(preset: str) -> None:
    short, _, _ = _draw(6, "two-column", 1)
    assert not _upright(short)
    long, _, _ = _draw(40, preset, 2)
    assert _upright(long)
    ys = {round(t.get_position()[1], 6) for t in _texts(long, "word-").values()}  # type: ignore[attr-defined]
    assert len(ys) == 1  # one line: one word axis


def test_the_same_word_has_the_same_x_for_both_models() -> None:
    figure, _, _ = _draw(64, "two-column", 2)
    x = {int(g.split("-")[1]): t.get_position()[0] for g, t in _texts(figure, "word-").items()}  # type: ignore[attr-defined]
    pitch = x[1] - x[0]
    arcs = [p for ax in figure.axes for p in ax.patches]
    found = 0
    for patch in arcs:
        match = re.match(r"^(above-)?att-(?:in-)?arc-(\d+)-(\d+)$", patch.get_gid() or "")
        if not match:
            continue
        a, b = int(match.group(2)), int(match.group(3))
        xs = patch.get_path().vertices[:, 0]
        # Each end leaves from its word's column, above the words and below alike.
        assert abs(xs.min() - min(x[a], x[b])) <= pitch / 2 + 1e-6
        assert abs(xs.max() - max(x[a], x[b])) <= pitch / 2 + 1e-6
        found += 1
    assert found > 2


@pytest.mark.parametrize("models", [1, 2])
def test_attention_to_the_focus_is_drawn_in_the_to_colour(models: int) -> None:
    n = 12
    figure, _, sentences = _draw(n, "two-column", models)
    focus = n // 2
    incoming = {
        p.get_gid(): to_hex(p.get_edgecolor())
        for ax in figure.axes
        for p in ax.patches
        if re.match(r"^(above-)?att-in-arc-", p.get_gid() or "")
    }
    assert incoming and set(incoming.values()) == {to_hex(TO_COLOR)}
    below = "SmolLM2" if models == 2 else "MiniLM"
    layer, head = (0, 1) if models == 2 else (1, 0)
    column = sentences[below].attention[layer, head, :n, focus]
    drawn = {int(g.split("-")[3]) for g in incoming if not g.startswith("above-")}
    expected = {q for q in range(n) if q != focus and column[q] >= 0.02}
    assert drawn == expected  # every word attending to the focus above the threshold
    assert all(g.endswith(f"-{focus}") for g in incoming)  # arrows point at the focus
    notes = " ".join(t.get_text() for t in _texts(figure, "note").values())  # type: ignore[attr-defined]
    assert "orange: to it" in notes and "blue: attention from" in notes
    unfocused, _, _ = _draw(n, "two-column", models, focus=None)
    assert not any("att-in-" in (p.get_gid() or "") for ax in unfocused.axes for p in ax.patches)
    assert np.isfinite(column).all()
