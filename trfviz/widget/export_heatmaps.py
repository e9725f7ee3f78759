"""The heatmaps of an exported view: one per model (or the difference), as on screen.

:func:`draw_heatmaps` draws the panels :func:`trfviz.widget.export.draw_view`
composed into a subfigure, side by side at one cell size, with their colour
bar(s) on the view's scale, special tokens in grey italics, and — as the
widget frames them — the focused word's row (the attention *from* it, in the
palette's ``FROM_COLOR``) and column (*to* it, ``TO_COLOR``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.palette import FROM_COLOR, TO_COLOR
from trfviz.view import ViewSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import SubFigure

__all__ = ["draw_heatmaps", "frame_focus"]


def frame_focus(ax: Axes, focus: int, n_rows: int, n_cols: int, *, rows: bool = True) -> None:
    """Frames row ``focus`` (from it) and column ``focus`` (to it) of a heatmap on ``ax``."""
    from matplotlib.patches import Rectangle

    frames = []
    if rows and focus < n_rows:
        frames.append(((-0.5, focus - 0.5), n_cols, 1, FROM_COLOR, "focus-row"))
    if focus < n_cols:
        frames.append(((focus - 0.5, -0.5), 1, n_rows, TO_COLOR, "focus-column"))
    for corner, width, height, colour, gid in frames:
        ax.add_patch(
            Rectangle(
                corner,
                width,
                height,
                fill=False,
                edgecolor=colour,
                linewidth=1.0,
                gid=gid,
                zorder=3,
                clip_on=False,
            )
        )


def draw_heatmaps(
    part: SubFigure,
    spec: ViewSpec,
    panels: Sequence[tuple[str, np.ndarray, tuple[str, ...]]],
    ranges: Sequence[tuple[float, float]],
    cmap: Any,
    size: tuple[float, float, float, float],
    n: int,
    words: bool,
    focus: int | None,
) -> list[Any]:
    """The meshes drawn: ``panels`` ``(name, matrix, labels)`` side by side in ``part``.

    ``size`` is :func:`trfviz.figures.heatmap.heatmap_size`'s ``(label size,
    cell, width, height)``; ``words`` draws one row per panel (a per-word
    measure); ``n`` is the number of words (labels past it are special tokens).
    """
    from trfviz.figures.heatmap import draw_heatmap
    from trfviz.figures.layout import keep_vector
    from trfviz.figures.style import MIN_TEXT_SIZE

    label_size, cell, width, _ = size
    text_size = max(label_size, MIN_TEXT_SIZE)
    page = float(part.get_figure(root=True).get_size_inches()[0])
    if len(panels) == 1 and width < page * 0.9:  # one heatmap and its bar, in the middle
        side = (page - width) / 2
        part = part.subfigures(1, 3, width_ratios=[side, width, side], squeeze=False)[0, 1]
    axes = part.subplots(1, len(panels), squeeze=False)[0]
    images = []
    for index, ((name, matrix, labels), ax, (low, high)) in enumerate(
        zip(panels, axes, ranges, strict=True)
    ):
        special = [i >= n for i in range(len(labels))] if len(labels) > n else []
        images.append(
            draw_heatmap(
                ax,
                matrix,
                [name] if words else list(labels),
                list(labels),
                label_size=label_size,
                cell=cell,
                cmap=cmap,
                vmin=low,
                vmax=high,
                special_rows=() if words else special,
                special_cols=special,
                ylabel="query" if index == 0 and not words else "",
            )
        )
        if focus is not None:
            frame_focus(ax, focus, matrix.shape[0], matrix.shape[1], rows=not words)
        if spec.comparing or spec.mode == "difference":
            own = "" if spec.shared_range or spec.value_range else " (own scale)"
            ax.set_title(name + own, fontsize=text_size)
    shared = len(set(ranges)) == 1
    groups = [list(axes)] if shared else [[ax] for ax in axes]
    for image, group in zip(images, groups, strict=False):
        bar = part.colorbar(image, ax=group, fraction=0.05, pad=0.02, shrink=0.8)
        keep_vector(bar)
        bar.ax.tick_params(labelsize=text_size)
        label = spec.measure_label
        if spec.mode == "difference":
            label = f"difference in {label}"
        if spec.measure != "attention" or spec.mode == "difference":  # say what colours are
            bar.set_label(label, fontsize=text_size)
    return images
