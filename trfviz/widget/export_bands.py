"""The sentence bands of an exported view, above its heatmaps: arcs, or the compact words.

:func:`sentence_bands` lays out what the widget shows over its token axis, for
:func:`trfviz.widget.export.draw_view` to stack: one model's arcs under the
parse; two models on **one** axis, the first model's arcs above the words and
the second's below, the parse in its own band above them (as the widget's
aligned view); a difference as one band; or, with ``spec.compact``, the
sentence as wrapping text shaded by the attention each word receives
(:func:`trfviz.figures.shaded.shaded_words`), a strip per model on the heatmaps'
scale (one for both models unless each has its own), as the widget shades it.
Each band is measured alone at the preset (its size in inches) and drawn later
into an axes of exactly that size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.palette import head_color
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS, WORD_MEASURES, ViewSpec
from trfviz.widget.compose import (
    attention_of,
    compact_rows,
    focus_relations,
    panel_matrix,
    selected_attention,
    short_title,
    shown_heads,
    single_model,
    view_title,
)
from trfviz.widget.export_arcs import overlay_arcs, overview_rows, recolour

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Band", "note_band", "sentence_bands"]

#: A band: its size drawn alone ``(width, height)`` in inches, and how to draw it into an axes.
Band = tuple[tuple[float, float], Callable[["Axes"], Any]]


def sentence_bands(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    panels: Sequence[tuple[str, np.ndarray, tuple[str, ...]]],
    ranges: Sequence[tuple[float, float]],
    threshold: float,
    window: tuple[int, int] | None,
    preset: str | None,
    max_height: float | None = None,
    leave_out: bool = False,
) -> list[Band]:
    """The bands of ``spec`` over words ``window`` (None: every word), top to bottom.

    ``panels`` are ``(name, matrix, labels)`` as the heatmaps show them and
    ``ranges`` their colour ranges; ``threshold`` is the smallest weight drawn.
    The arcs fit ``max_height`` inches where they can: their levels closer
    together, and with ``leave_out`` the weakest arcs left out (said in the
    note: :func:`~trfviz.figures.plot_attention_arcs`).
    """
    if spec.compact:
        return [_compact_band(spec, parse, sentences, ranges, window, preset)]
    fit = {"max_height": max_height, "leave_out": leave_out}
    return _arc_bands(spec, parse, sentences, panels, ranges, threshold, window, preset, fit)


def _measured(draw: Callable[..., Any], *args: Any, **kwargs: Any) -> Band:
    """``draw`` measured alone at its preset, and a function drawing it into an axes."""
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # too tall: the caller windows it
        alone, _ = draw(*args, **kwargs)
    size = tuple(alone.get_size_inches())
    plt.close(alone)

    def into(ax: Axes) -> Any:
        return draw(*args, **{**kwargs, "ax": ax})

    return (float(size[0]), float(size[1])), into


def _arc_bands(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    panels: Sequence[tuple[str, np.ndarray, tuple[str, ...]]],
    ranges: Sequence[tuple[float, float]],
    threshold: float,
    window: tuple[int, int] | None,
    preset: str | None,
    fit: Mapping[str, Any],
) -> list[Band]:
    from trfviz.figures.arcs import plot_attention_arcs

    n = len(parse.words)
    focus = spec.focus

    def matrix_of(index: int) -> tuple[np.ndarray, tuple[str, ...]]:
        if spec.special_tokens == "keep":  # specials' weights are noted under the arcs
            key = spec.models[index]
            matrix = panel_matrix(spec, sentences, index).astype(float)
            labels: tuple[str, ...] = tuple(sentences[key].labels)
        else:
            matrix, labels = panels[index][1], panels[index][2]
        if spec.measure in WORD_MEASURES:  # no arcs for a per-word measure: parse, entities
            matrix = np.zeros((len(labels), len(labels)))
        return matrix, labels

    # Arcs are drawn on [0, 1]: a measure that is not a distribution (norms, flow) as a
    # share of the largest value shown (both panels', or each its own), and the title says so.
    scaled = spec.measure not in DISTRIBUTIONS and spec.measure not in WORD_MEASURES

    def share_note(top: float) -> str:
        return f"{spec.measure_label} ÷ {top:.3g}"

    common: dict[str, Any] = {
        "source": focus,
        "threshold": threshold,
        "show_parse": spec.show_parse,
        "show_entities": spec.show_entities,
        "window": window,
        "preset": preset,
        **fit,
    }
    if spec.mode == "difference":
        return [_difference_band(spec, parse, panels[0][1], threshold, common)]
    # As on screen, from a focus its attention out (blue) and in (orange); an overlay
    # draws only the focus's row, each arc in its head's colour.
    common["incoming"] = focus is not None
    tops: tuple[float, float] = (1.0, 1.0)
    matrices = [matrix_of(i) for i in range(len(spec.models))]
    if scaled:  # one scale for both, up to the larger of the two models' values
        top = max(float(np.nanmax(np.abs(m))) for m, _ in matrices) or 1.0
        tops = (top, top)
    own = spec.comparing and not spec.shared_range and spec.value_range is None
    if spec.value_range is not None:
        tops = (spec.value_range[1],) * 2
    elif own:
        tops = (ranges[0][1], ranges[1][1])
    # What the widget draws: from a focus its row; without one each word's strongest arc
    # (never to the first word, the attention sink, while the view leaves it out); every
    # head of a layer overlaid in the head's colour.
    sink = 0 if spec.exclude_sink and spec.measure in DISTRIBUTIONS and n > 0 else None
    colours: dict[tuple[bool, int, int], str] = {}
    drawn: list[np.ndarray] = []
    legend: list[tuple[str, list[tuple[str, str]], str]] = []
    for i, (matrix, _) in enumerate(matrices):
        above = spec.comparing and i == 0
        values = matrix / tops[i] if scaled else matrix
        if spec.heads[i] == "all" and spec.measure not in WORD_MEASURES:
            heads = selected_attention(spec, sentences, i)
            key = spec.models[i]
            shown = shown_heads(spec, attention_of(sentences[key], key).shape[1], i)
            chosen, which = overlay_arcs(
                heads / (tops[i] if scaled else 1.0), n, focus, threshold, sink
            )
            for q, k in zip(*np.nonzero(chosen), strict=True):
                colours[(above, int(q), int(k))] = head_color(shown[which[q, k]])
            hidden = [h for h in spec.hidden_heads[i] if h not in shown]
            legend.append(
                (
                    f"{short_model_name(key)}{' (above)' if above else ''}: heads",
                    [(f"h{h}", head_color(h)) for h in shown],
                    f"(hidden: {' '.join(f'h{h}' for h in hidden)})" if hidden else "",
                )
            )
            values = _with_specials(chosen, matrix)
        elif focus is None:
            values = _with_specials(overview_rows(values, n, threshold, sink), matrix)
        drawn.append(values)
    arcs = _recoloured(plot_attention_arcs, colours)
    if not spec.comparing:
        title = view_title(single_model(spec, 0))
        if scaled:
            title = f"{title} ({share_note(tops[0])})"
        band = _measured(
            arcs, parse, drawn[0], special_labels=matrices[0][1][n:], title=title, **common
        )
        return [band] + ([legend_band(legend, preset)] if legend else [])
    # Two models on one axis: the first's arcs above the words, the second's below.
    names = (short_model_name(spec.models[0]), short_model_name(spec.models[1]))
    sides = ["above", "below"]
    if scaled:
        sides = [f"{side}, {share_note(top)}" for side, top in zip(sides, tops, strict=True)]
    title = (
        f"{short_title(single_model(spec, 0))} ({sides[0]}) vs "
        f"{short_title(single_model(spec, 1))} ({sides[1]}){' (own scales)' if own else ''}"
    )
    bands = [
        _measured(
            arcs,
            parse,
            drawn[1],
            attention_above=drawn[0],
            special_labels=matrices[1][1][n:],
            special_labels_above=matrices[0][1][n:],
            band_names=names,
            weight_top=(1.0, 1.0) if scaled else tops,
            title=title,
            **common,
        )
    ]
    return bands + ([legend_band(legend, preset)] if legend else [])


def _with_specials(arcs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``matrix``, its word block replaced by ``arcs`` (the specials' columns kept for the note)."""
    out = np.array(matrix, dtype=float, copy=True)
    n = arcs.shape[0]
    out[:n, :n] = arcs
    return out


def _recoloured(draw: Callable[..., Any], colours: Mapping[tuple[bool, int, int], str]) -> Any:
    """``draw`` (the arcs figure), its arcs then coloured by ``colours`` (their heads)."""

    def drawn(*args: Any, **kwargs: Any) -> Any:
        figure, ax = draw(*args, **kwargs)
        if colours:
            recolour(ax, colours)
        return figure, ax

    return drawn


def _difference_band(
    spec: ViewSpec,
    parse: SentenceParse,
    difference: np.ndarray,
    threshold: float,
    common: Mapping[str, Any],
) -> Band:
    """The signed difference on one axis: where the first model attends more above the words
    in the diverging scale's upper colour, where the second does below in its lower colour."""
    from trfviz.figures.arcs import plot_attention_arcs
    from trfviz.palette import scale_color

    n = len(parse.words)
    values = np.nan_to_num(np.asarray(difference, dtype=float)[:n, :n])
    if spec.focus is None:
        values = overview_rows(values, n, threshold)
    elif spec.focus is not None:
        keep = np.zeros_like(values, dtype=bool)
        keep[spec.focus] = True
        values = np.where(keep & (np.abs(values) >= threshold), values, 0.0)
    top = float(np.abs(values).max()) or 1.0
    names = [short_title(single_model(spec, i)) for i in range(2)]
    title = f"{names[0]} attends more (above) vs {names[1]} (below)"
    return _measured(
        plot_attention_arcs,
        parse,
        np.clip(-values, 0.0, None),
        attention_above=np.clip(values, 0.0, None),
        color=scale_color("diverging", 0.0),
        above_color=scale_color("diverging", 1.0),
        band_names=(short_model_name(spec.models[0]), short_model_name(spec.models[1])),
        weight_top=(top, top),
        title=title,
        **{**common, "threshold": min(threshold, 1.0)},
    )


def legend_band(
    entries: Sequence[tuple[str, Sequence[tuple[str, str]], str]], preset: str | None
) -> Band:
    """The overlay's key: per model ``(name, [(head label, colour)...], after)``, a line each."""
    from trfviz.figures.layout import measure_text
    from trfviz.figures.style import MIN_TEXT_SIZE, get_preset

    page = get_preset(preset or "two-column")
    size = max(page.small_font_size, MIN_TEXT_SIZE)
    room = (page.width - 0.2) * 72
    space = measure_text(" ", size)
    lines: list[list[tuple[str, str]]] = []
    for name, chips, after in entries:
        line: list[tuple[str, str]] = [(name, "#555555")]
        used = measure_text(name, size)
        for text, colour in [*chips, *([(after, "#555555")] if after else [])]:
            width = measure_text(text, size) + space
            if used + width > room:
                lines.append(line)
                line, used = [], 0.0
            line.append((text, colour))
            used += width
        lines.append(line)
    step = size * 1.35
    height = (len(lines) * step + 4) / 72

    def draw(ax: Axes) -> Any:
        ax.set_axis_off()
        for row, line in enumerate(lines):
            x = 7.2
            y = height * 72 - 2 - (row + 0.5) * step
            for text, colour in line:
                ax.annotate(
                    text,
                    (0, 0),
                    xycoords="axes points",
                    xytext=(x, y),
                    textcoords="axes points",
                    fontsize=size,
                    color=colour,
                    va="center",
                    gid="legend",
                    annotation_clip=False,
                )
                x += measure_text(text, size) + space
        return ax

    return (page.width, height), draw


def note_band(text: str, preset: str | None) -> Band:
    """A note under the figure (what was left out, which heads): ``text`` wrapped to the page."""
    from trfviz.figures.layout import wrap_text
    from trfviz.figures.style import MIN_TEXT_SIZE, get_preset

    page = get_preset(preset or "two-column")
    size = max(page.small_font_size, MIN_TEXT_SIZE)
    width = page.width
    lines = wrap_text(text, size, (width - 0.2) * 72)
    height = (lines.count("\n") + 1) * size * 1.35 / 72 + 0.06

    def draw(ax: Axes) -> Any:
        ax.set_axis_off()
        return ax.text(
            0.1 / width,
            0.5,
            lines,
            transform=ax.transAxes,
            fontsize=size,
            va="center",
            ha="left",
            color="#555555",
            gid="view-note",
            parse_math=False,
        )

    return (width, height), draw


def _compact_band(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    ranges: Sequence[tuple[float, float]],
    window: tuple[int, int] | None,
    preset: str | None,
) -> Band:
    from trfviz.figures.heatmap import window_note
    from trfviz.figures.shaded import shaded_range, shaded_words
    from trfviz.figures.style import get_preset

    n = len(parse.words)
    tokens, values = compact_rows(spec, parse, sentences)
    names = [short_model_name(key) for key in spec.models]
    if spec.mode == "difference":
        names = [f"{names[0]} − {names[1]}"]
    scale = spec.scale or "sequential"
    # As on screen: from a focus, the heatmaps' scale; without one, the means' own range.
    value_range: Any = list(ranges)
    if spec.focus is None and spec.value_range is None:
        kind = "diverging" if spec.mode == "difference" or scale == "diverging" else scale
        value_range = (
            shaded_range(values, kind)
            if spec.shared_range or len(values) == 1
            else [shaded_range(row, kind) for row in values]
        )
    focus = spec.focus
    if spec.measure in WORD_MEASURES:
        label = spec.measure_label  # one value per word, whatever the focus
    elif spec.focus is not None:
        focus_word = parse.words[spec.focus]
        label = f"attention received from “{focus_word}”"
    else:
        label = "mean attention received"
    if spec.mode == "difference":
        label = label.replace("attention", "difference in attention")
    notes = focus_relations(parse, spec.focus) if spec.show_parse else [""] * n
    entities = [(e.start, e.end, e.label) for e in parse.entities] if spec.show_entities else []
    first, last = window if window is not None else (0, len(tokens))
    title = view_title(spec) if spec.mode != "difference" else short_title(spec)
    if window is not None:  # only these words, marked as the arcs mark a window
        mark = f"{'…' if first > 0 else ''}{window_note(first, last, n)}{'…' if last < n else ''}"
        title = f"{title} ({mark})"
        tokens, values = tokens[first:last], values[:, first:last]
        notes = notes[first:last]
        entities = [
            (max(s, first) - first, min(e, last) - first, lab)
            for s, e, lab in entities
            if s < last and e > first
        ]
        focus = None if focus is None else focus - first
    notes = list(notes) + [""] * (len(tokens) - len(notes))
    return _measured(
        shaded_words,
        tokens,
        values,
        scale=scale,
        value_range=value_range,
        names=names,
        label=label,
        focus=focus,
        entities=entities,
        notes=notes,
        n_special=len(tokens) - min(n, len(tokens)) if window is None else 0,
        start=first,
        title=title,
        width=get_preset(preset).width if preset is not None else None,
        preset=preset,
    )
