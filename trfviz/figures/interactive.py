"""Interactive plotly versions of the heatmap and the head grid (hover shows tokens and weights).

plotly is imported when a function is called (``pip install trfviz[views]``).
Token text is HTML-escaped before plotly sees it (plotly renders ``<b>`` in
labels), and tokens are placed by position, so a repeated word keeps its own
row and column. Save with ``save_figure(fig, "fig.html")``: a page that loads
``plotly.min.js`` written once into its folder (no CDN; one copy for every
figure there) with a fixed element id, so two saves are identical.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.figures.heatmap import labelled_matrix
from trfviz.palette import SCALES, ScaleName

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["interactive_head_grid", "interactive_heatmap"]


def _escaped(labels: Sequence[str]) -> list[str]:
    return [html.escape(str(label), quote=False) for label in labels]


def palette_colorscale(scale: ScaleName) -> list[list[Any]]:
    """A plotly colour scale ``[[position, colour], …]`` through the palette's ``scale``."""
    stops = SCALES[scale]
    return [[i / (len(stops) - 1), color] for i, color in enumerate(stops)]


def interactive_heatmap(
    attention: np.ndarray,
    labels: Sequence[str],
    *,
    key_labels: Sequence[str] | None = None,
    title: str | None = None,
    colorscale: str | list[Any] | None = None,
    zmax: float | None = None,
    cell_size: int = 26,
) -> go.Figure:
    """A plotly Figure: attention ``[query, key]`` as a heatmap with token hover labels.

    Args:
        attention: float ``[query, key]``.
        labels: query labels (and key labels unless ``key_labels`` is given).
        key_labels: labels of the key axis when they differ.
        title: figure title.
        colorscale: plotly colour scale (default: the palette's ``sequential`` scale).
        zmax: top of the colour scale (default: the largest weight).
        cell_size: pixels per cell, which sets the figure's size.
    """
    import plotly.graph_objects as go

    matrix, rows, cols = labelled_matrix(attention, labels, key_labels)
    rows, cols = _escaped(rows), _escaped(cols)
    hover = [[f"{rows[i]} → {cols[j]}" for j in range(len(cols))] for i in range(len(rows))]
    fig = go.Figure(
        go.Heatmap(
            z=np.round(matrix, 4),  # four decimals: the hover shows three
            x=list(range(len(cols))),
            y=list(range(len(rows))),
            text=hover,
            colorscale=palette_colorscale("sequential") if colorscale is None else colorscale,
            zmin=0.0,
            zmax=zmax if zmax is not None else float(np.nanmax(matrix)) if matrix.size else 1.0,
            hovertemplate="query %{y}: %{text}<br>weight %{z:.3f}<extra></extra>",
            colorbar={"thickness": 12},
        )
    )
    label_px = 7 * max((len(label) for label in [*rows, *cols]), default=1) + 20
    fig.update_layout(
        title=html.escape(title, quote=False) if title else None,
        width=label_px + cell_size * len(cols) + 110,
        height=label_px + cell_size * len(rows) + (60 if title else 20),
        margin={"l": label_px, "b": label_px, "t": 50 if title else 10, "r": 10},
        plot_bgcolor="white",
    )
    fig.update_xaxes(
        tickvals=list(range(len(cols))),
        ticktext=cols,
        tickangle=-90,
        title="key",
        showgrid=False,
    )
    fig.update_yaxes(
        tickvals=list(range(len(rows))),
        ticktext=rows,
        autorange="reversed",
        title="query",
        showgrid=False,
        scaleanchor="x",
    )
    return fig


def interactive_head_grid(
    attention: np.ndarray,
    labels: Sequence[str],
    *,
    scores: np.ndarray | None = None,
    score_label: str = "score",
    title: str | None = None,
    colorscale: str | list[Any] | None = None,
    score_colorscale: str | list[Any] | None = None,
    panel_size: int = 90,
) -> go.Figure:
    """A plotly Figure: one small heatmap per layer and head; hover shows tokens, weight, score.

    Args:
        attention: float ``[layer, head, query, key]`` over ``labels``.
        labels: the attention axes' labels.
        scores: float ``[layer, head]``: shown on hover; each panel is framed
            in ``score_colorscale`` by its score (low to high over the grid).
        score_label: name of the score.
        title: figure title.
        colorscale: plotly colour scale of the weights, shared by every panel
            (default: the palette's ``sequential`` scale).
        score_colorscale: plotly colour scale of the frames (default: ``score``).
        panel_size: pixels per panel.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    att = np.asarray(attention, dtype=float)
    names = _escaped(labels)
    n_layers, n_heads = att.shape[:2]
    if att.ndim != 4 or att.shape[2:] != (len(names), len(names)):
        raise ValueError(f"attention has shape {att.shape}; expected [layer, head, n, n]")
    grid = None if scores is None else np.asarray(scores, dtype=float)
    if grid is not None and grid.shape != (n_layers, n_heads):
        raise ValueError(f"scores have shape {grid.shape}; expected {(n_layers, n_heads)}")
    fig = make_subplots(
        rows=n_layers,
        cols=n_heads,
        horizontal_spacing=0.04 / max(n_heads, 1) * 4,
        vertical_spacing=0.04 / max(n_layers, 1) * 4,
        column_titles=[f"H{h}" for h in range(n_heads)],
        row_titles=[f"L{layer}" for layer in range(n_layers)],
    )
    # Hover names the tokens through the axes' categories ("3 the": unique even for a
    # repeated word), not a query × key text per panel: the page stays small.
    categories = [f"{i} {name}" for i, name in enumerate(names)]
    top = float(np.nanmax(att)) if att.size else 1.0
    for layer in range(n_layers):
        for head in range(n_heads):
            extra = "" if grid is None else f"<br>{score_label} {grid[layer, head]:.3f}"
            fig.add_trace(
                go.Heatmap(
                    z=att[layer, head].astype(np.float32),
                    x=categories,
                    y=categories,
                    coloraxis="coloraxis",
                    hovertemplate=(
                        f"layer {layer} head {head}<br>%{{y}} → %{{x}}<br>weight %{{z:.3f}}{extra}"
                        "<extra></extra>"
                    ),
                ),
                row=layer + 1,
                col=head + 1,
            )
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    layout: dict[str, Any] = {
        "coloraxis": {
            "colorscale": palette_colorscale("sequential") if colorscale is None else colorscale,
            "cmin": 0.0,
            "cmax": top,
        },
        "width": 80 + panel_size * n_heads,
        "height": 80 + panel_size * n_layers,
        "margin": {"l": 30, "r": 30, "t": 60 if title else 40, "b": 20},
        "plot_bgcolor": "white",
    }
    if title:
        layout["title"] = html.escape(title, quote=False)
    fig.update_layout(**layout)
    if grid is not None and np.isfinite(grid).any():
        from plotly.colors import sample_colorscale

        frames = palette_colorscale("score") if score_colorscale is None else score_colorscale
        low, high = float(np.nanmin(grid)), float(np.nanmax(grid))
        for layer in range(n_layers):
            for head in range(n_heads):
                value = grid[layer, head]
                if not np.isfinite(value):
                    continue
                share = (value - low) / (high - low) if high > low else 1.0
                index = layer * n_heads + head + 1
                suffix = "" if index == 1 else str(index)
                fig.add_shape(
                    type="rect",
                    xref=f"x{suffix} domain",
                    yref=f"y{suffix} domain",
                    x0=0,
                    x1=1,
                    y0=0,
                    y1=1,
                    line={"color": sample_colorscale(frames, [share])[0], "width": 3},
                )
    return fig
