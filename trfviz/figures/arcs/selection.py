"""Which attention arcs are drawn: above a threshold, and few enough to fit a height.

:func:`select_attention_arcs` picks the weights worth an arc (from one source
token, or every pair above a threshold); :func:`fit_height` lays a scene out
within a height, first squeezing the arc levels (:func:`~.layout.layout_scene`)
and, if that is not enough, leaving out the weakest attention arcs — the
smallest weight kept is returned, for the figure's note to say so.

>>> [a.gid for a in select_attention_arcs(np.eye(3) * 0.5, source=1)]
['att-arc-1-1']
>>> format_weight(0.25)
'.25'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from trfviz.figures.arcs.layout import ArcLayout, ArcScene, DrawnArc, Measure, layout_scene
from trfviz.figures.layout import measure_text

__all__ = [
    "ALL_THRESHOLD",
    "SOURCE_THRESHOLD",
    "fit_height",
    "fit_note",
    "format_weight",
    "select_attention_arcs",
    "select_incoming_arcs",
]

#: Default thresholds: weights shown from one source token, and between all tokens.
SOURCE_THRESHOLD = 0.05
ALL_THRESHOLD = 0.25


def format_weight(weight: float) -> str:
    """A weight as an arc label: two decimals, no leading zero below 1 (``.25``)."""
    return f"{weight:.2f}".removeprefix("0") if 0 <= weight < 1 else f"{weight:.2f}"


def select_attention_arcs(
    attention: np.ndarray,
    *,
    source: int | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
) -> list[DrawnArc]:
    """The attention arcs to draw: ``(query → key, weight)`` above the threshold, largest first.

    With a ``source``, only its row; self-attention is kept (drawn as a dot).
    """
    cut = (
        threshold
        if threshold is not None
        else (SOURCE_THRESHOLD if source is not None else ALL_THRESHOLD)
    )
    if source is not None:
        pairs = [(source, k, float(attention[source, k])) for k in range(attention.shape[1])]
    else:
        pairs = [(q, k, float(w)) for (q, k), w in np.ndenumerate(attention)]
    pairs = [p for p in pairs if np.isfinite(p[2]) and p[2] >= cut]
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    if top_k is not None:
        pairs = pairs[:top_k]
    return [DrawnArc(q, k, format_weight(w), f"att-arc-{q}-{k}", w) for q, k, w in pairs]


def select_incoming_arcs(
    attention: np.ndarray,
    source: int,
    *,
    threshold: float | None = None,
    top_k: int | None = None,
    color: str | None = None,
) -> list[DrawnArc]:
    """The attention *to* ``source`` from every other word above the threshold, largest first.

    Arcs run from the attending word to the source (gid ``"att-in-arc-5-2"``), in ``color``.
    """
    cut = threshold if threshold is not None else SOURCE_THRESHOLD
    pairs = [(q, float(attention[q, source])) for q in range(attention.shape[0]) if q != source]
    pairs = [p for p in pairs if np.isfinite(p[1]) and p[1] >= cut]
    pairs.sort(key=lambda p: (-p[1], p[0]))
    if top_k is not None:
        pairs = pairs[:top_k]
    return [
        DrawnArc(q, source, format_weight(w), f"att-in-arc-{q}-{source}", w, color)
        for q, w in pairs
    ]


def fit_height(
    scene: ArcScene,
    font: float,
    wrap: float | None,
    max_height: float,
    weights: Mapping[str, float],
    measure: Measure = measure_text,
) -> tuple[ArcScene, ArcLayout, float | None]:
    """``(scene, layout, cut)``: ``scene`` laid out within ``max_height`` points if it can be.

    The arc levels are squeezed first; if the layout is still too tall, the
    weakest attention arcs (by ``weights``, gid → weight as labelled, the same
    cut for both models) are left out, as few as make it fit, and ``cut`` is
    the largest weight left out (the scene gains a note line to say so).
    Dependency arcs are never left out. If no cut makes it fit, or none is
    needed, the scene is kept whole and ``cut`` is None.
    """
    layout = layout_scene(scene, font, wrap, measure, max_height=max_height)
    arcs = [*scene.att_arcs, *scene.above_arcs]
    levels = sorted({weights[a.gid] for a in arcs if a.a != a.b})  # dots take no level
    if layout.height <= max_height or not levels:
        return scene, layout, None
    notes = scene.note_lines if scene.note_lines is not None else int(scene.source is not None)

    def cut_at(index: int) -> tuple[ArcScene, ArcLayout, float | None]:
        """Weights up to ``levels[index]`` left out (the last index: every arc but dots)."""
        cut = levels[index]
        trimmed = dataclasses.replace(
            scene,
            att_arcs=[a for a in scene.att_arcs if weights[a.gid] > cut],
            above_arcs=[a for a in scene.above_arcs if weights[a.gid] > cut],
            note_lines=notes + 1,
        )
        return trimmed, layout_scene(trimmed, font, wrap, measure, max_height=max_height), cut

    low, high = 0, len(levels) - 1  # fewer arcs, fewer levels: the fewest left out that fit
    if cut_at(high)[1].height > max_height:
        return scene, layout, None
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if cut_at(middle)[1].height <= max_height else (middle + 1, high)
    return cut_at(low)


def fit_note(cut: float, width: float, size: float) -> str:
    """The note saying which weights were left out to fit, as long as fits ``width`` points."""
    mark = format_weight(cut)
    for text in (
        f"attention ≤ {mark} not drawn, to fit the height",
        f"attention ≤ {mark} not drawn",
        f"≤ {mark} not drawn",
    ):
        if measure_text(text, size) <= width:
            return text
    return f"≤ {mark}"
