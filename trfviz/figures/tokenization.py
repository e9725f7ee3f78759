"""How several models cut the same spaCy tokens into wordpieces, as a matplotlib figure.

Each spaCy token heads a column; beneath it, one row per model shows the
wordpieces that model cuts it into, coloured by kind (whole, split, shared:
see :mod:`trfviz.figures.pieces`); a shared piece's box spans the columns of
every token it covers. Byte-level BPE pieces are shown decoded (``Ġold`` as
``␣old``), special pieces (``[CLS]``) are left out; ``raw=True`` shows every
piece as the tokenizer spells it. The same view as HTML is
:func:`trfviz.html.render_aligned_tokenization_html`.

Example
-------
>>> from trfviz.alignment import align_spans
>>> a = align_spans([(0, 2), (2, 5)], [(0, 3), (3, 5)])
>>> fig, ax = plot_aligned_tokenization(["is", "n't"], {"GPT-2": (["isn", "'t"], a)})
>>> sorted(p.get_gid() for p in ax.patches if p.get_gid().startswith("piece-"))
['piece-GPT-2-0', 'piece-GPT-2-1']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trfviz.figures.export import RIGID_ATTR
from trfviz.figures.layout import displayable, measure_text, new_figure
from trfviz.figures.pieces import (
    KIND_LEGEND,
    ModelPieces,
    PieceRow,
    piece_rows,
    piece_share,
    row_label,
)
from trfviz.figures.style import Preset, get_preset, paper_style
from trfviz.palette import PIECE_COLORS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_aligned_tokenization"]


def plot_aligned_tokenization(
    tokens: Sequence[str],
    models: ModelPieces,
    *,
    raw: bool = False,
    legend: bool = True,
    title: str | None = None,
    wrap: float | None = None,
    ax: Axes | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: each spaCy token with each model's wordpieces beneath it.

    Args:
        tokens: the spaCy tokens of one sentence.
        models: per model name, its wordpieces for the sentence and their
            :class:`~trfviz.alignment.Alignment` to ``tokens``
            (see :func:`aligned_tokenization_from`).
        raw: show pieces as the tokenizer spells them (``Ġold``, ``##ing``).
        legend: explain the piece colours under the figure.
        title: text above the figure.
        wrap: break into blocks at most this many inches wide (default: the
            preset's width, else no wrapping); never inside a shared piece.
        ax: draw into these axes (scaled down to fit).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Every piece is a ``Rectangle`` with gid ``"piece-<model>-<index>"`` and
    every token a text with gid ``"token-<index>"``.
    """
    rows = piece_rows(tokens, models, raw)
    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else float(matplotlib.rcParams["font.size"])
        if wrap is None and preset is not None:
            wrap = get_preset(preset).width
        layout = _layout(tokens, rows, font, wrap, legend, title)
        if ax is not None:
            bbox = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            scale = min(1.0, bbox.width * 72 / layout.width, bbox.height * 72 / layout.height)
            if scale < 1.0:
                layout = _layout(
                    tokens, rows, font * scale, wrap / scale if wrap else None, legend, title
                )
        created = ax is None
        fig, ax = new_figure(ax, width=layout.width / 72, height=layout.height / 72, preset=preset)
        if created:
            ax.set_position((0.0, 0.0, 1.0, 1.0))
        setattr(fig, RIGID_ATTR, True)
        _draw(ax, tokens, rows, layout, legend, title)
    return fig, ax


@dataclass(frozen=True)
class _Layout:
    font: float
    width: float
    height: float
    label_width: float
    column_x: np.ndarray  # left edge of each token column, within its block
    column_w: np.ndarray
    slots: dict[tuple[int, int, int], tuple[float, float]]  # (row, token, piece) -> x0, x1
    blocks: tuple[tuple[int, int, float], ...]  # (first token, end token, top y)
    row_height: float
    block_height: float


def _layout(
    tokens: Sequence[str],
    rows: Sequence[PieceRow],
    font: float,
    wrap: float | None,
    legend: bool,
    title: str | None,
) -> _Layout:
    small = font * 0.85
    pad = font * 0.45
    n = len(tokens)
    piece_w = [[measure_text(t, small) + pad for t in row.texts] for row in rows]
    widths = np.array([measure_text(t, font, "bold") + pad for t in tokens])
    for r, row in enumerate(rows):
        for t, pieces in enumerate(row.columns):
            need = sum(piece_w[r][p] / piece_share(row, p) for p in pieces)
            widths[t] = max(widths[t], need)
    widths += font * 0.5  # gap between columns
    slots: dict[tuple[int, int, int], tuple[float, float]] = {}
    x = np.concatenate([[0.0], np.cumsum(widths)])[:-1]
    for r, row in enumerate(rows):
        for t, pieces in enumerate(row.columns):
            parts = np.array([piece_w[r][p] / piece_share(row, p) for p in pieces])
            inner = widths[t] - font * 0.5
            if not len(parts):
                continue
            edges = np.concatenate([[0.0], np.cumsum(parts / parts.sum() * inner)])
            for k, p in enumerate(pieces):
                slots[(r, t, p)] = (float(x[t] + edges[k]), float(x[t] + edges[k + 1]))
    label_width = (
        max(
            [measure_text("spaCy", font, "bold")] + [measure_text(row_label(r), font) for r in rows]
        )
        + font
    )
    margin = font * 0.5
    # Break between tokens that no piece joins.
    joined = np.zeros(max(n - 1, 0), dtype=bool)
    for row in rows:
        for first, last in row.spans:
            if last > first:
                joined[first:last] = True

    def wrap_at(limit: float) -> list[int]:
        starts = [0]
        for t in range(1, n):
            if x[t] + widths[t] - x[starts[-1]] > limit and not joined[t - 1]:
                starts.append(t)
        return starts

    starts = [0]
    if wrap:
        limit = wrap * 72 - label_width - 2 * margin
        count = len(wrap_at(limit))
        low, high = limit / 2, limit
        for _ in range(12):  # the narrowest blocks that need no more of them: balanced
            middle = (low + high) / 2
            if len(wrap_at(middle)) <= count:
                high = middle
            else:
                low = middle
        starts = wrap_at(high)
    row_height = font * 1.9
    block_height = row_height * (len(rows) + 1) + font * 0.8
    top = font * 1.8 if title else font * 0.3
    blocks = []
    width = 0.0
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else n
        blocks.append((s, e, -(top + i * block_height)))
        width = max(width, float(x[e - 1] + widths[e - 1] - x[s]) if e > s else 0.0)
    total = label_width + width + 2 * margin
    legend_rows = len(_legend_rows(rows, small, total)) if legend else 0
    height = top + len(blocks) * block_height + font * 1.5 * legend_rows + margin
    return _Layout(
        font=font,
        width=total,
        height=height,
        label_width=label_width + margin,
        column_x=x,
        column_w=widths - font * 0.5,
        slots=slots,
        blocks=tuple(blocks),
        row_height=row_height,
        block_height=block_height,
    )


def _draw(
    ax: Axes,
    tokens: Sequence[str],
    rows: Sequence[PieceRow],
    layout: _Layout,
    legend: bool,
    title: str | None,
) -> None:
    from matplotlib.patches import Rectangle

    font = layout.font
    small = font * 0.85
    ax.set_xlim(0, layout.width)
    ax.set_ylim(-layout.height, 0)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    if title:
        ax.text(
            layout.width / 2,
            -font * 0.3,
            title,
            ha="center",
            va="top",
            fontsize=font,
            parse_math=False,
            gid="title",
        )
    box_h = layout.row_height * 0.78
    for block_start, block_end, top in layout.blocks:
        shift = layout.label_width - layout.column_x[block_start]
        y = top - layout.row_height / 2
        ax.text(
            font * 0.5,
            y,
            "spaCy",
            ha="left",
            va="center",
            fontsize=font,
            fontweight="bold",
            parse_math=False,
        )
        for t in range(block_start, block_end):
            center = layout.column_x[t] + layout.column_w[t] / 2 + shift
            ax.text(
                center,
                y,
                displayable(tokens[t]),
                ha="center",
                va="center",
                fontsize=font,
                fontweight="bold",
                parse_math=False,
                gid=f"token-{t}",
            )
        for r, row in enumerate(rows):
            y = top - layout.row_height * (r + 1.5)
            ax.text(
                font * 0.5,
                y,
                row_label(row),
                ha="left",
                va="center",
                fontsize=font,
                parse_math=False,
                gid=f"model-{r}",
            )
            drawn: set[int] = set()
            for t in range(block_start, block_end):
                if not row.columns[t]:
                    center = layout.column_x[t] + layout.column_w[t] / 2 + shift
                    ax.text(
                        center,
                        y,
                        "∅",
                        ha="center",
                        va="center",
                        fontsize=small,
                        color="#aa0000",
                        gid=f"missing-{r}-{t}",
                    )
                for p in row.columns[t]:
                    if p in drawn:
                        continue
                    drawn.add(p)
                    first, last = row.spans[p]
                    x0 = layout.slots[(r, max(first, block_start), p)][0] + shift
                    x1 = layout.slots[(r, min(last, block_end - 1), p)][1] + shift
                    inset = font * 0.08
                    ax.add_patch(
                        Rectangle(
                            (x0 + inset, y - box_h / 2),
                            x1 - x0 - 2 * inset,
                            box_h,
                            facecolor=PIECE_COLORS.get(row.kinds[p], "#ffffff"),
                            edgecolor="#555555" if row.kinds[p] == "shared" else "none",
                            linewidth=0.6,
                            gid=f"piece-{row.name}-{p}",
                        )
                    )
                    ax.text(
                        (x0 + x1) / 2,
                        y,
                        displayable(row.texts[p]),
                        ha="center",
                        va="center_baseline",
                        fontsize=small,
                        parse_math=False,
                        gid=f"piece-text-{row.name}-{p}",
                    )
    if legend:
        entries = _legend_rows(rows, small, layout.width)
        for i, entries_row in enumerate(entries):
            y = -layout.height + font * (0.9 + 1.5 * (len(entries) - 1 - i))
            for kind, text, x in entries_row:
                if kind in PIECE_COLORS:
                    ax.add_patch(
                        Rectangle(
                            (x, y - small * 0.45),
                            small,
                            small * 0.9,
                            facecolor=PIECE_COLORS[kind],
                            edgecolor="#555555" if kind == "shared" else "none",
                            linewidth=0.6,
                            gid=f"legend-{kind}",
                        )
                    )
                    x += small * 1.4
                ax.text(x, y, text, va="center", fontsize=small, color="#333333")


def _legend_rows(
    rows: Sequence[PieceRow], size: float, width: float
) -> list[list[tuple[str, str, float]]]:
    """Legend entries ``(kind, text, x)`` broken into lines that fit ``width`` points."""
    entries = list(KIND_LEGEND.items())
    if any(row.n_special for row in rows):
        entries.append(("note", "(+n): special pieces not shown"))
    lines: list[list[tuple[str, str, float]]] = [[]]
    x = size * 0.6
    for kind, text in entries:
        step = (size * 1.4 if kind in PIECE_COLORS else 0.0) + measure_text(text, size)
        if lines[-1] and x + step > width - size * 0.6:
            lines.append([])
            x = size * 0.6
        lines[-1].append((kind, text, x))
        x += step + size * 1.2
    return lines
