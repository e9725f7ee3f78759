"""The cross-attention figure: what it draws, read back, and legibility at 12 and 40 words."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests.figures.legibility import legibility_problems, min_text_size
from trfviz.figures import plot_cross_attention
from trfviz.figures.style import MIN_TEXT_SIZE, PRESETS, get_preset
from trfviz.palette import ATTENTION_COLOR
from trfviz.parse import Arc, SentenceParse


@pytest.fixture(autouse=True)
def _close_figures():  # type: ignore[no-untyped-def]
    yield
    plt.close("all")


WORDS = [
    *[
        "Researchers",
        "asked",
        "whether",
        "two",
        "transformers",
        "attend",
        "to",
        "the",
        "same",
        "words",
    ],
    *[
        "and",
        "whether",
        "heads",
        "that",
        "track",
        "syntax",
        "in",
        "one",
        "model",
        "also",
        "track",
        "it",
    ],
    *[
        "in",
        "another",
        "model",
        "trained",
        "on",
        "different",
        "data",
        "with",
        "a",
        "different",
        "tokenizer",
    ],
    *[
        "today",
        ",",
        "as",
        "the",
        "committee",
        "met",
        "in",
        "San",
        "Francisco",
        "on",
        "Tuesday",
        ".",
    ],
]


def chain(words: list[str]) -> SentenceParse:
    """A parse where every word depends on the next one but the last (the root)."""
    arcs = tuple(Arc(i + 1, i, "dep" if i % 2 else "nmod") for i in range(len(words) - 1))
    return SentenceParse(tuple(words), ("",) * len(words), arcs, ())


def diagonal(n_target: int, n_source: int, seed: int = 0) -> np.ndarray:
    """Rows summing to 1, peaked near the diagonal, like an alignment."""
    rng = np.random.default_rng(seed)
    distance = np.abs(
        np.arange(n_target)[:, None] / n_target - np.arange(n_source)[None, :] / n_source
    )
    logits = -20 * distance + rng.normal(size=(n_target, n_source))
    return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)


def texts(ax) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def test_lines_follow_the_weights_above_the_threshold() -> None:
    source, target = chain(["the", "cat", "sat"]), chain(["die", "Katze", "saß", "."])
    attention = np.zeros((4 + 1, 3 + 1))  # a special pseudo-token row and column, not drawn
    attention[:, :3] = [[0.7, 0.2, 0.1], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4], [0, 0, 1], [1, 0, 0]]
    attention[4, 3] = 1.0
    fig, ax = plot_cross_attention(source, target, attention, threshold=0.25)
    lines = {line.get_gid(): line for line in ax.lines}
    expected = {
        f"cross-{r}-{c}" for r, c in zip(*np.nonzero(attention[:4, :3] >= 0.25), strict=True)
    }
    assert set(lines) == expected
    assert lines["cross-1-1"].get_linewidth() > lines["cross-0-0"].get_linewidth()
    assert lines["cross-0-0"].get_alpha() > lines["cross-2-1"].get_alpha()
    assert all(line.get_color() == ATTENTION_COLOR for line in lines.values())
    # A line runs from the source word (above) down to the target word (below).
    (x0, x1), (y0, y1) = lines["cross-1-1"].get_data()
    words = {t.get_gid(): t for t in ax.texts}
    assert y0 > y1
    assert x0 == pytest.approx(words["source-word-1"].get_position()[0])
    assert x1 == pytest.approx(words["target-word-1"].get_position()[0])
    shown = texts(ax)
    assert [shown[f"source-word-{i}"] for i in range(3)] == ["the", "cat", "sat"]
    assert "≥ .25" in shown["threshold-note"] and "max 1.00" in shown["threshold-note"]
    # Each parse in its own band: source arcs above the source words, target arcs below.
    patches = {p.get_gid(): p for p in ax.patches}
    assert {"source-dep-1-0", "source-dep-2-1", "target-dep-3-2"} <= set(patches)
    source_top = patches["source-dep-1-0"].get_path().vertices[:, 1].max()
    target_bottom = patches["target-dep-1-0"].get_path().vertices[:, 1].min()
    assert source_top > words["source-word-0"].get_position()[1]
    assert target_bottom < words["target-word-0"].get_position()[1]
    assert fig.get_figwidth() == get_preset("two-column").width


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("length", [12, 40])
def test_legible_at_12_and_40_words(preset: str, length: int) -> None:
    assert len(WORDS) >= 40
    source, target = chain(WORDS[:length]), chain([w.upper() for w in WORDS[:length]][::-1])
    fig, ax = plot_cross_attention(
        source, target, diagonal(length, length), preset=preset, title="layer 2, head 1"
    )
    assert legibility_problems(fig) == []
    assert min_text_size(fig) >= MIN_TEXT_SIZE
    p = get_preset(preset)
    assert fig.get_figwidth() == pytest.approx(p.width)
    assert fig.get_figheight() <= p.max_height + 1e-6
    words = [t for t in ax.texts if (t.get_gid() or "").startswith(("source-word", "target-word"))]
    assert len(words) == 2 * length  # every word drawn, none dropped


def test_orientations_put_the_source_first() -> None:
    source, target = chain(WORDS[:5]), chain(WORDS[5:10])
    _, ax = plot_cross_attention(source, target, diagonal(5, 5), orientation="vertical")
    words = {t.get_gid(): t.get_position() for t in ax.texts}
    assert words["source-word-0"][0] < words["target-word-0"][0]  # source left
    assert words["source-word-0"][1] > words["source-word-1"][1]  # read downwards
    _, ax = plot_cross_attention(source, target, diagonal(5, 5), orientation="horizontal")
    words = {t.get_gid(): t.get_position() for t in ax.texts}
    assert words["source-word-0"][1] > words["target-word-0"][1]  # source above


def test_draws_into_the_callers_axes() -> None:
    fig, axes = plt.subplots(1, 2)
    got_fig, got_ax = plot_cross_attention(
        chain(["a", "b"]), chain(["c"]), [[0.5, 0.5]], ax=axes[1]
    )
    assert got_fig is fig and got_ax is axes[1] and len(axes[0].lines) == 0


def test_bad_input_is_refused() -> None:
    source, target = chain(["a", "b"]), chain(["c"])
    with pytest.raises(ValueError, match=r"\[layer, head\]"):
        plot_cross_attention(source, target, np.ones((2, 1, 1, 2)))
    with pytest.raises(ValueError, match="at least 1 rows"):
        plot_cross_attention(source, target, np.ones((0, 2)))
    with pytest.raises(ValueError, match="threshold"):
        plot_cross_attention(source, target, np.ones((1, 2)), threshold=2)
    with pytest.raises(ValueError, match="orientation"):
        plot_cross_attention(source, target, np.ones((1, 2)), orientation="diagonal")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"pair\.source\.parse"):
        plot_cross_attention(["a", "b"], target, np.ones((1, 2)))  # type: ignore[arg-type]
