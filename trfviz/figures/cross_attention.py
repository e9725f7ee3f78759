"""The cross-attention figure: source words above, target words below, attention as lines.

:func:`plot_cross_attention` draws one encoder-decoder pair: the source sentence
in one row, the target sentence in another, a line from each target word to each
source word it attends to at least ``threshold`` (line width and opacity grow
with the weight), and each side's dependency parse as arcs in its own band,
away from the lines. It takes plain data (two :class:`~trfviz.parse.SentenceParse`
and a ``[target, source]`` matrix, e.g. ``pair.cross_attention[layer, head]``
from :func:`trfviz.extract_pair`), never a model.

The layout follows the length at the preset's width: words written upright
when they fit side by side, turned a quarter when only their height fits, and
for sentences too long for either (40 words in one column) the rows become
columns, source on the left and target on the right, with the figure growing
downwards. Text stays at 6 pt or more throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.figures.arcs.layout import stack_levels
from trfviz.figures.arcs.selection import format_weight
from trfviz.figures.cross_layout import MARGIN, CrossLayout, arc_span, layout_cross, spread_ends
from trfviz.figures.layout import caption, displayable, measure_text, new_figure
from trfviz.figures.style import Preset, get_preset, paper_style
from trfviz.palette import ATTENTION_COLOR, DEPENDENCY_COLOR
from trfviz.parse import SentenceParse
from trfviz.validation import check_bool, check_choice

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ORIENTATIONS", "Orientation", "plot_cross_attention"]

Orientation = Literal["auto", "horizontal", "vertical"]
ORIENTATIONS: tuple[str, ...] = ("auto", "horizontal", "vertical")

#: Longest word drawn whole; longer ones end in "…".
_MAX_CHARS = 20


#: Longest word drawn whole; longer ones end in "…".
def plot_cross_attention(
    source: SentenceParse,
    target: SentenceParse,
    attention: np.ndarray,
    *,
    threshold: float = 0.1,
    show_parse: bool = True,
    show_labels: bool = True,
    orientation: Orientation = "auto",
    title: str | None = None,
    color: str = ATTENTION_COLOR,
    ax: Axes | None = None,
    preset: str | Preset = "two-column",
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: source above, target below, cross-attention as lines between them.

    Args:
        source: the source sentence's words and parse (``pair.source.parse``).
        target: the target sentence's words and parse (``pair.target.parse``).
        attention: float ``[target_row, source_row]``: from each target word to
            each source word (``pair.cross_attention[layer, head]``, or a mean
            over heads). Rows and columns past the words (special pseudo-tokens)
            are not drawn.
        threshold: smallest weight drawn as a line; written on the figure.
        show_parse: draw each side's dependency arcs in its own band.
        show_labels: write relation labels on arcs wide enough to hold them.
        orientation: ``"horizontal"`` (source above, target below),
            ``"vertical"`` (source left, target right), or ``"auto"``:
            horizontal unless the words do not fit across the preset's width.
        title: text above the figure.
        color: colour of the attention lines.
        ax: draw into these axes; the drawing is scaled down to fit them.
        preset: the paper layout (``"one-column"``, ``"two-column"``, ``"slide"``).
    """
    for name, parse in (("source", source), ("target", target)):
        if not isinstance(parse, SentenceParse):
            raise TypeError(
                f"{name} must be a trfviz.SentenceParse (pair.{name}.parse from "
                f"trfviz.extract_pair); got {type(parse).__name__}"
            )
    matrix = np.asarray(attention, dtype=float)
    n_src, n_tgt = len(source.words), len(target.words)
    if matrix.ndim != 2 or matrix.shape[0] < n_tgt or matrix.shape[1] < n_src:
        raise ValueError(
            f"attention has shape {matrix.shape}; it must be [target, source] with at least "
            f"{n_tgt} rows (target words) and {n_src} columns (source words); for a pair's "
            "cross_attention [layer, head, target, source] pick one: [layer, head]"
        )
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold {threshold}: an attention weight is between 0 and 1")
    check_bool("show_parse", show_parse)
    check_bool("show_labels", show_labels)
    check_choice("orientation", orientation, ORIENTATIONS)
    p = get_preset(preset)
    words = ([_shown(w) for w in source.words], [_shown(w) for w in target.words])
    arcs = (source.arcs, target.arcs) if show_parse else ((), ())
    with paper_style(p):
        layout = layout_cross(words, arcs, p, orientation, show_labels, title)
        created = ax is None
        fig, ax = new_figure(
            ax, width=layout.width / 72, height=layout.height / 72, preset=p if created else None
        )
        if created:  # the axes fill the figure, so one data unit is one point
            ax.set_position((0, 0, 1, 1))
        ax.set_xlim(0, layout.width)
        ax.set_ylim(-layout.height, 0)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        shown = matrix[:n_tgt, :n_src]
        _draw_lines(ax, layout, shown, float(threshold), color)
        _draw_words(ax, layout, words)
        for side, side_arcs in enumerate(arcs):
            _draw_arcs(ax, layout, side, side_arcs)
        _draw_header(ax, layout, shown, float(threshold), title, p)
    return fig, ax


def _shown(word: str) -> str:
    word = displayable(word)
    return word if len(word) <= _MAX_CHARS else word[: _MAX_CHARS - 1] + "…"


def _draw_lines(
    ax: Axes, layout: CrossLayout, matrix: np.ndarray, threshold: float, color: str
) -> None:
    """One line per (target, source) weight at or above ``threshold``, strongest on top."""
    rows, cols = np.nonzero(matrix >= max(threshold, 1e-12))
    order = np.argsort(matrix[rows, cols], kind="stable")
    for r, c in zip(rows[order], cols[order], strict=True):
        weight = float(matrix[r, c])
        start = layout.xy(float(layout.source_u[c]), layout.source_edge)
        end = layout.xy(float(layout.target_u[r]), layout.target_edge)
        ax.plot(
            [start[0], end[0]],
            [start[1], end[1]],
            color=color,
            linewidth=0.3 + 2.2 * weight,
            alpha=min(1.0, 0.15 + 0.85 * weight),
            solid_capstyle="butt",
            zorder=1,
            gid=f"cross-{r}-{c}",
        )


def _draw_words(ax: Axes, layout: CrossLayout, words: tuple[list[str], list[str]]) -> None:
    gap = 0.3 * layout.font
    for side, (us, edge) in enumerate(
        ((layout.source_u, layout.source_edge), (layout.target_u, layout.target_edge))
    ):
        toward = -1 if side == 0 else 1  # from the lines' end outwards to the word
        for index, (u, word) in enumerate(zip(us, words[side], strict=True)):
            x, y = layout.xy(float(u), edge + toward * gap)
            if layout.vertical:
                align = {"ha": "right" if side == 0 else "left", "va": "center", "rotation": 0}
            elif layout.turned:
                align = {"ha": "center", "va": "bottom" if side == 0 else "top", "rotation": 90}
            else:
                align = {"ha": "center", "va": "bottom" if side == 0 else "top", "rotation": 0}
            ax.text(
                x,
                y,
                word,
                fontsize=layout.font,
                color="#222222",
                zorder=3,
                parse_math=False,
                gid=f"{'source' if side == 0 else 'target'}-word-{index}",
                **align,  # type: ignore[arg-type]
            )


def _draw_arcs(ax: Axes, layout: CrossLayout, side: int, arcs: Sequence) -> None:
    """Each dependency arc of one side in its band, the arrow at the dependent."""
    from matplotlib.patches import PathPatch, Polygon
    from matplotlib.path import Path

    if not arcs:
        return
    us = layout.source_u if side == 0 else layout.target_u
    base = layout.source_base if side == 0 else layout.target_base
    out = -1 if side == 0 else 1  # away from the words
    levels = stack_levels([arc_span(a) for a in arcs])
    name = "source" if side == 0 else "target"
    size = min(max(2.0, layout.small * 0.45), layout.step * 0.8)
    ends = spread_ends(arcs, levels, us, 0.35 * min(layout.pitch, 2 * layout.font))
    for arc, level, (head_u, dependent_u) in zip(arcs, levels, ends, strict=True):
        u1, u2 = sorted((head_u, dependent_u))
        top = base + out * level * layout.step
        radius = min(layout.step * 0.6, (u2 - u1) / 2)
        points = [
            (u1, base),
            (u1, top - out * radius),
            (u1, top),
            (u1 + radius, top),
            (u2 - radius, top),
            (u2, top),
            (u2, top - out * radius),
            (u2, base),
        ]
        codes = [Path.MOVETO, Path.LINETO, Path.CURVE3, Path.CURVE3, Path.LINETO]
        codes += [Path.CURVE3, Path.CURVE3, Path.LINETO]
        path = Path([layout.xy(u, v) for u, v in points], codes)
        gid = f"{name}-dep-{arc.head}-{arc.dependent}"
        ax.add_patch(
            PathPatch(path, fill=False, edgecolor=DEPENDENCY_COLOR, linewidth=0.6, gid=gid)
        )
        tip = dependent_u
        corners = [(tip - size / 2, base + out * size), (tip + size / 2, base + out * size)]
        ax.add_patch(
            Polygon(
                [layout.xy(u, v) for u, v in [*corners, (tip, base)]],
                facecolor=DEPENDENCY_COLOR,
                edgecolor="none",
                gid=gid.replace("-dep-", "-arrow-"),
            )
        )
        room = (u2 - u1) - 2 * radius
        if layout.labels and arc.label and measure_text(arc.label, layout.small) <= room:
            x, y = layout.xy((u1 + u2) / 2, top)
            ax.text(
                x,
                y,
                arc.label,
                fontsize=layout.small,
                ha="center",
                va="center_baseline",
                rotation=90 if layout.vertical else 0,
                color="#222222",
                zorder=2,
                parse_math=False,
                gid=gid.replace("-dep-", "-label-"),
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
            )


def _draw_header(
    ax: Axes,
    layout: CrossLayout,
    matrix: np.ndarray,
    threshold: float,
    title: str | None,
    p: Preset,
) -> None:
    """The title, and what the lines show: their threshold and the largest weight."""
    largest = float(matrix.max()) if matrix.size else 0.0
    where = "left → right" if layout.vertical else "top → bottom"
    note = (
        f"lines: target → source attention ≥ {format_weight(threshold)} "
        f"(max {format_weight(largest)}; source {where.split(' ')[0]})"
    )
    if measure_text(note, layout.small) > layout.width - 2 * MARGIN:
        note = f"attention ≥ {format_weight(threshold)}, max {format_weight(largest)}"
    y = -layout.small * 0.9
    if title:
        top = (layout.width / 2, -p.title_size * 0.8)
        caption(ax, top, title, size=p.title_size, gid="title", ha="center")
        y -= p.title_size * 1.6
    caption(ax, (MARGIN, y), note, size=layout.small, gid="threshold-note", color="#444444")
