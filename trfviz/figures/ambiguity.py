"""Figures of attention under ambiguity: effect sizes per head, condition values of one head.

They draw the tidy tables of :mod:`trfviz.analysis.ambiguity` (plain DataFrames).

Example
-------
>>> import pandas as pd
>>> effects = pd.DataFrame({"model": "M", "layer": [0, 0, 1, 1], "head": [0, 1, 0, 1],
...                         "effect_size": [1.2, -0.3, 0.1, 0.0],
...                         "q_value": [0.01, 0.5, 0.9, 0.9]})
>>> fig, ax = plot_effect_sizes(effects)
>>> ax.get_xlabel(), ax.get_ylabel()
('head', 'layer')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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

__all__ = ["plot_condition_values", "plot_effect_sizes"]

_LABELS = {
    "effect_size": "effect size (d_z)",
    "mean_difference": "mean difference",
    "t": "t",
}


def plot_effect_sizes(
    effects: pd.DataFrame,
    *,
    model: str | None = None,
    metric: str = "effect_size",
    significance: str | None = "q_value",
    alpha: float = 0.05,
    limit: float | None = None,
    ax: Axes | None = None,
    cmap: str | Colormap | None = None,
    colorbar: bool = True,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: a layer × head heatmap of a contrast's effect size.

    Args:
        effects: from :func:`trfviz.analysis.estimate_effects`; it must hold one
            model and one contrast (give ``model`` to pick one).
        model: the model to draw, when the table has several.
        metric: the column drawn (``"effect_size"``, ``"mean_difference"``, ``"t"``).
        significance: a p- or q-value column; heads below ``alpha`` get a dot
            (``None``: no dots).
        alpha: the significance threshold.
        limit: colour scale ``[-limit, limit]`` (default: the largest ``|value|``).
        ax: draw into these axes instead of a new figure.
        cmap: a diverging colour map, centred on 0 (default: the palette's
            ``diverging`` scale, purple below 0 and orange above).
        colorbar: draw a colour bar.
        title: axes title (default: the model and the contrast).
        preset: lay out for a paper width.

    Rows are layers (0 at the bottom), columns heads. Infinite values (all
    items agree exactly) are drawn at the ends of the scale.
    """
    rows = _select(effects, model=model)
    require_columns(rows, ["layer", "head", metric])
    wide = rows.pivot(index="layer", columns="head", values=metric)
    wide = wide.sort_index(axis=0).sort_index(axis=1)
    matrix = wide.to_numpy(dtype=float)
    finite = np.abs(matrix[np.isfinite(matrix)])
    if limit is None:
        limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    shown = np.clip(matrix, -limit, limit)
    with paper_style(preset):
        width = get_preset(preset).width if preset else min(9.0, 1.8 + 0.45 * matrix.shape[1])
        height = min(9.0, 1.2 + 0.35 * matrix.shape[0])
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        image = matrix_image(
            ax,
            shown,
            cmap=colormap("diverging") if cmap is None else cmap,
            vmin=-limit,
            vmax=limit,
        )
        label_ticks(ax, wide.columns.to_numpy(), axis="x")
        label_ticks(ax, wide.index.to_numpy(), axis="y")
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        if significance is not None and significance in rows.columns:
            marks = rows.pivot(index="layer", columns="head", values=significance).reindex(
                index=wide.index, columns=wide.columns
            )
            ys, xs = np.nonzero(marks.to_numpy(dtype=float) < alpha)
            ax.scatter(xs, ys, s=9, color="black", marker="o", linewidths=0)
        if title is None:
            parts = [str(rows["model"].iloc[0])] if "model" in rows else []
            if "contrast" in rows:
                parts.append(str(rows["contrast"].iloc[0]))
            title = ": ".join(parts)
        ax.set_title(title)
        if colorbar:
            bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label(_LABELS.get(metric, metric))
    return fig, ax


def plot_condition_values(
    table: pd.DataFrame,
    *,
    layer: int,
    head: int,
    model: str | None = None,
    conditions: Sequence[str] | None = None,
    value: str = "attention",
    ax: Axes | None = None,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: one head's value in each condition, item by item.

    Args:
        table: from :func:`trfviz.analysis.measure_region_attention`; it must
            hold one model and one (source, target) pair.
        layer, head: the head drawn.
        model: the model to draw, when the table has several.
        conditions: the conditions, in order (default: as they first appear).
        value: the column drawn.
        ax: draw into these axes instead of a new figure.
        title: axes title (default: model, head and regions).
        preset: lay out for a paper width.

    Each item is a grey line through its values in the conditions (the
    pairing the effect size rests on); black shows each condition's mean with
    ±1.96 standard errors.
    """
    rows = _select(table, model=model)
    require_columns(rows, ["layer", "head", "item", "condition", value])
    chosen = rows[(rows["layer"] == layer) & (rows["head"] == head)]
    if chosen.empty:
        raise ValueError(
            f"no rows for layer {layer}, head {head}; the table has layers "
            f"{rows['layer'].min()}..{rows['layer'].max()} and heads "
            f"{rows['head'].min()}..{rows['head'].max()}"
        )
    rows = chosen
    order = list(conditions) if conditions is not None else list(rows["condition"].unique())
    wide = rows.pivot(index="item", columns="condition", values=value)
    wide = wide.reindex(columns=order)
    matrix = wide.to_numpy(dtype=float)  # [item, condition]
    x = np.arange(len(order))
    with paper_style(preset):
        width = get_preset(preset).width if preset else 1.6 + 1.1 * len(order)
        fig, ax = new_figure(ax, width=width, height=3.2, preset=preset, constrained=True)
        for values in matrix:
            ax.plot(
                x, values, color="#999999", linewidth=0.6, alpha=0.6, marker="o", markersize=2.5
            )
        counts = np.sum(np.isfinite(matrix), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.nanmean(np.where(np.isfinite(matrix), matrix, np.nan), axis=0)
            errors = 1.96 * np.nanstd(matrix, axis=0, ddof=1) / np.sqrt(counts)
        ax.errorbar(
            x,
            means,
            yerr=errors,
            color="black",
            marker="o",
            markersize=5,
            linewidth=1.2,
            capsize=3,
            zorder=3,
        )
        ax.set_xticks(x, order, rotation=20 if len(order) > 2 else 0)
        ax.set_xlim(-0.5, len(order) - 0.5)
        ax.set_ylabel(value)
        ax.spines[["top", "right"]].set_visible(False)
        if title is None:
            parts = [str(rows["model"].iloc[0])] if "model" in rows else []
            parts.append(f"layer {layer} head {head}")
            if "source" in rows and "target" in rows:
                parts.append(f"{rows['source'].iloc[0]} → {rows['target'].iloc[0]}")
            title = ", ".join(parts)
        ax.set_title(title)
    return fig, ax


def _select(table: pd.DataFrame, *, model: str | None) -> pd.DataFrame:
    rows = table if model is None else table[table["model"] == model]
    if rows.empty:
        raise ValueError(f"no rows for model {model!r}")
    for column in ("model", "source", "target", "contrast"):
        single_value(rows, column, "")
    return rows
