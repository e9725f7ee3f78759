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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.view import WORD_MEASURES, ViewSpec
from trfviz.widget.compose import (
    ExplorerView,
    ViewPanel,
    attention_of,
    compared_rows,
    compose_view,
    head_choice,
    head_spec,
    layer_choice,
    layer_spec,
    shown_heads,
    shown_matrix,
    view_file_name,
    view_title,
)
from trfviz.widget.export_bands import Band, sentence_bands
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


#: The fewest words a window narrowed to fit the page keeps (the focus and a neighbour each side).
FEWEST_WORDS = 3


def _fit_window(
    lay_out: Callable[..., list[Band]],
    bands: list[Band],
    shown: tuple[int, int],
    focus: int | None,
    room: float,
) -> list[Band]:
    """``bands`` (of words ``shown``), or of the widest window around ``focus`` within ``room``.

    The arcs squeeze their levels first (``lay_out``); a window narrows the
    words until they fit, down to :data:`FEWEST_WORDS`; only then are the
    weakest arcs left out (``lay_out(window, True)``, the note says so).
    """
    first, last = shown

    def height(found: list[Band]) -> float:
        return sum(h for (_, h), _ in found)

    def window(size: int) -> tuple[int, int]:
        centre = focus if focus is not None else first + size // 2
        start = min(max(centre - size // 2, first), last - size)
        return start, start + size

    if height(bands) <= room:
        return bands
    wide, size = last - first, last - first  # ``wide`` words are too many
    while size > FEWEST_WORDS:
        size = max(FEWEST_WORDS, int(size * 0.75))
        found = lay_out(window(size))
        if height(found) <= room:
            while wide - size > 1:  # the widest window that fits, between the two
                middle = (wide + size) // 2
                trial = lay_out(window(middle))
                size, wide, found = (
                    (middle, wide, trial) if height(trial) <= room else (size, middle, found)
                )
            return found
        wide = size
    return lay_out(window(size), True)


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
    and the attention arcs from the focus (``spec.focus``; without one only
    strong weights, as on screen) — two models on one word axis, the first's
    arcs above the words and the second's below, the parse in its own band
    above (:mod:`trfviz.widget.export_bands`) — or, with ``spec.compact``, the
    sentence as wrapping text, each word shaded by the attention it receives
    (a strip per model); then, while ``spec.show_heatmap``, the heatmaps side
    by side or the difference. Colours are the palette's
    ``spec.scale``; two models share one colour range unless
    ``spec.shared_range`` is False (the panels then say so), and
    ``spec.special_tokens == "drop"`` leaves special tokens out and
    renormalises each row over the words. ``spec.measure`` other than
    attention is drawn from each sentence's ``attention`` (holding that
    measure, :func:`trfviz.widget.measures.as_extraction`), its colour bar named
    after it; the arcs of a non-distribution (norms, flow) are its share of
    the largest value shown, the titles saying by what they were divided; a
    per-word measure (attributions) is one heatmap row per model on a scale
    symmetric about 0, under the parse with no attention arcs.
    All heads of a layer (one model)
    give a grid of the heads (all but ``spec.hidden_heads``), framed by
    ``scores[model]`` when given. The arcs show ``spec.window`` (the zoom on
    screen, widened to hold the focus); at a ``preset``, arcs that would make
    the figure taller than the preset's ``max_height`` are windowed further
    around the focus. A window is marked in the panel titles; the heatmaps
    keep every token.
    With ``spec.logit_lens`` the logit-lens table of each model shown that has
    one in ``lenses`` comes last (:mod:`trfviz.widget.export_lens`).
    :func:`figure_view` reads the spec back from the figure.
    """
    import matplotlib.pyplot as plt

    from trfviz.figures import plot_head_grid
    from trfviz.figures.heatmap import draw_heatmap, heatmap_size
    from trfviz.figures.layout import keep_vector, mark_preset
    from trfviz.figures.style import MIN_TEXT_SIZE, get_preset, paper_style
    from trfviz.palette import colormap

    view = compose_view(spec, parse, sentences)
    n = len(parse.words)
    title = view_title(spec)
    if not spec.comparing and view.panels[0].heads is not None and not spec.compact:
        if spec.logit_lens is not None:
            raise ValueError(
                "a grid of every head cannot be exported with the logit-lens panel; choose "
                "one head (or the mean) or hide the logit lens to export the grid"
            )
        panel = view.panels[0]
        key = spec.models[0]
        whole = isinstance(panel.layer, int)
        attention = attention_of(sentences[key], key)
        figure, _ = plot_head_grid(
            attention if whole else panel.heads[None],  # type: ignore[index]
            panel.labels,
            scores=(scores or {}).get(key) if whole else None,
            layers=[int(panel.layer)] if whole else None,
            heads=shown_heads(spec, attention.shape[1]) if whole else None,
            cmap=colormap(spec.scale or "sequential"),
            title=title,
            preset=preset,
        )
        setattr(figure, VIEW_ATTR, spec)
        return figure

    count = len(spec.models)
    shown = [shown_matrix(spec, sentences, i, n) for i in range(count)]
    names = [short_model_name(key) for key in spec.models]
    if spec.mode == "difference":
        # The honest difference, as on screen: both rows over the same words, specials
        # (and by default the first-token sink) left out, renormalised.
        a, b = compared_rows(spec, parse, sentences)
        panels = [(f"{names[0]} − {names[1]}", (a - b).astype(float), tuple(parse.words))]
    else:
        panels = [(name, m, labels) for name, (m, labels) in zip(names, shown, strict=True)]
    words = spec.measure in WORD_MEASURES  # one value per word: every row is that vector
    if words:
        panels = [(name, m[:1], labels) for name, m, labels in panels]
    ranges = _colour_range(spec, [m for _, m, _ in panels])
    cmap = colormap(spec.scale or "sequential")
    # Without a focus only strong weights are drawn, as on screen, or every arc would show.
    threshold = view.threshold if view.focus is not None else max(view.threshold, 0.25)

    with paper_style(preset):
        heat_size = None
        if spec.show_heatmap:
            rows = list(panels[0][2])
            # Under the arcs the heatmaps get at most 45 % of the page's height, so a
            # short sentence's arcs are not windowed to make room for them.
            page = get_preset(preset or "two-column")
            page = dataclasses.replace(page, max_height=page.max_height * 0.45)
            heat_size = heatmap_size(
                [panels[0][0]] if words else rows, rows, 8.0, page, True, None, panels=len(panels)
            )

        # The arcs get what the heatmaps and the logit lens leave of the page's height: their
        # levels squeeze, then the weakest arcs are left out (said in the note), then the words
        # are windowed.
        lens = lens_parts(spec, lenses, preset)
        room = (
            get_preset(preset).max_height
            - (heat_size[3] if heat_size else 0.0)
            - sum(h for _, h, _ in lens)
            if preset is not None
            else None
        )

        def lay_out(window: tuple[int, int] | None, leave_out: bool = False) -> list[Band]:
            return sentence_bands(
                spec, parse, sentences, panels, ranges, threshold, window, preset, room, leave_out
            )

        # The zoom window on screen (widened to hold the focus), marked "…tokens 21–40 of
        # 64…"; at a paper preset a window too tall for the page is narrowed around the
        # focus. The heatmaps below keep every token.
        # The compact view shows every word, as on screen (the zoom is the arcs').
        first, last = (0, n) if spec.compact else _window(spec, n)
        bands = lay_out(None if (first, last) == (0, n) else (first, last))
        if room is not None:
            bands = _fit_window(lay_out, bands, (first, last), view.focus, room)
        width = max(
            [w for (w, _), _ in bands]
            + ([heat_size[2]] if heat_size else [])
            + [w for w, _, _ in lens]
        )
        heights = [h for (_, h), _ in bands] + ([heat_size[3]] if heat_size else [])
        heights += [h for _, h, _ in lens]
        figure = plt.figure(figsize=(width, sum(heights)), layout="constrained")
        mark_preset(figure, preset)
        parts = figure.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
        top = sum(heights)
        for (w, h), draw in bands:
            # Bands are laid out in points: an axes of exactly their size, outside the layout
            # (placed on the figure: a subfigure is smaller by the layout's padding).
            top -= h
            draw(
                figure.add_axes(
                    ((1 - w / width) / 2, top / sum(heights), w / width, h / sum(heights))
                )
            )
        for part, (_, _, draw_lens) in zip(parts[len(parts) - len(lens) :], lens, strict=True):
            draw_lens(part)
        if heat_size is not None:
            heat_part = parts[len(bands)]
            label_size, cell, _, _ = heat_size
            axes = heat_part.subplots(1, len(panels), squeeze=False)[0]
            images = []
            for index, ((name, matrix, labels), ax, (low, high)) in enumerate(
                zip(panels, axes, ranges, strict=True)
            ):
                n_special = len(labels) - n
                images.append(
                    draw_heatmap(
                        ax,
                        matrix,
                        [name] if words else list(labels),
                        list(labels),
                        label_size=label_size,
                        cell=cell,
                        cmap=cmap,
                        vmin=low,
                        vmax=high,
                        special_rows=[i >= n for i in range(len(labels))]
                        if n_special and not words
                        else (),
                        special_cols=[i >= n for i in range(len(labels))] if n_special else (),
                        ylabel="query" if index == 0 and not words else "",
                    )
                )
                if spec.comparing:
                    own = "" if spec.shared_range or spec.value_range else " (own scale)"
                    ax.set_title(name + own, fontsize=max(label_size, MIN_TEXT_SIZE))
            shared = len(set(ranges)) == 1
            groups = [list(axes)] if shared else [[ax] for ax in axes]
            for image, group in zip(images, groups, strict=False):
                bar = heat_part.colorbar(image, ax=group, fraction=0.05, pad=0.02, shrink=0.8)
                keep_vector(bar)
                bar.ax.tick_params(labelsize=max(label_size, MIN_TEXT_SIZE))
                if spec.measure != "attention":  # say what the colours are
                    bar.set_label(spec.measure_label, fontsize=max(label_size, MIN_TEXT_SIZE))
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
