"""Where the cross-attention figure puts things: rows or columns, font, bands, word positions.

Plain geometry in points, no drawing. :func:`layout_cross` tries the largest
text first: words upright side by side at the preset's font, then turned a
quarter at fonts down to 6 pt, then (for sentences too long for the width)
columns, source left and target right, growing down the page; the first that
fits the preset's width and height wins. :func:`spread_ends` parts the
dependency arcs that meet at one word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trfviz.figures.arcs.layout import stack_levels
from trfviz.figures.layout import measure_text
from trfviz.figures.style import MIN_TEXT_SIZE, Preset

__all__ = ["MARGIN", "CrossLayout", "arc_span", "layout_cross", "spread_ends"]

#: Distance between word centres, as a share of the font size, when words are turned.
_PITCH = 1.2
#: Least space between upright words, as a share of the font size.
_UPRIGHT_GAP = 0.8
#: Empty space (points) around the drawing.
MARGIN = 4.0
#: Shortest distance (points) between the two rows the lines run across.
_MIN_BRIDGE = 48.0


@dataclass(frozen=True)
class CrossLayout:
    """Where everything goes, in points: ``u`` runs along the words, ``v`` across the rows."""

    vertical: bool
    turned: bool  # words written across the rows (turned a quarter, or in columns)
    font: float
    small: float
    pitch: float
    width: float
    height: float
    header: float
    step: float
    labels: bool  # relation labels on the arcs (False when the bands are too flat)
    source_u: np.ndarray
    target_u: np.ndarray
    source_base: float  # v where source arcs start (outer edge of the source words)
    source_edge: float  # v where the lines start (inner edge of the source words)
    target_edge: float
    target_base: float

    def xy(self, u: float, v: float) -> tuple[float, float]:
        """Figure coordinates (points, y up from ``-height``) of ``(u, v)``."""
        return (v, -(self.header + u)) if self.vertical else (u, -(self.header + v))


def layout_cross(
    words: tuple[list[str], list[str]],
    arcs: tuple[Sequence, Sequence],
    p: Preset,
    orientation: str,
    show_labels: bool,
    title: str | None,
) -> CrossLayout:
    """The first layout that fits the preset, trying the largest text first.

    Upright words at the preset's font, then words turned a quarter at fonts down
    to 6 pt (the lines between the rows at least :data:`_MIN_BRIDGE` points long),
    then (with ``"auto"``) columns at fonts down to 6 pt; the last tried if none fits.
    """
    n = max(len(words[0]), len(words[1]), 1)
    room = p.width * 72 - 2 * MARGIN
    sizes = [float(f) for f in np.arange(max(p.font_size, MIN_TEXT_SIZE), 5.99, -0.5)]
    widest = max((measure_text(w, 1.0) for w in words[0] + words[1]), default=0.0)
    tries: list[tuple[float, bool, bool]] = []  # (font, vertical, turned)
    if orientation != "vertical":
        if max(_row_length(side, sizes[0]) for side in words) <= room:
            tries.append((sizes[0], False, False))
        tries += [(f, False, True) for f in sizes if n * _PITCH * f <= room]
        if orientation == "horizontal" and not tries:
            tries.append((sizes[-1], False, True))
    if orientation != "horizontal":
        tries += [(f, True, True) for f in sizes]
    layout = None
    for font, vertical, turned in tries:
        layout = _layout_at(words, arcs, p, font, vertical, turned, widest, show_labels, title)
        fits = layout.height <= p.max_height * 72 + 1e-6 and layout.width <= p.width * 72 + 1e-6
        if fits and (vertical or layout.target_edge - layout.source_edge >= _MIN_BRIDGE):
            return layout
    assert layout is not None
    return layout


def _layout_at(
    words: tuple[list[str], list[str]],
    arcs: tuple[Sequence, Sequence],
    p: Preset,
    font: float,
    vertical: bool,
    turned: bool,
    widest: float,
    show_labels: bool,
    title: str | None,
) -> CrossLayout:
    """The layout with words at ``font`` points, in rows or columns, upright or turned."""
    width = p.width * 72
    n = max(len(words[0]), len(words[1]), 1)
    room = width - 2 * MARGIN
    small = max(p.small_font_size, MIN_TEXT_SIZE)
    pitch = _PITCH * font if vertical else min(room / n, 3 * font)
    extent = [max((measure_text(w, font) for w in side), default=0.0) for side in words]
    if not turned:
        extent = [1.25 * font, 1.25 * font]
    step = small * 1.5 if show_labels else font * 0.6
    depth = [max(stack_levels([arc_span(a) for a in side]), default=0) for side in arcs]
    gap = 0.3 * font
    if vertical:  # across is the page's width: flatten the arcs (labels last) to fit it
        free = width - 2 * MARGIN - sum(extent) - 4 * gap - _MIN_BRIDGE
        if sum(depth) * 1.4 * step > free:
            step = max(2.5, free / max(sum(depth) * 1.4, 1))
    labels = show_labels and step >= small * 1.3
    bands = [d * step + (step * 0.4 if d else 0.0) for d in depth]
    header = small * 1.8 + (p.title_size * 1.6 if title else 0.0)
    along = n * pitch + 2 * MARGIN
    if vertical:
        bridge = width - 2 * MARGIN - sum(bands) - sum(extent) - 4 * gap
        bridge = max(bridge, _MIN_BRIDGE)
    else:
        spread = n * pitch if turned else max(_row_length(side, font) for side in words)
        bridge = min(max(0.3 * spread, _MIN_BRIDGE), 140.0)
        across = sum(bands) + sum(extent) + 4 * gap + 2 * MARGIN + header
        bridge = max(_MIN_BRIDGE, min(bridge, p.max_height * 72 - across))
    v = MARGIN + bands[0]
    source_base = v
    source_edge = v + extent[0] + 2 * gap
    target_edge = source_edge + bridge
    target_base = target_edge + 2 * gap + extent[1]
    total = target_base + bands[1] + MARGIN
    if turned:
        start = MARGIN if vertical else width / 2 - n * pitch / 2
        source_u, target_u = (
            start + (n - len(side)) * pitch / 2 + (np.arange(len(side)) + 0.5) * pitch
            for side in words
        )
    else:
        source_u, target_u = (_upright_centres(side, font, room, width) for side in words)
        steps = np.concatenate([np.diff(source_u), np.diff(target_u), [2 * font]])
        pitch = float(steps.min())
    return CrossLayout(
        vertical=vertical,
        turned=turned,
        font=font,
        small=small,
        pitch=pitch,
        width=max(width, total) if vertical else width,
        height=header + (along if vertical else total),
        header=header,
        step=step,
        labels=labels,
        source_u=source_u,
        target_u=target_u,
        source_base=source_base,
        source_edge=source_edge,
        target_edge=target_edge,
        target_base=target_base,
    )


def _row_length(words: Sequence[str], font: float) -> float:
    """Points a row of upright words takes at ``font``, with the least space between them."""
    return sum(measure_text(w, font) for w in words) + _UPRIGHT_GAP * font * (len(words) - 1)


def _upright_centres(words: Sequence[str], font: float, room: float, width: float) -> np.ndarray:
    """``u`` of each upright word's centre: spaced out evenly (up to a limit), row centred."""
    widths = np.array([measure_text(w, font) for w in words])
    gaps = max(len(words) - 1, 1)
    gap = _UPRIGHT_GAP * font + min(max(room - _row_length(words, font), 0) / gaps, 2.5 * font)
    lefts = np.concatenate([[0.0], np.cumsum(widths[:-1] + gap)]) if len(words) else widths
    length = float(widths.sum() + gap * (len(words) - 1)) if len(words) else 0.0
    return width / 2 - length / 2 + lefts + widths / 2


def arc_span(arc: object) -> tuple[int, int]:
    """``(first, last)`` word an arc (anything with ``head`` and ``dependent``) covers."""
    head, dependent = arc.head, arc.dependent  # type: ignore[attr-defined]
    return (min(head, dependent), max(head, dependent))


def spread_ends(
    arcs: Sequence, levels: Sequence[int], us: np.ndarray, half: float
) -> list[tuple[float, float]]:
    """``u`` of each arc's head and dependent end, spread so that arcs meeting at a word part.

    At a word, arcs to the left leave from its left half and arcs to the right
    from its right half, lower arcs further out, so no arc crosses another's stroke.
    """
    sides: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for index, (arc, level) in enumerate(zip(arcs, levels, strict=True)):
        for end, other in ((arc.head, arc.dependent), (arc.dependent, arc.head)):
            sides.setdefault((end, -1 if other < end else 1), []).append((level, index))
    offset: dict[tuple[int, int], float] = {}
    for (word, side), items in sides.items():
        items.sort()
        for rank, (_, index) in enumerate(items):
            fraction = 1.0 - rank / len(items) if len(items) > 1 else 0.6
            offset[(index, word)] = side * half * max(fraction, 0.15)
    return [
        (
            float(us[a.head]) + offset[(i, a.head)],
            float(us[a.dependent]) + offset[(i, a.dependent)],
        )
        for i, a in enumerate(arcs)
    ]
