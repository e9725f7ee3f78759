"""The explorer's view at full precision: a :class:`~trfviz.view.ViewSpec` and the data.

:func:`compose_view` turns a spec and the sentence's plain data (its parse and
each model's :class:`~trfviz.extraction.SentenceExtraction`) into the panels on
screen (:class:`ExplorerView`); :func:`shown_matrix` is the matrix a panel
colours; the spec's choices translate to the widget's words and back
(:func:`layer_spec`, :func:`head_choice`...) and name the view (:func:`view_title`,
:func:`view_file_name`). :mod:`trfviz.widget.export` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS, WORD_MEASURES, HeadSpec, LayerSpec, ViewSpec
from trfviz.widget.compare import RowComparison, compare_rows
from trfviz.widget.payload import HeadChoice, LayerChoice, select_attention

__all__ = [
    "ExplorerView",
    "ViewPanel",
    "attention_of",
    "compact_rows",
    "comparison_of",
    "compose_view",
    "difference_note",
    "focus_relations",
    "head_choice",
    "head_spec",
    "layer_choice",
    "layer_spec",
    "panel_matrix",
    "selected_attention",
    "short_title",
    "shown_heads",
    "shown_matrix",
    "single_model",
    "view_file_name",
    "view_title",
]


@dataclass(frozen=True)
class ViewPanel:
    """One panel of the explorer's current view, at full precision.

    Attributes:
        model: the model key (``"A - B"`` for a difference of A and B).
        kind: ``"attention"``, ``"heads"`` (all heads of a layer; ``attention``
            is their mean) or ``"difference"`` (first model minus second).
        layer: the layer shown (an index or ``"mean"``).
        head: the head shown (an index, ``"mean"`` or ``"all"``).
        labels: the labels of both attention axes, ``n`` of them.
        attention: float32 ``[query, key]`` (``n`` by ``n``).
        heads: float32 ``[head, query, key]`` for ``kind == "heads"``, else None.
    """

    model: str
    kind: Literal["attention", "heads", "difference"]
    layer: LayerChoice
    head: HeadChoice
    labels: tuple[str, ...]
    attention: np.ndarray
    heads: np.ndarray | None = None


@dataclass(frozen=True)
class ExplorerView:
    """What the explorer shows right now: the sentence, its parse and the panels.

    Attributes:
        sentence: index of the sentence shown.
        parse: its words, arcs and entities.
        panels: one per model side by side, or one difference panel.
        mode: ``"side"`` or ``"difference"``.
        focus: the selected token (sentence index) or None.
        threshold: the weight under which attention lines are hidden.
    """

    sentence: int
    parse: SentenceParse
    panels: tuple[ViewPanel, ...]
    mode: Literal["side", "difference"]
    focus: int | None
    threshold: float


def layer_spec(layer: LayerChoice) -> LayerSpec:
    """The widget's layer choice as a :class:`ViewSpec` layer (``"mean"`` → None)."""
    return None if layer == "mean" else int(layer)


def head_spec(head: HeadChoice) -> HeadSpec:
    """The widget's head choice as a :class:`ViewSpec` head (``"mean"`` → None)."""
    return None if head == "mean" else "all" if head == "all" else int(head)


def layer_choice(layer: LayerSpec) -> LayerChoice:
    """A :class:`ViewSpec` layer in the widget's words (None → ``"mean"``)."""
    return "mean" if layer is None else layer


def head_choice(head: HeadSpec) -> HeadChoice:
    """A :class:`ViewSpec` head in the widget's words (None → ``"mean"``)."""
    return "mean" if head is None else head


def attention_of(sentence: SentenceExtraction, key: str) -> np.ndarray:
    """The ``[layer, head, query, key]`` values drawn for ``key`` (its attention or measure)."""
    if sentence.attention is None:
        raise ValueError(f"{key} has no attention; extract with attention=True to draw it")
    return sentence.attention


def shown_heads(spec: ViewSpec, n_heads: int, i: int = 0) -> list[int]:
    """The heads model ``i``'s overlay of all ``n_heads`` shows: all but its hidden heads.

    With every head hidden, all are shown (an overlay of none has no mean).
    """
    hidden = spec.hidden_heads[i] if i < len(spec.hidden_heads) else ()
    shown = [h for h in range(n_heads) if h not in hidden]
    return shown or list(range(n_heads))


def selected_attention(
    spec: ViewSpec, sentences: Mapping[str, SentenceExtraction], i: int
) -> np.ndarray:
    key = spec.models[i]
    attention = attention_of(sentences[key], key)
    selected = select_attention(attention, layer_choice(spec.layers[i]), head_choice(spec.heads[i]))
    if selected.ndim == 3:  # all heads: those hidden in the overlay are left out
        selected = selected[shown_heads(spec, selected.shape[0], i)]
    return selected


def panel_matrix(spec: ViewSpec, sentences: Mapping[str, SentenceExtraction], i: int) -> np.ndarray:
    selected = selected_attention(spec, sentences, i)
    return selected.mean(axis=0) if selected.ndim == 3 else selected


def comparison_of(
    spec: ViewSpec, parse: SentenceParse, sentences: Mapping[str, SentenceExtraction]
) -> RowComparison:
    """Both models' rows over the same words, renormalised, and their divergence (as on screen)."""
    specials = [label for key in spec.models for label in sentences[key].special_labels]
    return compare_rows(
        panel_matrix(spec, sentences, 0),
        panel_matrix(spec, sentences, 1),
        parse.words,
        specials=specials,
        exclude_sink=spec.exclude_sink,
    )


def difference_note(compared: RowComparison, parse: SentenceParse, focus: int | None) -> str:
    """What a difference compares: the Jensen–Shannon divergence, and the words left out.

    ``"JS divergence from “your” .42 (mean over the words .31). Compared over the
    words without [CLS], [SEP] and “You” (the first word, an attention sink), each
    row renormalised."``
    """
    from trfviz.figures.arcs.selection import format_weight

    divergence = compared.divergence
    valid = divergence[~np.isnan(divergence)]
    mean = f"{format_weight(float(valid.mean()))}" if valid.size else "none"
    if focus is not None and not np.isnan(divergence[focus]):
        at = format_weight(float(divergence[focus]))
        js = f"JS divergence from “{parse.words[focus]}” {at} (mean over the words {mean})."
    else:
        js = f"JS divergence, mean over the words: {mean}."
    specials = [e for e in compared.excluded if e not in parse.words[:1]]
    left = [", ".join(specials)] if specials else []
    if compared.kept.size and not compared.kept[0]:
        left.append(f"“{parse.words[0]}” (the first word, an attention sink)")
    without = f" without {' and '.join(left)}" if left else ""
    return f"{js} Compared over the words{without}, each row renormalised."


def compose_view(
    spec: ViewSpec, parse: SentenceParse, sentences: Mapping[str, SentenceExtraction]
) -> ExplorerView:
    """The view ``spec`` describes, at full precision, from the sentence's data.

    A difference compares both models over the same words, rows renormalised
    (:func:`trfviz.widget.compare.compare_rows`), as the widget shows it. For a
    ``spec.measure`` other than attention, each sentence's ``attention`` holds
    that measure as ``[layer, head, query, key]``
    (:func:`trfviz.widget.measures.as_extraction`).

    Args:
        spec: what to show.
        parse: the parse of sentence ``spec.sentence``.
        sentences: that sentence's extraction for each model key in ``spec.models``.
    """
    choices = [(layer_choice(la), head_choice(h)) for _, la, h in spec.per_model]
    panels: list[ViewPanel] = []
    if spec.mode == "difference":
        # NaN where nothing compares (the sink's column, a row with no mass left): no data.
        difference = comparison_of(spec, parse, sentences).difference.astype(np.float32)
        a_key, b_key = spec.models
        layer, head = choices[0]
        panels.append(
            ViewPanel(f"{a_key} - {b_key}", "difference", layer, head, parse.words, difference)
        )
        mode: Literal["side", "difference"] = "difference"
    else:
        for i, key in enumerate(spec.models):
            layer, head = choices[i]
            selected = selected_attention(spec, sentences, i)
            labels = sentences[key].labels
            if selected.ndim == 3:
                panels.append(
                    ViewPanel(key, "heads", layer, head, labels, selected.mean(0), selected)
                )
            else:
                panels.append(ViewPanel(key, "attention", layer, head, labels, selected))
        mode = "side"
    return ExplorerView(spec.sentence, parse, tuple(panels), mode, spec.focus, spec.threshold)


def view_file_name(spec: ViewSpec) -> str:
    """A file name saying what ``spec`` shows (``attention-s0-MiniLM-L3-Hmean.pdf``)."""
    parts = [
        f"{short_model_name(key)}-L{layer_choice(la)}-H{head_choice(h)}"
        for key, la, h in spec.per_model
    ]
    suffix = "-diff" if spec.mode == "difference" else ""
    return f"attention-s{spec.sentence}-{'-vs-'.join(parts)}{suffix}.pdf"


def view_title(spec: ViewSpec) -> str:
    """The figure title for ``spec``: each model with its layer and head."""

    def part(key: str, layer: LayerSpec, head: HeadSpec) -> str:
        layer_text = "layer mean" if layer is None else f"layer {layer}"
        head_text = (
            "head mean" if head is None else "all heads" if head == "all" else f"head {head}"
        )
        return f"{short_model_name(key)} {layer_text}, {head_text}"

    return " vs ".join(part(*entry) for entry in spec.per_model)


def shown_matrix(
    spec: ViewSpec, sentences: Mapping[str, SentenceExtraction], i: int, n: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(matrix, labels)`` model ``i`` shows; dropped specials renormalise distributions' rows."""
    matrix = panel_matrix(spec, sentences, i)
    labels = tuple(sentences[spec.models[i]].labels)
    if spec.special_tokens == "drop":
        words = matrix[:n, :n].astype(float)
        if spec.special_tokens == "drop" and spec.measure in DISTRIBUTIONS:
            total = words.sum(axis=1, keepdims=True)
            words = np.divide(words, total, out=np.zeros_like(words), where=total > 0)
        return words, labels[:n]
    return matrix.astype(float), labels


def single_model(spec: ViewSpec, i: int) -> ViewSpec:
    """``spec`` narrowed to its ``i``-th model (for that panel's title)."""
    return ViewSpec(models=(spec.models[i],), layers=(spec.layers[i],), heads=(spec.heads[i],))


def short_title(spec: ViewSpec) -> str:
    """``"MiniLM L3 H7 − SmolLM2 L10 Hmean"``: a difference's title, short enough for a column."""
    return " − ".join(
        f"{short_model_name(key)} L{layer_choice(la)} "
        + ("all heads" if h == "all" else f"H{head_choice(h)}")
        for key, la, h in spec.per_model
    )


def compact_rows(
    spec: ViewSpec, parse: SentenceParse, sentences: Mapping[str, SentenceExtraction]
) -> tuple[tuple[str, ...], np.ndarray]:
    """``(tokens, values)`` the compact view shades: ``values`` is ``[row, token]``.

    One row per model (or one for a difference, first model minus second over
    the same words): the attention each token receives from ``spec.focus``
    (NaN at the focus itself, left unshaded), or without a focus the attention
    it receives on average over the words, as the widget's compact view shows;
    for a per-word measure (attributions), its value per word, focus or not.
    Tokens are the words, and one model's special tokens when kept.
    """
    n = len(parse.words)
    if spec.mode == "difference":
        difference = comparison_of(spec, parse, sentences).difference
        matrices, tokens = [difference], tuple(parse.words)
    else:
        shown = [shown_matrix(spec, sentences, i, n) for i in range(len(spec.models))]
        matrices, tokens = [m for m, _ in shown], shown[0][1]
        if spec.comparing:  # one strip per model over the same tokens: the words
            matrices, tokens = [m[:, :n] for m in matrices], tokens[:n]
    rows = []
    for matrix in matrices:
        if spec.measure in WORD_MEASURES:  # one value per word (every row holds it)
            row = matrix[0].astype(float)
        elif spec.focus is not None:
            row = matrix[spec.focus].astype(float).copy()
            row[spec.focus] = np.nan
        else:
            row = matrix[:n].astype(float).mean(axis=0)
        rows.append(row)
    return tokens, np.stack(rows)


def focus_relations(parse: SentenceParse, focus: int | None) -> list[str]:
    """Per word, its relation to ``focus``: a dependent's label, ``"head"`` for the focus's head."""
    notes = [""] * len(parse.words)
    if focus is None:
        return notes
    for arc in parse.arcs:
        if arc.head == focus and arc.dependent != focus:
            notes[arc.dependent] = arc.label
        elif arc.dependent == focus and arc.head != focus:
            notes[arc.head] = f"head ({arc.label})"
    return notes
