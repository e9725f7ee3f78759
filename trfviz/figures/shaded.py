"""The sentence as text, each word shaded by a value: CircuitsVis' coloured tokens, for papers.

:func:`shaded_words` writes the words in reading order, wrapped to the
figure's width, each on a box coloured by its value (the attention it receives
from a focused word, a gradient attribution...). Several rows of values (one
per model) give each word one strip per row under it, on the same scale unless
ranges are given per row (then each strip's colour bar names its row). Signed
values use the diverging scale, symmetric about 0. Entities are underlined in
their displaCy colour with their label; ``notes`` are written small under words
(e.g. each word's relation to the focus). Laid out in points from the measured
width of every word, like the arcs figure, so nothing overlaps at any length.

>>> fig, ax = shaded_words(["Anna", "saw", "Bob"], [0.1, float("nan"), 0.7], focus=1)
>>> sorted(p.get_gid() for p in ax.patches if p.get_gid().startswith("shade"))
['shade-0-0', 'shade-0-2']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trfviz.figures.export import RIGID_ATTR
from trfviz.figures.layout import displayable, keep_vector, measure_text, new_figure, wrap_text
from trfviz.figures.style import MIN_TEXT_SIZE, Preset, get_preset, paper_style
from trfviz.palette import ATTENTION_COLOR, SCALES, ScaleName, colormap, entity_color
from trfviz.validation import check_choice, check_index

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["shaded_range", "shaded_words"]

Range = tuple[float, float]


def shaded_range(values: np.ndarray, scale: str) -> Range:
    """``(low, high)`` of ``values``: 0 to the largest, or symmetric about 0 when diverging.

    >>> shaded_range(np.array([0.2, -0.5, np.nan]), "diverging")
    (-0.5, 0.5)
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if scale == "diverging":
        top = float(np.abs(finite).max()) if finite.size else 1.0
        return (-(top or 1e-9), top or 1e-9)
    top = float(finite.max()) if finite.size else 1.0
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    return (low, top if top > low else low + 1e-9)


@dataclass(frozen=True)
class _Layout:
    """Where each word goes (points; y grows upwards from 0 at the top)."""

    font: float
    small: float
    x: np.ndarray  # left edge of each word's box
    y: np.ndarray  # baseline centre of each word's line
    widths: np.ndarray
    width: float
    text_height: float  # height of the words' lines, without title and colour bars
    entity_drop: np.ndarray  # depth under each word's centre of its entity bar


def _layout(
    words: Sequence[str],
    bold: Sequence[bool],
    rows: int,
    font: float,
    wrap: float,
    notes: Sequence[str] | None,
    entities: Sequence[tuple[int, int, str]],
    top: float,
) -> _Layout:
    small = max(font * 0.78, MIN_TEXT_SIZE)
    pad = font * 0.35
    widths = np.array(
        [
            max(
                measure_text(w, font, "bold" if b else "normal"),
                measure_text(notes[i], small) if notes else 0.0,
            )
            + 2 * pad
            for i, (w, b) in enumerate(zip(words, bold, strict=True))
        ]
    )
    gap = font * 0.3
    strips = font * 0.45 * rows if rows > 1 else 0.0
    lines = np.zeros(len(words), dtype=int)
    x = np.zeros(len(words))
    cursor, line = 0.0, 0
    limit = wrap - 2 * font * 0.5
    for i, w in enumerate(widths):
        if cursor > 0 and cursor + w > limit:
            cursor, line = 0.0, line + 1
        x[i], lines[i] = cursor + font * 0.5, line
        cursor += w + gap
    # Each line is as tall as what it holds: notes and entity bars only where there are some.
    noted = {int(lines[i]) for i in range(len(words)) if notes and notes[i]}
    marked = {int(lines[i]) for s, e, _ in entities for i in range(s, min(e, len(words)))}
    below = font * 0.6 + strips
    y = np.zeros(len(words))
    drop = np.zeros(len(words))  # how far under each word's centre its entity bar is
    height = top
    for index in range(line + 1):
        has_note, has_entity = index in noted, index in marked
        centre = -(height + font * 0.85)
        y[lines == index] = centre
        drop[lines == index] = below + (small * 1.3 if has_note else 0.0) + small * 0.2
        height += (
            font * 1.5
            + strips
            + (small * 1.3 if has_note else 0.0)
            + (small * 1.4 if has_entity else 0.0)
            + font * 0.35
        )
    used = float(max(x + widths, default=0.0)) + font * 0.5
    return _Layout(font, small, x, y, widths, used, height - top, drop)


def shaded_words(
    tokens: Sequence[str],
    values: np.ndarray | Sequence[float] | Sequence[Sequence[float]],
    *,
    scale: ScaleName = "sequential",
    value_range: Range | Sequence[Range] | None = None,
    names: Sequence[str] | None = None,
    label: str = "attention received",
    focus: int | None = None,
    entities: Sequence[tuple[int, int, str]] = (),
    notes: Sequence[str] | None = None,
    n_special: int = 0,
    start: int = 0,
    title: str | None = None,
    width: float | None = None,
    entity_colors: Mapping[str, str] | None = None,
    ax: Axes | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: ``tokens`` as wrapping text, each word shaded by its value.

    Args:
        tokens: the words, in order.
        values: float ``[word]``, or ``[row, word]`` for one strip per row (e.g.
            per model) under each word; NaN leaves a word unshaded (the focus).
        scale: the palette's scale: ``"sequential"`` (0 to the largest value),
            ``"diverging"`` (symmetric about 0, for signed values such as
            attributions) or ``"score"``.
        value_range: ``(low, high)`` of the colour scale for every row, or one
            per row (each row then gets its own colour bar, named); default:
            the values' range, shared by the rows.
        names: a name per row (in the caption and on per-row colour bars).
        label: what the values are, under the colour bar.
        focus: the word the values are read from, drawn bold and outlined.
        entities: ``(start, end, label)`` spans, underlined in their colour.
        notes: a short text under each word (``""`` for none), e.g. its relation
            to the focus.
        n_special: the last ``n_special`` tokens are special pieces (in italics).
        start: the index of ``tokens[0]`` in its sentence (artists' gids count from it:
            ``"word-21"``, ``"shade-0-21"``, ``"note-21"``).
        title: text above the words.
        width: wrap at this many inches (default: the axes', else the preset's,
            else 6.9).
        entity_colors: colours overriding displaCy's for some entity labels.
        ax: draw into these axes, wrapped to their width (text keeps its size: give
            axes as tall as the figure drawn alone).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).
    """
    words = [displayable(str(t)) for t in tokens]
    n = len(words)
    if n == 0:
        raise ValueError("tokens is empty; give the sentence's words")
    grid = np.atleast_2d(np.asarray(values, dtype=float))
    if grid.ndim != 2 or grid.shape[1] != n:
        raise ValueError(
            f"values have shape {np.shape(values)}; expected [{n}] or [rows, {n}] for {n} tokens"
        )
    check_choice("scale", scale, tuple(SCALES))
    rows = grid.shape[0]
    if names is not None and len(names) != rows:
        raise ValueError(f"names has {len(names)} entries for {rows} rows of values")
    if focus is not None:
        focus = check_index("focus", focus, n)
    if notes is not None and len(notes) != n:
        raise ValueError(f"notes has {len(notes)} entries for {n} tokens")
    if value_range is None:
        ranges = [shaded_range(grid, scale)] * rows
    elif np.ndim(value_range) == 1:
        ranges = [(float(value_range[0]), float(value_range[1]))] * rows  # type: ignore[arg-type]
    else:
        ranges = [(float(lo), float(hi)) for lo, hi in value_range]  # type: ignore[misc]
        if len(ranges) != rows:
            raise ValueError(f"value_range has {len(ranges)} ranges for {rows} rows of values")
    for lo, hi in ranges:
        if not lo < hi:
            raise ValueError(f"value_range must be (low, high), low < high; got {(lo, hi)}")
    shared = len(set(ranges)) == 1
    bars = 1 if shared else rows

    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else float(matplotlib.rcParams["font.size"])
        font = max(font, MIN_TEXT_SIZE)
        if width is None and ax is not None:
            box = ax.get_window_extent().transformed(ax.get_figure().dpi_scale_trans.inverted())  # type: ignore[union-attr]
            width = float(box.width)
        if width is None:
            width = get_preset(preset).width if preset else 6.9
        small = max(font * 0.78, MIN_TEXT_SIZE)
        if title:
            title = wrap_text(title, font, width * 72 * 0.95)
        caption = ""
        if rows > 1:
            shown = list(names) if names else [f"row {i + 1}" for i in range(rows)]
            caption = "strips: " + ", ".join(shown[:-1]) + f" above, {shown[-1]} below"
        head_lines = (title.count("\n") + 1 if title else 0) + (1 if caption else 0)
        top = font * 0.4 + head_lines * font * 1.35
        bold = [i == focus for i in range(n)]
        lay = _layout(words, bold, rows, font, width * 72, notes, entities, top)
        bar_band = bars * (small * 4.6)
        height = top + lay.text_height + bar_band + font * 0.3
        created = ax is None
        fig, ax = new_figure(ax, width=width, height=height / 72, preset=preset)
        if created:
            ax.set_position((0.0, 0.0, 1.0, 1.0))
        setattr(fig, RIGID_ATTR, True)
        ax.set_xlim(0, width * 72)
        ax.set_ylim(-height, 0)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        _draw_words(ax, lay, words, grid, ranges, scale, focus, n_special, rows, start)
        _draw_marks(ax, lay, entities, notes, rows, entity_colors, start)
        y = -font * 0.4
        if title:
            ax.text(width * 36, y, title, fontsize=font, ha="center", va="top", gid="title")
            y -= font * 1.35 * (title.count("\n") + 1)
        if caption:
            ax.text(
                font * 0.5, y, caption, fontsize=small, color="#555555", va="top", gid="caption"
            )
        cmap = colormap(scale)
        for index in range(bars):
            lo, hi = ranges[index]
            bottom = -height + font * 0.3 + (bars - 1 - index) * small * 4.6 + small * 2.6
            cax = ax.inset_axes(
                (width * 72 * 0.2, bottom, width * 72 * 0.6, small * 0.9), transform=ax.transData
            )
            bar = fig.colorbar(
                matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(lo, hi), cmap=cmap),
                cax=cax,
                orientation="horizontal",
            )
            keep_vector(bar)
            bar.ax.tick_params(labelsize=small, length=2, pad=1)
            bar.locator = matplotlib.ticker.MaxNLocator(4)
            bar.update_ticks()
            own = f"{names[index]}: " if names is not None and not shared else ""
            bar.ax.set_title(f"{own}{label}", fontsize=small, pad=2)
    return fig, ax


def _text_colour(rgba: Sequence[float]) -> str:
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "#111111"


def _draw_words(
    ax: Axes,
    lay: _Layout,
    words: Sequence[str],
    grid: np.ndarray,
    ranges: Sequence[Range],
    scale: str,
    focus: int | None,
    n_special: int,
    rows: int,
    start: int,
) -> None:
    from matplotlib.patches import Rectangle

    cmap = colormap(scale)  # type: ignore[arg-type]
    font = lay.font
    n = len(words)
    for i, word in enumerate(words):
        x, y, w = lay.x[i], lay.y[i], lay.widths[i]
        box_bottom, box_height = y - font * 0.6, font * 1.35
        fill = None
        for r in range(rows):
            value = grid[r, i]
            if not np.isfinite(value):
                continue
            lo, hi = ranges[r]
            colour = cmap(min(max((value - lo) / (hi - lo), 0.0), 1.0))
            if rows == 1:
                fill = colour
                rect = (x, box_bottom, w, box_height)
            else:
                strip = font * 0.45
                rect = (x, box_bottom - (r + 1) * strip, w, strip * 0.85)
            ax.add_patch(
                Rectangle(
                    rect[:2],
                    rect[2],
                    rect[3],
                    facecolor=colour,
                    edgecolor="none",
                    gid=f"shade-{r}-{start + i}",
                    zorder=1,
                )
            )
        if i == focus:
            ax.add_patch(
                Rectangle(
                    (x, box_bottom),
                    w,
                    box_height,
                    fill=False,
                    edgecolor=ATTENTION_COLOR,
                    linewidth=1.0,
                    gid="focus",
                    zorder=2,
                )
            )
        special = i >= n - n_special
        ax.text(
            x + w / 2,
            y,
            word,
            fontsize=font,
            ha="center",
            va="center_baseline",
            color=_text_colour(fill) if fill is not None else ("#666666" if special else "#111111"),
            fontweight="bold" if i == focus else "normal",
            fontstyle="italic" if special else "normal",
            parse_math=False,
            zorder=3,
            gid=f"word-{start + i}",
        )


def _draw_marks(
    ax: Axes,
    lay: _Layout,
    entities: Sequence[tuple[int, int, str]],
    notes: Sequence[str] | None,
    rows: int,
    entity_colors: Mapping[str, str] | None,
    offset: int,
) -> None:
    from matplotlib.patches import Rectangle

    font, small = lay.font, lay.small
    below = font * 0.6 + (font * 0.45 * rows if rows > 1 else 0.0)
    for i, note in enumerate(notes or ()):
        if note:
            ax.text(
                lay.x[i] + lay.widths[i] / 2,
                lay.y[i] - below - small * 0.15,
                note,
                fontsize=small,
                ha="center",
                va="top",
                color="#555555",
                parse_math=False,
                gid=f"note-{offset + i}",
            )
    for start, end, label in entities:
        colour = entity_color(label, entity_colors)
        first = True
        for i in range(start, min(end, len(lay.x))):  # one bar per line the entity spans
            last_on_line = i + 1 >= min(end, len(lay.x)) or lay.y[i + 1] != lay.y[i]
            if first:
                x0, first = lay.x[i], False
                line_start = i
            if last_on_line:
                x1 = lay.x[i] + lay.widths[i]
                y = lay.y[i] - lay.entity_drop[i]
                ax.add_patch(
                    Rectangle(
                        (x0, y - small * 0.25),
                        x1 - x0,
                        small * 0.25,
                        facecolor=colour,
                        edgecolor="none",
                        gid=f"entity-{offset + start}-{offset + end}-{offset + line_start}",
                    )
                )
                if line_start == start:
                    ax.text(
                        x0,
                        y - small * 0.35,
                        label,
                        fontsize=small,
                        fontweight="bold",
                        ha="left",
                        va="top",
                        color="#333333",
                        parse_math=False,
                        gid=f"entity-label-{offset + start}-{offset + end}",
                    )
                first = True
