"""Figures of cross-model similarity: head × head, layer × layer (CKA), best matches.

They draw the tidy tables of :mod:`trfviz.analysis.similarity` (plain
DataFrames) and never compute on a model.

Example
-------
>>> import pandas as pd
>>> table = pd.DataFrame({"model_a": "A", "layer_a": [0, 0, 1, 1], "model_b": "B",
...                       "layer_b": [0, 1, 0, 1], "cka": [0.9, 0.2, 0.3, 0.8]})
>>> fig, ax = plot_layer_cka(table)
>>> ax.get_xlabel(), ax.get_ylabel()
('B layer', 'A layer')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from trfviz.figures.layout import matrix_image, new_figure
from trfviz.figures.style import Preset, get_preset, paper_style
from trfviz.figures.tables import require_columns, single_value
from trfviz.figures.ticks import label_ticks
from trfviz.palette import colormap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = ["plot_best_matches", "plot_head_similarity", "plot_layer_cka"]

#: Metrics where a smaller value means more similar heads.
_LOWER_IS_CLOSER = frozenset({"js_divergence"})
_METRIC_LABELS = {
    "js_divergence": "Jensen–Shannon divergence (nats)",
    "argmax_agreement": "argmax agreement",
    "topk_overlap": "top-k overlap",
    "correlation": "correlation",
    "cka": "linear CKA",
}


def plot_head_similarity(
    table: pd.DataFrame,
    *,
    metric: str = "js_divergence",
    ax: Axes | None = None,
    cmap: str | Colormap | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: a head × head heatmap of one similarity metric.

    Args:
        table: from :func:`trfviz.analysis.compare_heads` (one row per head pair).
        metric: ``"js_divergence"``, ``"argmax_agreement"``, ``"topk_overlap"``
            or ``"correlation"``.
        ax: draw into these axes instead of a new figure.
        cmap: colour map; by default darker always means more similar.
        vmin, vmax: colour scale (default: the data's range).
        colorbar: draw a colour bar.
        title: axes title (default: the metric).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Rows are the heads of model A, columns those of model B, each grouped by
    layer (layer 0 at the bottom left) with thin lines between layers.
    """
    require_columns(table, ["layer_a", "head_a", "layer_b", "head_b", metric])
    wide = (
        table.pivot(
            index=["layer_a", "head_a"],
            columns=["layer_b", "head_b"],
            values=metric,
        )
        .sort_index(axis=0)
        .sort_index(axis=1)
    )
    matrix = wide.to_numpy(dtype=float)
    layers_a = wide.index.get_level_values(0).to_numpy()
    layers_b = wide.columns.get_level_values(0).to_numpy()
    if cmap is None:
        cmap = _closeness_cmap(metric)
    with paper_style(preset):
        width = get_preset(preset).width if preset else 6.0
        height = width * min(1.2, max(0.35, matrix.shape[0] / max(1, matrix.shape[1]))) + 0.6
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        image = matrix_image(
            ax,
            matrix,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
        )
        _layer_axis(ax, layers_a, axis="y")
        _layer_axis(ax, layers_b, axis="x")
        ax.set_ylabel(f"{single_value(table, 'model_a', 'A')} layer")
        ax.set_xlabel(f"{single_value(table, 'model_b', 'B')} layer")
        ax.set_title(title if title is not None else _METRIC_LABELS.get(metric, metric))
        if colorbar:
            bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label(_METRIC_LABELS.get(metric, metric))
    return fig, ax


def plot_layer_cka(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    cmap: str | Colormap | None = None,
    annotate: bool | None = None,
    colorbar: bool = True,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: a layer × layer heatmap of linear CKA, on a fixed 0–1 scale.

    Args:
        table: from :func:`trfviz.analysis.compare_layers_cka`.
        ax: draw into these axes instead of a new figure.
        cmap: colour map (default: the palette's ``sequential`` scale).
        annotate: write each value in its cell (default: at most 12 × 12 layers).
        colorbar: draw a colour bar.
        title: axes title (default ``"linear CKA"``).
        preset: lay out for a paper width.

    Rows are layers of model A, columns layers of model B; layer 0 (the
    embedding output) is at the bottom left.
    """
    require_columns(table, ["layer_a", "layer_b", "cka"])
    wide = table.pivot(index="layer_a", columns="layer_b", values="cka")
    wide = wide.sort_index(axis=0).sort_index(axis=1)
    matrix = wide.to_numpy(dtype=float)
    if annotate is None:
        annotate = max(matrix.shape) <= 12
    with paper_style(preset):
        width = get_preset(preset).width if preset else min(8.0, 1.5 + 0.35 * matrix.shape[1])
        height = min(8.0, 1.2 + width * matrix.shape[0] / max(1, matrix.shape[1]))
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        image = matrix_image(
            ax,
            matrix,
            cmap=colormap("sequential") if cmap is None else cmap,
            vmin=0.0,
            vmax=1.0,
        )
        label_ticks(ax, wide.columns.to_numpy(), axis="x")
        label_ticks(ax, wide.index.to_numpy(), axis="y")
        ax.set_ylabel(f"{single_value(table, 'model_a', 'A')} layer")
        ax.set_xlabel(f"{single_value(table, 'model_b', 'B')} layer")
        ax.set_title(title if title is not None else "linear CKA")
        if annotate:
            _annotate(ax, matrix, threshold=0.6)
        if colorbar:
            bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label("linear CKA")
    return fig, ax


def plot_best_matches(
    best: pd.DataFrame,
    *,
    direction: Literal["a_to_b", "b_to_a"] = "a_to_b",
    metric: str | None = None,
    ax: Axes | None = None,
    cmap: str | Colormap | None = None,
    annotate: bool | None = None,
    colorbar: bool = True,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: each head of one model coloured by how well its best match scores.

    Args:
        best: from :func:`trfviz.analysis.best_matching_heads`.
        direction: ``"a_to_b"``: the heads of model A and their best match in
            B; ``"b_to_a"`` the other way round.
        metric: the score shown (default: the metric the matches were chosen by).
        ax: draw into these axes instead of a new figure.
        cmap: colour map; by default darker means more similar.
        annotate: write the matched head (``"3.7"`` = layer 3, head 7) in each
            cell (default: at most 120 heads).
        colorbar: draw a colour bar.
        title: axes title.
        preset: lay out for a paper width.

    Rows are layers (0 at the bottom), columns heads.
    """
    require_columns(best, ["direction", "layer", "head", "matched_layer", "matched_head"])
    rows = best[best["direction"] == direction]
    if rows.empty:
        raise ValueError(f"no rows with direction {direction!r}")
    if metric is None:
        metric = str(rows["by"].iloc[0]) if "by" in rows else "correlation"
    require_columns(rows, [metric])
    wide = rows.pivot(index="layer", columns="head", values=metric)
    matrix = wide.to_numpy(dtype=float)
    if annotate is None:
        annotate = matrix.size <= 120
    if cmap is None:
        cmap = _closeness_cmap(metric)
    with paper_style(preset):
        width = get_preset(preset).width if preset else min(9.0, 1.8 + 0.5 * matrix.shape[1])
        height = min(9.0, 1.2 + 0.4 * matrix.shape[0])
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        image = matrix_image(ax, matrix, cmap=cmap)
        label_ticks(ax, wide.columns.to_numpy(), axis="x")
        label_ticks(ax, wide.index.to_numpy(), axis="y")
        model = single_value(rows, "model", "A" if direction == "a_to_b" else "B")
        other = single_value(rows, "matched_model", "B" if direction == "a_to_b" else "A")
        ax.set_xlabel(f"{model} head")
        ax.set_ylabel(f"{model} layer")
        ax.set_title(title if title is not None else f"best match in {other}")
        if annotate:
            matched = {
                (layer, head): f"{int(ml)}.{int(mh)}"
                for layer, head, ml, mh in rows[
                    ["layer", "head", "matched_layer", "matched_head"]
                ].itertuples(index=False)
            }
            low, high = image.get_clim()
            for (i, j), value in np.ndenumerate(matrix):
                label = matched.get((wide.index[i], wide.columns[j]))
                if label is None or not np.isfinite(value):
                    continue
                shade = (value - low) / ((high - low) or 1.0)
                shade = 1 - shade if metric in _LOWER_IS_CLOSER else shade
                ax.text(
                    j,
                    i,
                    label,
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color="white" if shade > 0.6 else "#222222",
                )
        if colorbar:
            bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label(_METRIC_LABELS.get(metric, metric))
    return fig, ax


# -- helpers ------------------------------------------------------------------------------------


def _closeness_cmap(metric: str) -> Colormap:
    """The palette's sequential scale, reversed where a smaller value means more similar."""
    scale = colormap("sequential")
    return scale.reversed() if metric in _LOWER_IS_CLOSER else scale


def _layer_axis(ax: Axes, layers: np.ndarray, *, axis: Literal["x", "y"]) -> None:
    """Ticks at the middle of each layer's block of heads, lines between blocks."""
    starts = np.flatnonzero(np.r_[True, layers[1:] != layers[:-1]])
    ends = np.r_[starts[1:], len(layers)]
    line = ax.axhline if axis == "y" else ax.axvline
    for boundary in starts[1:]:
        line(boundary - 0.5, color="white", linewidth=0.4)
    label_ticks(ax, layers[starts], axis=axis, positions=(starts + ends - 1) / 2, max_labels=12)


def _annotate(ax: Axes, matrix: np.ndarray, *, threshold: float) -> None:
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize="x-small",
                color="white" if value > threshold else "#222222",
            )
