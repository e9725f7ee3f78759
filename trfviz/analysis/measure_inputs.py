"""Measures read where attention is read: a MeasureExtraction as the input of the head analyses.

The head analyses (head ↔ relation accuracy, :mod:`trfviz.analysis.syntax`;
cross-model head similarity, :mod:`trfviz.analysis.similarity`) read
``[layer, head, query, key]`` arrays over spaCy tokens. Value-weighted norms
(:func:`trfviz.measures.attention_norms`, Kobayashi et al. 2020) have exactly
that shape, rollout ``[layer, query, key]`` becomes one "head" per layer, and
flow ``[query, key]`` one layer with one head. :func:`as_attention` gives an
:class:`~trfviz.extraction.Extraction` holding the measure's values in place
of attention, so every head analysis accepts a
:class:`~trfviz.measures.MeasureExtraction` wherever it accepts an Extraction
(``score_dependency_heads``, ``compare_heads``, ``HeadSimilarity.update``).

What differs from attention weights, because norms are not distributions
(a row of norms sums to the size of the head's output, not to 1):

- **head ↔ relation accuracy** uses each row's (dependent → head) or column's
  (head → dependent) argmax, which no positive scale of a row changes; so
  ``dependent->head`` predictions depend only on the ranking within a row.
  ``head->dependent`` compares one key's column across queries, whose rows
  are not on a common scale under norms (they are under weights): a query
  with a large output can win a column by its size alone. Nothing is
  rescaled; that is the measure's reading (Kobayashi et al. §5 report it so).
- **head similarity** renormalises every row over the shared spaCy tokens
  before comparing (it does so for weights too, after dropping the special
  tokens), so for norms the Jensen–Shannon divergence, argmax agreement,
  top-k overlap and the correlation are of each row's *share* of its norm
  mass, not of raw norms: two heads whose norms differ by a per-row factor
  compare as identical.
- **rollout and flow** are distributions already (rows sum to 1 over pieces
  before pooling), and ``"rollout"`` is cumulative: its layer ``l`` is the
  rollout up to layer ``l``.

Measures without query and key axes (attributions over ``[label]``) are for the
region analyses (:mod:`trfviz.analysis.ambiguity.attributions`), not these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.measures.results import MEASURE_AXES, MeasureExtraction, SentenceMeasure
from trfviz.pooling.weights import QUERY_POOLINGS, SPECIAL_TOKEN_MODES

__all__ = ["HEAD_AXES", "as_attention", "attention_inputs"]

#: The axes of the head analyses' input, and how each measure's axes map onto them.
HEAD_AXES = ("layer", "head", "query", "key")


def as_attention(measure: MeasureExtraction) -> Extraction:
    """``measure`` as an Extraction whose ``attention`` is the measure's values (no states).

    Norms keep their ``[layer, head, query, key]``; rollout ``[layer, query,
    key]`` gets a head axis of 1, flow ``[query, key]`` a layer and a head axis
    of 1. The Extraction's model, revision, text and sentences are the
    measure's; its options say how the measure was pooled.

    Raises:
        TypeError: ``measure`` is not a MeasureExtraction.
        ValueError: the measure has no query and key axes (e.g. attributions).
    """
    if not isinstance(measure, MeasureExtraction):
        raise TypeError(f"expected a trfviz MeasureExtraction, got {type(measure).__name__}")
    axes = MEASURE_AXES.get(measure.measure)
    if axes is None or axes[-2:] != ("query", "key") or not set(axes) <= set(HEAD_AXES):
        raise ValueError(
            f"the measure {measure.measure!r} has axes {axes}; the head analyses need "
            f"[layer, head, query, key] (or a part of it ending in query, key), as norms, "
            "rollout and flow have. Attributions go to the region analyses "
            "(trfviz.analysis.ambiguity.measure_region_attribution)"
        )
    expand = tuple(i for i, axis in enumerate(HEAD_AXES) if axis not in axes)
    sentences = tuple(_sentence(s, expand) for s in measure.sentences)
    shapes = [s.attention.shape for s in sentences if s.attention is not None]
    n_layers, n_heads = shapes[0][:2] if shapes else (0, 0)
    return Extraction(
        model=measure.model,
        revision=measure.revision,
        text=measure.text,
        sentences=sentences,
        options=_options(
            dict(measure.options), any(s.piece_attention is not None for s in sentences)
        ),
        n_layers=int(n_layers),
        n_heads=int(n_heads),
    )


def attention_inputs(items: Any) -> Any:
    """``items`` with every MeasureExtraction (alone or in a list) read as attention."""
    if isinstance(items, MeasureExtraction):
        return as_attention(items)
    if isinstance(items, Extraction | SentenceExtraction) or not isinstance(items, Iterable):
        return items
    if isinstance(items, list | tuple):
        return [as_attention(i) if isinstance(i, MeasureExtraction) else i for i in items]
    return (as_attention(i) if isinstance(i, MeasureExtraction) else i for i in items)


def _sentence(sentence: SentenceMeasure, expand: tuple[int, ...]) -> SentenceExtraction:
    values = np.asarray(sentence.values, dtype=np.float32)
    pieces = sentence.piece_values
    if expand:
        values = np.expand_dims(values, expand)
        pieces = None if pieces is None else np.expand_dims(pieces, expand)
    return SentenceExtraction(
        start=sentence.start,
        tokens=sentence.tokens,
        pieces=sentence.pieces,
        alignment=sentence.alignment,
        attention=values,
        states=None,
        special_labels=sentence.special_labels,
        truncated=sentence.truncated,
        piece_attention=None if pieces is None else np.asarray(pieces, dtype=np.float32),
    )


def _options(options: dict[str, object], pieces: bool) -> ExtractionOptions:
    query = options.get("query_pooling", "mean")
    special = options.get("special_tokens", "keep")
    return ExtractionOptions(
        attention=True,
        states=False,
        piece_attention=pieces,
        query_pooling=query if query in QUERY_POOLINGS else "mean",  # type: ignore[arg-type]
        special_tokens=special if special in SPECIAL_TOKEN_MODES else "keep",  # type: ignore[arg-type]
    )
