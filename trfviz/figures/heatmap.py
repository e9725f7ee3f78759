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

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from trfviz.figures.layout import displayable, keep_vector, measure_text, new_figure
from trfviz.figures.style import MIN_TEXT_SIZE, Preset, get_preset, paper_style
from trfviz.palette import colormap
from trfviz.validation import check_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = [
    "check_window",
    "draw_heatmap",
    "heatmap_size",
    "label_step",
    "labelled_matrix",
    "plot_attention_heatmap",
    "thinned_ticks",
    "window_note",
]

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
    window: tuple[int, int] | slice | None = None,
    cmap: str | Colormap | None = None,
    vmin: float = 0.0,
    vmax: float | None = None,
    colorbar: bool = True,
    annotate: bool | None = None,
    value_label: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)`` with a heatmap of attention from queries (rows) to keys (columns).

    Any ``[query, key]`` measure of :mod:`trfviz.measures` draws the same way
    (``norms.sentences[0].values[layer, head]``, a rollout layer, flow), named
    on the colour bar by ``value_label``.

    Args:
        attention: float ``[query, key]``: one head, or a mean over heads.
        labels: one label per query (and per key, unless ``key_labels`` is given):
            the spaCy tokens, then any special pseudo-tokens (``extraction.labels``).
        key_labels: labels of the key axis when it differs from the query axis.
        ax: draw into these axes instead of a new figure.
        title: axes title, e.g. ``"MiniLM layer 3 head 7"``.
        n_special: how many trailing labels are special pseudo-tokens
            (``[CLS]``, ``[SEP]``); they are drawn grey and italic.
        window: ``(start, end)`` or ``slice(start, end)``: show only those tokens
            on both axes, for sentences too long to read at the figure's width;
            the key axis says which (``"key (tokens 21–40 of 64)"``).
        cmap: matplotlib colour map (default: the palette's ``sequential`` scale).
        vmin, vmax: colour scale (``vmax`` defaults to the largest weight shown).
        colorbar: draw a colour bar.
        annotate: write each weight in its cell (default: when at most 12 tokens).
        value_label: what the colours are, on the colour bar (e.g. ``"attention norm"``).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).
    """
    matrix, rows, cols = labelled_matrix(attention, labels, key_labels)
    check_int("n_special", n_special, minimum=0)
    if n_special > min(len(rows), len(cols)):
        raise ValueError(f"n_special {n_special} is more than the {len(rows)} labels")
    special_rows = [i >= len(rows) - n_special for i in range(len(rows))]
    special_cols = [i >= len(cols) - n_special for i in range(len(cols))]
    note = ""
    if window is not None:
        start, end = check_window(window, len(rows))
        note = window_note(start, end, len(rows))
        matrix = matrix[start:end, start:end]
        rows, cols = rows[start:end], cols[start:end]
        special_rows, special_cols = special_rows[start:end], special_cols[start:end]
    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else matplotlib.rcParams["font.size"]
        label_size, cell, width, height = heatmap_size(rows, cols, font, preset, colorbar, title)
        if ax is not None:
            # In the caller's axes, labels shrink with the cells they label.
            bbox = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            cell = min(bbox.width / len(cols), bbox.height / len(rows)) * 72
            label_size = min(label_size, max(cell * 0.8, MIN_LABEL_SIZE))
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        fits = cell >= measure_text(".00", MIN_TEXT_SIZE) * 1.15
        image = draw_heatmap(
            ax,
            matrix,
            rows,
            cols,
            label_size=label_size,
            cell=cell,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            special_rows=special_rows,
            special_cols=special_cols,
            annotate=(len(rows) <= 12 and len(cols) <= 12 and fits)
            if annotate is None
            else annotate,
            xlabel=f"key ({note})" if note else "key",
        )
        if title:
            ax.set_title(title, fontsize=max(font, MIN_TEXT_SIZE))
        if colorbar:
            bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02, shrink=0.8)
            keep_vector(bar)
            bar.ax.tick_params(labelsize=max(label_size, MIN_TEXT_SIZE))
            bar.outline.set_linewidth(0.5)
            if value_label:
                bar.set_label(value_label, fontsize=max(label_size, MIN_TEXT_SIZE))
    return fig, ax


def window_note(start: int, end: int, n: int) -> str:
    """How a window is marked on a figure: ``"tokens 21–40 of 64"`` (counted from 1)."""
    return f"tokens {start + 1}–{end} of {n}"


def label_step(cell: float | None, label_size: float) -> int:
    """Every how many cells a label goes so that labels ``label_size`` pt tall never touch."""
    if cell is None or cell <= 0:
        return 1
    return max(1, math.ceil(label_size * 1.25 / cell))


def thinned_ticks(n: int, step: int, keep: Sequence[bool] = ()) -> list[int]:
    """Positions labelled when every ``step``-th of ``n`` cells gets a label.

    Cells marked in ``keep`` (special tokens such as ``[SEP]``) are labelled
    first, the last one always (two adjacent specials in cells too small for
    both keep the last); a regular label closer than ``step`` to one is dropped.

    >>> thinned_ticks(10, 3, [False] * 8 + [True, True])
    [1, 4, 9]
    """
    kept: list[int] = []
    for i in reversed([i for i, k in enumerate(keep) if k]):  # the last special ([SEP]) first
        if all(abs(i - k) >= step for k in kept):
            kept.append(i)
    # Thinned labels start half a step in, clear of the other axis's labels at the corner.
    first = step // 2 if step // 2 < n else 0
    regular = [i for i in range(first, n, step) if all(abs(i - k) >= step for k in kept)]
    return sorted({*regular, *kept})


def draw_heatmap(
    ax: Axes,
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    label_size: float,
    cell: float | None = None,
    cmap: str | Colormap | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    special_rows: Sequence[bool] = (),
    special_cols: Sequence[bool] = (),
    annotate: bool = False,
    xlabel: str = "key",
    ylabel: str = "query",
) -> QuadMesh:
    """The mesh drawn: ``matrix`` ``[row, col]`` as a labelled heatmap on ``ax`` (row 0 on top).

    ``cell`` is the side of a cell in points: when labels ``label_size`` pt tall
    do not fit one per cell, every n-th is shown (special tokens always).
    """
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
        gid="heatmap",
    )
    ax.set_xlim(-0.5, len(cols) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_aspect("equal")
    step = label_step(cell, label_size)
    xs = thinned_ticks(len(cols), step, special_cols)
    ys = thinned_ticks(len(rows), step, special_rows)
    ax.set_xticks(xs)
    ax.set_yticks(ys)
    # parse_math=False: a token such as "$5" must not start matplotlib's math mode.
    ax.set_xticklabels([cols[i] for i in xs], rotation=90, fontsize=label_size, parse_math=False)
    ax.set_yticklabels([rows[i] for i in ys], fontsize=label_size, parse_math=False)
    special_x = [bool(special_cols) and i < len(special_cols) and special_cols[i] for i in xs]
    special_y = [bool(special_rows) and i < len(special_rows) and special_rows[i] for i in ys]
    for text, is_special in zip(ax.get_xticklabels(), special_x, strict=False):
        if is_special:
            text.set_color(SPECIAL_COLOR)
            text.set_fontstyle("italic")
    for text, is_special in zip(ax.get_yticklabels(), special_y, strict=False):
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
                    fontsize=max(label_size * 0.75, MIN_TEXT_SIZE),
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


def heatmap_size(
    rows: Sequence[str],
    cols: Sequence[str],
    font: float,
    preset: str | Preset | None,
    colorbar: bool,
    title: str | None,
    *,
    panels: int = 1,
) -> tuple[float, float, float, float]:
    """``(label size, cell, width, height)``: points, points, inches, inches of a new heatmap.

    At a preset, labels keep the preset's small font (thinned when cells are
    smaller than a label); cells shrink to fit ``panels`` heatmaps side by side
    in the preset's width and under its ``max_height``, and grow no larger than
    twice a label, so a short sentence gives a small figure.
    """
    n_rows, n_cols = max(len(rows), 1), max(len(cols), 1)
    extra_w = (0.65 if colorbar else 0.1) + 0.3  # the bar and its tick labels ("0.75")
    if preset is not None:
        p = get_preset(preset)
        label_size = max(p.small_font_size, MIN_TEXT_SIZE)
        label_w = max((measure_text(r, label_size) for r in rows), default=0.0) / 72
        col_h = max((measure_text(c, label_size) for c in cols), default=0.0) / 72
        other_h = col_h + 0.45 + (0.3 if title else 0.0)
        # Panels side by side get equal columns, each as wide as the first with its labels.
        fixed = extra_w + panels * (label_w + 0.15)
        cell = min(
            (p.width - fixed) / (panels * n_cols) * 72,
            (p.max_height - other_h) / n_rows * 72,
            label_size * 2.0,
        )
        if cell < 1.5:
            warnings.warn(
                f"{n_cols} tokens in {panels} heatmap(s) at {p.name!r} leave {cell:.1f} pt a "
                "cell; show part of the sentence with window=(start, end) or a wider preset",
                stacklevel=3,
            )
        cell = max(cell, 0.5)  # labels wider than the page squeeze the cells, never the page
        width = min(fixed + panels * n_cols * cell / 72, p.width)
    else:
        label_size = font
        cell = max(label_size * 1.45, 10.0)
        label_w = max((measure_text(r, label_size) for r in rows), default=0.0) / 72
        col_h = max((measure_text(c, label_size) for c in cols), default=0.0) / 72
        other_h = col_h + 0.45 + (0.3 if title else 0.0)
        width = panels * (label_w + n_cols * cell / 72) + extra_w
    height = n_rows * cell / 72 + other_h
    return label_size, cell, width, max(height, 1.0)


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


def check_window(window: tuple[int, int] | slice, n: int) -> tuple[int, int]:
    """``(start, end)`` of ``window`` (a span or a ``slice`` with no step) checked against ``n``."""
    if isinstance(window, slice):
        if window.step not in (None, 1):
            raise ValueError(f"window {window} must be contiguous (no step)")
        start, end, _ = window.indices(n)
        if not start < end:
            raise ValueError(f"window {window} holds none of the {n} tokens")
        return start, end
    if not isinstance(window, tuple | list) or len(window) != 2:
        raise TypeError(f"window must be (start, end) or a slice; got {window!r}")
    start, end = (int(x) for x in window)
    if not 0 <= start < end <= n:
        raise ValueError(f"window {window} is outside the {n} tokens")
    return start, end
