"""The probe-curve figure: relative depth on x, one panel per probe, legible at every preset."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from tests.figures.legibility import legibility_problems
from trfviz.figures.probes import plot_probe_curves
from trfviz.figures.style import MIN_TEXT_SIZE, PRESETS, get_preset

METRICS = {"distance": "uuas", "depth": "root_accuracy", "upos": "accuracy", "deprel": "accuracy"}


def table() -> pd.DataFrame:
    rows = []
    for model, n_layers in (("org/six-layers", 6), ("org/thirty-layers", 30)):
        for layer in range(n_layers + 1):
            for probe, metric in METRICS.items():
                value = 0.4 + 0.4 * np.sin(np.pi * layer / n_layers)
                rows.append(
                    {
                        "model": model,
                        "layer": layer,
                        "n_layers": n_layers,
                        "probe": probe,
                        "metric": metric,
                        "value": value,
                        "control": 0.3,
                        "selectivity": value - 0.3,
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_text_is_legible_at_every_preset(preset: str) -> None:
    fig, _ = plot_probe_curves(table(), title="which layer knows syntax", preset=preset)
    assert legibility_problems(fig, min_size=MIN_TEXT_SIZE) == []
    assert fig.get_size_inches()[0] <= get_preset(preset).width + 0.01
    plt.close(fig)


def test_models_share_a_relative_depth_axis() -> None:
    fig, axes = plot_probe_curves(table())
    assert [ax.get_title() for ax in axes] == [
        "distance: UUAS",
        "depth: root accuracy",
        "UPOS: accuracy",
        "relation: accuracy",
    ]
    # Per model: the probe (solid) and its control (dashed); both span depth 0..1.
    lines = axes[0].get_lines()
    assert len(lines) == 4
    for line in lines:
        x = line.get_xdata()
        assert x[0] == 0 and x[-1] == 1
    assert [len(line.get_xdata()) for line in lines] == [7, 7, 31, 31]
    assert lines[1].get_linestyle() == "--"
    plt.close(fig)


def test_a_chosen_metric_and_the_callers_axes() -> None:
    data = table()
    spearman = data[data.probe == "depth"].assign(metric="spearman")
    _, ax = plt.subplots()
    _, axes = plot_probe_curves(
        pd.concat([data, spearman]), probes=["depth"], metrics={"depth": "spearman"}, axes=[ax]
    )
    assert axes[0] is ax and ax.get_title() == "depth: Spearman"
    with pytest.raises(ValueError, match="no 'uuas' rows for probe 'depth'"):
        plot_probe_curves(data, probes=["depth"], metrics={"depth": "uuas"})
    with pytest.raises(ValueError, match="no rows for model"):
        plot_probe_curves(data, models=["nope"])
    with pytest.raises(ValueError, match="is empty"):
        plot_probe_curves(data.iloc[:0])
    plt.close("all")
