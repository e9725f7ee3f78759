"""Arc figure titles: at most two lines, never broken inside a model's label."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trfviz.figures.arcs import plot_attention_arcs
from trfviz.figures.arcs.plot import _title_lines
from trfviz.figures.layout import measure_text
from trfviz.figures.style import MIN_TEXT_SIZE, get_preset
from trfviz.parse import Arc, SentenceParse

LABELS = ("tiny-gpt L0 H0 (above)", "tiny-bert L11 Hmean (below)")


@pytest.mark.parametrize("mark", ["", " (…tokens 17–48 of 64…)"])
@pytest.mark.parametrize("preset", ["one-column", "two-column"])
def test_titles_break_between_labels_in_at_most_two_lines(preset: str, mark: str) -> None:
    width = get_preset(preset).width * 72 * 0.95
    title = f"{LABELS[0]} vs {LABELS[1]}{mark}"
    text, size = _title_lines(title, 9.05, width)
    lines = text.split("\n")
    assert len(lines) <= 2 and size >= MIN_TEXT_SIZE
    assert all(measure_text(line, size) <= width + 1e-6 for line in lines)
    assert " ".join(lines) == title  # only spaces became breaks
    for label in LABELS:  # each model's label on one line, whole
        assert any(label in line for line in lines)
    if mark:
        assert any(mark.strip() in line for line in lines)


def test_a_drawn_title_keeps_each_label_whole() -> None:
    n = 64
    parse = SentenceParse(
        words=tuple(f"w{i}" for i in range(n)),
        tags=("",) * n,
        arcs=tuple(Arc(i + 1, i, "dep") for i in range(n - 1)),
        entities=(),
    )
    attention = np.full((n, n), 1.0 / n)
    title = f"{LABELS[0]} vs {LABELS[1]}"
    fig, ax = plot_attention_arcs(parse, attention, source=30, title=title, preset="one-column")
    (drawn,) = [t for t in ax.texts if t.get_gid() == "title"]
    lines = drawn.get_text().split("\n")
    assert len(lines) <= 2
    assert not any(re.search(r"\bL\d+$", line) for line in lines)  # "L0" never ends a line
    assert drawn.get_fontsize() >= MIN_TEXT_SIZE
    plt.close(fig)
