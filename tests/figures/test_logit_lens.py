"""The logit-lens table: read back; legible at 12 and 40 tokens at each paper preset."""

from __future__ import annotations

import itertools
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests.figures.legibility import drawn_texts, legibility_problems
from trfviz.figures import plot_logit_lens
from trfviz.figures.style import MIN_TEXT_SIZE, get_preset
from trfviz.measures import SentenceLogitLens

WORDS = ("The", "committee", "said", "on", "Tuesday", "that", "it", "would", "consider", "the")
GUESSES = (" the", ",", " in", "\n", " ", " international", "ing", " Smith")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def lens(n: int, n_layers: int = 30, k: int = 2, seed: int = 0) -> SentenceLogitLens:
    """A synthetic lens over ``n`` words: layers 0..n_layers, ids index :data:`GUESSES`."""
    rng = np.random.default_rng(seed)
    tokens = tuple(WORDS[i % len(WORDS)] for i in range(n))
    layers = tuple(range(n_layers + 1))
    top_ids = rng.integers(0, len(GUESSES), size=(len(layers), n, k)).astype(np.int32)
    top_probs = np.sort(rng.random((len(layers), n, k)), axis=-1)[..., ::-1].astype(np.float32)
    next_ids = rng.integers(0, len(GUESSES), size=n).astype(np.int32)
    next_ids[-1] = -1
    next_prob = rng.random((len(layers), n)).astype(np.float32)
    next_prob[:, -1] = np.nan
    return SentenceLogitLens(
        start=0,
        tokens=tokens,
        layers=layers,
        top_ids=top_ids,
        top_pieces=tuple(tuple(tuple(GUESSES[i] for i in row) for row in x) for x in top_ids),
        top_probs=top_probs,
        next_prob=next_prob,
        next_rank=np.where(np.isnan(next_prob), -1, 2).astype(np.int32),
        next_ids=next_ids,
        next_pieces=tuple(GUESSES[i] if i >= 0 else "" for i in next_ids),
    )


def test_cells_hold_each_layers_top_guess_coloured_by_its_probability() -> None:
    data = lens(5, n_layers=3)
    _, ax = plot_logit_lens(data, title="SmolLM2")
    mesh = ax.collections[0]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(4, 5), data.top_probs[..., 0])
    assert ax.get_ylim()[0] < ax.get_ylim()[1]  # the embeddings (row 0) at the bottom
    assert [t.get_text() for t in ax.get_yticklabels()] == ["emb", "1", "2", "3"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(data.tokens)
    cells = {(round(t.get_position()[0]), round(t.get_position()[1])): t for t in ax.texts}
    assert len(cells) == 4 * 5
    for (col, row), text in cells.items():
        guess = GUESSES[data.top_ids[row, col, 0]]
        shown = {"\n": "↵", " ": "␣"}.get(guess, guess.strip())
        assert text.get_text() == shown or text.get_text().endswith("…")
        hit = data.top_ids[row, col, 0] == data.next_ids[col]
        assert (text.get_fontweight() == "bold") == bool(hit)


def test_next_word_colouring_leaves_the_last_token_blank() -> None:
    data = lens(6, n_layers=2)
    _, ax = plot_logit_lens(data, color_by="next")
    values = np.ma.masked_invalid(data.next_prob)
    shown = ax.collections[0].get_array()
    assert shown is not None
    np.testing.assert_allclose(np.ma.filled(shown, -1).ravel(), np.ma.filled(values, -1).ravel())
    texts = [t.text for t in drawn_texts(ax.get_figure())]
    assert "p(next word)" in texts


@pytest.mark.parametrize("preset", ["one-column", "two-column"])
@pytest.mark.parametrize("n", [12, 40])
def test_every_text_is_legible_and_placed(n: int, preset: str) -> None:
    data = lens(n)
    fits = n <= 12 and preset == "two-column"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plot_logit_lens(data, preset=preset, title="SmolLM2 logit lens")
    # Too many words for the width: the first that fit, and a warning saying how to go on.
    assert bool(caught) != fits
    if caught:
        assert "window=slice(" in str(caught[0].message)
    assert legibility_problems(fig, min_size=MIN_TEXT_SIZE) == []
    width, height = fig.get_size_inches()
    assert width <= get_preset(preset).width + 0.01
    assert height <= get_preset(preset).max_height + 0.01
    shown = [t.get_text() for t in ax.get_yticklabels()]
    assert shown[-1] == "30"  # thinned layers keep the last
    if n > 12:  # a window of the long sentence, drawn and marked
        windowed, _ = plot_logit_lens(data, preset=preset, window=slice(n - 5, n))
        assert any(f"tokens {n - 4}–{n} of {n}" in t.text for t in drawn_texts(windowed))
        assert legibility_problems(windowed, min_size=MIN_TEXT_SIZE) == []


def test_chosen_layers_and_bad_options() -> None:
    data = lens(4, n_layers=6)
    _, ax = plot_logit_lens(data, layers=[6, 0, 3])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["emb", "3", "6"]
    with pytest.raises(ValueError, match="not in the logit lens"):
        plot_logit_lens(data, layers=[7])
    with pytest.raises(ValueError, match="color_by"):
        plot_logit_lens(data, color_by="rank")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="none of"):
        plot_logit_lens(data, window=slice(2, 2))


def test_draws_into_the_callers_axes() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    out, ax = plot_logit_lens(lens(4, n_layers=3), ax=axes[1], colorbar=False)
    assert out is fig and ax is axes[1]
    assert len(axes[1].texts) == 4 * 4


def test_layout_centres_the_window_on_the_focus_and_is_the_figure_drawn() -> None:
    from trfviz.figures.logit_lens import logit_lens_layout

    data = lens(64)
    (start, end), layers, width, height = logit_lens_layout(data, focus=50, preset="two-column")
    assert start <= 50 < end < 64 and abs((start + end) / 2 - 50) <= 1
    assert layers[-1] == data.layers[-1]
    fig, _ = plot_logit_lens(data, window=(start, end), layers=layers, preset="two-column")
    assert tuple(fig.get_size_inches()) == pytest.approx((width, height))
    # No focus: the first tokens that fit, as plot_logit_lens shows them (with its warning).
    with pytest.warns(UserWarning, match="do not fit"):
        assert logit_lens_layout(data, preset="two-column")[0] == (0, end - start)


def test_layout_keeps_at_most_max_layers_the_last_among_them() -> None:
    from trfviz.figures.logit_lens import logit_lens_layout

    data = lens(10)  # layers 0..30
    _, layers, _, height = logit_lens_layout(data, preset="two-column", max_layers=8)
    assert len(layers) <= 8 and layers[-1] == 30 and layers == sorted(layers)
    steps = {b - a for a, b in itertools.pairwise(layers)}
    assert len(steps) == 1  # evenly spaced
    assert height < logit_lens_layout(data, preset="two-column")[3]
