"""The logit-lens table: layers up the side, words across, each layer's next-word guess.

The familiar figure of nostalgebraist (2020): one cell per layer and spaCy
token, holding the layer's most probable next piece (read at the token's last
piece, through the final norm and the unembedding), coloured by its
probability, or by the probability the layer gives the word that really comes
next (``color_by="next"``). The embeddings are the bottom row and the last
layer the top one; the words read are labelled below, the words that really
follow above. A guess that is the actual next word is set in bold.

It draws a :class:`~trfviz.measures.logit_lens.SentenceLogitLens` (plain data);
compute one with :func:`trfviz.measures.logit_lens`.

A cell must hold a few characters at 6 pt or more, so a sentence wider than the
preset allows is windowed: pass ``window=slice(start, end)`` (without one, the
first tokens that fit are shown, with a warning that says how to see the
rest), and at a preset more layers than fit in its height are thinned to every
n-th layer, the last always kept.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.figures.heatmap import check_window, window_note
from trfviz.figures.layout import displayable, keep_vector, measure_text, new_figure
from trfviz.figures.style import MIN_TEXT_SIZE, Preset, get_preset, paper_style
from trfviz.palette import colormap
from trfviz.validation import check_choice

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from trfviz.measures.logit_lens import SentenceLogitLens

__all__ = ["logit_lens_layout", "plot_logit_lens"]

ColorBy = Literal["top", "next"]

#: Narrowest cell, in characters of the cell text ("barn" fits, "elephant" gets cut).
MIN_CELL_CHARS = 4
_DARK_TEXT = "#222222"
_LIGHT_TEXT = "#ffffff"


def plot_logit_lens(
    lens: SentenceLogitLens,
    *,
    color_by: ColorBy = "top",
    window: tuple[int, int] | slice | None = None,
    layers: Sequence[int] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    colorbar: bool = True,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)`` with the logit-lens table of one sentence.

    Args:
        lens: one sentence's logit lens (``trfviz.measures.logit_lens(...).sentences[i]``).
        color_by: ``"top"``: each cell's colour is the probability of its guess;
            ``"next"``: the probability of the actual next word (blank for the
            sentence's last token, which has none).
        window: ``(start, end)`` or ``slice(start, end)``: show only those tokens.
        layers: which of ``lens.layers`` to show (default: all that fit the preset).
        ax: draw into these axes instead of a new figure.
        title: axes title, e.g. ``"SmolLM2 logit lens"``.
        colorbar: draw a colour bar.
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``, ``"slide"``).
    """
    check_choice("color_by", color_by, ("top", "next"))
    n = lens.n_tokens
    rows = _rows(lens, layers)
    with paper_style(preset):
        size = _text_size(preset)
        min_cell = measure_text("n" * MIN_CELL_CHARS, size) + 3
        start, end = _window(window, n, preset, colorbar, min_cell)
        if preset is not None and layers is None:
            rows = _thinned(rows, preset, size, title)
        cols = list(range(start, end))
        width, height, cell_w = _size(lens, cols, len(rows), preset, size, colorbar, title)
        if ax is not None:  # the caller's axes: cells as wide as they make them
            box = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            cell_w = box.width * 72 / len(cols)
        fig, ax = new_figure(ax, width=width, height=height, preset=preset, constrained=True)
        values = lens.top_probs[..., 0] if color_by == "top" else lens.next_prob
        matrix = values[np.ix_(rows, cols)].astype(float)
        mesh = ax.pcolormesh(
            np.arange(len(cols) + 1) - 0.5,
            np.arange(len(rows) + 1) - 0.5,
            np.ma.masked_invalid(matrix),
            cmap=colormap("sequential"),
            vmin=0.0,
            vmax=1.0,
            shading="flat",
            edgecolors="face",
            linewidth=0.1,
            gid="logit-lens",
        )
        _cell_texts(ax, lens, rows, cols, matrix, size, cell_w)
        ax.set_xlim(-0.5, len(cols) - 0.5)
        ax.set_ylim(-0.5, len(rows) - 0.5)  # the embeddings at the bottom
        _labels(ax, lens, rows, cols, size, cell_w)
        note = window_note(start, end, n) if (start, end) != (0, n) else ""
        ax.set_xlabel(f"word read ({note})" if note else "word read", fontsize=size)
        ax.set_ylabel("layer", fontsize=size)
        if title:
            ax.set_title(title, fontsize=max(size, MIN_TEXT_SIZE))
        if colorbar:
            bar = fig.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02, shrink=0.8)
            keep_vector(bar)
            bar.ax.tick_params(labelsize=size)
            bar.outline.set_linewidth(0.5)
            label = "p(guess)" if color_by == "top" else "p(next word)"
            bar.set_label(label, fontsize=size)
    return fig, ax


def logit_lens_layout(
    lens: SentenceLogitLens,
    *,
    focus: int | None = None,
    window: tuple[int, int] | slice | None = None,
    preset: str | Preset | None = None,
    colorbar: bool = True,
    title: str | None = None,
    max_layers: int | None = None,
) -> tuple[tuple[int, int], list[int], float, float]:
    """``((start, end), layers, width, height)``: what :func:`plot_logit_lens` draws, in inches.

    The tokens shown (``window``; at a ``preset`` too narrow for the sentence,
    as many as fit centred on ``focus`` when one is given), the layers shown
    (thinned to the preset's height, or to every n-th layer, the last kept, so
    that at most ``max_layers`` are shown) and the figure's size, so a caller laying
    the table out beside other panels (the explorer's export) can pass them on.
    """
    n = lens.n_tokens
    rows = _rows(lens, None)
    with paper_style(preset):
        size = _text_size(preset)
        min_cell = measure_text("n" * MIN_CELL_CHARS, size) + 3
        if window is None and focus is not None and preset is not None:
            fits = _fits(get_preset(preset), colorbar, min_cell)
            if fits < n:
                start = min(max(int(focus) - fits // 2, 0), n - fits)
                window = (start, start + fits)
        start, end = _window(window, n, preset, colorbar, min_cell)
        if max_layers is not None:
            rows = _every_nth(rows, max(1, int(max_layers)))
        elif preset is not None:
            rows = _thinned(rows, preset, size, title)
        width, height, _ = _size(
            lens, list(range(start, end)), len(rows), preset, size, colorbar, title
        )
    return (start, end), [lens.layers[r] for r in rows], width, height


def _text_size(preset: str | Preset | None) -> float:
    """The cells' text size: the preset's small font, or 0.8 of the current font size."""
    import matplotlib

    if preset is not None:
        return max(get_preset(preset).small_font_size, MIN_TEXT_SIZE)
    return max(float(matplotlib.rcParams["font.size"]) * 0.8, MIN_TEXT_SIZE)


def _fits(p: Preset, colorbar: bool, min_cell: float) -> int:
    """How many tokens fit the preset's width legibly."""
    return max(1, int((p.width - _fixed_width(colorbar)) * 72 // min_cell))


def _rows(lens: SentenceLogitLens, layers: Sequence[int] | None) -> list[int]:
    """Indices into ``lens.layers`` of the layers asked for, bottom to top."""
    if layers is None:
        return list(range(len(lens.layers)))
    if isinstance(layers, int | str) or not len(layers):
        raise TypeError(f"layers must be a non-empty list of layer numbers; got {layers!r}")
    unknown = [x for x in layers if x not in lens.layers]
    if unknown:
        raise ValueError(f"layers {unknown} are not in the logit lens (it has {lens.layers})")
    return sorted(lens.layers.index(x) for x in layers)


def _window(
    window: tuple[int, int] | slice | None,
    n: int,
    preset: str | Preset | None,
    colorbar: bool,
    min_cell: float,
) -> tuple[int, int]:
    if window is not None:
        return check_window(window, n)
    if preset is None:
        return 0, n
    p = get_preset(preset)
    fits = _fits(p, colorbar, min_cell)
    if fits >= n:
        return 0, n
    warnings.warn(
        f"{n} tokens do not fit the {p.name!r} width legibly; showing tokens 1–{fits}: "
        f"pass window=slice({fits}, {min(n, 2 * fits)}) for the next ones",
        UserWarning,
        stacklevel=3,
    )
    return 0, fits


def _fixed_width(colorbar: bool) -> float:
    """Inches beside the cells: layer labels and axis label, colour bar and its labels."""
    return 0.5 + (0.75 if colorbar else 0.1)


def _fixed_height(
    lens: SentenceLogitLens, cols: list[int], size: float, title: str | None
) -> float:
    below = max((measure_text(lens.tokens[c], size) for c in cols), default=0.0)
    above = max((measure_text(lens.next_pieces[c].strip(), size) for c in cols), default=0.0)
    return (below + above) / 72 + 0.45 + (0.3 if title else 0.0)


def _thinned(rows: list[int], preset: str | Preset, size: float, title: str | None) -> list[int]:
    """Every n-th row (the last always) when all do not fit the preset's height."""
    p = get_preset(preset)
    room = (p.max_height - 1.6 - (0.3 if title else 0.0)) * 72
    return _every_nth(rows, max(2, int(room // (size * 1.45))))


def _every_nth(rows: list[int], fits: int) -> list[int]:
    """At most ``fits`` of ``rows``: every n-th, counted from the last (always kept)."""
    if len(rows) <= fits:
        return rows
    step = math.ceil(len(rows) / fits)
    return sorted({*rows[::-1][::step]})


def _size(
    lens: SentenceLogitLens,
    cols: list[int],
    n_rows: int,
    preset: str | Preset | None,
    size: float,
    colorbar: bool,
    title: str | None,
) -> tuple[float, float, float]:
    """``(width, height, cell width)``: inches, inches, points."""
    row_h = size * 1.45
    texts = [p.strip() for layer in lens.top_pieces for row in layer for p in row[:1]]
    widest = max((measure_text(displayable(t)[:10], size) for t in texts), default=10.0) + 4
    fixed_w = _fixed_width(colorbar)
    if preset is not None:
        p = get_preset(preset)
        cell = min((p.width - fixed_w) * 72 / len(cols), max(widest, size * 3))
        width = fixed_w + len(cols) * cell / 72
    else:
        cell = max(widest, size * 3)
        width = fixed_w + len(cols) * cell / 72
    height = n_rows * row_h / 72 + _fixed_height(lens, cols, size, title)
    return width, height, cell


def _fit(text: str, width: float, size: float) -> str:
    """``text`` as a cell shows it, cut with ``…`` to ``width`` points."""
    shown = displayable(text.strip()) if text.strip() else displayable(text).replace(" ", "␣")
    if measure_text(shown, size) <= width:
        return shown
    while len(shown) > 1 and measure_text(shown + "…", size) > width:
        shown = shown[:-1]
    return shown + "…"


def _cell_texts(
    ax: Axes,
    lens: SentenceLogitLens,
    rows: list[int],
    cols: list[int],
    matrix: np.ndarray,
    size: float,
    cell_w: float,
) -> None:
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            piece = lens.top_pieces[row][col][0]
            if int(lens.top_ids[row, col, 0]) < 0:
                continue
            value = matrix[i, j]
            hit = int(lens.top_ids[row, col, 0]) == int(lens.next_ids[col]) >= 0
            ax.text(
                j,
                i,
                _fit(piece, cell_w - 3, size),
                ha="center",
                va="center",
                fontsize=size,
                fontweight="bold" if hit else "normal",
                color=_LIGHT_TEXT if np.isfinite(value) and value > 0.55 else _DARK_TEXT,
                parse_math=False,
                clip_on=True,
            )


def _labels(
    ax: Axes, lens: SentenceLogitLens, rows: list[int], cols: list[int], size: float, cell: float
) -> None:
    ax.set_yticks(range(len(rows)))
    names = ["emb" if lens.layers[r] == 0 else str(lens.layers[r]) for r in rows]
    ax.set_yticklabels(names, fontsize=size)
    words = [displayable(lens.tokens[c]) for c in cols]
    nexts = [displayable(lens.next_pieces[c].strip()) for c in cols]
    fits = all(measure_text(w, size) < cell - 2 for w in [*words, *nexts])
    rotation = 0 if fits else 90
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(words, fontsize=size, rotation=rotation, parse_math=False)
    top = ax.secondary_xaxis("top")
    top.set_xticks(range(len(cols)))
    top.set_xticklabels(nexts, fontsize=size, rotation=rotation, parse_math=False, style="italic")
    top.tick_params(length=0, pad=2)
    top.set_xlabel("next word", fontsize=size)
    ax.tick_params(length=0, pad=2)
    for spine in [*ax.spines.values(), *top.spines.values()]:
        spine.set_linewidth(0.5)
