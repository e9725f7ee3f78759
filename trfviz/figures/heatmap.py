"""Heatmap of one attention head (or a layer's mean) labelled with spaCy tokens.

Example
-------
>>> import numpy as np
>>> att = np.full((3, 3), 1 / 3, dtype=np.float32)
>>> fig, ax = plot_attention_heatmap(att, ["The", "old", "man"], title="L3 H7")
>>> [t.get_text() for t in ax.get_xticklabels()]
['The', 'old', 'man']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from trfviz.figures.layout import displayable, keep_vector, measure_text, new_figure
from trfviz.figures.style import Preset, get_preset, paper_style
from trfviz.palette import colormap
from trfviz.validation import check_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = ["check_window", "draw_heatmap", "labelled_matrix", "plot_attention_heatmap"]

#: Smallest font (points) tick labels shrink to before a window is needed.
MIN_LABEL_SIZE = 4.0
SPECIAL_COLOR = "#777777"


def plot_attention_heatmap(
    attention: np.ndarray,
    labels: Sequence[str],
    *,
    key_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    n_special: int = 0,
    window: tuple[int, int] | None = None,
    cmap: str | Colormap | None = None,
    vmin: float = 0.0,
    vmax: float | None = None,
    colorbar: bool = True,
    annotate: bool | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)`` with a heatmap of attention from queries (rows) to keys (columns).

    Args:
        attention: float ``[query, key]``: one head, or a mean over heads.
        labels: one label per query (and per key, unless ``key_labels`` is given):
            the spaCy tokens, then any special pseudo-tokens (``extraction.labels``).
        key_labels: labels of the key axis when it differs from the query axis.
        ax: draw into these axes instead of a new figure.
        title: axes title, e.g. ``"MiniLM layer 3 head 7"``.
        n_special: how many trailing labels are special pseudo-tokens
            (``[CLS]``, ``[SEP]``); they are drawn grey and italic.
        window: ``(start, end)``: show only tokens ``start:end`` on both axes,
            for sentences too long to label legibly at the figure's width.
        cmap: matplotlib colour map (default: the palette's ``sequential`` scale).
        vmin, vmax: colour scale (``vmax`` defaults to the largest weight shown).
        colorbar: draw a colour bar.
        annotate: write each weight in its cell (default: when at most 12 tokens).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).
    """
    matrix, rows, cols = labelled_matrix(attention, labels, key_labels)
    check_int("n_special", n_special, minimum=0)
    if n_special > min(len(rows), len(cols)):
        raise ValueError(f"n_special {n_special} is more than the {len(rows)} labels")
    special_rows = [i >= len(rows) - n_special for i in range(len(rows))]
    special_cols = [i >= len(cols) - n_special for i in range(len(cols))]
    if window is not None:
        start, end = check_window(window, len(rows))
        matrix = matrix[start:end, start:end]
        rows, cols = rows[start:end], cols[start:end]
        special_rows, special_cols = special_rows[start:end], special_cols[start:end]
    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else matplotlib.rcParams["font.size"]
        label_size, width, height = _heatmap_size(rows, cols, font, preset, colorbar, title)
        if ax is not None:
            # In the caller's axes, labels shrink with the cells they label.
            bbox = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            cell = min(bbox.width / len(cols), bbox.height / len(rows)) * 72
            label_size = min(label_size, max(cell * 0.8, MIN_LABEL_SIZE))
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        image = draw_heatmap(
            ax,
            matrix,
            rows,
            cols,
            label_size=label_size,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            special_rows=special_rows,
            special_cols=special_cols,
            annotate=len(rows) <= 12 and len(cols) <= 12 if annotate is None else annotate,
        )
        if title:
            ax.set_title(title)
        if colorbar:
            bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02, shrink=0.8)
            keep_vector(bar)
            bar.ax.tick_params(labelsize=label_size)
            bar.outline.set_linewidth(0.5)
    return fig, ax


def draw_heatmap(
    ax: Axes,
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    label_size: float,
    cmap: str | Colormap | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    special_rows: Sequence[bool] = (),
    special_cols: Sequence[bool] = (),
    annotate: bool = False,
    xlabel: str = "key",
    ylabel: str = "query",
) -> QuadMesh:
    """The mesh drawn: ``matrix`` ``[row, col]`` as a labelled heatmap on ``ax`` (row 0 on top)."""
    shown = matrix[np.isfinite(matrix)]
    top = vmax if vmax is not None else (float(shown.max()) if shown.size else 1.0)
    # A mesh of cells, not an image: vector in PDF/SVG and crisp in every viewer.
    image = ax.pcolormesh(
        np.arange(len(cols) + 1) - 0.5,
        np.arange(len(rows) + 1) - 0.5,
        np.ma.masked_invalid(matrix),
        cmap=colormap("sequential") if cmap is None else cmap,
        vmin=vmin,
        vmax=top if top > (vmin or 0) else None,
        shading="flat",
        edgecolors="face",
        linewidth=0.1,
    )
    ax.set_xlim(-0.5, len(cols) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(len(cols)))
    ax.set_yticks(range(len(rows)))
    # parse_math=False: a token such as "$5" must not start matplotlib's math mode.
    ax.set_xticklabels(cols, rotation=90, fontsize=label_size, parse_math=False)
    ax.set_yticklabels(rows, fontsize=label_size, parse_math=False)
    for text, is_special in zip(ax.get_xticklabels(), special_cols, strict=False):
        if is_special:
            text.set_color(SPECIAL_COLOR)
            text.set_fontstyle("italic")
    for text, is_special in zip(ax.get_yticklabels(), special_rows, strict=False):
        if is_special:
            text.set_color(SPECIAL_COLOR)
            text.set_fontstyle("italic")
    _fix_glyphs(ax)
    ax.tick_params(length=0, pad=2)
    ax.set_xlabel(xlabel, fontsize=label_size)
    ax.set_ylabel(ylabel, fontsize=label_size)
    ax.xaxis.set_label_position("bottom")
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
    if annotate:
        low, high = image.get_clim()
        threshold = low + 0.6 * ((high or 1.0) - low)
        for (i, j), value in np.ndenumerate(matrix):
            if np.isfinite(value):
                ax.text(
                    j,
                    i,
                    f"{value:.2f}".lstrip("0") if 0 <= value < 1 else f"{value:.1f}",
                    ha="center",
                    va="center",
                    fontsize=label_size * 0.75,
                    color="white" if value > threshold else "#222222",
                )
    return image


def _fix_glyphs(ax: Axes) -> None:
    """Shows characters the font lacks as ``[U+XXXX]``, keeping the token as the label's URL."""
    for text in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        shown = displayable(text.get_text())
        if shown != text.get_text():
            text.set_url(text.get_text())
            text.set_text(shown)


def _heatmap_size(
    rows: Sequence[str],
    cols: Sequence[str],
    font: float,
    preset: str | Preset | None,
    colorbar: bool,
    title: str | None,
) -> tuple[float, float, float]:
    """``(label font size, width, height)`` in points and inches for a new heatmap figure."""
    n_rows, n_cols = max(len(rows), 1), max(len(cols), 1)
    label_size = font
    extra_w = (0.55 if colorbar else 0.1) + 0.3
    if preset is not None:
        width = get_preset(preset).width
        label_size = get_preset(preset).small_font_size
        for _ in range(3):  # labels and cells share the width: settle the cell size
            label_w = max((measure_text(r, label_size) for r in rows), default=0.0) / 72
            cell = (width - label_w - extra_w) / n_cols * 72
            label_size = min(get_preset(preset).small_font_size, max(cell * 0.8, MIN_LABEL_SIZE))
    else:
        cell = max(label_size * 1.45, 10.0)
        label_w = max((measure_text(r, label_size) for r in rows), default=0.0) / 72
        width = label_w + n_cols * cell / 72 + extra_w
    col_h = max((measure_text(c, label_size) for c in cols), default=0.0) / 72
    height = n_rows * cell / 72 + col_h + 0.45 + (0.25 if title else 0.0)
    return label_size, width, max(height, 1.0)


def labelled_matrix(
    attention: np.ndarray, labels: Sequence[str], key_labels: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str], list[str]]:
    """``(matrix, row labels, column labels)``: ``attention`` checked against its labels."""
    if isinstance(labels, str) or isinstance(key_labels, str):
        raise TypeError("labels must be a sequence of token texts, not one string")
    matrix = np.asarray(attention, dtype=float)
    rows = [str(label) for label in labels]
    cols = [str(label) for label in key_labels] if key_labels is not None else rows
    if matrix.ndim != 2 or matrix.shape != (len(rows), len(cols)):
        raise ValueError(
            f"attention has shape {matrix.shape}; labels give ({len(rows)}, {len(cols)})"
        )
    return matrix, rows, cols


def check_window(window: tuple[int, int], n: int) -> tuple[int, int]:
    """``(start, end)`` checked against ``n`` tokens."""
    start, end = window
    if not 0 <= start < end <= n:
        raise ValueError(f"window {window} is outside the {n} tokens")
    return start, end
