"""Checking the explorer's inputs: parses and per-model extractions that agree.

The explorer takes plain data; these checks say, before anything is drawn, which
model and sentence do not fit (other tokens, no attention, another shape), and
turn a parsed ``Doc`` and its :class:`~trfviz.Extraction` objects into that data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse, parse_doc

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["check_inputs", "check_scores", "inputs_from_doc"]


def inputs_from_doc(
    doc: Doc, extractions: Mapping[str, Extraction] | Sequence[Extraction] | Extraction
) -> tuple[tuple[SentenceParse, ...], dict[str, tuple[SentenceExtraction, ...]]]:
    """The sentence parses of ``doc`` and, per model key, its sentence extractions.

    ``extractions`` is keyed by display name, or a sequence (or one) keyed by its
    model's short name; each must have been made from ``doc``'s text.
    """
    if isinstance(extractions, Extraction):
        extractions = [extractions]
    if not isinstance(extractions, Mapping):
        extractions = {short_model_name(getattr(e, "model", "?")): e for e in extractions}
    parses = parse_doc(doc)
    for key, extraction in extractions.items():
        if not isinstance(extraction, Extraction):
            raise TypeError(
                f"extractions[{key!r}] must be a trfviz.Extraction (from trfviz.extract); "
                f"got {type(extraction).__name__}"
            )
        if extraction.text != doc.text:
            raise ValueError(
                f"the extraction {key!r} was made from another text than the Doc's; "
                "extract this Doc (trfviz.extract(doc, model)) and explore that"
            )
    return parses, {key: e.sentences for key, e in extractions.items()}


def check_inputs(
    parses: Sequence[SentenceParse], extractions: Mapping[str, Sequence[SentenceExtraction]]
) -> dict[str, tuple[int, int]]:
    """Per model key its ``(n_layers, n_heads)``, after checking every sentence fits its parse."""
    if not extractions:
        raise ValueError("give at least one model's extractions")
    if not parses:
        raise ValueError("give at least one sentence")
    shapes = {}
    for key, sentences in extractions.items():
        if len(sentences) != len(parses):
            raise ValueError(
                f"{key}: {len(sentences)} sentence extractions for {len(parses)} sentences"
            )
        shape = None
        for i, (parse, sentence) in enumerate(zip(parses, sentences, strict=True)):
            if tuple(sentence.tokens) != tuple(parse.words):
                raise ValueError(f"{key}: sentence {i} has tokens that differ from the parse's")
            if sentence.attention is None:
                raise ValueError(f"{key}: sentence {i} kept no attention (attention=False)")
            n = len(sentence.labels)
            if sentence.attention.ndim != 4 or sentence.attention.shape[2:] != (n, n):
                raise ValueError(
                    f"{key}: sentence {i} attention must be [layer, head, {n}, {n}], "
                    f"got {sentence.attention.shape}"
                )
            shape = shape or sentence.attention.shape[:2]
            if sentence.attention.shape[:2] != shape:
                raise ValueError(f"{key}: sentences differ in their number of layers or heads")
        assert shape is not None
        shapes[key] = (int(shape[0]), int(shape[1]))
    return shapes


def check_scores(
    scores: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, int]]
) -> dict[str, np.ndarray]:
    """Per model key its ``[layer, head]`` scores as float64, after checking their shape."""
    checked = {}
    for key, value in scores.items():
        if key not in shapes:
            raise ValueError(f"head_scores for unknown model {key!r}; models are {list(shapes)}")
        array = np.asarray(value, dtype=np.float64)
        if array.shape != shapes[key]:
            raise ValueError(f"head_scores[{key!r}] must be [layer, head] = {shapes[key]}")
        checked[key] = array
    return checked
