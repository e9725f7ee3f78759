"""The head grid of an exported view: each model's layers × heads, as the widget shows it.

While the widget's head grid is open (``spec.show_grid``), the export draws it
under the heatmaps: per model a table of heads (rows) by layers (columns),
each cell coloured by the chosen score (``spec.grid_score``: the caller's
scores, ``"entropy (bits)"``, ``"attention to specials"`` or ``"JS distance
to <model>"``, computed as the widget does, :func:`trfviz.widget.payload.head_scores`)
on the palette's score scale with a colour bar named after it; without a
score, each cell is the head's mean weight to its own query's strongest key
(how focused the head is), on the view's sequential scale. The head shown is framed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS, ViewSpec
from trfviz.widget.compose import attention_of
from trfviz.widget.measures import without_specials
from trfviz.widget.payload import head_scores

if TYPE_CHECKING:
    from matplotlib.figure import SubFigure

__all__ = ["GridPanel", "draw_grids", "grid_height", "grid_scores"]


@dataclass(frozen=True)
class GridPanel:
    """One model's head grid: ``values`` float ``[layer, head]`` named ``score``."""

    model: str
    score: str
    values: np.ndarray
    current: tuple[int | None, int | None]


def _score_name(wanted: str, names: Sequence[str]) -> str | None:
    """The score ``wanted`` names among ``names`` (a JS distance names the other model)."""
    if not wanted:
        return None
    if wanted in names:
        return wanted
    if wanted.startswith("JS distance"):
        return next((n for n in names if n.startswith("JS distance")), None)
    return None


def grid_scores(
    spec: ViewSpec,
    parse: SentenceParse,
    sentences: Mapping[str, SentenceExtraction],
    scores: Mapping[str, np.ndarray] | None,
) -> list[GridPanel]:
    """Per model shown, its grid's values: the chosen score, or each head's peak weight."""
    n = len(parse.words)
    panels = []
    for i, key in enumerate(spec.models):
        attention = np.asarray(attention_of(sentences[key], key), dtype=float)
        if spec.special_tokens == "drop":
            attention = without_specials(attention, n, renormalise=spec.measure in DISTRIBUTIONS)
        others = [k for k in spec.models if k != key]
        named: dict[str, np.ndarray] = {}
        if spec.measure in DISTRIBUTIONS:
            given = (scores or {}).get(key) if spec.measure == "attention" else None
            named = head_scores(
                attention,
                n,
                given=given,
                given_name=spec.grid_score or "head score",
                other=(short_model_name(others[0]), attention_of(sentences[others[0]], others[0]))
                if others
                else None,
                exclude_sink=spec.exclude_sink,
            )
        chosen = _score_name(spec.grid_score, list(named))
        if chosen is None:
            values = attention[:, :, :n, :].max(axis=-1).mean(axis=-1)
            chosen = f"{spec.measure_label}: mean of each word's largest"
        else:
            values = named[chosen]
        layer, head = spec.layers[i], spec.heads[i]
        panels.append(
            GridPanel(key, chosen, values, (layer, head if isinstance(head, int) else None))
        )
    return panels


def _cell(panels: Sequence[GridPanel], preset: str | None) -> float:
    """The side of a grid cell in inches: the tables side by side fill the page's width."""
    from trfviz.figures.style import get_preset

    page = get_preset(preset or "two-column")
    layers = sum(p.values.shape[0] for p in panels)
    fixed = 0.45 * len(panels) + 0.9  # head numbers, the colour bar and its labels
    return float(min(0.22, max((page.width - fixed) / max(layers, 1), 0.06)))


def grid_height(panels: Sequence[GridPanel], preset: str | None) -> float:
    """The grids' height in inches (the tallest table, its title and layer numbers)."""
    heads = max(p.values.shape[1] for p in panels)
    return heads * _cell(panels, preset) + 0.85


def draw_grids(part: SubFigure, panels: Sequence[GridPanel], preset: str | None) -> None:
    """Each model's grid side by side in ``part``, with one colour bar per score."""
    from matplotlib.patches import Rectangle

    from trfviz.figures.layout import keep_vector
    from trfviz.figures.style import MIN_TEXT_SIZE, get_preset
    from trfviz.palette import colormap

    page = get_preset(preset or "two-column")
    size = max(page.small_font_size, MIN_TEXT_SIZE)
    widths = [p.values.shape[0] for p in panels]
    axes = part.subplots(1, len(panels), squeeze=False, width_ratios=widths)[0]
    scored = not panels[0].score.endswith("largest")
    for panel, ax in zip(panels, axes, strict=True):
        values = panel.values.T  # heads in rows, layers in columns, as on screen
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        image = ax.pcolormesh(
            np.ma.masked_invalid(values),
            cmap=colormap("score" if scored else "sequential"),
            vmin=low,
            vmax=high if high > low else low + 1e-9,
            edgecolors="white",
            linewidth=0.3,
            gid=f"grid-{panel.model}",
        )
        ax.set_ylim(values.shape[0], 0)
        ax.set_aspect("equal")
        layer, head = panel.current
        if layer is not None:
            y, h = (head, 1) if head is not None else (0, values.shape[0])
            ax.add_patch(
                Rectangle(
                    (layer, y),
                    1,
                    h,
                    fill=False,
                    edgecolor="#111111",
                    linewidth=1.0,
                    gid="grid-current",
                    clip_on=False,
                )
            )
        step = max(1, int(np.ceil(values.shape[1] / 8)))
        ax.set_xticks(
            np.arange(0, values.shape[1], step) + 0.5,
            [str(x) for x in range(0, values.shape[1], step)],
        )
        hstep = max(1, int(np.ceil(values.shape[0] / 6)))
        ax.set_yticks(
            np.arange(0, values.shape[0], hstep) + 0.5,
            [str(x) for x in range(0, values.shape[0], hstep)],
        )
        ax.tick_params(labelsize=size, length=0, pad=1)
        ax.set_xlabel("layer", fontsize=size, labelpad=1)
        ax.set_ylabel("head", fontsize=size, labelpad=1)
        ax.set_title(short_model_name(panel.model), fontsize=size)
        bar = part.colorbar(image, ax=ax, fraction=0.05, pad=0.02, shrink=0.9)
        keep_vector(bar)
        bar.ax.tick_params(labelsize=size)
        bar.set_label(_short(panel.score), fontsize=size)


def _short(name: str) -> str:
    """A score's name short enough for a colour bar's side."""
    return name.replace("attention to specials", "to specials").replace("JS distance to ", "JS to ")
