"""Reads a drawn matplotlib figure back: every text drawn, its size in points and its box.

The figure is drawn once with a renderer that records each text as it is drawn
(so only text that is really on the page counts: tick labels outside the view
or switched off are not), then the text's extent from the renderer is checked:
size at least ``min_size`` points, inside the figure, no two texts overlapping,
no title over an axes or colour bar.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DrawnText:
    """One text drawn: the artist, its text, its size in points and its box in pixels."""

    artist: Any
    text: str
    size: float
    box: Any  # matplotlib Bbox in display pixels


def drawn_texts(fig: Any) -> list[DrawnText]:
    """Every non-empty text ``fig`` draws, with its size in points and its window extent."""
    fig.canvas.draw()  # lays out (constrained layout runs on draw)
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    seen: list[tuple[Any, float]] = []
    drawing: list[Any] = []  # the Text being drawn (a multi-line text passes no mtext)
    original, text_draw = renderer.draw_text, Text.draw

    def record(gc: Any, x: float, y: float, s: str, prop: Any, angle: float, *a: Any, **k: Any):
        mtext = k.get("mtext", a[1] if len(a) > 1 else None) or (drawing[-1] if drawing else None)
        if s.strip() and mtext is not None:
            seen.append((mtext, float(prop.get_size_in_points())))
        return original(gc, x, y, s, prop, angle, *a, **k)

    def draw_text(self: Any, *args: Any, **kwargs: Any) -> Any:
        drawing.append(self)
        try:
            return text_draw(self, *args, **kwargs)
        finally:
            drawing.pop()

    renderer.draw_text = record
    Text.draw = draw_text  # type: ignore[method-assign]
    try:
        fig.draw(renderer)
    finally:
        del renderer.draw_text
        Text.draw = text_draw  # type: ignore[method-assign]
    out, done = [], set()
    for artist, size in seen:
        if id(artist) in done:
            continue
        done.add(id(artist))
        out.append(DrawnText(artist, artist.get_text(), size, artist.get_window_extent(renderer)))
    return out


def _overlap(a: Any, b: Any, slack: float) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > slack and min(a.y1, b.y1) - max(a.y0, b.y0) > slack


def legibility_problems(fig: Any, *, min_size: float = 6.0) -> list[str]:
    """What makes ``fig`` illegible on paper; empty when every text is readable and placed."""
    texts = drawn_texts(fig)
    problems: list[str] = []
    px = fig.dpi / 72  # pixels per point
    figure_box = fig.bbox
    for t in texts:
        if t.size < min_size - 1e-6:
            problems.append(f"{t.text!r} is {t.size:.2f} pt")
        b = t.box
        if (
            b.x0 < figure_box.x0 - px
            or b.y0 < figure_box.y0 - px
            or b.x1 > figure_box.x1 + px
            or b.y1 > figure_box.y1 + px
        ):
            problems.append(
                f"{t.text!r} is clipped: {np.round(b.extents)} outside {figure_box.extents}"
            )
    for a, b in itertools.combinations(texts, 2):
        if _overlap(a.box, b.box, slack=0.5 * px):
            problems.append(f"{a.text!r} overlaps {b.text!r}")
    renderer = fig.canvas.get_renderer()
    for t in texts:
        is_title = t.artist is getattr(fig, "_suptitle", None) or any(
            t.artist is ax.title for ax in fig.axes
        )
        if not is_title:
            continue
        for ax in fig.axes:
            box = ax.get_window_extent(renderer)
            if ax.axison and ax.patch.get_visible() and _overlap(t.box, box, slack=0.5 * px):
                problems.append(f"title {t.text!r} overlaps an axes")
    return problems


def min_text_size(fig: Any) -> float:
    """The smallest text drawn in ``fig``, in points."""
    return min(t.size for t in drawn_texts(fig))
