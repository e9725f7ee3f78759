"""The export with two real models at real sentence lengths: legible, and kept to look at.

MiniLM and SmolLM2 on UD English EWT sentences of 12, 40 and 64 tokens, the
focus on a middle word: each view (the arcs on one word axis with the heatmaps
below, one model or both, and the compact shaded words) is exported at both
paper presets, checked from the renderer's extents (every text ≥ 6 pt, nothing
overlapping or clipped, no wider than the preset and no taller than its
``max_height``: the arcs squeeze their levels, then are windowed) and saved
under tests/artifacts/ for a look.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests._shared import minilm, smollm
from tests.figures.legibility import legibility_problems, min_text_size
from trfviz.figures import plot_attention_heatmap, plot_head_grid, plot_model_comparison
from trfviz.figures.style import get_preset
from trfviz.widget.export import figure_view

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _sentence(n: int):  # type: ignore[no-untyped-def]
    from trfviz.datasets import ud_english_ewt

    docs = ud_english_ewt("dev")
    return min(docs, key=lambda doc: (abs(len(doc) - n), len(doc)))


@pytest.mark.model
@pytest.mark.parametrize("n", [12, 40, 64])
def test_two_model_export_is_legible_at_both_presets(n: int) -> None:
    import trfviz
    from trfviz.widget import explore

    doc = _sentence(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = trfviz.extract(doc, minilm()), trfviz.extract(doc, smollm())
    explorer = explore(doc, {"MiniLM": a, "SmolLM2": b}, compare="SmolLM2", layer=3, head="mean")
    explorer.selected = len(doc) // 2
    ARTIFACTS.mkdir(exist_ok=True)
    assert explorer.show_heatmap  # the heatmaps below the arcs, as on screen
    for preset in ("one-column", "two-column"):
        page = get_preset(preset)
        for compare in ("SmolLM2", ""):  # both models on one word axis, then MiniLM alone
            explorer.compare = compare
            explorer.selected = len(doc) // 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # heatmap cells under 1.5 pt
                figure = explorer.draw_figure(preset=preset)
            assert figure_view(figure) == explorer.view_spec()
            width, height = figure.get_size_inches()
            assert height <= page.max_height + 1e-6, (preset, compare, height)
            assert width <= page.width + 0.01
            assert legibility_problems(figure) == []
            assert min_text_size(figure) >= 6.0
            models = "two" if compare else "one"
            figure.savefig(ARTIFACTS / f"export-{n}-{models}-{preset}.png", dpi=150)
            plt.close(figure)
        explorer.compare, explorer.selected = "SmolLM2", len(doc) // 2
        explorer.compact = True  # the sentence as shaded words, a strip per model
        figure = explorer.draw_figure(preset=preset)
        assert figure_view(figure) == explorer.view_spec()
        assert legibility_problems(figure) == []
        assert min_text_size(figure) >= 6.0
        strips = {
            (p.get_gid() or "").split("-")[1]
            for ax in figure.axes
            for p in ax.patches
            if (p.get_gid() or "").startswith("shade-")
        }
        assert strips == {"0", "1"}  # both models shaded
        figure.savefig(ARTIFACTS / f"export-compact-{n}-{preset}.png", dpi=150)
        plt.close(figure)
        explorer.compact = False
        # The figures a paper uses directly, from the same data.
        first, second = a.sentences[0], b.sentences[0]
        assert first.attention is not None and second.attention is not None
        words = list(first.tokens)
        figures = {
            "heatmap": plot_attention_heatmap(
                first.attention[3].mean(0),
                first.labels,
                n_special=2,
                title="MiniLM L3",
                preset=preset,
            )[0],
            "comparison": plot_model_comparison(
                first.attention[3].mean(0),
                second.attention[17].mean(0),
                words,
                names=("MiniLM L3", "SmolLM2 L17"),
                preset=preset,
            )[0],
            "grid": plot_head_grid(
                first.attention,
                first.labels,
                scores=first.attention[:, :, :, -1].mean(-1),
                score_label="to [SEP]",
                title="MiniLM",
                preset=preset,
            )[0],
        }
        for kind, fig in figures.items():
            assert legibility_problems(fig) == [], kind
            fig.savefig(ARTIFACTS / f"{kind}-{n}-{preset}.png", dpi=150)
            plt.close(fig)
