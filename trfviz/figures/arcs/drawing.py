"""Attention read against the parse: the sentence on one line, arcs above and below.

Dependency arcs are drawn above the words with their labels (displaCy's look),
attention arcs below them, their width and opacity growing with the weight,
and named entities as coloured spans with their label (displaCy's colours).

Geometry is laid out in points from the measured width of every word and
label, so labels never overlap words and arcs never cut through a word: an arc
leaves a word vertically and nested or crossing arcs are stacked at distinct
heights. A sentence wider than ``wrap`` inches is broken into several lines
at word boundaries; an arc between two lines is drawn on each line as an open
arc running to the line's edge. ``window=(start, end)`` instead shows only
those tokens, with arcs to tokens outside it drawn open the same way.

Every artist has a ``gid`` (``"word-3"``, ``"dep-arc-1-0"``, ``"dep-label-1-0"``,
``"att-arc-2-5"``, ``"entity-0-2"``, ``"entity-label-0-2"``) so that SVG output
can be styled or checked and tests can read the figure back.

Example
-------
>>> import numpy as np
>>> from trfviz.parse import Arc, SentenceParse
>>> parse = SentenceParse(words=("Anna", "saw", "Bob"), tags=("", "", ""),
...                       arcs=(Arc(1, 0, "nsubj"), Arc(1, 2, "obj")), entities=())
>>> fig, ax = plot_attention_arcs(parse, np.eye(3), source=1)
>>> sorted(a.get_gid() for a in ax.patches if a.get_gid().startswith("dep-arc"))
['dep-arc-1-0', 'dep-arc-1-2']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trfviz.figures.export import RIGID_ATTR
from trfviz.figures.heatmap import check_window
from trfviz.figures.layout import displayable, measure_text, new_figure
from trfviz.figures.style import (
    ATTENTION_COLOR,
    DEPENDENCY_COLOR,
    Preset,
    entity_color,
    get_preset,
    paper_style,
)
from trfviz.parse import SentenceParse
from trfviz.validation import check_index, check_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_attention_arcs", "select_attention_arcs", "stack_levels"]

#: Default thresholds: weights shown from one source token, and between all tokens.
SOURCE_THRESHOLD = 0.05
ALL_THRESHOLD = 0.25


@dataclass(frozen=True)
class _Arc:
    """One arc to draw: token positions ``a`` (start) and ``b`` (arrow end), in a line."""

    a: int
    b: int
    label: str
    gid: str
    weight: float = 1.0

    @property
    def span(self) -> tuple[int, int]:
        return (min(self.a, self.b), max(self.a, self.b))


def plot_attention_arcs(
    parse: SentenceParse,
    attention: np.ndarray,
    *,
    source: int | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    show_parse: bool = True,
    show_entities: bool = True,
    show_tags: bool = False,
    show_weights: bool | None = None,
    special_labels: Sequence[str] = (),
    window: tuple[int, int] | None = None,
    wrap: float | None = None,
    title: str | None = None,
    entity_colors: Mapping[str, str] | None = None,
    color: str = ATTENTION_COLOR,
    ax: Axes | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: the sentence with its parse above and attention arcs below.

    Args:
        parse: the sentence's words, dependency arcs and entities.
        attention: float ``[query, key]`` over at least ``len(parse.words)``
            tokens; columns past the words (special pseudo-tokens) are not drawn
            as arcs, but with a ``source`` their total weight is written below.
        source: draw the attention *from* this token (index in the sentence) to
            every token; without it, draw every query→key weight above the threshold.
        threshold: smallest weight drawn (default 0.05 with a source, else 0.25).
        top_k: draw at most this many of the largest weights.
        show_parse: draw the dependency arcs and labels above the words.
        show_entities: draw named entities as coloured spans with their labels.
        show_tags: write each word's fine-grained tag under it.
        show_weights: write the weight on each attention arc (default: with a source).
        special_labels: names of the columns past the words (``["[CLS]", "[SEP]"]``).
        window: ``(start, end)``: draw only tokens ``start:end``; arcs to tokens
            outside it run open to the edge.
        wrap: break the sentence into lines at most this many inches wide
            (default: the preset's width; no wrapping without a preset).
        title: text above the figure.
        entity_colors: colours overriding displaCy's for some labels.
        color: colour of the attention arcs.
        ax: draw into these axes; the drawing is scaled down to fit them.
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Arrows point at the dependent (parse) and at the key (attention).
    Self-attention of a token is drawn as a dot under it, sized by weight.
    """
    if not isinstance(parse, SentenceParse):
        raise TypeError(
            "parse must be a trfviz.SentenceParse (trfviz.parse_sentence(span) or "
            f"trfviz.parse_doc(doc)[i]); got {type(parse).__name__}"
        )
    words = [displayable(w) for w in parse.words]
    n = len(words)
    matrix = np.asarray(attention, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] < n or matrix.shape[1] < n:
        raise ValueError(f"attention has shape {matrix.shape}; the parse has {n} words")
    if source is not None:
        source = check_index("source", source, n)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold {threshold}: an attention weight is between 0 and 1")
    check_int("top_k", top_k, minimum=1, allow_none=True)
    start, end = check_window(window, n) if window is not None else (0, n)
    if source is not None and not start <= source < end:
        raise ValueError(f"source {source} is outside the window {window}")
    att_arcs = select_attention_arcs(
        matrix[:n, :n], source=source, threshold=threshold, top_k=top_k
    )
    dep_arcs = [
        _Arc(a.head, a.dependent, a.label, f"dep-arc-{a.head}-{a.dependent}")
        for a in (parse.arcs if show_parse else ())
    ]
    entities = list(parse.entities) if show_entities else []
    tags = list(parse.tags) if show_tags else []
    if show_weights is None:
        show_weights = source is not None

    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else float(matplotlib.rcParams["font.size"])
        if wrap is None and preset is not None:
            wrap = get_preset(preset).width
        drawing = _Drawing(
            words=words,
            tags=tags,
            dep_arcs=dep_arcs,
            att_arcs=att_arcs,
            entities=[(e.start, e.end, e.label) for e in entities],
            window=(start, end),
            source=source,
            show_weights=show_weights,
            has_title=bool(title),
        )
        layout = drawing.layout(font, wrap)
        if ax is not None:
            # Fit the caller's axes: try one line and lines as wide as the axes, keep
            # whichever needs less shrinking (the layout is linear in the font size).
            bbox = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            best_scale, best = 0.0, layout
            for width in dict.fromkeys([wrap, bbox.width]):
                trial = drawing.layout(font, width)
                scale = min(1.0, bbox.width * 72 / trial.width, bbox.height * 72 / trial.height)
                if scale > best_scale + 1e-9:
                    best_scale, best = (
                        scale,
                        (
                            trial
                            if scale >= 1.0
                            else drawing.layout(font * scale, width / scale if width else None)
                        ),
                    )
            layout = best
        created = ax is None
        fig, ax = new_figure(ax, width=layout.width / 72, height=layout.height / 72, preset=preset)
        if created:
            ax.set_position((0.0, 0.0, 1.0, 1.0))
        setattr(fig, RIGID_ATTR, True)
        drawing.draw(ax, layout, color=color, entity_colors=entity_colors)
        notes = []
        if source is not None and matrix.shape[1] > n:
            rest = matrix[source, n:]
            names = list(special_labels) or [f"special {i}" for i in range(len(rest))]
            notes = [f"{name} {_fmt(w)}" for name, w in zip(names, rest, strict=False)]
        if source is not None and window is not None:
            outside = float(matrix[source, :start].sum() + matrix[source, end:n].sum())
            notes.append(f"outside window {_fmt(outside)}")
        if notes:
            ax.text(
                layout.margin,
                -layout.height + layout.small * 0.4,
                f"from “{words[source]}” also to: " + ", ".join(notes),  # type: ignore[index]
                fontsize=layout.small,
                color="#555555",
                va="bottom",
                ha="left",
                parse_math=False,
                gid="note",
            )
        if title:
            ax.text(
                layout.width / 2,
                -layout.small * 0.3,
                title,
                fontsize=layout.font,
                ha="center",
                va="top",
                parse_math=False,
                gid="title",
            )
    return fig, ax


def select_attention_arcs(
    attention: np.ndarray,
    *,
    source: int | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
) -> list[_Arc]:
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
    return [_Arc(q, k, _fmt(w), f"att-arc-{q}-{k}", w) for q, k, w in pairs]


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


def _fmt(weight: float) -> str:
    return f"{weight:.2f}".removeprefix("0") if 0 <= weight < 1 else f"{weight:.2f}"


@dataclass(frozen=True)
class _Line:
    """Tokens ``start:end`` drawn on one line with its word centre at height ``y``."""

    start: int
    end: int
    y: float
    x: np.ndarray  # x centre of each token of the line, in points
    left: float  # where arcs to tokens before the line end
    right: float  # where arcs to tokens after the line end
    dep_levels: dict[str, int]
    att_levels: dict[str, int]


@dataclass(frozen=True)
class _Layout:
    font: float
    small: float
    width: float
    height: float
    margin: float
    widths: np.ndarray  # width of each word, points
    lines: tuple[_Line, ...]
    dep_step: float
    att_step: float
    dep_base: float  # height above a word's centre where dependency arcs start
    block_bottom: float  # depth below a word's centre where the token block ends
    att_base: float  # depth below a word's centre where attention arcs start


@dataclass
class _Drawing:
    words: list[str]
    tags: list[str]
    dep_arcs: list[_Arc]
    att_arcs: list[_Arc]
    entities: list[tuple[int, int, str]]
    window: tuple[int, int]
    source: int | None
    show_weights: bool
    has_title: bool = False

    def layout(self, font: float, wrap: float | None) -> _Layout:
        """Positions of words and lines at ``font`` points, lines at most ``wrap`` inches."""
        small = font * 0.78
        start, end = self.window
        widths = np.array([measure_text(w, font) for w in self.words])
        if self.source is not None:
            widths[self.source] = measure_text(self.words[self.source], font, "bold")
        if self.tags:
            tag_w = np.array([measure_text(t, small) for t in self.tags])
            widths = np.maximum(widths, tag_w)
        gaps = (
            np.maximum((widths[:-1] + widths[1:]) / 2 + font * 0.9, font * 2.2)
            if len(widths) > 1
            else np.zeros(0)
        )
        # An entity label (under its first word) must fit before the next entity.
        for s, e, label in self.entities:
            need = measure_text(label, small * 0.85, "bold") + small
            if e < len(self.words):
                have = gaps[s:e].sum() + (widths[s] - widths[e - 1]) / 2
                if have < need:
                    gaps[s:e] += (need - have) / (e - s)
        # A short arc's label must fit on its flat top.
        labelled = [(a, small) for a in self.dep_arcs]
        if self.show_weights:
            labelled += [(a, small * 0.85) for a in self.att_arcs]
        room = {arc.gid: measure_text(arc.label, size) + size * 1.6 for arc, size in labelled}
        for arc, _ in sorted(labelled, key=lambda p: p[0].span[1] - p[0].span[0]):
            lo, hi = arc.span
            if hi == lo:
                continue
            have = gaps[lo:hi].sum()
            if have < room[arc.gid] + font * 0.8:
                gaps[lo:hi] += (room[arc.gid] + font * 0.8 - have) / (hi - lo)
        x_all = np.concatenate([[0.0], np.cumsum(gaps)])
        margin = font * 1.2
        arcs = [a for a, _ in labelled]

        def pads(lo: int, hi: int) -> tuple[float, float]:
            """Room for the labels of arcs leaving tokens ``lo:hi`` to the left and right."""
            left = right = 0.0
            for arc in arcs:
                first, last = arc.span
                if first < lo <= last < hi:
                    left = max(left, room[arc.gid])
                if lo <= first < hi <= last:
                    right = max(right, room[arc.gid])
            return left, right

        def content(lo: int, hi: int) -> float:
            return float(x_all[hi - 1] - x_all[lo] + (widths[lo] + widths[hi - 1]) / 2)

        # Break into lines at word boundaries, leaving room for open arcs' labels,
        # not inside an entity where avoidable, and with lines of balanced width.
        inside_entity = np.zeros(len(self.words) + 1, dtype=bool)
        for s, e, _ in self.entities:
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

        if wrap:
            breaks = wrap_at(wrap * 72)
            low, high = wrap * 72 / 2, wrap * 72
            for _ in range(12):  # narrowest width that needs no more lines
                middle = (low + high) / 2
                if len(wrap_at(middle)) <= len(breaks):
                    high = middle
                else:
                    low = middle
            breaks = wrap_at(high)
        else:
            breaks = [start]
        bounds = list(zip(breaks, [*breaks[1:], end], strict=True))

        dep_step = small * 1.75
        att_step = small * (1.55 if self.show_weights else 1.0)
        dep_base = font * 0.85
        block_bottom = -font * 0.45 - (small * 1.25 if self.tags else 0.0)
        if self.entities:
            block_bottom -= small * 1.35
        att_base = block_bottom - font * 0.35
        lines: list[_Line] = []
        y = 0.0
        line_width = 0.0
        for lo, hi in bounds:
            dep_levels = self._levels(self.dep_arcs, lo, hi)
            att_levels = self._levels(self.att_arcs, lo, hi)
            above = dep_base + max(dep_levels.values(), default=0) * dep_step + small * 0.9
            below = -att_base + max(att_levels.values(), default=0) * att_step
            if self.att_arcs and self.source is not None and self.source in range(lo, hi):
                below += small * 0.6  # room for the self-attention dot
            top_pad = (font * 1.6 if self.has_title else font * 0.4) if not lines else font * 0.6
            y -= top_pad + above
            left, right = pads(lo, hi)
            x = x_all[lo:hi] + margin + left + widths[lo] / 2 - x_all[lo]
            right_edge = x[-1] + widths[hi - 1] / 2 + right + margin * 0.75
            line_width = max(line_width, right_edge + margin * 0.25)
            lines.append(_Line(lo, hi, y, x, margin * 0.25, right_edge, dep_levels, att_levels))
            y -= below
        height = -y + font * (2.2 if self.source is not None else 0.6)
        return _Layout(
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
        )

    @staticmethod
    def _levels(arcs: Sequence[_Arc], lo: int, hi: int) -> dict[str, int]:
        """Levels of the arcs with at least one end in tokens ``lo:hi`` (others clipped)."""
        shown = [a for a in arcs if a.a != a.b and (lo <= a.a < hi or lo <= a.b < hi)]
        spans = [(max(a.span[0], lo - 1), min(a.span[1], hi)) for a in shown]
        return dict(zip([a.gid for a in shown], stack_levels(spans), strict=True))

    def draw(
        self,
        ax: Axes,
        layout: _Layout,
        *,
        color: str,
        entity_colors: Mapping[str, str] | None,
    ) -> None:
        """Draws every line of ``layout`` on ``ax`` (data units are points)."""
        ax.set_xlim(0, layout.width)
        ax.set_ylim(-layout.height, 0)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        for index, line in enumerate(layout.lines):
            self._draw_line(ax, layout, line, index, color, entity_colors)

    def _draw_line(
        self,
        ax: Axes,
        layout: _Layout,
        line: _Line,
        index: int,
        color: str,
        entity_colors: Mapping[str, str] | None,
    ) -> None:
        from matplotlib.patches import FancyBboxPatch

        font, small = layout.font, layout.small
        y = line.y
        suffix = f"-part{index}" if len(layout.lines) > 1 else ""
        left_edge, right_edge = line.left, line.right

        def x_of(token: int) -> float:
            if token < line.start:
                return left_edge
            if token >= line.end:
                return right_edge
            return float(line.x[token - line.start])

        for s, e, label in self.entities:
            lo, hi = max(s, line.start), min(e, line.end)
            if lo >= hi:
                continue
            x0 = x_of(lo) - layout.widths[lo] / 2 - font * 0.3
            x1 = x_of(hi - 1) + layout.widths[hi - 1] / 2 + font * 0.3
            box_bottom = y + layout.block_bottom + small * 0.15
            fill = entity_color(label, entity_colors)
            ax.add_patch(
                FancyBboxPatch(
                    (x0, box_bottom),
                    x1 - x0,
                    y + font * 0.75 - box_bottom,
                    boxstyle=f"round,pad=0,rounding_size={font * 0.3}",
                    facecolor=fill,
                    edgecolor="none",
                    zorder=0,
                    gid=f"entity-{s}-{e}{suffix}",
                )
            )
            ax.text(
                x0 + small * 0.35,
                box_bottom + small * 0.25,
                label,
                fontsize=small * 0.85,
                fontweight="bold",
                ha="left",
                va="bottom",
                color="#222222",
                zorder=3,
                parse_math=False,
                gid=f"entity-label-{s}-{e}{suffix}",
            )

        for token in range(line.start, line.end):
            is_source = token == self.source
            ax.text(
                x_of(token),
                y,
                self.words[token],
                fontsize=font,
                ha="center",
                va="center_baseline",
                zorder=3,
                parse_math=False,
                fontweight="bold" if is_source else "normal",
                color=color if is_source else "#111111",
                gid=f"word-{token}",
            )
            if self.tags:
                ax.text(
                    x_of(token),
                    y - font * 0.45 - small * 0.6,
                    self.tags[token],
                    fontsize=small * 0.9,
                    ha="center",
                    va="center_baseline",
                    color="#666666",
                    zorder=3,
                    parse_math=False,
                    gid=f"tag-{token}",
                )

        dep_shown = [a for a in self.dep_arcs if a.gid in line.dep_levels]
        att_shown = [a for a in self.att_arcs if a.gid in line.att_levels]
        dep_ends = self._ends(dep_shown, line.dep_levels, layout, x_of, line)
        att_ends = self._ends(att_shown, line.att_levels, layout, x_of, line)
        for arc in dep_shown:
            level = line.dep_levels[arc.gid]
            self._draw_arc(
                ax,
                arc,
                dep_ends[arc.gid],
                y + layout.dep_base,
                level * layout.dep_step,
                +1,
                line,
                DEPENDENCY_COLOR,
                0.9 * font / 10,
                1.0,
                small,
                suffix,
            )
        for arc in att_shown:
            level = line.att_levels[arc.gid]
            self._draw_arc(
                ax,
                arc,
                att_ends[arc.gid],
                y + layout.att_base,
                level * layout.att_step,
                -1,
                line,
                color,
                (0.35 + 2.6 * min(arc.weight, 1.0)) * font / 10,
                0.3 + 0.7 * min(arc.weight, 1.0),
                small * 0.85 if self.show_weights else 0.0,
                suffix,
            )
        for arc in self.att_arcs:
            if arc.a == arc.b and line.start <= arc.a < line.end:
                ax.scatter(
                    [x_of(arc.a)],
                    [y + layout.att_base - small * 0.3],
                    s=(2 + 40 * arc.weight) * (font / 10) ** 2,
                    color=color,
                    alpha=0.3 + 0.7 * min(arc.weight, 1.0),
                    linewidths=0,
                    zorder=2,
                    gid=f"att-self-{arc.a}{suffix}",
                )

    def _ends(
        self,
        arcs: Sequence[_Arc],
        levels: Mapping[str, int],
        layout: _Layout,
        x_of: object,
        line: _Line,
    ) -> dict[str, tuple[float, float]]:
        """x of both ends of each arc, spreading the arcs that meet at one word.

        At a word, arcs to the left leave from its left half and arcs to the
        right from its right half; higher arcs leave nearer the centre, so an
        arc never crosses another's vertical stroke.
        """
        assert callable(x_of)
        sides: dict[tuple[int, int], list[tuple[int, str, int]]] = {}
        for arc in arcs:
            for end, other in ((arc.a, arc.b), (arc.b, arc.a)):
                if line.start <= end < line.end:
                    side = -1 if other < end else 1
                    sides.setdefault((end, side), []).append((levels[arc.gid], arc.gid, end))
        offsets: dict[tuple[str, int], float] = {}
        for (token, side), items in sides.items():
            half = max(layout.widths[token] / 2, layout.font * 0.5) * 0.85
            items.sort(key=lambda item: (item[0], item[1]))  # low arcs outermost
            count = len(items)
            for rank, (_, gid, _) in enumerate(items):
                # rank 0 is the lowest arc: furthest from the centre.
                fraction = 1.0 - rank / count if count > 1 else 0.6
                offsets[(gid, token)] = side * half * max(fraction, 0.15)
        ends = {}
        for arc in arcs:
            xa = x_of(arc.a) + offsets.get((arc.gid, arc.a), 0.0)
            xb = x_of(arc.b) + offsets.get((arc.gid, arc.b), 0.0)
            ends[arc.gid] = (xa, xb)
        return ends

    def _draw_arc(
        self,
        ax: Axes,
        arc: _Arc,
        ends: tuple[float, float],
        base: float,
        height: float,
        direction: int,
        line: _Line,
        color: str,
        width: float,
        alpha: float,
        label_size: float,
        suffix: str,
    ) -> None:
        from matplotlib.patches import PathPatch, Polygon
        from matplotlib.path import Path

        xa, xb = ends
        x1, x2 = min(xa, xb), max(xa, xb)
        top = base + direction * height
        radius = min(height * 0.6, (x2 - x1) / 2)
        inside_1 = line.start <= min(arc.a, arc.b) < line.end
        inside_2 = line.start <= max(arc.a, arc.b) < line.end
        codes, verts = [], []
        if inside_1:
            codes += [Path.MOVETO, Path.LINETO, Path.CURVE3, Path.CURVE3]
            verts += [
                (x1, base),
                (x1, top - direction * radius),
                (x1, top),
                (x1 + radius, top),
            ]
        else:
            codes += [Path.MOVETO]
            verts += [(x1, top)]
        if inside_2:
            codes += [Path.LINETO, Path.CURVE3, Path.CURVE3, Path.LINETO]
            verts += [(x2 - radius, top), (x2, top), (x2, top - direction * radius), (x2, base)]
        else:
            codes += [Path.LINETO]
            verts += [(x2, top)]
        ax.add_patch(
            PathPatch(
                Path(verts, codes),
                fill=False,
                edgecolor=color,
                linewidth=width,
                alpha=alpha,
                capstyle="butt",
                joinstyle="round",
                zorder=1,
                gid=f"{arc.gid}{suffix}",
            )
        )
        if line.start <= arc.b < line.end:
            tip_x = xb
            size = max(width * 1.6, label_size * 0.45, 2.5)
            ax.add_patch(
                Polygon(
                    [
                        (tip_x - size / 2, base + direction * size),
                        (tip_x + size / 2, base + direction * size),
                        (tip_x, base),
                    ],
                    closed=True,
                    facecolor=color,
                    edgecolor="none",
                    alpha=alpha,
                    zorder=1,
                    gid=f"{arc.gid.replace('arc', 'arrow')}{suffix}",
                )
            )
        if label_size:
            left = x1 + (radius if inside_1 else 0.0)
            right = x2 - (radius if inside_2 else 0.0)
            ax.text(
                (left + right) / 2,
                top,
                arc.label,
                fontsize=label_size,
                ha="center",
                va="center_baseline",
                color=color if direction < 0 else "#222222",
                zorder=2,
                parse_math=False,
                gid=f"{arc.gid.replace('arc', 'label')}{suffix}",
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
            )
