"""Draw the explorer's current view for export: a :class:`~trfviz.view.ViewSpec` to a figure.

The widget describes what it shows as a :class:`~trfviz.view.ViewSpec`; this
module draws that spec and the sentence's plain data (its parse and each model's
:class:`~trfviz.extraction.SentenceExtraction`) as a matplotlib figure with
:mod:`trfviz.figures` (:func:`draw_view`, :func:`save_view`), from the view at
full precision (:mod:`trfviz.widget.compose`, whose names are re-exported here).
Nothing here depends on the widget's traits, so any caller with a spec can export
a view; :func:`figure_view` reads the spec back from the figure.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS, WORD_MEASURES, ViewSpec
from trfviz.widget.compose import (
    ExplorerView,
    ViewPanel,
    comparison_of,
    compose_view,
    difference_note,
    head_choice,
    head_spec,
    layer_choice,
    layer_spec,
    shown_matrix,
    view_file_name,
    view_title,
)
from trfviz.widget.export_bands import note_band, sentence_bands
from trfviz.widget.export_lens import lens_parts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from trfviz.measures.logit_lens import SentenceLogitLens

__all__ = [
    "ExplorerView",
    "ViewPanel",
    "compose_view",
    "draw_view",
    "figure_view",
    "head_choice",
    "head_spec",
    "layer_choice",
    "layer_spec",
    "save_view",
    "shown_matrix",
    "view_file_name",
    "view_title",
]


#: The shortest the heatmaps are squeezed to, in inches, to leave the arcs their height.
_SMALLEST_HEATMAP = 1.2

#: Attribute of an exported figure holding the :class:`ViewSpec` it was drawn from.
VIEW_ATTR = "_trfviz_view"


def figure_view(figure: Figure) -> ViewSpec | None:
    """The :class:`ViewSpec` an exported ``figure`` was drawn from, or None."""
    return getattr(figure, VIEW_ATTR, None)


def _colour_range(spec: ViewSpec, matrices: list[np.ndarray]) -> list[tuple[float, float]]:
    """Per panel ``(low, high)``: the spec's range, or one shared range, or each panel's own."""
    if spec.value_range is not None:
        return [spec.value_range] * len(matrices)
    if spec.scale == "diverging":  # a difference, or a signed measure: symmetric about 0
        tops = [float(np.nanmax(np.abs(m))) or 1e-9 for m in matrices]
        if spec.shared_range:
            return [(-max(tops), max(tops))] * len(matrices)
        return [(-top, top) for top in tops]
    tops = [float(np.nanmax(m)) or 1e-9 for m in matrices]
    if spec.shared_range:
        return [(0.0, max(tops))] * len(matrices)
    return [(0.0, top) for top in tops]


def _window(spec: ViewSpec, n: int) -> tuple[int, int]:
    """The words ``spec.window`` draws (all ``n`` without one), widened to hold the focus."""
    low, high = spec.window if spec.window is not None else (0, n)
    low, high = min(low, n - 1), min(high, n)
    if spec.focus is not None:
        low, high = min(low, spec.focus), max(high, spec.focus + 1)
    return low, high


def draw_view(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    *,
    scores: Mapping[str, np.ndarray] | None = None,
    preset: str | None = None,
    lenses: Mapping[str, SentenceLogitLens] | None = None,
) -> Figure:
    """A matplotlib Figure of ``spec``, drawn with :mod:`trfviz.figures`; it carries ``spec``.

    The figure is the view on screen, stacked top to bottom: the sentence with
    the parse and entity bands (``spec.show_parse``, ``spec.show_entities``)
    and the attention arcs as the widget draws them (from the focus
    ``spec.focus``; without one each word's strongest arc; all heads of a layer
    overlaid, each in its head's colour, but ``spec.hidden_heads``) — two
    models on one word axis, the first's arcs above the words and the second's
    below, the parse in its own band above; a difference as its two signs, the
    first model's excess above and the second's below in the diverging scale's
    colours, with the Jensen–Shannon divergence and what was left out in a
    note (:mod:`trfviz.widget.export_bands`) — or, with ``spec.compact``, the
    sentence as wrapping text, each word shaded by the attention it receives
    (a strip per model); then, while ``spec.show_heatmap``, the heatmaps side
    by side or the difference, the focus's row (from) and column (to) framed;
    then, while ``spec.show_grid``, each model's head grid filled with
    ``spec.grid_score`` (:mod:`trfviz.widget.export_grid`). Colours are the
    palette's ``spec.scale``; two models share one colour range unless
    ``spec.shared_range`` is False (the panels then say so), and
    ``spec.special_tokens == "drop"`` leaves special tokens out and
    renormalises each row over the words. ``spec.measure`` other than
    attention is drawn from each sentence's ``attention`` (holding that
    measure, :func:`trfviz.widget.measures.as_extraction`), its colour bar named
    after it; a per-word measure (attributions) is one heatmap row per model.
    The arcs show ``spec.window`` (the zoom on screen, widened to hold the
    focus; all words without one), marked in the title, never narrowed while
    its words fit upright at 6 pt (past that, only the words around the focus
    that do, marked and noted: :func:`~trfviz.figures.plot_attention_arcs`): at a
    ``preset`` the figure is the preset's width, words too wide for one line
    stand upright on one line, the arcs squeeze their levels, the heatmaps give
    up height (down to what their colour bar needs), then the weakest arcs are
    left out (said in the note), and a figure that still passes the preset's
    ``max_height`` says so in a note.
    With ``spec.logit_lens`` the logit-lens table of each model shown that has
    one in ``lenses`` comes last (:mod:`trfviz.widget.export_lens`).
    :func:`figure_view` reads the spec back from the figure.
    """
    import matplotlib.pyplot as plt

    from trfviz.figures.heatmap import heatmap_size
    from trfviz.figures.layout import mark_preset, measure_text
    from trfviz.figures.style import get_preset, paper_style
    from trfviz.palette import colormap
    from trfviz.widget.export_grid import draw_grids, grid_height, grid_scores
    from trfviz.widget.export_heatmaps import draw_heatmaps

    view = compose_view(spec, parse, sentences)
    n = len(parse.words)
    count = len(spec.models)
    shown = [shown_matrix(spec, sentences, i, n) for i in range(count)]
    names = [short_model_name(key) for key in spec.models]
    notes: list[str] = []
    if spec.mode == "difference":
        # The honest difference, as on screen: both rows over the same words, specials
        # (and by default the first-token sink) left out, renormalised.
        compared = comparison_of(spec, parse, sentences)
        panels = [(f"{names[0]} − {names[1]}", compared.difference, tuple(parse.words))]
        notes.append(difference_note(compared, parse, spec.focus))
    else:
        panels = [(name, m, labels) for name, (m, labels) in zip(names, shown, strict=True)]
        if spec.focus is None and spec.exclude_sink and spec.measure in DISTRIBUTIONS and n:
            notes.append(  # as the widget's caption says it (js/aligned.js)
                f"Overview: each word's strongest arc; arcs to “{parse.words[0]}” (the first "
                "word, the attention sink) left out."
            )
    words = spec.measure in WORD_MEASURES  # one value per word: every row is that vector
    if words:
        panels = [(name, m[:1], labels) for name, m, labels in panels]
    ranges = _colour_range(spec, [m for _, m, _ in panels])
    cmap = colormap(spec.scale or "sequential")
    page = get_preset(preset) if preset is not None else None
    grids = grid_scores(spec, parse, sentences, scores) if spec.show_grid else []

    with paper_style(preset):
        heat_size = None
        if spec.show_heatmap:
            rows = list(panels[0][2])
            # Under the arcs the heatmaps get at most 45 % of the page's height.
            heat_page = get_preset(preset or "two-column")
            heat_page = dataclasses.replace(heat_page, max_height=heat_page.max_height * 0.45)
            heat_size = heatmap_size(
                [panels[0][0]] if words else rows,
                rows,
                8.0,
                heat_page,
                True,
                None,
                panels=len(panels),
            )
        grid_h = grid_height(grids, preset) if grids else 0.0
        lens = lens_parts(spec, lenses, preset)
        lens_h = sum(h for _, h, _ in lens)
        # The arcs get what the heatmaps, grids and logit lens leave of the page's height:
        # their levels squeeze (no arc is left out: the arcs are the view). The window is
        # the user's (the whole sentence without a zoom): never narrowed to fit.
        room = (
            max(page.max_height - (heat_size[3] if heat_size else 0.0) - grid_h - lens_h, 1.0)
            if page is not None
            else None
        )
        # The compact view shows every word, as on screen (the zoom is the arcs').
        first, last = (0, n) if spec.compact else _window(spec, n)
        window = None if (first, last) == (0, n) else (first, last)
        bands = sentence_bands(
            spec, parse, sentences, panels, ranges, view.threshold, window, preset, room, False
        )
        if notes:
            bands.append(note_band(" ".join(notes), preset))
        heights = [h for (_, h), _ in bands]
        if heat_size is not None:
            heights.append(heat_size[3])
        if grids:
            heights.append(grid_h)
        heights += [h for _, h, _ in lens]
        over = sum(heights) - page.max_height if page is not None else 0.0
        if heat_size is not None and over > 0.01:
            # The arcs are the view: the heatmaps give up height first, down to a floor
            # that still holds their colour bar's label.
            label = spec.measure_label
            label = f"difference in {label}" if spec.mode == "difference" else label
            floor = max(_SMALLEST_HEATMAP, measure_text(label, max(heat_size[0], 6.0)) / 72 + 0.6)
            if heat_size[3] - floor > 0.01:
                heat_size = heatmap_size(
                    [panels[0][0]] if words else rows,
                    rows,
                    8.0,
                    dataclasses.replace(heat_page, max_height=max(heat_size[3] - over, floor)),
                    True,
                    None,
                    panels=len(panels),
                )
                heights[len(bands)] = heat_size[3]
                over = sum(heights) - page.max_height if page is not None else 0.0
        target = heights[0] - over  # the arcs give up what is still over
        if room is not None and over > 0.01 and target >= 1.0:
            # The notes and legends under the arcs take room too: lay the arcs out once more.
            arcs = sentence_bands(
                spec,
                parse,
                sentences,
                panels,
                ranges,
                view.threshold,
                window,
                preset,
                target,
                True,
            )
            bands = arcs + bands[len(arcs) :] if len(arcs) <= len(bands) else bands
            heights = [h for (_, h), _ in bands] + heights[len(bands) :]
        if page is not None and sum(heights) > page.max_height + 0.01:
            text = (
                f"At {page.name!r} this view is {sum(heights) + 0.3:.1f} in tall, more than "
                f"the preset's {page.max_height:g} in: zoom in on part of the sentence, "
                "or hide the heatmap, to fit it."
            )
            bands.append(note_band(text, preset))
            heights.insert(len(bands) - 1, bands[-1][0][1])
        width = max(
            [w for (w, _), _ in bands]
            + ([heat_size[2]] if heat_size else [])
            + [w for w, _, _ in lens]
        )
        width = page.width if page is not None else width
        figure = plt.figure(figsize=(width, sum(heights)), layout="constrained")
        mark_preset(figure, preset)
        parts = figure.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
        top = sum(heights)
        for (w, h), draw in bands:
            # Bands are laid out in points: an axes of exactly their size, outside the layout
            # (placed on the figure: a subfigure is smaller by the layout's padding).
            top -= h
            w = min(w, width)
            draw(
                figure.add_axes(
                    ((1 - w / width) / 2, top / sum(heights), w / width, h / sum(heights))
                )
            )
        rest = list(parts[len(bands) :])
        if heat_size is not None:
            draw_heatmaps(rest.pop(0), spec, panels, ranges, cmap, heat_size, n, words, spec.focus)
        if grids:
            draw_grids(rest.pop(0), grids, preset)
        for part, (_, _, draw_lens) in zip(rest, lens, strict=True):
            draw_lens(part)
    setattr(figure, VIEW_ATTR, spec)
    return figure


def save_view(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    path: str | os.PathLike[str] | None = None,
    *,
    scores: Mapping[str, np.ndarray] | None = None,
    preset: str = "two-column",
    lenses: Mapping[str, SentenceLogitLens] | None = None,
) -> Path:
    """The path ``spec``'s figure was saved to (PDF, SVG, PNG or PGF, by the suffix).

    Without a path the file goes to ``trfviz-output/`` named by :func:`view_file_name`.
    """
    import matplotlib.pyplot as plt

    from trfviz.figures import save_figure

    target = Path(path) if path is not None else Path("trfviz-output") / view_file_name(spec)
    figure = draw_view(spec, parse, sentences, scores=scores, preset=preset, lenses=lenses)
    try:
        return Path(save_figure(figure, target, preset=preset))
    finally:
        plt.close(figure)
