"""Drawing a ViewSpec for export: the view at full precision, its title and file name."""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.widget_data import TELESCOPE, make_document
from trfviz.view import ViewSpec
from trfviz.widget.compare import kept_words, renormalise_rows
from trfviz.widget.export import (
    compose_view,
    draw_view,
    head_choice,
    head_spec,
    layer_choice,
    layer_spec,
    view_file_name,
    view_title,
)
from trfviz.widget.payload import select_attention


def test_choices_translate_both_ways() -> None:
    assert [layer_spec(x) for x in (0, 3, "mean")] == [0, 3, None]
    assert [head_spec(x) for x in (1, "mean", "all")] == [1, None, "all"]
    assert [layer_choice(x) for x in (0, None)] == [0, "mean"]
    assert [head_choice(x) for x in (2, None, "all")] == [2, "mean", "all"]


def test_compose_view_from_a_spec() -> None:
    parses, extractions = make_document()
    sentences = {key: value[0] for key, value in extractions.items()}
    n = len(TELESCOPE[0])
    spec = ViewSpec(models=("tiny-bert", "tiny-gpt"), layers=(1, None), heads=(None, 1))
    view = compose_view(spec, parses[0], sentences)
    assert [p.model for p in view.panels] == ["tiny-bert", "tiny-gpt"]
    assert (view.panels[1].layer, view.panels[1].head) == ("mean", 1)
    attention = sentences["tiny-gpt"].attention
    assert attention is not None
    np.testing.assert_allclose(view.panels[1].attention, select_attention(attention, "mean", 1))
    diff = compose_view(
        ViewSpec(models=spec.models, layers=spec.layers, heads=spec.heads, mode="difference"),
        parses[0],
        sentences,
    )
    (panel,) = diff.panels
    assert (panel.model, panel.kind, diff.mode) == (
        "tiny-bert - tiny-gpt",
        "difference",
        "difference",
    )
    bert = sentences["tiny-bert"].attention
    assert bert is not None
    # Both rows over the same words (specials and the first word out), renormalised.
    keep = kept_words(n)
    expected = renormalise_rows(bert[1].mean(0)[:n, :n], keep) - renormalise_rows(
        attention.mean(0)[1][:n, :n], keep
    )
    expected[:, ~keep] = np.nan  # the first word's column: no data, as on screen
    expected[0] = np.nan  # tiny-gpt (causal) has nothing left in its first row: no comparison
    np.testing.assert_allclose(panel.attention, expected, atol=1e-6)
    assert np.isnan(panel.attention[:, 0]).all()


def test_title_and_file_name_say_what_is_shown() -> None:
    spec = ViewSpec(
        models=("org/tiny-bert", "tiny-gpt"), layers=(None, 2), heads=("all", None), sentence=3
    )
    assert view_title(spec) == "tiny-bert layer mean, all heads vs tiny-gpt layer 2, head mean"
    assert view_file_name(spec) == "attention-s3-tiny-bert-Lmean-Hall-vs-tiny-gpt-L2-Hmean.pdf"
    diff = ViewSpec(models=("a", "b"), layers=(0, 0), heads=(1, 1), mode="difference")
    assert view_file_name(diff) == "attention-s0-a-L0-H1-vs-b-L0-H1-diff.pdf"


def test_draw_view_without_a_widget() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    parses, extractions = make_document()
    sentences = {"tiny-bert": extractions["tiny-bert"][0]}
    spec = ViewSpec(
        models=("tiny-bert",),
        layers=(0,),
        heads=(1,),
        show_grid=True,
        grid_score="relation accuracy",
    )
    scores = {"tiny-bert": np.arange(6.0).reshape(2, 3)}
    figure = draw_view(spec, parses[0], sentences, scores=scores)
    grids = [c for ax in figure.axes for c in ax.collections if c.get_gid() == "grid-tiny-bert"]
    assert len(grids) == 1  # the head grid, filled with the chosen score
    assert np.allclose(np.asarray(grids[0].get_array()).reshape(3, 2), scores["tiny-bert"].T)
    plt.close(figure)


# -- the export is the view: every field of the widget's ViewSpec reaches the figure ---------

#: Each change a user can make in the widget, as trait values set in turn.
WIDGET_CHANGES: list[dict[str, object]] = [
    {},
    {"layer": 1},
    {"head": "mean"},
    {"layer": "mean", "head": 2},
    {"selected": 3},
    {"compare": "tiny-gpt"},
    {"compare": "tiny-gpt", "mode": "difference"},
    {"compare": "tiny-gpt", "link": False, "compare_layer": 3, "compare_head": 1},
    {"show_parse": False},
    {"show_entities": False},
    {"show_heatmap": False},
    {"threshold": 0.2},
    {"sentence": 1},
    {"compare": "tiny-gpt", "per_model_scale": True},
    {"window": (1, 4)},
    {"window": (2, 5), "selected": 3},
    {"head": "all", "hidden_heads": {"tiny-bert": [1]}},
    {"compact": True},
]
#: Fields a widget trait may carry (added by the widget's own work on issue 13).
OPTIONAL_CHANGES: dict[str, object] = {
    "special_tokens": "drop",
    "scale": "score",
    "shared_range": False,
}


def _explorer():
    from trfviz.widget import AttentionExplorer

    parses, extractions = make_document()
    return AttentionExplorer(parses, extractions)


@pytest.mark.parametrize("change", WIDGET_CHANGES, ids=lambda c: ",".join(map(str, c)) or "default")
def test_export_carries_the_widgets_view(change: dict[str, object]) -> None:
    import matplotlib.pyplot as plt

    from trfviz.widget.export import figure_view

    explorer = _explorer()
    before = explorer.view_spec()
    for name, value in change.items():
        before = explorer.view_spec()
        setattr(explorer, name, value)
    spec = explorer.view_spec()
    assert (spec == before) == (not change)  # the last change reaches the spec
    figure = explorer.draw_figure(preset="two-column")
    assert figure_view(figure) == spec
    plt.close(figure)


def _titles(figure) -> list[str]:
    return [ax.get_title() for ax in figure.axes] + [
        t.get_text() for ax in figure.axes for t in ax.texts
    ]


def test_export_honours_window_hidden_heads_and_own_scales() -> None:
    import matplotlib.pyplot as plt

    from trfviz.widget.export import figure_view

    explorer = _explorer()
    explorer.window = (1, 4)  # axis columns: words 1..3
    assert explorer.view_spec().window == (1, 4)
    windowed = explorer.draw_figure()
    assert any("tokens 2–4 of" in t for t in _titles(windowed)), _titles(windowed)
    explorer.window = (0, 99)  # past the words (onto the specials' columns): every word
    assert explorer.view_spec().window is None
    explorer.head = "all"
    whole = explorer.draw_figure()
    explorer.hidden_heads = {"tiny-bert": [1]}
    fewer = explorer.draw_figure()
    assert figure_view(fewer).hidden_heads == ((1,),)

    def legend(figure) -> set[str]:  # type: ignore[no-untyped-def]
        return {t.get_text() for ax in figure.axes for t in ax.texts if t.get_gid() == "legend"}

    assert "h1" in legend(whole) and "h1" not in legend(fewer)  # the overlay's heads shown
    assert "(hidden: h1)" in legend(fewer)
    explorer.head, explorer.compare, explorer.per_model_scale = 0, "tiny-gpt", True
    own = explorer.draw_figure()
    assert figure_view(own).shared_range is False
    meshes = _meshes(own)
    assert len(meshes) == 2 and meshes[0].get_clim() != meshes[1].get_clim()
    assert sum("(own scale)" in t for t in _titles(own)) == 2
    plt.close("all")


@pytest.mark.parametrize("name", list(OPTIONAL_CHANGES))
def test_export_carries_optional_widget_fields(name: str) -> None:
    import matplotlib.pyplot as plt

    from trfviz.widget.export import figure_view

    explorer = _explorer()
    explorer.compare = "tiny-gpt"
    if explorer.has_trait(name):  # the widget shows this choice: change it there
        setattr(explorer, name, OPTIONAL_CHANGES[name])
        spec = explorer.view_spec()
        assert getattr(spec, name) == OPTIONAL_CHANGES[name]
    else:  # not (yet) a widget control: the spec field alone must still reach the figure
        spec = ViewSpec(**{**explorer.view_spec().__dict__, name: OPTIONAL_CHANGES[name]})
    parses, extractions = make_document()
    figure = draw_view(spec, parses[0], {k: v[0] for k, v in extractions.items()})
    assert figure_view(figure) == spec
    plt.close(figure)


def _meshes(figure):
    from matplotlib.collections import QuadMesh

    return [
        c
        for ax in figure.axes
        for c in ax.collections
        if isinstance(c, QuadMesh) and c.get_gid() == "heatmap"
    ]


def test_export_draws_what_the_spec_says() -> None:
    import matplotlib.pyplot as plt

    parses, extractions = make_document()
    sentences = {k: v[0] for k, v in extractions.items()}
    n = len(TELESCOPE[0])

    def gids(figure) -> set[str]:
        return {a.get_gid() or "" for ax in figure.axes for a in [*ax.patches, *ax.texts]}

    base = ViewSpec(models=("tiny-bert",), layers=(0,), heads=(1,), focus=2)
    shown = draw_view(base, parses[0], sentences)
    assert any(g.startswith("dep-arc-") for g in gids(shown))
    assert any(g.startswith("entity-") for g in gids(shown))
    assert any(g.startswith("att-arc-2-") for g in gids(shown))  # from the focus
    (mesh,) = _meshes(shown)
    assert mesh.get_cmap().name == "trfviz-sequential"  # the palette, as on screen
    labels = [t.get_text() for t in shown.axes[-2].get_xticklabels()]
    assert labels[-2:] == ["[CLS]", "[SEP]"]
    bare = ViewSpec(
        models=("tiny-bert",),
        layers=(0,),
        heads=(1,),
        show_parse=False,
        show_entities=False,
        special_tokens="drop",
        scale="score",
    )
    hidden = draw_view(bare, parses[0], sentences)
    assert not any(g.startswith(("dep-arc-", "entity-")) for g in gids(hidden))
    (mesh,) = _meshes(hidden)
    assert mesh.get_cmap().name == "trfviz-score"
    matrix = np.asarray(mesh.get_array()).reshape(n, n)  # specials dropped, rows renormalised
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    both = ViewSpec(models=("tiny-bert", "tiny-gpt"), layers=(0, 1), heads=(1, 0))
    meshes = _meshes(draw_view(both, parses[0], sentences))
    assert len(meshes) == 2 and meshes[0].get_clim() == meshes[1].get_clim()  # one scale
    own = ViewSpec(**{**both.__dict__, "shared_range": False})
    meshes = _meshes(draw_view(own, parses[0], sentences))
    assert meshes[0].get_clim() != meshes[1].get_clim()
    plt.close("all")


def test_explorer_export_writes_the_view(tmp_path) -> None:
    explorer = _explorer()
    explorer.selected = 2
    path = explorer.export(tmp_path / "fig.pdf", preset="one-column")
    assert path.read_bytes()[:4] == b"%PDF"
