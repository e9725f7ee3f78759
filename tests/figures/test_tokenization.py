"""Aligned tokenization: piece kinds, decoding, the figure and the escaped HTML."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt

from trfviz.alignment import align_spans
from trfviz.extraction import SentenceExtraction
from trfviz.figures import (
    aligned_tokenization_from,
    classify_pieces,
    display_piece,
    plot_aligned_tokenization,
    render_aligned_tokenization_html,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def isnt_models():
    """spaCy 'is' "n't" against BERT ([CLS] isn ' t [SEP]) and GPT-2 (isn 't): text "isn't"."""
    tokens = ["is", "n't"]
    spans = [(0, 2), (2, 5)]
    bert = align_spans(spans, [(0, 0), (0, 3), (3, 4), (4, 5), (0, 0)], [1, 0, 0, 0, 1])
    gpt2 = align_spans(spans, [(0, 3), (3, 5)])
    return tokens, {
        "BERT": (["[CLS]", "isn", "'", "t", "[SEP]"], bert),
        "GPT-2": (["isn", "'t"], gpt2),
    }


def models_for(text: str, tokenizers: dict, nlp) -> tuple[list[str], dict]:
    doc = nlp(text)
    spans = [(t.idx, t.idx + len(t)) for t in doc]
    models = {}
    for name, tok in tokenizers.items():
        enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True)
        pieces = tok.convert_ids_to_tokens(enc["input_ids"])
        models[name] = (
            pieces,
            align_spans(spans, enc["offset_mapping"], enc["special_tokens_mask"]),
        )
    return [t.text for t in doc], models


def test_piece_kinds_hand_case() -> None:
    _, models = isnt_models()
    assert classify_pieces(models["BERT"][1]) == ["special", "shared", "split", "split", "special"]
    assert classify_pieces(models["GPT-2"][1]) == ["shared", "split"]
    whole = align_spans([(0, 3), (4, 7)], [(0, 3), (4, 7)])
    assert classify_pieces(whole) == ["whole", "whole"]


@pytest.mark.parametrize(
    ("piece", "byte_level", "shown"),
    [
        ("Ġold", True, "␣old"),
        ("âĢĻ", True, "’"),  # a curly apostrophe, three bytes in one piece
        ("ĠðŁĺ", True, "␣<F0 9F 98>"),  # the first bytes of an emoji
        ("Ċ", True, "↵"),
        ("##ing", False, "##ing"),
        ("▁the", False, "␣the"),
        ("[CLS]", False, "[CLS]"),
    ],
)
def test_display_piece(piece: str, byte_level: bool, shown: str) -> None:
    assert display_piece(piece, byte_level=byte_level) == shown


def test_figure_shows_tokens_and_every_piece_once() -> None:
    tokens, models = isnt_models()
    fig, ax = plot_aligned_tokenization(tokens, models, title="isn't")
    drawn_tokens = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("token-")]
    assert drawn_tokens == tokens
    for name, (_pieces, alignment) in models.items():
        boxes = [p for p in ax.patches if p.get_gid().startswith(f"piece-{name}-")]
        assert len(boxes) == int((~alignment.special).sum())
    # the shared piece spans both token columns; the split pieces sit under "n't"
    fig.canvas.draw()
    centers = {
        t.get_gid(): (t.get_window_extent().x0 + t.get_window_extent().x1) / 2
        for t in ax.texts
        if (t.get_gid() or "").startswith("token-")
    }
    shared = next(p for p in ax.patches if p.get_gid() == "piece-GPT-2-0").get_window_extent()
    assert shared.x0 < centers["token-0"] < shared.x1 < centers["token-1"] + 1
    split = next(p for p in ax.patches if p.get_gid() == "piece-GPT-2-1").get_window_extent()
    assert split.x0 >= shared.x1 - 1 and split.x0 < centers["token-1"] + split.width
    legend = [p.get_gid() for p in ax.patches if p.get_gid().startswith("legend-")]
    assert legend == ["legend-whole", "legend-split", "legend-shared"]


def test_real_tokenizers_on_hard_text(wordpiece, byte_level_bpe, blank_nlp) -> None:
    text = "The movie isn't bad — it's un-be-lievable 😀 & <b>great</b>!"
    tokens, models = models_for(text, {"MiniLM": wordpiece, "GPT-2": byte_level_bpe}, blank_nlp)
    fig, ax = plot_aligned_tokenization(tokens, models, preset="two-column")
    assert fig.get_size_inches()[0] <= 6.9 + 1e-6
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    shown = [t for t in ax.texts if (t.get_gid() or "").startswith("token-")]
    assert len(shown) == len(tokens)
    boxes = [t.get_window_extent(renderer) for t in shown]
    for a, b in itertools.pairwise(boxes):
        assert not a.overlaps(b) or abs(a.y0 - b.y0) > 1  # wrapped lines may share x
    for patch in ax.patches:
        if patch.get_gid().startswith("piece-"):
            text = next(
                t
                for t in ax.texts
                if t.get_gid() == patch.get_gid().replace("piece-", "piece-text-", 1)
            )
            box = patch.get_window_extent(renderer)
            inner = text.get_window_extent(renderer)
            assert box.x0 - 1 <= inner.x0 and inner.x1 <= box.x1 + 1  # text fits its box


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    cuts=st.lists(st.integers(1, 40), max_size=12),
)
def test_any_alignment_draws_each_piece_once(lengths, cuts) -> None:
    """Random tokens and random piece boundaries (often cutting through tokens)."""
    bounds = np.cumsum([0, *lengths])
    text_len = int(bounds[-1])
    token_spans = list(itertools.pairwise(bounds))
    edges = sorted({0, text_len, *[c % text_len for c in cuts]})
    piece_spans = list(itertools.pairwise(edges))
    alignment = align_spans(token_spans, piece_spans)
    tokens = [f"t{i}" for i in range(len(lengths))]
    pieces = [f"p{i}" for i in range(len(piece_spans))]
    fig, ax = plot_aligned_tokenization(tokens, {"m": (pieces, alignment)})
    drawn = sorted(p.get_gid() for p in ax.patches if p.get_gid().startswith("piece-m-"))
    assert drawn == sorted(f"piece-m-{i}" for i in range(len(pieces)))
    html = render_aligned_tokenization_html(tokens, {"m": (pieces, alignment)})._repr_html_()
    assert all(f">{p}<" in html for p in pieces)
    plt.close(fig)


def test_from_extractions_checks_the_tokens() -> None:
    tokens, models = isnt_models()

    def sentence(toks, name):
        pieces, alignment = models[name]
        return SentenceExtraction(
            start=0,
            tokens=tuple(toks),
            pieces=tuple(pieces),
            alignment=alignment,
            attention=None,
            states=None,
        )

    got_tokens, got = aligned_tokenization_from(
        {"BERT": sentence(tokens, "BERT"), "GPT-2": sentence(tokens, "GPT-2")}
    )
    assert got_tokens == tuple(tokens) and list(got) == ["BERT", "GPT-2"]
    with pytest.raises(ValueError, match="other spaCy tokens"):
        aligned_tokenization_from(
            {"BERT": sentence(tokens, "BERT"), "GPT-2": sentence(["isn't", "x"], "GPT-2")}
        )
    with pytest.raises(ValueError, match="alignment"):
        plot_aligned_tokenization(["a"], {"m": (["x"], models["GPT-2"][1])})
