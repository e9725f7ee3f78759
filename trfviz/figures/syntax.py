"""Figures of which heads track syntax: best head per relation vs the baseline, head maps.

They draw the tidy tables of :mod:`trfviz.analysis.syntax` (plain DataFrames)
and never compute on a model:

- :func:`plot_relation_accuracy`: per relation, the best head's accuracy
  beside the best fixed-offset baseline (Clark et al. 2019, Table 1), from
  :func:`~trfviz.analysis.syntax.best_heads_per_relation`;
- :func:`plot_head_accuracy`: a layer × head map of one relation's accuracy,
  with the baseline marked on the colour bar, from
  :meth:`~trfviz.analysis.syntax.HeadRelationAccuracy.result`;
- :func:`plot_attention_patterns`: one measure (attention to ``[CLS]``, to the
  previous token, entropy ...) of every head, by layer (Clark et al., Figure 2),
  from :meth:`~trfviz.analysis.syntax.AttentionPatterns.result`.

Example
-------
>>> import pandas as pd
>>> best = pd.DataFrame({"relation": ["det", "obj"], "direction": "dependent->head",
...                      "layer": [2, 2], "head": [8, 0], "accuracy": [0.81, 0.74],
...                      "baseline_offset": [1, -2], "baseline_accuracy": [0.60, 0.36],
...                      "n": [1817, 1211]})
>>> fig, ax = plot_relation_accuracy(best)
>>> [t.get_text() for t in ax.get_yticklabels()]
['det', 'obj']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trfviz.figures.layout import keep_vector, matrix_image, new_figure
from trfviz.figures.style import Preset, get_preset, paper_style
from trfviz.figures.tables import require_columns, single_value
from trfviz.palette import colormap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = ["plot_attention_patterns", "plot_head_accuracy", "plot_relation_accuracy"]

HEAD_COLOR = "#3b6ea8"
BASELINE_COLOR = "#c9c9c9"
_ARROWS = {"dependent->head": "dep→head", "head->dependent": "head→dep"}
_MEASURE_LABELS = {
    "special": "attention to special tokens",
    "punctuation": "attention to punctuation",
    "previous": "attention to the previous token",
    "next": "attention to the next token",
    "self": "attention to itself",
    "entropy": "attention entropy (nats)",
    "uniform entropy": "entropy of uniform attention (nats)",
}


def plot_relation_accuracy(
    best: pd.DataFrame,
    *,
    ax: Axes | None = None,
    annotate: bool = True,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: horizontal bars of the best head's accuracy beside the baseline's.

    Args:
        best: from :func:`~trfviz.analysis.syntax.best_heads_per_relation` (one
            model); rows are drawn top to bottom in the table's order.
        ax: draw into these axes instead of a new figure.
        annotate: write the best head (``L2-H8``: layer 2, head 8, from 0) and
            the baseline offset beside the bars.
        title: axes title (default: the model's name, if the table has one).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Where the table has both directions for a relation, each row is labelled
    with its direction (``dep→head``, ``head→dep``).
    """
    require_columns(best, ["relation", "layer", "head", "accuracy", "baseline_accuracy"])
    _one_model(best)
    if best.empty:
        raise ValueError("the table is empty")
    both = "direction" in best and best.groupby("relation").direction.nunique().max() > 1
    labels = [
        f"{row.relation} ({_ARROWS.get(row.direction, row.direction)})" if both else row.relation
        for row in best.itertuples()
    ]
    y = np.arange(len(best))
    with paper_style(preset):
        width = get_preset(preset).width if preset else 6.0
        height = min(12.0, 0.8 + 0.28 * max(1, len(best)))
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        bar = 0.4
        ax.barh(y - bar / 2, best.accuracy, height=bar, color=HEAD_COLOR, label="best head")
        ax.barh(
            y + bar / 2,
            best.baseline_accuracy,
            height=bar,
            color=BASELINE_COLOR,
            label="best fixed offset",
        )
        ax.set_yticks(y, labels)
        # Top to bottom in the table's order, with a free row at the bottom for the legend.
        ax.set_ylim(len(best) + 0.9, -0.6)
        ax.set_xlim(0, 1.18 if annotate else 1.0)
        ax.set_xticks(np.linspace(0, 1, 6))
        ax.set_xlabel("accuracy")
        ax.legend(loc="lower right", frameon=False)
        if annotate:
            small = _small_font()
            offsets = best.get("baseline_offset")
            for i, row in enumerate(best.itertuples()):
                ax.text(
                    row.accuracy + 0.01,
                    i - bar / 2,
                    f"L{row.layer}-H{row.head}",
                    va="center",
                    fontsize=small,
                )
                if offsets is not None:
                    ax.text(
                        row.baseline_accuracy + 0.01,
                        i + bar / 2,
                        f"{int(offsets.iloc[i]):+d}",
                        va="center",
                        fontsize=small,
                        color="#666666",
                    )
        ax.set_title(title if title is not None else single_value(best, "model", ""))
    return fig, ax


def plot_head_accuracy(
    scores: pd.DataFrame,
    *,
    relation: str = "all",
    direction: str = "dependent->head",
    ax: Axes | None = None,
    cmap: str | Colormap | None = None,
    vmin: float = 0.0,
    vmax: float | None = None,
    annotate: bool | None = None,
    colorbar: bool = True,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: a layer × head map of each head's accuracy at one relation.

    Args:
        scores: from :meth:`~trfviz.analysis.syntax.HeadRelationAccuracy.result`
            (one model, or pick one first).
        relation: the relation (``"all"``: every arc).
        direction: ``"dependent->head"`` or ``"head->dependent"``.
        ax: draw into these axes instead of a new figure.
        cmap: colour map (default: the palette's ``score`` scale).
        vmin, vmax: colour scale (default 0 to the best accuracy).
        annotate: write each accuracy in its cell (default: at most 16 × 16 heads).
        colorbar: draw a colour bar, with the baseline marked on it.
        title: axes title (default: relation, direction and the baseline).
        preset: lay out for a paper width.

    Rows are layers (0 at the bottom), columns heads; the best head is framed.
    """
    require_columns(scores, ["layer", "head", "relation", "direction", "accuracy"])
    _one_model(scores)
    table = scores[(scores.relation == relation) & (scores.direction == direction)]
    if table.empty:
        raise ValueError(f"no rows for relation {relation!r} in direction {direction!r}")
    wide = table.pivot(index="layer", columns="head", values="accuracy").sort_index()
    matrix = wide.to_numpy(dtype=float)
    baseline = float(table.baseline_accuracy.iloc[0]) if "baseline_accuracy" in table else None
    offset = int(table.baseline_offset.iloc[0]) if "baseline_offset" in table else None
    if annotate is None:
        annotate = max(matrix.shape) <= 16
    top = float(np.nanmax(matrix)) if vmax is None else vmax
    with paper_style(preset):
        width = get_preset(preset).width if preset else min(8.0, 1.8 + 0.42 * matrix.shape[1])
        height = min(8.0, 1.2 + 0.36 * matrix.shape[0] * (width / 6.0))
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        image = matrix_image(
            ax,
            matrix,
            cmap=colormap("score") if cmap is None else cmap,
            vmin=vmin,
            vmax=max(top, vmin + 1e-9),
        )
        ax.set_xticks(np.arange(matrix.shape[1]), [str(h) for h in wide.columns])
        ax.set_yticks(np.arange(matrix.shape[0]), [str(layer) for layer in wide.index])
        ax.set_xlabel("head")
        ax.set_ylabel("layer")
        best = np.unravel_index(np.nanargmax(matrix), matrix.shape)
        from matplotlib.patches import Rectangle

        ax.add_patch(
            Rectangle(
                (best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, edgecolor="#e8590c", linewidth=1.5
            )
        )
        if annotate:
            fontsize = _small_font()
            middle = vmin + 0.6 * (max(top, vmin + 1e-9) - vmin)
            for (i, j), value in np.ndenumerate(matrix):
                if np.isfinite(value):
                    ax.text(
                        j,
                        i,
                        f"{value:.2f}".lstrip("0"),
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color="black" if value > middle else "white",
                    )
        if title is None:
            title = f"{relation} ({_ARROWS.get(direction, direction)})"
            if baseline is not None:
                title += f"; baseline {baseline:.2f} (offset {offset:+d})"
        ax.set_title(title)
        if colorbar:
            bar = keep_vector(fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02))
            bar.set_label("accuracy")
            if baseline is not None and vmin <= baseline <= top:
                bar.ax.axhline(baseline, color="#e8590c", linewidth=1.5)
    return fig, ax


def plot_attention_patterns(
    patterns: pd.DataFrame,
    *,
    measure: str = "special",
    ax: Axes | None = None,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: one attention measure of every head, by layer, with the layer means.

    Args:
        patterns: from :meth:`~trfviz.analysis.syntax.AttentionPatterns.result`
            (one model).
        measure: ``"special"``, ``"special:[CLS]"``, ``"punctuation"``,
            ``"previous"``, ``"next"``, ``"self"`` or ``"entropy"`` (which is
            drawn with the entropy of uniform attention as a dashed line).
        ax: draw into these axes instead of a new figure.
        title: axes title (default: the measure).
        preset: lay out for a paper width.
    """
    require_columns(patterns, ["layer", "head", "measure", "mean"])
    _one_model(patterns)
    table = patterns[patterns.measure == measure]
    if table.empty:
        known = ", ".join(map(repr, dict.fromkeys(patterns.measure)))
        raise ValueError(f"no measure {measure!r}; the table has {known}")
    layers = np.sort(table.layer.unique())
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    with paper_style(preset):
        width = get_preset(preset).width if preset else min(7.0, 2.0 + 0.5 * len(layers))
        fig, ax = new_figure(ax, width=width, height=width * 0.6, preset=preset, constrained=True)
        jitter = rng.uniform(-0.15, 0.15, size=len(table))
        ax.scatter(
            table.layer.to_numpy() + jitter,
            table["mean"],
            s=12,
            color=HEAD_COLOR,
            alpha=0.6,
            linewidths=0,
            label="head",
        )
        means = table.groupby("layer")["mean"].mean().reindex(layers)
        ax.plot(layers, means.to_numpy(), color="black", linewidth=1.2, label="layer mean")
        if measure == "entropy":
            uniform = patterns[patterns.measure == "uniform entropy"]
            if not uniform.empty:
                ax.axhline(
                    float(uniform["mean"].mean()),
                    color="#888888",
                    linestyle="--",
                    linewidth=1,
                    label="uniform attention",
                )
        ax.set_xticks(layers, [str(layer) for layer in layers])
        ax.set_xlabel("layer")
        ax.set_ylabel(_label(measure))
        if measure != "entropy" and not measure.endswith("entropy"):
            ax.set_ylim(0, 1)
        ax.legend(loc="best", frameon=False)
        ax.set_title(title if title is not None else _label(measure))
    return fig, ax


def _small_font() -> float:
    """Size in points of ``"small"`` text under the current rc (a preset's, inside paper_style)."""
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size="small").get_size_in_points())


def _label(measure: str) -> str:
    if measure.startswith("special:"):
        return f"attention to {measure.split(':', 1)[1]}"
    return _MEASURE_LABELS.get(measure, measure)


def _one_model(table: pd.DataFrame) -> None:
    if "model" in table and table.model.nunique() > 1:
        names = ", ".join(map(repr, table.model.unique()))
        raise ValueError(f"the table holds several models ({names}); select one first")
