"""Two models' attention on the same sentence and the same spaCy tokens.

Because both models' attention is pooled onto spaCy tokens, their matrices
have the same rows and columns whatever their wordpieces; only the special
pseudo-tokens differ (``[CLS]``/``[SEP]`` for BERT, none for GPT-style
models), so the comparison uses the first ``len(labels)`` rows and columns.

Example
-------
>>> import numpy as np
>>> a, b = np.eye(3), np.full((3, 3), 1 / 3)
>>> fig, axes = plot_model_comparison(a, b, ["The", "old", "man"], mode="difference")
>>> axes[0].get_title()
'A − B'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.figures.heatmap import (
    MIN_LABEL_SIZE,
    check_window,
    draw_heatmap,
    heatmap_size,
    window_note,
)
from trfviz.figures.layout import keep_vector, mark_preset
from trfviz.figures.style import MIN_TEXT_SIZE, Preset, get_preset, paper_style
from trfviz.palette import colormap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = ["attention_difference", "plot_model_comparison"]

ComparisonMode = Literal["side_by_side", "difference", "all"]


def attention_difference(
    attention_a: np.ndarray, attention_b: np.ndarray, n_tokens: int
) -> np.ndarray:
    """float ``[query, key]``: ``a - b`` over the first ``n_tokens`` rows and columns."""
    a, b = _square(attention_a, n_tokens, "a"), _square(attention_b, n_tokens, "b")
    return a - b


def plot_model_comparison(
    attention_a: np.ndarray,
    attention_b: np.ndarray,
    labels: Sequence[str],
    *,
    names: tuple[str, str] = ("A", "B"),
    mode: ComparisonMode = "side_by_side",
    title: str | None = None,
    window: tuple[int, int] | slice | None = None,
    cmap: str | Colormap | None = None,
    diff_cmap: str | Colormap | None = None,
    vmax: float | None = None,
    annotate: bool = False,
    value_label: str | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, np.ndarray]:
    """``(figure, axes)``: two models' attention over the same spaCy tokens, compared.

    Args:
        attention_a, attention_b: float ``[query, key]`` of each model (one head
            or a mean), over at least ``len(labels)`` tokens; extra trailing
            special pseudo-tokens are left out.
        labels: the spaCy tokens.
        names: the two models' names, used in panel titles.
        mode: ``"side_by_side"`` (two heatmaps on one colour scale),
            ``"difference"`` (``A − B`` on a diverging scale centred on 0) or
            ``"all"`` (both, then the difference).
        title: figure title.
        window: ``(start, end)`` or a ``slice``: compare only those tokens (the
            key axes say which, ``"key (tokens 21–40 of 64)"``).
        cmap, diff_cmap: colour maps of the weights and of the difference
            (default: the palette's ``sequential`` and ``diverging`` scales).
        vmax: top of the weight scale (default: the larger maximum of the two).
        annotate: write each value in its cell.
        value_label: what the colours are, on the colour bars (e.g. ``"attention norm"``
            for two models' norms of :func:`trfviz.measures.attention_norms`; the
            difference's bar is named by the two models, ``"A − B"``).
        ax: axes to draw into: one for ``"difference"``, two for
            ``"side_by_side"``, three for ``"all"``.
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Returns:
        The figure and a 1-D array of the panels' axes (colour bars excluded).
    """
    tokens = list(labels)
    n = len(tokens)
    a, b = _square(attention_a, n, "a"), _square(attention_b, n, "b")
    note = ""
    if window is not None:
        start, end = check_window(window, n)
        note = window_note(start, end, n)
        a, b, tokens = a[start:end, start:end], b[start:end, start:end], tokens[start:end]
    panels = {"side_by_side": 2, "difference": 1, "all": 3}
    if mode not in panels:
        raise ValueError(f"mode must be one of {', '.join(map(repr, panels))}; got {mode!r}")
    count = panels[mode]
    with paper_style(preset):
        import matplotlib
        import matplotlib.pyplot as plt

        base = get_preset(preset).small_font_size if preset else matplotlib.rcParams["font.size"]
        bars = 2 if mode == "all" else 1
        font, cell, width, height = heatmap_size(
            tokens, tokens, base, preset, True, title, panels=count
        )
        width += (bars - 1) * 0.85
        if ax is None:
            fig, axes_list = plt.subplots(
                1, count, figsize=(width, height), squeeze=False, layout="constrained"
            )
            axes = axes_list[0]
            mark_preset(fig, preset)
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object))
            if len(axes) != count:
                raise ValueError(f"mode {mode!r} draws {count} panels; got {len(axes)} axes")
            fig = axes[0].get_figure()
            bbox = axes[0].get_window_extent().transformed(fig.dpi_scale_trans.inverted())
            cell = min(bbox.width, bbox.height) / max(len(tokens), 1) * 72
            font = min(font, max(cell * 0.8, MIN_LABEL_SIZE))
        top = vmax if vmax is not None else float(max(np.nanmax(a), np.nanmax(b), 1e-9))
        images = []
        matrices = {"side_by_side": [a, b], "difference": [a - b], "all": [a, b, a - b]}[mode]
        titles = {
            "side_by_side": list(names),
            "difference": [f"{names[0]} − {names[1]}"],
            "all": [*names, f"{names[0]} − {names[1]}"],
        }[mode]
        for index, (panel, matrix, name) in enumerate(zip(axes, matrices, titles, strict=True)):
            is_diff = name.endswith(f" − {names[1]}") and (mode != "side_by_side")
            limit = float(np.nanmax(np.abs(matrix))) if is_diff else top
            image = draw_heatmap(
                panel,
                matrix,
                tokens,
                tokens,
                label_size=font,
                cell=cell,
                cmap=(diff_cmap or colormap("diverging")) if is_diff else cmap,
                vmin=-limit if is_diff else 0.0,
                vmax=limit if is_diff else top,
                annotate=annotate,
                ylabel="query" if index == 0 else "",
                xlabel=f"key ({note})" if note and index == 0 else "key",
            )
            if index > 0 and not is_diff:
                panel.set_yticklabels([])
            panel.set_title(name, fontsize=max(font * 1.1, MIN_TEXT_SIZE))
            images.append((image, is_diff, panel))
        # One colour bar for the weights (shared), one for the difference.
        weight_panels = [p for _, d, p in images if not d]
        if weight_panels:
            bar = fig.colorbar(images[0][0], ax=weight_panels, shrink=0.8, fraction=0.05, pad=0.02)
            keep_vector(bar)
            bar.ax.tick_params(labelsize=max(font, MIN_TEXT_SIZE))
            if value_label:
                bar.set_label(value_label, fontsize=max(font, MIN_TEXT_SIZE))
        for image, is_diff, panel in images:
            if is_diff:
                bar = fig.colorbar(image, ax=panel, shrink=0.8, fraction=0.05, pad=0.02)
                keep_vector(bar)
                bar.ax.tick_params(labelsize=max(font, MIN_TEXT_SIZE))
                if value_label:
                    bar.set_label(f"{names[0]} − {names[1]}", fontsize=max(font, MIN_TEXT_SIZE))
        if title:
            fig.suptitle(title)
    return fig, axes


def _square(attention: np.ndarray, n: int, name: str) -> np.ndarray:
    matrix = np.asarray(attention, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] < n or matrix.shape[1] < n:
        raise ValueError(f"attention_{name} has shape {matrix.shape}; need at least ({n}, {n})")
    return matrix[:n, :n]
