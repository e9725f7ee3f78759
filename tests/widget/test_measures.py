"""The explorer draws measures beside attention, drops special tokens, hides heads per model.

Synthetic norms, rollout, flow and attributions (tests/widget/measure_data.py) over
the widget's synthetic document: the values sent to the browser are the measure's,
the layer/head choices fit its shape, the difference is offered for distributions
only, and the export draws the same measure with its name on the colour bar.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.browser.widget_data import make_document
from tests.widget.measure_data import synthetic_measures
from trfviz.view import ViewSpec
from trfviz.widget import AttentionExplorer
from trfviz.widget.explorer import ExplorerValueError
from trfviz.widget.measures import as_attention, without_specials
from trfviz.widget.payload import PackedMatrix

MEASURES = ("norms", "rollout", "flow", "attributions")


def _explorer(*measures: str, **traits: object) -> tuple[AttentionExplorer, dict]:
    parses, extractions = make_document()
    given_ = [m for name in measures for m in synthetic_measures(extractions, name)]
    return AttentionExplorer(parses, extractions, measures=given_, **traits), extractions


def _sent(explorer: AttentionExplorer, panel: int = 0) -> np.ndarray:
    """The ``[head, query, key]`` values of a panel, as the browser decodes them."""
    packed = explorer._layers["panels"][panel]["heads"]
    return PackedMatrix(
        packed["data"], tuple(packed["shape"]), packed["lo"], packed["scale"], packed["bits"]
    ).unpack()


@pytest.mark.parametrize("name", MEASURES)
def test_the_browser_gets_the_measures_values(name: str) -> None:
    explorer, _ = _explorer(*MEASURES, compare="tiny-gpt")
    explorer.measure = name
    spec = explorer.view_spec()
    assert spec.measure == name and explorer._sentence_data["measure"] == name
    values = explorer._measure_values[name]["tiny-bert"][0]
    layer = explorer.layer if isinstance(explorer.layer, int) else 0
    sent = _sent(explorer)
    assert sent.shape == values[layer].shape
    step = explorer._layers["panels"][0]["heads"]["scale"]
    np.testing.assert_allclose(sent, values[layer], atol=step / 2 + 1e-7)
    n_layers, n_heads = explorer._shapes["tiny-bert"]
    assert explorer._sentence_data["models"]["tiny-bert"]["n_heads"] == n_heads
    assert explorer._sentence_data["models"]["tiny-bert"]["n_layers"] == n_layers
    # The grid's scores are those of distributions: none for norms, flow, attributions.
    explorer.show_grid = True
    assert bool(explorer._grid["tiny-bert"]["scores"]) == (name == "rollout")
    assert explorer._grid["tiny-bert"]["measure"] == explorer.view_spec().measure_label


def test_choices_fit_each_measures_shape() -> None:
    explorer, _ = _explorer(*MEASURES, compare="tiny-gpt", mode="difference")
    explorer.layer, explorer.head = 1, 2
    explorer.measure = "rollout"  # one "head": head 2 is gone
    assert explorer.head == 0 and explorer.mode == "difference"  # rollout is a distribution
    explorer.measure = "norms"  # no honest difference of norms
    assert explorer.mode == "side"
    with pytest.raises(ValueError, match="compares distributions"):
        ViewSpec(**{**explorer.view_spec().__dict__, "mode": "difference"})
    explorer.measure = "flow"
    assert explorer.layer == 0 and explorer.head == 0
    explorer.measure = "attributions"
    assert explorer.compact  # one value per word: shaded words
    assert explorer.view_spec().scale == "diverging"
    with pytest.raises(ExplorerValueError, match="measure must be"):
        explorer.measure = "logit lens"


def test_measures_that_are_not_distributions_get_a_scale_per_panel() -> None:
    explorer, _ = _explorer(*MEASURES, compare="tiny-gpt")
    assert explorer.view_spec().shared_range
    for name, shared in (("norms", False), ("rollout", True), ("flow", False), ("attention", True)):
        explorer.measure = name
        assert explorer.view_spec().shared_range is shared, name
    explorer.measure = "norms"
    explorer.per_model_scale = False  # still the user's choice afterwards
    assert explorer.view_spec().shared_range


def test_a_measure_of_one_model_only_is_offered_with_that_model() -> None:
    parses, extractions = make_document()
    norms = synthetic_measures({"tiny-bert": extractions["tiny-bert"]}, "norms")
    explorer = AttentionExplorer(parses, extractions, measures=norms)
    explorer.measure = "norms"
    explorer.compare = "tiny-gpt"  # has no norms: back to attention
    assert explorer.measure == "attention"
    with pytest.raises(ExplorerValueError):
        explorer.measure = "norms"
    assert explorer._measures["norms"]["models"] == ["tiny-bert"]


def test_measures_are_matched_by_model_and_checked() -> None:
    parses, extractions = make_document()
    names = {"tiny-bert": "org/tiny-bert-base", "tiny-gpt": "org/tiny-gpt"}
    norms = synthetic_measures(extractions, "norms", models=names)
    explorer = AttentionExplorer(parses, extractions, measures=norms, model_names=names)
    assert set(explorer._measure_values["norms"]) == {"tiny-bert", "tiny-gpt"}
    with pytest.raises(ValueError, match="matches no model"):
        AttentionExplorer(
            parses,
            extractions,
            measures=synthetic_measures({"other": extractions["tiny-bert"]}, "norms"),
        )
    with pytest.raises(ValueError, match="unknown model"):
        AttentionExplorer(parses, extractions, measures={"nope": norms[0]})
    with pytest.raises(ValueError, match="two norms"):
        AttentionExplorer(parses, extractions, measures={"tiny-bert": norms[:1] * 2})
    dropped = [s.__class__(**{**s.__dict__, "special_labels": ()}) for s in norms[0].sentences]
    other = norms[0].__class__(**{**norms[0].__dict__, "sentences": tuple(dropped)})
    with pytest.raises(ValueError, match="same special_tokens"):
        AttentionExplorer(parses, extractions, measures={"tiny-bert": other})


def test_dropping_specials_renormalises_distributions_only() -> None:
    explorer, _ = _explorer("norms")
    n = len(explorer._parses[0].words)
    explorer.special_tokens = "drop"
    assert explorer.view_spec().special_tokens == "drop"
    assert explorer._sentence_data["models"]["tiny-bert"]["labels"] == list(
        explorer._parses[0].words
    )
    sent = _sent(explorer)
    assert sent.shape[-1] == n
    np.testing.assert_allclose(sent.sum(axis=-1), 1.0, atol=1e-3)
    explorer.measure = "norms"
    values = explorer._measure_values["norms"]["tiny-bert"][0][explorer.layer][:, :n, :n]
    step = explorer._layers["panels"][0]["heads"]["scale"]
    np.testing.assert_allclose(_sent(explorer), values, atol=step / 2 + 1e-6)  # cut, not rescaled


@settings(max_examples=30, deadline=None)
@given(arrays(np.float32, (2, 5, 5), elements=st.floats(0, 1, width=32)), st.integers(1, 5))
def test_dropped_rows_sum_to_one_or_zero(values: np.ndarray, n: int) -> None:
    rows = without_specials(values, n, renormalise=True).sum(axis=-1)
    kept = values[..., :n, :n].sum(axis=-1) > 0
    np.testing.assert_allclose(rows[kept], 1.0, atol=1e-5)
    assert np.all(rows[~kept] == 0)


def test_layouts_keep_every_value() -> None:
    rng = np.random.default_rng(0)
    rollout = rng.random((3, 4, 4)).astype(np.float32)
    assert np.array_equal(as_attention(rollout, ("layer", "query", "key"))[:, 0], rollout)
    flow = rng.random((4, 4)).astype(np.float32)
    assert np.array_equal(as_attention(flow, ("query", "key"))[0, 0], flow)
    with pytest.raises(ValueError, match="cannot lay out"):
        as_attention(rollout, ("head", "query", "key"))


def test_hidden_heads_are_per_model() -> None:
    explorer, _ = _explorer(compare="tiny-gpt", head="all", link=False, compare_head="all")
    explorer.hidden_heads = {"tiny-bert": [2, 0], "tiny-gpt": [1]}
    assert explorer.view_spec().hidden_heads == ((0, 2), (1,))
    view = explorer.get_view()
    assert [p.heads.shape[0] for p in view.panels] == [1, 1]  # 3 - 2 heads, 2 - 1 head
    with pytest.raises(ExplorerValueError, match="unknown"):
        explorer.hidden_heads = {"nope": [1]}
    with pytest.raises(ValueError, match="one tuple of head indices per model"):
        ViewSpec(models=("a", "b"), layers=(0, 0), heads=("all", "all"), hidden_heads=((1,),))


@pytest.mark.parametrize("name", ["norms", "attributions"])
def test_export_draws_the_measure(name: str) -> None:
    import matplotlib.pyplot as plt

    from trfviz.widget.export import figure_view

    explorer, _ = _explorer(name, compare="tiny-gpt")
    explorer.measure = name
    figure = explorer.draw_figure(preset="two-column")
    spec = figure_view(figure)
    assert spec is not None and spec.measure == name
    bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    assert bars and all(spec.measure_label in ax.get_ylabel() for ax in bars)
    meshes = [c for ax in figure.axes for c in ax.collections if c.get_gid() == "heatmap"]
    low, high = meshes[0].get_clim()
    if name == "attributions":
        assert low == -high and meshes[0].get_array().shape[0] == 1  # one row of words
    else:
        # Norms and flow are not distributions: each panel on its own scale, to its own largest.
        assert not spec.shared_range
        titles = [t.get_text() for ax in figure.axes for t in ax.texts] + [
            ax.get_title() for ax in figure.axes
        ]
        titles = [" ".join(t.split()) for t in titles]  # titles wrap to the drawing's width
        for mesh in meshes:
            low, high = mesh.get_clim()
            assert low == 0 and high == pytest.approx(float(mesh.get_array().max()))
            # Arcs are drawn on [0, 1]: as a share of the largest, and the titles say so.
            assert any(f"{spec.measure_label} ÷ {high:.3g}" in t for t in titles), titles
    plt.close(figure)
