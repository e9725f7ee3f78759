"""The export is the view (issue 13, items 4 and 5): what the widget shows is what is saved.

Each test would fail on the export before it drew from the widget's rules: the
window is the user's (never narrowed to fit), an unfocused view draws at most
one arc per word and model (the widget's overview), a difference draws both
signs in the diverging scale's colours with its Jensen–Shannon note, an
overlay gives each shown head its colour, the head grid is drawn when shown,
kept special tokens are in the heatmaps with the focus framed, a figure at a
preset is exactly the preset's width, and titles stay on two lines.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

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
from trfviz.palette import head_color, scale_color
from trfviz.widget.export import draw_view, save_view

PRESETS = ("one-column", "two-column")
ARC = re.compile(r"^(above-)?att-arc-(\d+)-(\d+)")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _draw(n: int, preset: str | None = None, **changes: object):  # type: ignore[no-untyped-def]
    parse, sentences = _data(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return draw_view(_spec(n, **changes), parse, sentences, preset=preset)


def _arcs(figure) -> list[tuple[bool, int, int, str]]:  # type: ignore[no-untyped-def]
    """``(above, query, key, colour)`` of every attention arc drawn (one per line piece)."""
    out = []
    for ax in figure.axes:
        for patch in ax.patches:
            found = ARC.match(patch.get_gid() or "")
            if found:
                colour = to_hex(patch.get_edgecolor())
                out.append((bool(found.group(1)), int(found.group(2)), int(found.group(3)), colour))
    return out


def _words(figure) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(
        int(t.get_gid()[5:])
        for ax in figure.axes
        for t in ax.texts
        if re.fullmatch(r"word-\d+", t.get_gid() or "")
    )


def _title(figure) -> str:  # type: ignore[no-untyped-def]
    return next(t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "title")


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("n", [12, 40, 64])
def test_the_exported_window_is_the_users(n: int, preset: str) -> None:
    whole = _draw(n, preset, show_heatmap=True)
    page = get_preset(preset)
    fits = vertical_capacity(9.05, page.width, MIN_TEXT_SIZE)  # upright words at 6 pt
    if n <= fits:
        assert _words(whole) == list(range(n))  # the whole sentence, never a narrowed window
        assert "tokens" not in _title(whole)
    else:  # only where 6 pt words cannot all fit: those around the focus, marked and noted
        shown = _words(whole)
        assert len(shown) == fits and shown[0] <= n // 2 <= shown[-1]
        assert f"tokens {shown[0] + 1}–{shown[-1] + 1} of {n}" in _title(whole).replace("\n", " ")
        notes = " ".join(
            t.get_text() for ax in whole.axes for t in ax.texts if t.get_gid() == "note"
        )
        assert f"holds {fits} words legibly" in notes.replace("\n", " ")
    if preset == "two-column":
        assert _words(whole) == list(range(n))
    if n >= 40:
        zoom = _draw(n, preset, window=(20, 34), focus=25)
        assert _words(zoom) == list(range(20, 34))
        assert f"tokens 21–34 of {n}" in _title(zoom)


@pytest.mark.parametrize("n", [12, 64])
def test_an_unfocused_export_draws_each_words_strongest_arc(n: int) -> None:
    figure = _draw(n, "two-column", focus=None, threshold=0.05)
    arcs = {(above, q, k) for above, q, k, _ in _arcs(figure)}
    for above in (True, False):
        queries = [q for a, q, _ in arcs if a == above]
        assert len(queries) == len(set(queries)) <= n  # at most one arc per word and model
    _, sentences = _data(n)
    strongest = sentences["SmolLM2"].attention[0, 1, :n, :n].copy()  # below: model 2, L0 H1
    np.fill_diagonal(strongest, -1)
    strongest[:, 0] = -1  # the first word, the attention sink, is left out (exclude_sink)
    for _, q, k in [a for a in arcs if not a[0]]:
        assert k == int(strongest[q].argmax())
    note = " ".join(t.get_text() for ax in figure.axes for t in ax.texts)
    assert "the attention sink) left out" in " ".join(note.split())


def test_a_difference_draws_both_signs_in_the_diverging_colours_with_its_divergence() -> None:
    n = 12
    figure = _draw(
        n, "two-column", mode="difference", focus=None, threshold=0.02, show_heatmap=True
    )
    colours = {(above, colour) for above, _, _, colour in _arcs(figure)}
    assert (True, to_hex(scale_color("diverging", 1.0))) in colours  # first model's excess
    assert (False, to_hex(scale_color("diverging", 0.0))) in colours  # second model's
    note = " ".join(t.get_text() for ax in figure.axes for t in ax.texts)
    assert "JS divergence" in note and "[CLS]" in note and "attention sink" in note
    meshes = [c for ax in figure.axes for c in ax.collections if c.get_gid() == "heatmap"]
    values = np.asarray(meshes[0].get_array())
    assert np.nanmin(values) < 0 < np.nanmax(values)  # the signed difference, not one sign
    assert np.isnan(values[:, 0]).all()  # the sink's column: no data, as on screen


def test_an_overlay_gives_each_shown_head_its_colour() -> None:
    n = 12
    figure = _draw(
        n, "two-column", heads=("all", 1), hidden_heads=((1,), ()), focus=n // 2, threshold=0.0
    )
    above = {colour for a, _, _, colour in _arcs(figure) if a}
    assert above <= {to_hex(head_color(0))}  # head 1 hidden: only head 0's colour
    both = _draw(n, "two-column", heads=("all", 1), focus=n // 2, threshold=0.0)
    assert {c for a, _, _, c in _arcs(both) if a} == {to_hex(head_color(h)) for h in (0, 1)}
    legend = [t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "legend"]
    assert "h0" in legend and "(hidden: h1)" in legend


def test_kept_special_tokens_and_the_focus_are_in_the_heatmaps() -> None:
    n = 12
    figure = _draw(n, "two-column", show_heatmap=True, special_tokens="keep")
    figure.canvas.draw()
    labels = [t.get_text() for ax in figure.axes for t in ax.get_xticklabels()]
    assert "[SEP]" in labels  # the first model's specials, as its heatmap on screen
    meshes = [c for ax in figure.axes for c in ax.collections if c.get_gid() == "heatmap"]
    assert np.asarray(meshes[0].get_array()).size == (n + 2) ** 2
    frames = [p.get_gid() for ax in figure.axes for p in ax.patches]
    assert frames.count("focus-row") == 2 and frames.count("focus-column") == 2
    dropped = _draw(n, "two-column", show_heatmap=True, special_tokens="drop")
    meshes = [c for ax in dropped.axes for c in ax.collections if c.get_gid() == "heatmap"]
    assert np.asarray(meshes[0].get_array()).size == n**2


@pytest.mark.parametrize("preset", PRESETS)
def test_a_saved_export_is_exactly_the_presets_width(preset: str, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    n = 12
    parse, sentences = _data(n)
    for changes in ({}, {"show_heatmap": True}, {"mode": "difference", "show_heatmap": True}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            path = save_view(
                _spec(n, **changes), parse, sentences, tmp_path / "v.pdf", preset=preset
            )
        box = pypdf.PdfReader(path).pages[0].mediabox
        assert abs(float(box.width) / 72 - get_preset(preset).width) < 0.01


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("n", [12, 40, 64])
def test_exports_are_legible_and_titles_stay_on_two_lines(n: int, preset: str) -> None:
    for changes in (
        {"show_heatmap": True},
        {"mode": "difference"},
        {"heads": ("all", "all"), "focus": None},
    ):
        figure = _draw(n, preset, **changes)
        assert min_text_size(figure) >= MIN_TEXT_SIZE - 1e-6
        assert _title(figure).count("\n") <= 1
        problems = [p for p in legibility_problems(figure) if "overlap" in p]
        assert not problems, problems[:3]
        plt.close(figure)


def test_the_difference_export_leaves_rows_with_nothing_to_compare_blank() -> None:
    """A causal model's first word has no weight left once the sink is left out: NaN, grey."""
    from trfviz.palette import NO_DATA_COLOR, colormap
    from trfviz.widget.compare import compare_rows

    a = np.full((3, 3), 1 / 3)
    b = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]])  # causal: row 0 all on the sink
    compared = compare_rows(a, b, ["The", "old", "man"], exclude_sink=True)
    difference = compared.difference
    assert np.isnan(difference[0]).all()  # nothing of b's first row is left to compare
    assert np.isnan(difference[:, 0]).all()  # the sink's column is left out
    assert np.isfinite(difference[1:, 1:]).all()
    np.testing.assert_allclose(np.nansum(compared.a[1:], axis=1), 1.0)
    import matplotlib.colors as mcolors

    assert mcolors.to_hex(colormap("diverging").get_bad()) == NO_DATA_COLOR


def test_the_unfocused_overview_never_ends_on_the_sink_while_it_is_left_out() -> None:
    from trfviz.widget.export_arcs import overlay_arcs, overview_rows

    causal = np.array([[1.0, 0, 0, 0], [0.7, 0.3, 0, 0], [0.6, 0.3, 0.1, 0], [0.5, 0.1, 0.3, 0.1]])
    kept = overview_rows(causal, 4, 0.05)
    assert set(np.nonzero(kept)[1]) == {0}  # every strongest arc goes to the sink
    left_out = overview_rows(causal, 4, 0.05, sink=0)
    assert not left_out[:, 0].any()
    assert left_out[2, 1] == 0.3 and left_out[3, 2] == 0.3  # the strongest among the rest
    chosen, _ = overlay_arcs(np.stack([causal, causal]), 4, None, 0.05, sink=0)
    assert not chosen[:, 0].any()
