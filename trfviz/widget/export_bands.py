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
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS, WORD_MEASURES, ViewSpec
from trfviz.widget.compose import (
    compact_rows,
    focus_relations,
    panel_matrix,
    short_title,
    single_model,
    view_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Band", "sentence_bands"]

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
    from trfviz.figures.style import get_preset

    n = len(parse.words)

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

    common = {
        "source": spec.focus,
        "threshold": threshold,
        "show_parse": spec.show_parse,
        "show_entities": spec.show_entities,
        "window": window,
        "preset": preset,
        **fit,
    }
    if spec.mode == "difference":  # where the first model attends more
        matrix = np.clip(panels[0][1], 0.0, None)
        return [_measured(plot_attention_arcs, parse, matrix, title=short_title(spec), **common)]
    if not spec.comparing:
        matrix, labels = matrix_of(0)
        title = view_title(single_model(spec, 0))
        if scaled:
            top = float(np.nanmax(np.abs(matrix))) or 1.0
            matrix, title = matrix / top, f"{title} ({share_note(top)})"
        return [
            _measured(
                plot_attention_arcs,
                parse,
                matrix,
                special_labels=labels[n:],
                title=title,
                **common,
            )
        ]
    # Two models on one axis: the first's arcs above the words, the second's below.
    (above, above_labels), (below, below_labels) = matrix_of(0), matrix_of(1)
    names = (short_model_name(spec.models[0]), short_model_name(spec.models[1]))
    own = not spec.shared_range and spec.value_range is None
    if spec.value_range is not None:
        tops: tuple[float, float] = (spec.value_range[1],) * 2
    elif own:
        tops = (ranges[0][1], ranges[1][1])
    elif scaled:  # one scale for both, up to the larger of the two models' values
        top = max(float(np.nanmax(np.abs(m))) for m in (above, below)) or 1.0
        tops = (top, top)
    else:
        tops = (1.0, 1.0)  # weights as they are: one scale for both
    sides = ["above", "below"]
    if scaled:
        sides = [f"{side}, {share_note(top)}" for side, top in zip(sides, tops, strict=True)]
    # In a column the models are named short ("MiniLM L3 Hmean"): a title of fewer
    # lines leaves the arcs more of the page's height.
    narrow = preset is not None and get_preset(preset).width < 5.0
    name = short_title if narrow else view_title
    title = (
        f"{name(single_model(spec, 0))} ({sides[0]}) vs "
        f"{name(single_model(spec, 1))} ({sides[1]}){' (own scales)' if own else ''}"
    )
    return [
        _measured(
            plot_attention_arcs,
            parse,
            below,
            attention_above=above,
            special_labels=below_labels[n:],
            special_labels_above=above_labels[n:],
            band_names=names,
            weight_top=tops,
            title=title,
            **common,
        )
    ]


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
