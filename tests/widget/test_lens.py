"""The explorer's logit-lens panel: matched to causal models, its tables the lens's numbers.

With random guesses (tests/widget/measure_data.py) over the synthetic document, whose
``tiny-gpt`` is causal and ``tiny-bert`` is not: nothing but the list of models with a
lens crosses before the panel is opened; then the current sentence's table, every number
the lens's own; the view spec records the panel and the export draws it.
"""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests.browser.widget_data import make_document
from tests.widget.measure_data import synthetic_lens
from trfviz.widget import AttentionExplorer
from trfviz.widget.export import figure_view
from trfviz.widget.export_lens import LENS_LAYERS
from trfviz.widget.lens import pack_lens
from trfviz.widget.payload import count_message_bytes


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _explorer(**traits: object) -> AttentionExplorer:
    parses, extractions = make_document()
    lens = synthetic_lens("tiny-gpt", extractions["tiny-gpt"], seed=3)
    return AttentionExplorer(parses, extractions, logit_lens=lens, **traits)


def test_nothing_crosses_until_the_panel_is_shown() -> None:
    parses, extractions = make_document()
    assert AttentionExplorer(parses, extractions)._logit_lens == {}
    explorer = _explorer(compare="tiny-gpt")
    assert explorer._logit_lens["available"] == ["tiny-gpt"]
    assert explorer._logit_lens["panels"] == []
    explorer.show_logit_lens = True
    assert [p["model"] for p in explorer._logit_lens["panels"]] == ["tiny-gpt"]
    # Only the models shown: the encoder alone has no table.
    explorer.compare = ""
    assert explorer._logit_lens["panels"] == []


def test_the_table_holds_the_lens_numbers_exactly() -> None:
    explorer = _explorer(model="tiny-gpt", show_logit_lens=True)
    for index in range(explorer.n_sentences):
        explorer.sentence = index
        (panel,) = explorer._logit_lens["panels"]
        lens = explorer._lens_data["tiny-gpt"][index]
        assert explorer._logit_lens["sentence"] == index
        n_layers, n, k = lens.top_ids.shape
        assert (panel["n"], panel["k"], panel["layers"]) == (n, k, list(lens.layers))
        strings = panel["strings"]
        assert len(set(strings)) == len(strings)  # each guess sent once
        top = np.frombuffer(panel["top"], "<i4").reshape(n_layers, n)
        guesses = [[strings[i] for i in row] for row in top]
        assert guesses == [[lens.top_pieces[r][c][0] for c in range(n)] for r in range(n_layers)]
        prob = np.frombuffer(panel["prob"], "<f4").reshape(n_layers, n)
        np.testing.assert_array_equal(prob, lens.top_probs[..., 0])
        following = [strings[i] if i >= 0 else "" for i in panel["next"]]
        assert following == list(lens.next_pieces)
        nexts = np.frombuffer(panel["next_prob"], "<f4").reshape(n_layers, n)
        np.testing.assert_array_equal(nexts, lens.next_prob)  # NaN where there is none
        ranks = np.frombuffer(panel["next_rank"], "<i4").reshape(n_layers, n)
        np.testing.assert_array_equal(ranks, lens.next_rank)
        assert np.isnan(nexts[:, n - 1]).all() and (ranks[:, n - 1] == -1).all()
    # Binary buffers: 16 bytes a cell, nothing per cell in the JSON.
    sizes = count_message_bytes(explorer._logit_lens)
    assert sizes["buffers"] == 16 * n_layers * n


def test_unseen_tokens_are_minus_one_and_none() -> None:
    _, extractions = make_document()
    lens = synthetic_lens("tiny-gpt", extractions["tiny-gpt"]).sentences[0]
    top_ids = lens.top_ids.copy()
    top_ids[:, 0] = -1
    probs = lens.top_probs.copy()
    probs[:, 0] = np.nan
    packed = pack_lens(dataclasses.replace(lens, top_ids=top_ids, top_probs=probs))
    n = lens.n_tokens
    top = np.frombuffer(packed["top"], "<i4")
    assert top[0] == -1 and top[n] == -1 and np.isnan(np.frombuffer(packed["prob"], "<f4")[0])


def test_lenses_of_encoders_other_models_or_other_text_are_refused() -> None:
    parses, extractions = make_document()
    gpt = synthetic_lens("tiny-gpt", extractions["tiny-gpt"])
    with pytest.raises(ValueError, match="not a causal language model"):
        AttentionExplorer(parses, extractions, logit_lens={"tiny-bert": gpt})
    with pytest.raises(ValueError, match="matches no model"):
        AttentionExplorer(
            parses, extractions, logit_lens=synthetic_lens("gpt2", extractions["tiny-gpt"])
        )
    with pytest.raises(ValueError, match="is of model 'other/model'"):
        AttentionExplorer(
            parses,
            extractions,
            logit_lens={"tiny-gpt": dataclasses.replace(gpt, model="other/model")},
            model_names={"tiny-gpt": "org/tiny-gpt"},
        )
    with pytest.raises(ValueError, match="1 sentences for 2"):
        AttentionExplorer(
            parses, extractions, logit_lens=dataclasses.replace(gpt, sentences=gpt.sentences[:1])
        )
    moved = dataclasses.replace(gpt.sentences[1], start=gpt.sentences[1].start + 1)
    with pytest.raises(ValueError, match="sentence 1 has other tokens"):
        AttentionExplorer(
            parses,
            extractions,
            logit_lens=dataclasses.replace(gpt, sentences=(gpt.sentences[0], moved)),
        )
    with pytest.raises(ValueError, match="give one"):
        AttentionExplorer(parses, extractions, logit_lens=[gpt, gpt])
    with pytest.raises(TypeError, match=r"trfviz\.measures\.logit_lens results"):
        AttentionExplorer(parses, extractions, logit_lens={"tiny-gpt": extractions["tiny-gpt"][0]})


def test_the_view_spec_records_the_panel_and_the_export_draws_it() -> None:
    explorer = _explorer(compare="tiny-gpt")
    assert explorer.view_spec().logit_lens is None
    explorer.show_logit_lens = True
    assert explorer.view_spec().logit_lens == "top"
    explorer.logit_lens_color = "next"
    explorer.selected = 3
    spec = explorer.view_spec()
    assert spec.logit_lens == "next"
    figure = explorer.draw_figure(preset="two-column")
    assert figure_view(figure) == spec
    lens = explorer._lens_data["tiny-gpt"][0]
    (ax,) = [a for a in figure.get_axes() if "logit lens" in a.get_title()]
    assert ax.get_title().startswith("tiny-gpt")
    mesh = ax.collections[0]
    # At a preset at most LENS_LAYERS layers: every n-th, the last kept.
    names = [t.get_text() for t in ax.get_yticklabels()]
    rows = [lens.layers.index(0 if t == "emb" else int(t)) for t in names]
    assert rows[-1] == len(lens.layers) - 1 and len(rows) <= LENS_LAYERS
    shown = lens.next_prob[rows]  # coloured by the next word, as on screen
    drawn = np.ma.getdata(mesh.get_array()).reshape(shown.shape)
    np.testing.assert_array_equal(np.where(np.isnan(shown), drawn, shown), drawn)
    words = [t.get_text() for t in ax.get_xticklabels()]
    assert words == list(lens.tokens)
    assert ax.get_xticklabels()[3].get_fontweight() == "bold"  # the focus
    # The encoder alone has no lens: the spec says no panel, and the export draws none.
    explorer.compare = ""
    assert explorer.view_spec().logit_lens is None
    figure = explorer.draw_figure()
    assert not [a for a in figure.get_axes() if "logit lens" in a.get_title()]


def test_all_heads_export_with_the_lens_under_them() -> None:
    from trfviz.widget.export import figure_view

    explorer = _explorer(model="tiny-gpt", show_logit_lens=True, head="all")
    figure = explorer.draw_figure()  # the heads overlaid, as on screen, then the lens table
    spec = figure_view(figure)
    assert spec == explorer.view_spec()
    assert spec.logit_lens is not None and spec.heads == ("all",)


def test_the_spec_takes_top_next_or_none() -> None:
    from trfviz.view import ViewSpec

    assert ViewSpec(models=("A",), layers=(0,), heads=(0,), logit_lens="next").logit_lens == "next"
    with pytest.raises(ValueError, match="logit_lens"):
        ViewSpec(models=("A",), layers=(0,), heads=(0,), logit_lens="guess")  # type: ignore[arg-type]
