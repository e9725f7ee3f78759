"""Every head of a model at a glance: a layer × head grid of attention thumbnails.

Example
-------
>>> import numpy as np
>>> att = np.random.default_rng(0).dirichlet(np.ones(4), size=(2, 3, 4)).astype(np.float32)
>>> fig, axes = plot_head_grid(att, ["a", "b", "c", "d"])
>>> axes.shape
(2, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.figures.layout import keep_vector, measure_text
from trfviz.figures.style import MIN_TEXT_SIZE, Preset, get_preset, paper_style
from trfviz.palette import colormap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_head_grid"]


def plot_head_grid(
    attention: np.ndarray,
    labels: Sequence[str],
    *,
    scores: np.ndarray | None = None,
    score_label: str = "score",
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    scale: Literal["shared", "head"] = "shared",
    cmap: str | Colormap | None = None,
    score_cmap: str | Colormap | None = None,
    score_range: tuple[float, float] | None = None,
    show_scores: bool | None = None,
    title: str | None = None,
    panel_size: float | None = None,
    ax: Axes | None = None,
    fig: Figure | SubFigure | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, np.ndarray]:
    """``(figure, axes [layer, head])``: one attention thumbnail per layer and head.

    Args:
        attention: float ``[layer, head, query, key]`` over ``labels``.
        labels: the attention axes' labels (tokens, then special pseudo-tokens);
            only checked against the shape, thumbnails carry no tick labels.
        scores: float ``[layer, head]``, e.g. a head's accuracy at a dependency
            relation: each panel's frame is coloured by it, with a colour bar.
        score_label: name of the score for the colour bar.
        layers, heads: show only these layers / heads (indices into the arrays).
        scale: ``"shared"`` colour scale over all panels (weights comparable), or
            ``"head"``: each panel scaled to its own maximum (patterns visible).
        cmap: colour map of the thumbnails; ``score_cmap`` of the frames (default:
            the palette's ``sequential`` and ``score`` scales).
        score_range: ``(low, high)`` of the score colour scale (default: the data's).
        show_scores: write each score in its panel (default: when scores are given
            and panels are at least 0.35 in wide).
        title: figure title.
        panel_size: thumbnail size in inches (default 0.55, or what fits the preset's width).
        ax: the grid replaces these axes, filling their place in the figure.
        fig: draw into this figure or subfigure instead of a new one.
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Rows are layers and columns heads, both numbered from 0 as in the arrays.
    """
    att = np.asarray(attention, dtype=float)
    if att.ndim != 4 or att.shape[2] != len(labels) or att.shape[3] != len(labels):
        raise ValueError(
            f"attention has shape {att.shape}; expected [layer, head, {len(labels)}, {len(labels)}]"
        )
    layer_ids = list(range(att.shape[0])) if layers is None else list(layers)
    head_ids = list(range(att.shape[1])) if heads is None else list(heads)
    score_grid = None
    if scores is not None:
        score_grid = np.asarray(scores, dtype=float)
        if score_grid.shape != att.shape[:2]:
            raise ValueError(f"scores have shape {score_grid.shape}; expected {att.shape[:2]}")
    n_rows, n_cols = len(layer_ids), len(head_ids)
    with paper_style(preset):
        import matplotlib
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize

        font = get_preset(preset).small_font_size if preset else matplotlib.rcParams["font.size"]
        label_w, bar_w = 0.35, (0.85 if score_grid is not None else 0.0)
        top = 0.2 + (0.2 if title else 0.0)  # head numbers, then the title: no band between
        if panel_size is None:
            panel_size = 0.55
            if preset is not None:
                p = get_preset(preset)
                panel_size = min(
                    0.9,
                    (p.width - label_w - bar_w - 0.1) / n_cols / 1.08,
                    (p.max_height - top - 0.1) / n_rows / 1.08,
                )
        gap = panel_size * 0.08
        width = label_w + n_cols * (panel_size + gap) + bar_w + 0.1
        height = n_rows * (panel_size + gap) + top + 0.1
        figure: Figure | SubFigure
        if ax is not None:
            target = ax.get_figure()
            assert target is not None
            spec = ax.get_subplotspec()
            if spec is None:
                raise ValueError("ax must be a subplot (made with subplots or add_subplot)")
            ax.remove()
            grid = spec.subgridspec(n_rows, n_cols, wspace=0.08, hspace=0.08)
            axes = np.array(
                [[target.add_subplot(grid[i, j]) for j in range(n_cols)] for i in range(n_rows)]
            )
            figure = target
        else:
            if fig is None:
                figure = plt.figure(figsize=(width, height))
                from trfviz.figures.layout import mark_preset

                mark_preset(figure, preset)
                figure.subplots_adjust(
                    left=label_w / width,
                    right=1 - (bar_w + 0.1) / width,
                    bottom=0.1 / height,
                    top=1 - top / height,
                    wspace=0.08,
                    hspace=0.08,
                )
            else:
                figure = fig
            axes = figure.subplots(n_rows, n_cols, squeeze=False)
        shared_max = float(np.nanmax(att[np.ix_(layer_ids, head_ids)])) if att.size else 1.0
        norm = None
        if score_grid is not None:
            low, high = score_range or (
                float(np.nanmin(score_grid)),
                float(np.nanmax(score_grid)),
            )
            norm = Normalize(low, high if high > low else low + 1e-9)
        frame_cmap = (
            colormap("score") if score_cmap is None else matplotlib.colormaps.get_cmap(score_cmap)
        )
        panel_cmap = colormap("sequential") if cmap is None else cmap
        if show_scores is None:
            score_w = measure_text("0.00", max(font * 0.7, MIN_TEXT_SIZE)) / 72
            show_scores = score_grid is not None and panel_size >= score_w * 1.3
        # Head numbers wider than a panel label every n-th head, like layers taller than one.
        widest = max((measure_text(f"H{h}", font) for h in head_ids), default=0.0) * 1.2
        head_step = max(1, math.ceil(widest / ((panel_size + gap) * 72)))
        layer_step = max(1, math.ceil(font * 1.25 / ((panel_size + gap) * 72)))
        for i, layer in enumerate(layer_ids):
            for j, head in enumerate(head_ids):
                panel = axes[i, j]
                image = att[layer, head]
                top_value = float(np.nanmax(image)) if scale == "head" else shared_max
                panel.imshow(
                    image,
                    cmap=panel_cmap,
                    vmin=0,
                    vmax=top_value or 1.0,
                    interpolation="nearest",
                    aspect="equal",
                )
                panel.set_xticks([])
                panel.set_yticks([])
                panel.set_gid(f"head-{layer}-{head}")
                edge, line = "#999999", 0.4
                if score_grid is not None and norm is not None:
                    edge, line = frame_cmap(norm(score_grid[layer, head])), 2.0
                    if show_scores:
                        panel.text(
                            0.97,
                            0.03,
                            f"{score_grid[layer, head]:.2f}",
                            transform=panel.transAxes,
                            ha="right",
                            va="bottom",
                            fontsize=max(font * 0.7, MIN_TEXT_SIZE),
                            color="#222222",
                            bbox={
                                "boxstyle": "square,pad=0.1",
                                "facecolor": "white",
                                "edgecolor": "none",
                                "alpha": 0.75,
                            },
                        )
                for spine in panel.spines.values():
                    spine.set_edgecolor(edge)
                    spine.set_linewidth(line)
                if j == 0 and i % layer_step == 0:
                    panel.set_ylabel(
                        f"L{layer}", fontsize=font, rotation=0, ha="right", va="center", labelpad=3
                    )
                if i == 0 and j % head_step == 0:
                    panel.set_title(f"H{head}", fontsize=font, pad=3)
        if score_grid is not None and norm is not None:
            from matplotlib.cm import ScalarMappable

            bar = figure.colorbar(
                ScalarMappable(norm=norm, cmap=frame_cmap),
                ax=list(axes.ravel()),
                fraction=0.04,
                pad=0.02,
                shrink=min(1.0, 3.0 / max(n_rows * panel_size, 1e-9)),
            )
            keep_vector(bar)
            bar.set_label(score_label, fontsize=font)
            bar.ax.tick_params(labelsize=max(font * 0.85, MIN_TEXT_SIZE))
        if title:
            figure.suptitle(title, fontsize=max(font * 1.1, MIN_TEXT_SIZE), y=1 - 0.05 / height)
    return figure, axes  # type: ignore[return-value]
