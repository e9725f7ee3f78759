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


def block_means(attention: np.ndarray, block: int) -> np.ndarray:
    """``[..., m, m]`` means of ``block`` × ``block`` cells of ``[..., n, n]`` (m = ⌈n / block⌉).

    The last block of each axis holds the remaining ``n - (m - 1) * block`` tokens.

    >>> block_means(np.arange(9.0).reshape(3, 3), 2).tolist()
    [[2.0, 3.5], [6.5, 8.0]]
    """
    att = np.asarray(attention, dtype=float)
    n = att.shape[-1]
    m = -(-n // block)
    padded = np.full((*att.shape[:-2], m * block, m * block), np.nan)
    padded[..., :n, :n] = att
    shaped = padded.reshape(*att.shape[:-2], m, block, m, block)
    with np.errstate(invalid="ignore"):
        return np.nanmean(shaped, axis=(-3, -1))


def grid_block(n_panels: int, n: int, max_cells: int) -> int:
    """The smallest block (tokens per cell) keeping ``n_panels`` thumbnails ≤ ``max_cells`` cells.

    >>> grid_block(72, 42, 150_000), grid_block(270, 41, 150_000)
    (1, 2)
    """
    block = 1
    while n_panels * (-(-n // block)) ** 2 > max_cells and block < n:
        block += 1
    return block


def _block_names(names: Sequence[str], block: int) -> list[str]:
    """One name per block of tokens: ``"3 the"``, or ``"4–5 big…cat"`` for several."""
    out = []
    for lo in range(0, len(names), block):
        hi = min(lo + block, len(names)) - 1
        out.append(f"{lo} {names[lo]}" if hi == lo else f"{lo}–{hi} {names[lo]}…{names[hi]}")
    return out


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
    max_cells: int = 150_000,
) -> go.Figure:
    """A plotly Figure: a thumbnail per layer and head on one scale; hover shows tokens and weight.

    The thumbnails are one heatmap trace (layers down, heads across) holding
    each weight in whole percent as bytes, and hover names the layer, head,
    query and key through the axes' categories, so a page stays small (about
    200 KB at 40 tokens for 30 × 9 heads; plotly.js is shared, see
    :func:`~trfviz.figures.save_figure`). When ``layers × heads × n²`` would pass
    ``max_cells``, each thumbnail cell is the mean of a block of tokens (the
    hover names the block, ``"4–5 big…cat"``).

    Args:
        attention: float ``[layer, head, query, key]`` over ``labels``.
        labels: the attention axes' labels.
        scores: float ``[layer, head]``: drawn as a layer × head heatmap left of
            the thumbnails, with its own colour bar named ``score_label``
            (NaN cells left blank).
        score_label: name of the score.
        title: figure title.
        colorscale: plotly colour scale of the weights, shared by every thumbnail
            (default: the palette's ``sequential`` scale).
        score_colorscale: plotly colour scale of the scores (default: ``score``).
        panel_size: pixels per thumbnail.
        max_cells: the most thumbnail cells the page holds (one byte each).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    att = np.asarray(attention, dtype=float)
    names = _escaped(labels)
    if att.ndim != 4 or att.shape[2:] != (len(names), len(names)):
        raise ValueError(f"attention has shape {att.shape}; expected [layer, head, n, n]")
    n_layers, n_heads, n = att.shape[0], att.shape[1], att.shape[2]
    grid = None if scores is None else np.asarray(scores, dtype=float)
    if grid is not None and grid.shape != (n_layers, n_heads):
        raise ValueError(f"scores have shape {grid.shape}; expected {(n_layers, n_heads)}")
    block = grid_block(n_layers * n_heads, n, max_cells)
    thumbs = block_means(att, block) if block > 1 else att
    m = thumbs.shape[-1]
    # Whole percent as bytes: plotly sends a uint8 array as one base64 string.
    percent = np.clip(np.rint(np.nan_to_num(thumbs) * 100), 0, 100).astype(np.uint8)
    z = percent.transpose(0, 2, 1, 3).reshape(n_layers * m, n_heads * m)
    blocks = _block_names(names, block)
    # Categories, unique per row and column, carry the hover's layer, head and tokens.
    rows = [f"L{layer} · {b}" for layer in range(n_layers) for b in blocks]
    cols = [f"H{head} · {b}" for head in range(n_heads) for b in blocks]
    top = float(np.nanmax(thumbs)) * 100 if thumbs.size else 100.0
    weight = "mean weight" if block > 1 else "weight"

    # Pixels: thumbnails of panel_size, the score panel a third as wide per head.
    thumbs_px, score_px = (
        panel_size * n_heads,
        (panel_size * n_heads // 3 if grid is not None else 0),
    )
    gap_px = 50 if grid is not None else 0
    plot_px = thumbs_px + score_px + gap_px
    fig = make_subplots(
        rows=1,
        cols=2 if grid is not None else 1,
        column_widths=[score_px / plot_px, thumbs_px / plot_px] if grid is not None else None,
        horizontal_spacing=gap_px / plot_px if grid is not None else 0.0,
    )
    col = 2 if grid is not None else 1
    if grid is not None:
        fig.add_trace(
            go.Heatmap(
                z=[[None if not np.isfinite(v) else round(float(v), 4) for v in r] for r in grid],
                x=[f"H{h}" for h in range(n_heads)],
                y=[f"L{layer}" for layer in range(n_layers)],
                coloraxis="coloraxis2",
                hovertemplate=f"layer %{{y}} head %{{x}}<br>{html.escape(score_label)} "
                "%{z:.3f}<extra></extra>",
                xgap=1,
                ygap=1,
            ),
            row=1,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            coloraxis="coloraxis",
            hovertemplate=f"query %{{y}}<br>key %{{x}}<br>{weight} %{{z}} %<extra></extra>",
        ),
        row=1,
        col=col,
    )
    xref, yref = ("x2", "y2") if grid is not None else ("x", "y")
    # Thin white lines between thumbnails (one shape per line, not per thumbnail).
    line = {"color": "white", "width": 2}
    shapes = [
        {
            "type": "line",
            "xref": xref,
            "yref": f"{yref} domain",
            "x0": h * m - 0.5,
            "x1": h * m - 0.5,
            "y0": 0,
            "y1": 1,
            "line": line,
        }
        for h in range(1, n_heads)
    ] + [
        {
            "type": "line",
            "xref": f"{xref} domain",
            "yref": yref,
            "x0": 0,
            "x1": 1,
            "y0": layer * m - 0.5,
            "y1": layer * m - 0.5,
            "line": line,
        }
        for layer in range(1, n_layers)
    ]
    fig.update_xaxes(
        tickvals=[cols[h * m + m // 2] for h in range(n_heads)],
        ticktext=[f"H{h}" for h in range(n_heads)],
        side="top",
        showgrid=False,
        row=1,
        col=col,
    )
    fig.update_yaxes(
        tickvals=[rows[layer * m + m // 2] for layer in range(n_layers)],
        ticktext=[f"L{layer}" for layer in range(n_layers)],
        autorange="reversed",
        showgrid=False,
        row=1,
        col=col,
    )
    layout: dict[str, Any] = {
        "coloraxis": {
            "colorscale": palette_colorscale("sequential") if colorscale is None else colorscale,
            "cmin": 0.0,
            "cmax": max(top, 1.0),
            "colorbar": {"title": {"text": f"{weight} (%)", "side": "right"}, "thickness": 12},
        },
        "shapes": shapes,
        "width": 40 + plot_px + (200 if grid is not None else 110),
        "height": (90 if title else 60) + panel_size * n_layers + 20,
        "margin": {
            "l": 40,
            "r": 200 if grid is not None else 110,
            "t": 90 if title else 60,
            "b": 20,
        },
        "plot_bgcolor": "white",
    }
    if grid is not None:
        finite = grid[np.isfinite(grid)]
        layout["coloraxis2"] = {
            "colorscale": palette_colorscale("score")
            if score_colorscale is None
            else score_colorscale,
            "cmin": float(finite.min()) if finite.size else 0.0,
            "cmax": float(finite.max()) if finite.size else 1.0,
            "colorbar": {
                "title": {"text": html.escape(score_label, quote=False), "side": "right"},
                "thickness": 12,
                "x": 1.0 + 100 / plot_px,
            },
        }
    if title:
        layout["title"] = html.escape(title, quote=False)
    fig.update_layout(**layout)
    return fig
