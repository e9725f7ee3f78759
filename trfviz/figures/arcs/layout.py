"""Where the arcs figure puts things: word positions, line breaks, arc levels and ends.

Plain geometry in points, no drawing: :func:`layout_scene` measures every word
and label (with ``measure``, matplotlib's text width by default), widens the
gaps until labels fit, breaks the sentence into balanced lines and stacks the
arcs of each line at distinct heights (:func:`stack_levels`);
:func:`arc_ends` spreads the arcs that meet at one word so that none crosses
another's vertical stroke.

>>> stack_levels([(0, 1), (1, 2), (0, 2), (2, 3)])
[1, 1, 2, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from trfviz.figures.arcs.vertical import (
    DEEPEST_WORD,
    SHALLOWEST_WORD,
    VerticalColumns,
    upright_depth,
    vertical_columns,
    vertical_margin,
)
from trfviz.figures.layout import measure_text

__all__ = [
    "ATT_STEP_FLOOR",
    "DEP_STEP_FLOOR",
    "SMALLEST_TEXT_SHARE",
    "ArcLayout",
    "ArcLine",
    "ArcScene",
    "DrawnArc",
    "Measure",
    "arc_ends",
    "layout_scene",
    "stack_levels",
]

#: Width in points of ``(text, size, weight)``.
Measure = Callable[[str, float, str], float]


@dataclass(frozen=True)
class DrawnArc:
    """One arc to draw: token positions ``a`` (start) and ``b`` (arrow end), in a line.

    ``color``: its own colour (attention *to* the focus), else the figure's.
    """

    a: int
    b: int
    label: str
    gid: str
    weight: float = 1.0
    color: str | None = None

    @property
    def span(self) -> tuple[int, int]:
        """``(first, last)`` token the arc covers."""
        return (min(self.a, self.b), max(self.a, self.b))


@dataclass(frozen=True)
class ArcScene:
    """What the figure shows: words, tags, arcs and entities of tokens ``window``.

    ``has_title`` and ``title_lines`` reserve room above the first line for a title.
    ``above_arcs``: a second model's attention, drawn above the words on the same
    axis, with the parse lifted into its own band above them. ``note_lines``:
    lines of note under the last line (default: one with a ``source``).
    """

    words: Sequence[str]
    tags: Sequence[str]
    dep_arcs: Sequence[DrawnArc]
    att_arcs: Sequence[DrawnArc]
    entities: Sequence[tuple[int, int, str]]
    window: tuple[int, int]
    source: int | None
    show_weights: bool
    has_title: bool = False
    title_lines: int = 1
    above_arcs: Sequence[DrawnArc] = ()
    note_lines: int | None = None


@dataclass(frozen=True)
class ArcLine:
    """Tokens ``start:end`` drawn on one line with its word centre at height ``y``."""

    start: int
    end: int
    y: float
    x: np.ndarray  # x centre of each token of the line, in points
    left: float  # where arcs to tokens before the line end
    right: float  # where arcs to tokens after the line end
    dep_levels: dict[str, int]
    att_levels: dict[str, int]
    above_levels: Mapping[str, int] = field(default_factory=dict)  # arcs above the words
    dep_lift: float = 0.0  # how far the parse band sits above ``dep_base`` (room for them)

    def x_of(self, token: int) -> float:
        """x of ``token``'s centre; the line's edge for a token on another line."""
        if token < self.start:
            return self.left
        if token >= self.end:
            return self.right
        return float(self.x[token - self.start])


#: Closest level spacing, in small fonts: a label (a small font high, or 0.85 of one for
#: weights) clears the label of the level below it.
DEP_STEP_FLOOR = 1.3
ATT_STEP_FLOOR = 1.15

#: The smallest text of an arc figure (attention weights) as a share of the word font.
SMALLEST_TEXT_SHARE = 0.78 * 0.85


@dataclass(frozen=True)
class ArcLayout:
    """Sizes and positions of the whole figure, in points (y grows upwards from 0 at the top)."""

    font: float
    small: float
    width: float
    height: float
    margin: float
    widths: np.ndarray  # width of each word, points
    lines: tuple[ArcLine, ...]
    dep_step: float
    att_step: float
    dep_base: float  # height above a word's centre where dependency arcs start
    block_bottom: float  # depth below a word's centre where the token block ends
    att_base: float  # depth below a word's centre where attention arcs start
    squeeze: float = 1.0  # the level spacing as a share of the natural one (max_height)
    columns: VerticalColumns | None = None  # words upright on one line (too wide to lie flat)

    @property
    def word_font(self) -> float:
        """The size the words are written at (smaller than ``font`` when upright)."""
        return self.columns.font if self.columns is not None else self.font


def stack_levels(spans: Sequence[tuple[int, int]]) -> list[int]:
    """Height level (1, 2, …) of each arc so that no two arcs that overlap share one.

    Short arcs go low: an arc sits one level above every shorter (or earlier)
    arc whose open span overlaps its own; arcs meeting only at a word share levels.

    >>> stack_levels([(0, 1), (1, 2), (0, 2), (2, 3)])
    [1, 1, 2, 1]
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][1] - spans[i][0], spans[i]))
    levels = [0] * len(spans)
    placed: list[int] = []
    for i in order:
        lo, hi = spans[i]
        level = 1
        for j in placed:
            lo2, hi2 = spans[j]
            if lo2 < hi and hi2 > lo:
                level = max(level, levels[j] + 1)
        levels[i] = level
        placed.append(i)
    return levels


def line_levels(arcs: Sequence[DrawnArc], lo: int, hi: int) -> dict[str, int]:
    """Levels of the arcs with at least one end in tokens ``lo:hi`` (others clipped)."""
    shown = [a for a in arcs if a.a != a.b and (lo <= a.a < hi or lo <= a.b < hi)]
    spans = [(max(a.span[0], lo - 1), min(a.span[1], hi)) for a in shown]
    return dict(zip([a.gid for a in shown], stack_levels(spans), strict=True))


def _gaps(
    scene: ArcScene,
    widths: np.ndarray,
    font: float,
    room: Mapping[str, float],
    labelled: Sequence[DrawnArc],
    measure: Measure,
) -> np.ndarray:
    """Distance between neighbouring word centres: words, entity labels and arc labels fit."""
    small = font * 0.78
    gaps = (
        np.maximum((widths[:-1] + widths[1:]) / 2 + font * 0.9, font * 2.2)
        if len(widths) > 1
        else np.zeros(0)
    )
    # An entity label (under its first word) must fit before the next entity.
    for s, e, label in scene.entities:
        need = measure(label, small * 0.85, "bold") + small
        if e < len(scene.words):
            have = gaps[s:e].sum() + (widths[s] - widths[e - 1]) / 2
            if have < need:
                gaps[s:e] += (need - have) / (e - s)
    # A short arc's label must fit on its flat top.
    for arc in sorted(labelled, key=lambda a: a.span[1] - a.span[0]):
        lo, hi = arc.span
        if hi == lo:
            continue
        have = gaps[lo:hi].sum()
        if have < room[arc.gid] + font * 0.8:
            gaps[lo:hi] += (room[arc.gid] + font * 0.8 - have) / (hi - lo)
    return gaps


def layout_scene(
    scene: ArcScene,
    font: float,
    wrap: float | None,
    measure: Measure = measure_text,
    *,
    max_height: float | None = None,
    upright: bool | None = None,
    deepest: float | None = None,
    shorten: bool = True,
) -> ArcLayout:
    """Positions of words and lines at ``font`` points, lines at most ``wrap`` inches wide.

    Words that do not fit on one line ``wrap`` inches wide are written upright
    (rotated 90°) on one line instead, a column each
    (:func:`~trfviz.figures.arcs.vertical.vertical_columns`; ``upright``
    True or False forces the choice), rather than broken into lines. Upright
    words reach at most ``deepest`` word fonts down their column (default
    :data:`~trfviz.figures.arcs.vertical.DEEPEST_WORD`); past ``max_height``,
    once the levels are squeezed, long words are shortened further (to
    :data:`~trfviz.figures.arcs.vertical.SHALLOWEST_WORD`) until the figure
    fits, unless ``shorten`` is False.

    Arc levels are drawn at a natural spacing; past ``max_height`` points the
    spacing shrinks until the figure fits, but never below the floors that keep
    labels of neighbouring levels apart (:data:`DEP_STEP_FLOOR`,
    :data:`ATT_STEP_FLOOR`), so the layout can stay taller than asked
    (``ArcLayout.squeeze`` is the share of the natural spacing kept).
    """
    small = font * 0.78
    start, end = scene.window
    widths = np.array([measure(w, font, "normal") for w in scene.words])
    if scene.source is not None:
        widths[scene.source] = measure(scene.words[scene.source], font, "bold")
    if scene.tags:
        widths = np.maximum(widths, np.array([measure(t, small, "normal") for t in scene.tags]))
    sizes = [(a, small) for a in scene.dep_arcs]
    if scene.show_weights:
        sizes += [(a, small * 0.85) for a in (*scene.att_arcs, *scene.above_arcs)]
    room = {arc.gid: measure(arc.label, size, "normal") + size * 1.6 for arc, size in sizes}
    arcs = [a for a, _ in sizes]
    x_all = np.concatenate([[0.0], np.cumsum(_gaps(scene, widths, font, room, arcs, measure))])
    margin = font * 1.2

    columns: VerticalColumns | None = None

    def pads(lo: int, hi: int) -> tuple[float, float]:
        """Room for the labels of arcs leaving tokens ``lo:hi`` to the left and right.

        A label sits on its arc's run from the edge to its word: half of the run
        over the line's own words counts (the rest leaves room for the bend).
        """
        left = right = 0.0
        if columns is not None:  # upright words: labels that do not fit are left off
            return left, right
        for arc in arcs:
            first, last = arc.span
            if first < lo <= last < hi:
                left = max(left, room[arc.gid] - (x_all[last] - x_all[lo]) / 2)
            if lo <= first < hi <= last:
                right = max(right, room[arc.gid] - (x_all[hi - 1] - x_all[first]) / 2)
        return left, right

    def content(lo: int, hi: int) -> float:
        return float(x_all[hi - 1] - x_all[lo] + (widths[lo] + widths[hi - 1]) / 2)

    if wrap and upright is not False:
        one_line = content(start, end) + sum(pads(start, end)) + 2 * margin
        if upright or one_line > wrap * 72:
            depth_cap = DEEPEST_WORD if deepest is None else deepest
            columns = vertical_columns(
                scene.words[start:end], font, wrap * 72, measure, deepest=depth_cap
            )
            margin = vertical_margin(font)
            widths = np.full(len(scene.words), columns.pitch)
            x_all = np.arange(len(scene.words)) * columns.pitch

    # Break into lines at word boundaries, leaving room for open arcs' labels,
    # not inside an entity where avoidable, and with lines of balanced width.
    inside_entity = np.zeros(len(scene.words) + 1, dtype=bool)
    for s, e, _ in scene.entities:
        inside_entity[s + 1 : e] = True

    def wrap_at(limit: float) -> list[int]:
        breaks = [start]
        for i in range(start + 1, end):
            left, right = pads(breaks[-1], i + 1)
            if content(breaks[-1], i + 1) + left + right + 2 * margin > limit:
                cut = i
                while inside_entity[cut] and cut - 1 > breaks[-1]:
                    cut -= 1
                breaks.append(cut if not inside_entity[cut] else i)
        return breaks

    breaks = [start]
    if wrap and columns is None:
        breaks = wrap_at(wrap * 72)
        low, high = wrap * 72 / 2, wrap * 72
        for _ in range(12):  # narrowest width that needs no more lines
            middle = (low + high) / 2
            if len(wrap_at(middle)) <= len(breaks):
                high = middle
            else:
                low = middle
        breaks = wrap_at(high)

    # Levels: the natural spacing, squeezed (never below the floors) to fit ``max_height``.
    natural = (small * 1.75, small * (1.55 if scene.show_weights else 1.0))
    floors = (small * DEP_STEP_FLOOR, small * (ATT_STEP_FLOOR if scene.show_weights else 0.6))
    dep_base = font * 0.85
    block_bottom = -font * 0.45 - (small * 1.25 if scene.tags else 0.0)
    if scene.entities:
        block_bottom -= small * 1.7  # the entity label sits under the word, clear of its descent
    if columns is not None:  # the words hang from the line, the tag and entity under them
        dep_base = small * 0.45
        block_bottom = -upright_depth(
            columns, scene.tags, scene.entities, scene.window, small, measure
        )
    att_base = block_bottom - font * 0.35
    spans = list(zip(breaks, [*breaks[1:], end], strict=True))
    levels = [
        tuple(
            line_levels(arcs, lo, hi) for arcs in (scene.dep_arcs, scene.att_arcs, scene.above_arcs)
        )
        for lo, hi in spans
    ]

    def stack(squeeze: float) -> tuple[list[ArcLine], float, float, float, float]:
        """``(lines, width, height, dep_step, att_step)`` with levels ``squeeze`` apart."""
        dep_step, att_step = (max(n * squeeze, f) for n, f in zip(natural, floors, strict=True))
        lines: list[ArcLine] = []
        y = 0.0
        line_width = 0.0
        for (lo, hi), (dep_levels, att_levels, above_levels) in zip(spans, levels, strict=True):
            lift = 0.0
            if scene.above_arcs:  # the first model's band, then the parse's band above it
                lift = max(above_levels.values(), default=0) * att_step + small * 1.2
                if scene.source is not None and scene.source in range(lo, hi):
                    lift += small * 0.6  # room for the self-attention dot
            above = dep_base + lift + max(dep_levels.values(), default=0) * dep_step + small * 0.9
            below = -att_base + max(att_levels.values(), default=0) * att_step
            if scene.att_arcs and scene.source is not None and scene.source in range(lo, hi):
                below += small * 0.6  # room for the self-attention dot
            lines_below = scene.title_lines - 1  # a wrapped title: 1.4 fonts a line after the first
            title_pad = font * (1.6 + 1.4 * lines_below)
            top_pad = (title_pad if scene.has_title else font * 0.4) if not lines else font * 0.6
            y -= top_pad + above
            left, right = pads(lo, hi)
            x = x_all[lo:hi] + margin + left + widths[lo] / 2 - x_all[lo]
            right_edge = x[-1] + widths[hi - 1] / 2 + right + margin * 0.75
            line_width = max(line_width, right_edge + margin * 0.25)
            edges = (margin * 0.25, right_edge)
            lines.append(ArcLine(lo, hi, y, x, *edges, dep_levels, att_levels, above_levels, lift))
            y -= below
        notes = scene.note_lines if scene.note_lines is not None else int(scene.source is not None)
        height = -y + font * 0.6 + (small * 1.35 * notes + small * 0.6 if notes else 0.0)
        return lines, line_width, height, dep_step, att_step

    squeeze = 1.0
    lines, line_width, height, dep_step, att_step = stack(squeeze)
    if max_height is not None and height > max_height:
        low, high = 0.0, 1.0  # the height grows with the spacing: the widest that fits
        for _ in range(20):
            middle = (low + high) / 2
            low, high = (middle, high) if stack(middle)[2] <= max_height else (low, middle)
        squeeze = low
        lines, line_width, height, dep_step, att_step = stack(squeeze)
        if shorten and columns is not None and height > max_height and depth_cap > SHALLOWEST_WORD:
            # Still too tall: long upright words are shortened, a word font at a time.
            shallower = max(depth_cap - 1.0, SHALLOWEST_WORD)
            return layout_scene(
                scene, font, wrap, measure, max_height=max_height, upright=True, deepest=shallower
            )
    return ArcLayout(
        font=font,
        small=small,
        width=float(line_width),
        height=float(height),
        margin=margin,
        widths=widths,
        lines=tuple(lines),
        dep_step=dep_step,
        att_step=att_step,
        dep_base=dep_base,
        block_bottom=block_bottom,
        att_base=att_base,
        squeeze=min(dep_step / natural[0], att_step / natural[1]),
        columns=columns,
    )


def arc_ends(
    arcs: Sequence[DrawnArc], levels: Mapping[str, int], layout: ArcLayout, line: ArcLine
) -> dict[str, tuple[float, float]]:
    """x of both ends of each arc on ``line``, spreading the arcs that meet at one word.

    At a word, arcs to the left leave from its left half and arcs to the
    right from its right half; higher arcs leave nearer the centre, so an
    arc never crosses another's vertical stroke.
    """
    sides: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for arc in arcs:
        for end, other in ((arc.a, arc.b), (arc.b, arc.a)):
            if line.start <= end < line.end:
                side = -1 if other < end else 1
                sides.setdefault((end, side), []).append((levels[arc.gid], arc.gid))
    offsets: dict[tuple[str, int], float] = {}
    for (token, side), items in sides.items():
        # Within the word's column (upright words: never into the next word's).
        if layout.columns is None:
            half = max(layout.widths[token] / 2, layout.font * 0.5) * 0.85
        else:
            half = min(layout.widths[token] / 2, layout.columns.font * 0.5) * 0.85
        items.sort()  # low arcs outermost
        count = len(items)
        for rank, (_, gid) in enumerate(items):
            # rank 0 is the lowest arc: furthest from the centre.
            fraction = 1.0 - rank / count if count > 1 else 0.6
            offsets[(gid, token)] = side * half * max(fraction, 0.15)
    return {
        arc.gid: (
            line.x_of(arc.a) + offsets.get((arc.gid, arc.a), 0.0),
            line.x_of(arc.b) + offsets.get((arc.gid, arc.b), 0.0),
        )
        for arc in arcs
    }
