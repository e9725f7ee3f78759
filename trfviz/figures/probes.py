"""The "which layer knows syntax" figure: probe scores by relative layer depth, models overlaid.

:func:`plot_probe_curves` draws the tidy table of
:func:`trfviz.analysis.probes.run_probes` (one or more models concatenated):
one panel per probe, the x axis the relative depth ``layer / n_layers`` (0 is
the embedding output, 1 the last layer) so a 6-layer and a 30-layer model
share it. Each model is a solid line (the probe on the real task) over a
dashed line of the same colour (the same probe on its control task); the band
between them is the **selectivity** (Hewitt & Liang 2019).

Example
-------
>>> import pandas as pd
>>> rows = [{"model": m, "layer": l, "n_layers": n, "probe": "upos", "metric": "accuracy",
...          "value": 0.5 + 0.05 * l, "control": 0.4, "selectivity": 0.1 + 0.05 * l}
...         for m, n in (("a", 2), ("b", 4)) for l in range(n + 1)]
>>> fig, axes = plot_probe_curves(pd.DataFrame(rows))
>>> [ax.get_title() for ax in axes]
['UPOS: accuracy']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trfviz.figures.style import Preset, get_preset, paper_style
from trfviz.figures.tables import require_columns
from trfviz.naming import short_model_name
from trfviz.palette import HEAD_COLORS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_METRICS", "plot_probe_curves"]

#: The metric each probe's panel shows unless ``metrics=`` says otherwise.
DEFAULT_METRICS: Mapping[str, str] = {
    "distance": "uuas",
    "depth": "root_accuracy",
    "upos": "accuracy",
    "deprel": "accuracy",
}

_PROBE_LABELS = {"distance": "distance", "depth": "depth", "upos": "UPOS", "deprel": "relation"}
_METRIC_LABELS = {
    "uuas": "UUAS",
    "spearman": "Spearman",
    "root_accuracy": "root accuracy",
    "accuracy": "accuracy",
}


def plot_probe_curves(
    results: pd.DataFrame,
    *,
    probes: Sequence[str] | None = None,
    metrics: Mapping[str, str] | None = None,
    models: Sequence[str] | None = None,
    axes: Sequence[Axes] | None = None,
    title: str | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, np.ndarray]:
    """``(figure, axes)``: per probe, score against relative layer depth, control dashed.

    Args:
        results: from :func:`~trfviz.analysis.probes.run_probes`, one model or
            several concatenated.
        probes: the panels, in order (default: the table's probes in its order).
        metrics: the metric shown per probe (default :data:`DEFAULT_METRICS`;
            e.g. ``{"depth": "spearman"}``).
        models: the models drawn, in legend order (default: the table's).
        axes: draw into these axes (one per probe) instead of a new figure.
        title: the figure's title.
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).
    """
    require_columns(results, ["model", "layer", "n_layers", "probe", "metric", "value", "control"])
    if results.empty:
        raise ValueError("the table is empty: run trfviz.analysis.probes.run_probes first")
    chosen_metrics = {**DEFAULT_METRICS, **(metrics or {})}
    panel_probes = list(probes) if probes is not None else list(dict.fromkeys(results.probe))
    model_names = list(models) if models is not None else list(dict.fromkeys(results.model))
    for name, have, what in (
        (panel_probes, set(results.probe), "probe"),
        (model_names, set(results.model), "model"),
    ):
        missing = [item for item in name if item not in have]
        if missing:
            raise ValueError(f"no rows for {what}(s) {missing}; the table has {sorted(have)}")
    if not panel_probes or not model_names:
        raise ValueError("nothing to draw: give at least one probe and one model")
    with paper_style(preset):
        fig, panels = _panels(len(panel_probes), axes, preset)
        for ax, probe in zip(panels, panel_probes, strict=True):
            metric = chosen_metrics.get(probe, "")
            rows = results[(results.probe == probe) & (results.metric == metric)]
            if rows.empty:
                raise ValueError(
                    f"no {metric!r} rows for probe {probe!r}; pass metrics={{{probe!r}: ...}} "
                    f"with one of {sorted(set(results[results.probe == probe].metric))}"
                )
            for index, model in enumerate(model_names):
                _draw_model(ax, rows[rows.model == model], model, HEAD_COLORS[index % 12])
            ax.set_title(f"{_PROBE_LABELS.get(probe, probe)}: {_METRIC_LABELS.get(metric, metric)}")
            ax.set_xlim(-0.02, 1.02)
            ax.set_xticks([0, 0.5, 1])
            ax.grid(True, linewidth=0.3, color="#dddddd")
            ax.set_xlabel("relative layer depth")
        _legend(fig, model_names)
        if title:
            fig.suptitle(title)
    return fig, np.asarray(panels, dtype=object)


def _draw_model(ax: Axes, rows: pd.DataFrame, model: str, color: str) -> None:
    if rows.empty:
        return
    rows = rows.sort_values("layer")
    depth = rows.layer.to_numpy() / rows.n_layers.to_numpy()
    value, control = rows.value.to_numpy(), rows["control"].to_numpy()
    ax.fill_between(depth, control, value, color=color, alpha=0.15, linewidth=0)
    ax.plot(depth, value, color=color, marker="o", markersize=2.5)
    ax.plot(depth, control, color=color, linestyle="--")


def _panels(count: int, axes: Sequence[Axes] | None, preset: str | Preset | None) -> tuple:
    if axes is not None:
        panels = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(panels) != count:
            raise ValueError(f"{len(panels)} axes for {count} probe panels; give one per probe")
        fig = panels[0].get_figure()
        return fig, panels
    import matplotlib.pyplot as plt

    width = get_preset(preset).width if preset else 6.9
    columns = min(count, 4 if width >= 6 else 2)
    rows = -(-count // columns)
    height = min(get_preset(preset).max_height if preset else 6.0, 0.6 + 1.7 * rows)
    fig, grid = plt.subplots(
        rows, columns, figsize=(width, height), squeeze=False, layout="constrained"
    )
    panels = list(grid.ravel())
    for extra in panels[count:]:
        extra.remove()
    return fig, panels[:count]


def _legend(fig: Any, models: list[str]) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=HEAD_COLORS[i % 12], marker="o", markersize=2.5)
        for i in range(len(models))
    ]
    labels = [short_model_name(model) for model in models]
    handles += [
        Line2D([], [], color="#555555"),
        Line2D([], [], color="#555555", linestyle="--"),
    ]
    labels += ["probe", "control (band: selectivity)"]
    columns = 4 if fig.get_size_inches()[0] >= 6 else 2  # a column's width holds two entries
    fig.legend(handles, labels, loc="outside lower center", ncols=columns, frameon=False)
