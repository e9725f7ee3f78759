"""Shaded words: legible at both presets and real lengths, coloured by the palette, any sign."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

from tests.figures.legibility import legibility_problems, min_text_size
from tests.figures.test_paper_ready import words
from trfviz.figures import shaded_words
from trfviz.figures.style import get_preset
from trfviz.palette import colormap


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _fills(ax) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {p.get_gid(): to_hex(p.get_facecolor()) for p in ax.patches if p.get_gid()}


@pytest.mark.parametrize("preset", ["one-column", "two-column"])
@pytest.mark.parametrize("n", [12, 40, 64])
def test_two_models_with_marks_are_legible_and_wrap_to_the_preset(n: int, preset: str) -> None:
    values = np.random.default_rng(n).dirichlet(np.ones(n) * 0.3, size=2)
    values[:, n // 2] = np.nan
    notes = [""] * n
    notes[n // 2 - 1], notes[n // 2 + 1] = "nsubj", "obj"
    fig, ax = shaded_words(
        words(n),
        values,
        names=("MiniLM", "SmolLM2"),
        focus=n // 2,
        entities=[(0, 2, "ORG"), (5, 9, "PERSON")],
        notes=notes,
        title="MiniLM L3 vs SmolLM2 L17",
        preset=preset,
    )
    assert legibility_problems(fig) == []
    assert min_text_size(fig) >= 6.0
    assert fig.get_size_inches()[0] == pytest.approx(get_preset(preset).width)
    lines = {round(t.get_position()[1], 3) for t in ax.texts if t.get_gid().startswith("word-")}
    assert len(lines) > 1 if n >= 40 else True  # long sentences wrap
    # Every word but the focus has one strip per model; the focus is outlined.
    gids = _fills(ax)
    assert sum(g.startswith("shade-") for g in gids) == 2 * (n - 1)
    assert "focus" in {p.get_gid() for p in ax.patches}


def test_a_word_is_coloured_at_its_place_on_the_shared_scale() -> None:
    values = np.array([[0.0, 0.2, 0.4], [0.1, 0.3, 0.8]])
    _, ax = shaded_words(["a", "b", "c"], values)
    cmap = colormap("sequential")
    fills = _fills(ax)
    assert fills["shade-0-2"] == to_hex(cmap(0.5))  # 0.4 on the range 0–0.8 both rows share
    assert fills["shade-1-2"] == to_hex(cmap(1.0))


def test_signed_values_are_symmetric_about_zero_on_the_diverging_scale() -> None:
    _, ax = shaded_words(["a", "b", "c"], [-0.5, 0.0, 0.25], scale="diverging", label="grad")
    cmap = colormap("diverging")
    fills = _fills(ax)
    assert fills["shade-0-0"] == to_hex(cmap(0.0))
    assert fills["shade-0-1"] == to_hex(cmap(0.5))  # 0 is the middle, white
    assert fills["shade-0-2"] == to_hex(cmap(0.75))
    (bar,) = list(ax.child_axes)
    assert bar.get_xlim() == pytest.approx((-0.5, 0.5))
    assert bar.get_title() == "grad"


def test_rows_on_their_own_ranges_get_a_named_colour_bar_each() -> None:
    fig, ax = shaded_words(
        ["a", "b"], [[0.1, 0.2], [0.5, 1.0]], value_range=[(0, 0.2), (0, 1.0)], names=("A", "B")
    )
    bars = list(ax.child_axes)
    assert sorted(b.get_title() for b in bars) == ["A: attention received", "B: attention received"]
    assert legibility_problems(fig) == []


def test_draws_into_the_callers_axes() -> None:
    fig, axes = plt.subplots(2, 1, figsize=(4, 4))
    out, ax = shaded_words(["a", "b"], [0.3, 0.6], ax=axes[1])
    assert out is fig and ax is axes[1]
    assert {t.get_text() for t in ax.texts} >= {"a", "b"}


def test_bad_input_says_what_to_give() -> None:
    with pytest.raises(ValueError, match="expected"):
        shaded_words(["a", "b"], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="scale"):
        shaded_words(["a"], [0.1], scale="rainbow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="low < high"):
        shaded_words(["a"], [0.1], value_range=(1, 0))
    with pytest.raises(ValueError, match="names"):
        shaded_words(["a"], [[0.1], [0.2]], names=("A",))
    with pytest.raises(ValueError, match="empty"):
        shaded_words([], [])
