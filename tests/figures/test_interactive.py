"""Plotly heatmap and head grid: positions, escaped hover text, frames by score."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("plotly")

from trfviz.figures import interactive_head_grid, interactive_heatmap
from trfviz.figures.interactive import block_means, grid_block


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


def test_grid_is_one_byte_trace_with_hover_by_category_and_a_score_map() -> None:
    att = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 3, 3))
    scores = np.array([[0.0, 0.5, 1.0], [0.25, 0.75, np.nan]])
    fig = interactive_head_grid(att, ["a", "b", "<c>"], scores=scores, score_label="UAS")
    score_map, thumbs = fig.data
    assert np.asarray(score_map.z, dtype=float).shape == (2, 3)
    assert score_map.z[1][2] is None  # NaN left blank
    assert "UAS %{z:.3f}" in score_map.hovertemplate
    assert fig.layout.coloraxis2.colorbar.title.text == "UAS"
    z = np.asarray(thumbs.z)
    assert z.dtype == np.uint8 and z.shape == (2 * 3, 3 * 3)  # layers down, heads across
    # Layer 1, head 2, query 0, key 1 sits at row 1·3 + 0, column 2·3 + 1, in whole percent.
    assert z[3, 7] == round(att[1, 2, 0, 1] * 100)
    np.testing.assert_allclose(
        z.reshape(2, 3, 3, 3).transpose(0, 2, 1, 3) / 100, att, atol=0.005 + 1e-9
    )
    assert thumbs.y[3] == "L1 · 0 a" and thumbs.x[7] == "H2 · 1 b"
    assert thumbs.x[2] == "H0 · 2 &lt;c&gt;"
    assert "weight %{z} %" in thumbs.hovertemplate
    assert len(fig.layout.shapes) == (2 - 1) + (3 - 1)  # lines between thumbnails
    plain = interactive_head_grid(att, ["a", "b", "c"])
    assert len(plain.data) == 1
    with pytest.raises(ValueError, match="scores"):
        interactive_head_grid(att, ["a", "b", "c"], scores=scores[:1])


def test_block_means_average_whole_blocks_and_the_remainder() -> None:
    att = np.random.default_rng(1).random((2, 5, 5))
    means = block_means(att, 2)
    assert means.shape == (2, 3, 3)
    np.testing.assert_allclose(means[:, 0, 0], att[:, :2, :2].mean(axis=(1, 2)))
    np.testing.assert_allclose(means[:, 2, 1], att[:, 4:, 2:4].mean(axis=(1, 2)))
    assert grid_block(270, 41, 150_000) == 2 and grid_block(72, 42, 150_000) == 1


@pytest.mark.parametrize(
    ("name", "layers", "heads", "specials"), [("MiniLM", 6, 12, 2), ("SmolLM2", 30, 9, 0)]
)
def test_a_40_token_grid_page_stays_under_300_kb(
    tmp_path, name: str, layers: int, heads: int, specials: int
) -> None:
    from trfviz.figures import save_figure

    n = 40 + specials
    att = np.random.default_rng(0).dirichlet(np.ones(n) * 0.3, size=(layers, heads, n))
    labels = [f"word{i}" for i in range(n)]
    fig = interactive_head_grid(
        att, labels, scores=np.random.default_rng(1).random((layers, heads))
    )
    page = save_figure(fig, tmp_path / f"{name}.html")
    size = page.stat().st_size
    assert size <= 300_000, f"{name}: {size} bytes"
    assert "plotly.min.js" in {p.name for p in tmp_path.iterdir()}
    thumbs = fig.data[-1]
    side = np.asarray(thumbs.z).shape[0] // layers
    assert side == (n if layers * heads * n * n <= 150_000 else -(-n // 2))
    if side < n:  # blocks: the hover names them and says the weight is a mean
        assert thumbs.y[0] == "L0 · 0–1 word0…word1" and "mean weight" in thumbs.hovertemplate
