"""The arcs figure: dependency arcs, entities and attention read back from the drawing."""

from __future__ import annotations

import itertools
from collections import Counter

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc
from spacy.vocab import Vocab

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trfviz.figures import plot_attention_arcs, select_attention_arcs, stack_levels
from trfviz.figures.style import MIN_TEXT_SIZE, PRESETS
from trfviz.palette import ENTITY_COLORS
from trfviz.parse import Arc, EntitySpan, SentenceParse, parse_sentence


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def apple_parse() -> SentenceParse:
    """'Apple is buying the U.K. startup for $1 billion', parsed by hand."""
    words = ["Apple", "is", "buying", "the", "U.K.", "startup", "for", "$", "1", "billion"]
    heads = [2, 2, 2, 5, 5, 2, 2, 9, 9, 6]
    deps = [
        "nsubj",
        "aux",
        "ROOT",
        "det",
        "compound",
        "dobj",
        "prep",
        "quantmod",
        "compound",
        "pobj",
    ]
    ents = ["B-ORG", "O", "O", "O", "B-GPE", "O", "O", "B-MONEY", "I-MONEY", "I-MONEY"]
    doc = Doc(Vocab(), words=words, heads=heads, deps=deps, ents=ents)
    return parse_sentence(doc[:])


def long_parse(n: int = 60) -> SentenceParse:
    """A right-branching chain with a few long arcs and entities: ``n`` tokens."""
    words = tuple(f"word{i}" if i % 3 else "a" for i in range(n))
    arcs = [Arc(i - 1, i, "dep") for i in range(1, n)]
    arcs[10] = Arc(0, 11, "nmod")
    arcs[40] = Arc(5, 41, "advcl")
    entities = (EntitySpan(2, 4, "PERSON"), EntitySpan(30, 33, "ORG"))
    return SentenceParse(words=words, tags=("",) * n, arcs=tuple(arcs), entities=entities)


def gids(ax, prefix: str) -> list[str]:
    artists = [*ax.patches, *ax.texts, *ax.collections]
    return [a.get_gid() for a in artists if (a.get_gid() or "").startswith(prefix)]


def uniform(n: int, extra: int = 0) -> np.ndarray:
    return np.full((n + extra, n + extra), 1 / (n + extra))


def test_words_arcs_labels_and_entities_are_drawn() -> None:
    parse = apple_parse()
    att = uniform(len(parse.words), extra=2)
    _fig, ax = plot_attention_arcs(parse, att, source=2, special_labels=["[CLS]", "[SEP]"])
    words = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid().startswith("word-")}
    assert [words[f"word-{i}"] for i in range(len(parse.words))] == list(parse.words)
    assert len(gids(ax, "dep-arc-")) == len(parse.arcs) == 9
    assert {f"dep-arc-{a.head}-{a.dependent}" for a in parse.arcs} == set(gids(ax, "dep-arc-"))
    labels = Counter(t.get_text() for t in ax.texts if t.get_gid().startswith("dep-label-"))
    assert labels == Counter(a.label for a in parse.arcs)
    entity_boxes = {p.get_gid(): p for p in ax.patches if p.get_gid().startswith("entity-")}
    assert set(entity_boxes) == {"entity-0-1", "entity-4-5", "entity-7-10"}
    assert (
        matplotlib.colors.to_hex(entity_boxes["entity-7-10"].get_facecolor())
        == ENTITY_COLORS["MONEY"]
    )
    entity_labels = [t.get_text() for t in ax.texts if t.get_gid().startswith("entity-label-")]
    assert sorted(entity_labels) == ["GPE", "MONEY", "ORG"]
    # uniform attention over 12 columns: 1/12 from "buying" to each word, itself as a dot
    assert len(gids(ax, "att-arc-2-")) == len(parse.words) - 1
    assert gids(ax, "att-self-") == ["att-self-2"]
    note = next(t for t in ax.texts if t.get_gid() == "note")
    assert "[CLS] .08" in note.get_text() and "[SEP] .08" in note.get_text()


def test_hidden_layers_are_not_drawn() -> None:
    parse = apple_parse()
    _, ax = plot_attention_arcs(parse, uniform(10), source=0, show_parse=False, show_entities=False)
    assert gids(ax, "dep-") == [] and gids(ax, "entity") == []


def test_threshold_mode_draws_every_weight_above_it() -> None:
    parse = apple_parse()
    att = np.random.default_rng(0).dirichlet(np.full(10, 0.3), size=10)
    _, ax = plot_attention_arcs(parse, att, threshold=0.2, show_weights=False)
    expected = {f"att-arc-{q}-{k}" for (q, k), w in np.ndenumerate(att) if w >= 0.2 and q != k}
    assert set(gids(ax, "att-arc-")) == expected
    widths = {p.get_gid(): p.get_linewidth() for p in ax.patches}
    shown = sorted(expected, key=lambda g: att[int(g.split("-")[2]), int(g.split("-")[3])])
    assert widths[shown[0]] < widths[shown[-1]]  # width grows with the weight


def _display_boxes(fig, ax, prefix):
    renderer = fig.canvas.get_renderer()
    return {
        t.get_gid(): t.get_window_extent(renderer)
        for t in ax.texts
        if (t.get_gid() or "").startswith(prefix)
    }


@pytest.mark.parametrize("preset", [None, "one-column"])
def test_nothing_overlaps_and_arcs_stay_off_the_words(preset) -> None:
    parse = apple_parse()
    att = np.random.default_rng(1).dirichlet(np.ones(10), size=10)
    fig, ax = plot_attention_arcs(parse, att, source=5, preset=preset, show_tags=False)
    fig.canvas.draw()
    words = _display_boxes(fig, ax, "word-")
    labels = _display_boxes(fig, ax, "dep-label-")
    for a, b in itertools.combinations([*words.values(), *labels.values()], 2):
        assert not a.overlaps(b)
    for patch in ax.patches:
        if patch.get_gid().startswith(("dep-arc-", "att-arc-")):
            points = _points_along(patch)
            for box in words.values():
                inside = (
                    (points[:, 0] > box.x0 + 0.5)
                    & (points[:, 0] < box.x1 - 0.5)
                    & (points[:, 1] > box.y0 + 0.5)
                    & (points[:, 1] < box.y1 - 0.5)
                )
                assert not inside.any(), patch.get_gid()


def _points_along(patch, per_segment: int = 25) -> np.ndarray:
    """Points along a patch's outline in display coordinates."""
    path = patch.get_transform().transform_path(patch.get_path())
    points = []
    for polygon in path.to_polygons(closed_only=False):
        for start, end in itertools.pairwise(polygon):
            points.append(np.linspace(start, end, per_segment))
    return np.concatenate(points)


def test_sixty_tokens_stand_upright_on_one_line_at_the_column_width() -> None:
    parse = long_parse(60)
    att = np.random.default_rng(2).dirichlet(np.ones(60), size=60)
    fig, ax = plot_attention_arcs(parse, att, source=30, preset="two-column")
    width, height = fig.get_size_inches()
    assert width <= PRESETS["two-column"].width + 1e-6
    assert height <= PRESETS["two-column"].max_height + 1e-6
    fig.canvas.draw()
    words = _display_boxes(fig, ax, "word-")
    assert len(words) == 60  # the whole sentence
    for a, b in itertools.combinations(words.values(), 2):
        assert not a.overlaps(b)
    assert len({round(b.y1) for b in words.values()}) == 1  # one line, hanging from it
    texts = [t for t in ax.texts if t.get_gid().startswith("word-")]
    assert {t.get_rotation() for t in texts} == {90.0}
    drawn = {g.split("-part")[0] for g in gids(ax, "dep-arc-")}
    assert drawn == {f"dep-arc-{a.head}-{a.dependent}" for a in parse.arcs}
    assert all(t.get_fontsize() >= MIN_TEXT_SIZE for t in ax.texts)
    # Arcs leave from the column centres: each word's x is its arc ends' x.
    centres = {int(t.get_gid().split("-")[1]): t.get_position()[0] for t in texts}
    assert np.allclose(np.diff([centres[i] for i in range(60)]), centres[1] - centres[0])


def test_window_shows_only_its_tokens() -> None:
    parse = long_parse(60)
    _, ax = plot_attention_arcs(parse, uniform(60), source=42, window=(38, 50))
    shown = sorted(int(g.split("-")[1]) for g in gids(ax, "word-"))
    assert shown == list(range(38, 50))
    assert "dep-arc-5-41" in gids(ax, "dep-arc-")  # runs open to the left edge
    assert all(38 <= int(g.split("-")[3]) < 50 for g in gids(ax, "att-arc-"))
    with pytest.raises(ValueError, match="window"):
        plot_attention_arcs(parse, uniform(60), source=10, window=(38, 50))


def test_draws_into_the_callers_axes_scaled_to_fit() -> None:
    fig, (_left, right) = plt.subplots(1, 2, figsize=(6, 2))
    out_fig, out_ax = plot_attention_arcs(apple_parse(), uniform(10), source=2, ax=right)
    assert out_fig is fig and out_ax is right
    sizes = {t.get_fontsize() for t in right.texts if t.get_gid().startswith("word-")}
    assert max(sizes) < matplotlib.rcParams["font.size"]


def test_inputs_are_checked() -> None:
    parse = apple_parse()
    with pytest.raises(ValueError, match="shape"):
        plot_attention_arcs(parse, np.eye(5))
    with pytest.raises(ValueError, match="source"):
        plot_attention_arcs(parse, uniform(10), source=10)


def test_select_attention_arcs_orders_and_cuts() -> None:
    att = np.array([[0.1, 0.6, 0.3], [0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    arcs = select_attention_arcs(att, source=0)
    assert [(a.a, a.b, a.label) for a in arcs] == [(0, 1, ".60"), (0, 2, ".30"), (0, 0, ".10")]
    assert [(a.a, a.b) for a in select_attention_arcs(att, threshold=0.5)] == [
        (0, 1),
        (2, 2),
        (1, 0),
        (1, 1),
    ]
    assert len(select_attention_arcs(att, source=0, top_k=1)) == 1


def test_stack_levels_hand_cases() -> None:
    # nested arcs go up, disjoint and touching arcs share the ground level, crossing ones stack
    assert stack_levels([(0, 3), (1, 2), (3, 4)]) == [2, 1, 1]
    assert stack_levels([(0, 2), (1, 3)]) == [1, 2]
    assert stack_levels([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(1, 6)), max_size=14))
def test_stack_levels_never_puts_overlapping_arcs_on_one_level(raw) -> None:
    spans = [(start, start + length) for start, length in raw]
    levels = stack_levels(spans)
    assert all(level >= 1 for level in levels)
    for (i, a), (j, b) in itertools.combinations(enumerate(spans), 2):
        if a[0] < b[1] and b[0] < a[1]:  # open intervals overlap
            assert levels[i] != levels[j]
        if b[0] >= a[0] and b[1] <= a[1] and b != a:  # b nested in a
            assert levels[j] < levels[i]


def test_incoming_arcs_are_the_focus_column_in_the_to_colour() -> None:
    from matplotlib.colors import to_hex

    from trfviz.palette import TO_COLOR

    parse = long_parse(60)
    att = np.random.default_rng(5).dirichlet(np.ones(20) * 0.3, size=20)
    parse = SentenceParse(parse.words[:20], parse.tags[:20], parse.arcs[:19], ())
    fig, ax = plot_attention_arcs(parse, att, source=7, incoming=True, threshold=0.1)
    incoming = {p.get_gid(): p for p in ax.patches if p.get_gid().startswith("att-in-arc-")}
    assert {int(g.split("-")[3]) for g in incoming} == {
        q for q in range(20) if q != 7 and att[q, 7] >= 0.1
    }
    assert all(g.endswith("-7") for g in incoming)  # to the source
    assert {to_hex(p.get_edgecolor()) for p in incoming.values()} == {to_hex(TO_COLOR)}
    outgoing = gids(ax, "att-arc-")
    assert outgoing and all(g.startswith("att-arc-7-") for g in outgoing)
    assert "orange: to it" in next(t.get_text() for t in ax.texts if t.get_gid() == "note")
    plt.close(fig)
    _, plain = plot_attention_arcs(parse, att, source=7, threshold=0.1)
    assert not gids(plain, "att-in-")
