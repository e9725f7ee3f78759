"""The export with two real models at real sentence lengths: legible, and kept to look at.

MiniLM and SmolLM2 on UD English EWT sentences of 12, 40 and 64 tokens, the
focus on a middle word: each view (the arcs on one word axis with the heatmaps
below, one model or both, and the compact shaded words) is exported at both
paper presets, checked from the renderer's extents (every text ≥ 6 pt, nothing
overlapping or clipped, no wider than the preset and no taller than its
``max_height``: words that do not fit lying down stand upright on one line, the
arcs squeeze their levels; only where even upright words would be under 6 pt
(one column, 40 and 64 words) are the words around the focus shown, marked in
the title and said in a note) and saved under tests/artifacts/ for a look.
"""

from __future__ import annotations

import re
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


def _check_window(figure, n: int, preset: str) -> None:  # type: ignore[no-untyped-def]
    """Every word is drawn, or the words drawn are a run marked in the title and noted."""
    texts = {t.get_gid(): t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid()}
    shown = sorted(int(g.split("-")[1]) for g in texts if re.fullmatch(r"word-\d+", g))
    title = texts["title"].replace("\n", " ")
    if shown == list(range(n)):
        assert "tokens" not in title
        return
    assert preset == "one-column"  # two columns hold 64 upright words
    assert shown == list(range(shown[0], shown[-1] + 1)) and shown[0] <= n // 2 <= shown[-1]
    assert f"tokens {shown[0] + 1}–{shown[-1] + 1} of {n}" in title
    assert f"holds {len(shown)} words legibly" in texts["note"].replace("\n", " ")


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
            _check_window(figure, len(doc), preset)
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
