"""Draw the explorer's current view for export: a :class:`~trfviz.view.ViewSpec` to a figure.

The widget describes what it shows as a :class:`~trfviz.view.ViewSpec`; this
module turns that spec and the sentence's plain data (its parse and each model's
:class:`~trfviz.extraction.SentenceExtraction`) into the view at full precision
(:func:`compose_view`) and into a matplotlib figure drawn with
:mod:`trfviz.figures` (:func:`draw_view`, :func:`save_view`). Nothing here
depends on the widget's traits, so any caller with a spec can export a view.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.view import HeadSpec, LayerSpec, ViewSpec
from trfviz.widget.compare import compare_rows
from trfviz.widget.payload import HeadChoice, LayerChoice, select_attention

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ExplorerView",
    "ViewPanel",
    "compose_view",
    "draw_view",
    "head_choice",
    "head_spec",
    "layer_choice",
    "layer_spec",
    "save_view",
    "view_file_name",
    "view_title",
]


@dataclass(frozen=True)
class ViewPanel:
    """One panel of the explorer's current view, at full precision.

    Attributes:
        model: the model key (``"A - B"`` for a difference of A and B).
        kind: ``"attention"``, ``"heads"`` (all heads of a layer; ``attention``
            is their mean) or ``"difference"`` (first model minus second).
        layer: the layer shown (an index or ``"mean"``).
        head: the head shown (an index, ``"mean"`` or ``"all"``).
        labels: the labels of both attention axes, ``n`` of them.
        attention: float32 ``[query, key]`` (``n`` by ``n``).
        heads: float32 ``[head, query, key]`` for ``kind == "heads"``, else None.
    """

    model: str
    kind: Literal["attention", "heads", "difference"]
    layer: LayerChoice
    head: HeadChoice
    labels: tuple[str, ...]
    attention: np.ndarray
    heads: np.ndarray | None = None


@dataclass(frozen=True)
class ExplorerView:
    """What the explorer shows right now: the sentence, its parse and the panels.

    Attributes:
        sentence: index of the sentence shown.
        parse: its words, arcs and entities.
        panels: one per model side by side, or one difference panel.
        mode: ``"side"`` or ``"difference"``.
        focus: the selected token (sentence index) or None.
        threshold: the weight under which attention lines are hidden.
    """

    sentence: int
    parse: SentenceParse
    panels: tuple[ViewPanel, ...]
    mode: Literal["side", "difference"]
    focus: int | None
    threshold: float


def layer_spec(layer: LayerChoice) -> LayerSpec:
    """The widget's layer choice as a :class:`ViewSpec` layer (``"mean"`` → None)."""
    return None if layer == "mean" else int(layer)


def head_spec(head: HeadChoice) -> HeadSpec:
    """The widget's head choice as a :class:`ViewSpec` head (``"mean"`` → None)."""
    return None if head == "mean" else "all" if head == "all" else int(head)


def layer_choice(layer: LayerSpec) -> LayerChoice:
    """A :class:`ViewSpec` layer in the widget's words (None → ``"mean"``)."""
    return "mean" if layer is None else layer


def head_choice(head: HeadSpec) -> HeadChoice:
    """A :class:`ViewSpec` head in the widget's words (None → ``"mean"``)."""
    return "mean" if head is None else head


def _attention(sentence: SentenceExtraction, key: str) -> np.ndarray:
    if sentence.attention is None:
        raise ValueError(f"{key} has no attention; extract with attention=True to draw it")
    return sentence.attention


def _selected(spec: ViewSpec, sentences: Mapping[str, SentenceExtraction], i: int) -> np.ndarray:
    key = spec.models[i]
    return select_attention(
        _attention(sentences[key], key),
        layer_choice(spec.layers[i]),
        head_choice(spec.heads[i]),
    )


def _matrix(spec: ViewSpec, sentences: Mapping[str, SentenceExtraction], i: int) -> np.ndarray:
    selected = _selected(spec, sentences, i)
    return selected.mean(axis=0) if selected.ndim == 3 else selected


def _compared(
    spec: ViewSpec, parse: SentenceParse, sentences: Mapping[str, SentenceExtraction]
) -> tuple[np.ndarray, np.ndarray]:
    """Both models' ``[word, word]`` rows over the same words, renormalised (as on screen)."""
    specials = [label for key in spec.models for label in sentences[key].special_labels]
    compared = compare_rows(
        _matrix(spec, sentences, 0),
        _matrix(spec, sentences, 1),
        parse.words,
        specials=specials,
        exclude_sink=spec.exclude_sink,
    )
    return compared.a.astype(np.float32), compared.b.astype(np.float32)


def compose_view(
    spec: ViewSpec, parse: SentenceParse, sentences: Mapping[str, SentenceExtraction]
) -> ExplorerView:
    """The view ``spec`` describes, at full precision, from the sentence's data.

    A difference compares both models over the same words, rows renormalised
    (:func:`trfviz.widget.compare.compare_rows`), as the widget shows it.

    Args:
        spec: what to show.
        parse: the parse of sentence ``spec.sentence``.
        sentences: that sentence's extraction for each model key in ``spec.models``.
    """
    choices = [(layer_choice(la), head_choice(h)) for _, la, h in spec.per_model]
    panels: list[ViewPanel] = []
    if spec.mode == "difference":
        a, b = _compared(spec, parse, sentences)
        a_key, b_key = spec.models
        layer, head = choices[0]
        panels.append(
            ViewPanel(f"{a_key} - {b_key}", "difference", layer, head, parse.words, a - b)
        )
        mode: Literal["side", "difference"] = "difference"
    else:
        for i, key in enumerate(spec.models):
            layer, head = choices[i]
            selected = _selected(spec, sentences, i)
            labels = sentences[key].labels
            if selected.ndim == 3:
                panels.append(
                    ViewPanel(key, "heads", layer, head, labels, selected.mean(0), selected)
                )
            else:
                panels.append(ViewPanel(key, "attention", layer, head, labels, selected))
        mode = "side"
    return ExplorerView(spec.sentence, parse, tuple(panels), mode, spec.focus, spec.threshold)


def view_file_name(spec: ViewSpec) -> str:
    """A file name saying what ``spec`` shows (``attention-s0-MiniLM-L3-Hmean.pdf``)."""
    parts = [
        f"{short_model_name(key)}-L{layer_choice(la)}-H{head_choice(h)}"
        for key, la, h in spec.per_model
    ]
    suffix = "-diff" if spec.mode == "difference" else ""
    return f"attention-s{spec.sentence}-{'-vs-'.join(parts)}{suffix}.pdf"


def view_title(spec: ViewSpec) -> str:
    """The figure title for ``spec``: each model with its layer and head."""

    def part(key: str, layer: LayerSpec, head: HeadSpec) -> str:
        layer_text = "layer mean" if layer is None else f"layer {layer}"
        head_text = (
            "head mean" if head is None else "all heads" if head == "all" else f"head {head}"
        )
        return f"{short_model_name(key)} {layer_text}, {head_text}"

    return " vs ".join(part(*entry) for entry in spec.per_model)


def draw_view(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    *,
    scores: Mapping[str, np.ndarray] | None = None,
    preset: str | None = None,
) -> Figure:
    """A matplotlib Figure of ``spec``, drawn with :mod:`trfviz.figures`.

    Two models give their comparison (side by side or the difference); all
    heads of a layer give a grid of the heads (framed by ``scores[model]``, a
    ``[layer, head]`` array, when given); one head (or a mean) gives the
    sentence with its parse and the attention arcs, over the heatmap while
    ``spec.show_heatmap``.
    """
    from trfviz.figures import (
        plot_attention_arcs,
        plot_attention_heatmap,
        plot_head_grid,
        plot_model_comparison,
    )

    view = compose_view(spec, parse, sentences)
    n = len(parse.words)
    title = view_title(spec)
    if spec.comparing:
        pair = (
            _compared(spec, parse, sentences)
            if spec.mode == "difference"
            else (_matrix(spec, sentences, 0)[:n, :n], _matrix(spec, sentences, 1)[:n, :n])
        )
        figure, _ = plot_model_comparison(
            *pair,
            parse.words,
            names=(short_model_name(spec.models[0]), short_model_name(spec.models[1])),
            mode="difference" if spec.mode == "difference" else "side_by_side",
            title=title,
            preset=preset,
        )
        return figure
    panel = view.panels[0]
    n_special = len(panel.labels) - n
    if panel.heads is not None:
        # Every head of the layer, framed by the caller's head scores when given.
        key = spec.models[0]
        whole = isinstance(panel.layer, int)
        figure, _ = plot_head_grid(
            _attention(sentences[key], key) if whole else panel.heads[None],
            panel.labels,
            scores=(scores or {}).get(key) if whole else None,
            layers=[int(panel.layer)] if whole else None,
            scale="head",
            title=title,
            preset=preset,
        )
        return figure
    special_labels = panel.labels[n:]
    # Without a source token only strong weights are drawn, or every arc would show.
    threshold = view.threshold if view.focus is not None else max(view.threshold, 0.25)

    def draw_arcs(ax: Axes | None = None) -> Figure:
        figure, _ = plot_attention_arcs(
            parse,
            panel.attention,
            source=view.focus,
            threshold=threshold,
            show_parse=spec.show_parse,
            show_entities=spec.show_entities,
            special_labels=special_labels,
            ax=ax,
            preset=preset,
        )
        return figure

    if not spec.show_heatmap:
        return draw_arcs()
    # The sentence over its heatmap, as in the widget: size each at its own layout first.
    import matplotlib.pyplot as plt

    alone = draw_arcs()
    heat, _ = plot_attention_heatmap(
        panel.attention, panel.labels, n_special=n_special, preset=preset
    )
    (w1, h1), (w2, h2) = alone.get_size_inches(), heat.get_size_inches()
    plt.close(alone)
    plt.close(heat)
    figure = plt.figure(figsize=(max(w1, w2), h1 + h2), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=[h1, h2])  # type: ignore[misc]
    top.suptitle(title)
    draw_arcs(top.subplots())
    plot_attention_heatmap(
        panel.attention, panel.labels, n_special=n_special, ax=bottom.subplots(), preset=preset
    )
    return figure


def save_view(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    path: str | os.PathLike[str] | None = None,
    *,
    scores: Mapping[str, np.ndarray] | None = None,
    preset: str = "two-column",
) -> Path:
    """The path ``spec``'s figure was saved to (PDF, SVG, PNG or PGF, by the suffix).

    Without a path the file goes to ``trfviz-output/`` named by :func:`view_file_name`.
    """
    import matplotlib.pyplot as plt

    from trfviz.figures import save_figure

    target = Path(path) if path is not None else Path("trfviz-output") / view_file_name(spec)
    figure = draw_view(spec, parse, sentences, scores=scores, preset=preset)
    try:
        return Path(save_figure(figure, target, preset=preset))
    finally:
        plt.close(figure)
