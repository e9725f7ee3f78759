"""Plotly heatmap and head grid: positions, escaped hover text, frames by score."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("plotly")

from trfviz.figures import interactive_head_grid, interactive_heatmap


def test_heatmap_keeps_repeated_tokens_apart_and_escapes_them() -> None:
    labels = ["the", "<b>", "&", "the"]
    att = np.random.default_rng(0).dirichlet(np.ones(4), size=4)
    fig = interactive_heatmap(att, labels, title="L3 <H7>")
    (trace,) = fig.data
    np.testing.assert_allclose(np.asarray(trace.z), att, atol=5e-5)  # four decimals
    assert list(fig.layout.xaxis.ticktext) == ["the", "&lt;b&gt;", "&amp;", "the"]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2, 3]  # positions, not categories
    assert trace.text[1][2] == "&lt;b&gt; → &amp;"
    assert "%{z" in trace.hovertemplate
    assert fig.layout.title.text == "L3 &lt;H7&gt;"
    with pytest.raises(ValueError, match="shape"):
        interactive_heatmap(att, labels[:3])


def test_grid_has_a_trace_per_head_and_frames_by_score() -> None:
    att = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 3, 3))
    scores = np.array([[0.0, 0.5, 1.0], [0.25, 0.75, np.nan]])
    fig = interactive_head_grid(att, ["a", "b", "<c>"], scores=scores, score_label="UAS")
    assert len(fig.data) == 6
    assert "layer 1 head 2" in fig.data[5].hovertemplate
    assert "UAS 0.500" in fig.data[1].hovertemplate
    assert list(fig.data[0].x)[2] == "2 &lt;c&gt;"
    assert len(fig.layout.shapes) == 5  # no frame where the score is NaN
    colors = [s.line.color for s in fig.layout.shapes]
    assert colors[0] != colors[2]
    plain = interactive_head_grid(att, ["a", "b", "c"])
    assert len(plain.layout.shapes) == 0
    with pytest.raises(ValueError, match="scores"):
        interactive_head_grid(att, ["a", "b", "c"], scores=scores[:1])
