"""What a measure gives for a Doc: one array per sentence over its spaCy tokens.

:class:`SentenceMeasure` holds one sentence (its tokens, pieces and alignment,
as in :class:`~trfviz.extraction.SentenceExtraction`); :class:`MeasureExtraction`
a whole Doc. Produce them with :func:`trfviz.measures.attention_norms`,
:func:`~trfviz.measures.attention_rollout`, :func:`~trfviz.measures.attention_flow`
or :func:`~trfviz.measures.attributions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from trfviz.alignment import Alignment

__all__ = ["MEASURE_AXES", "Measure", "MeasureExtraction", "SentenceMeasure"]

Measure = Literal["norms", "rollout", "flow", "attributions"]

#: The axes of each measure's ``values``.
MEASURE_AXES: dict[str, tuple[str, ...]] = {
    "norms": ("layer", "head", "query", "key"),
    "rollout": ("layer", "query", "key"),
    "flow": ("query", "key"),
    "attributions": ("token",),
}


@dataclass(frozen=True)
class SentenceMeasure:
    """One measure of one model on one sentence, per spaCy token.

    Attributes:
        start: index in the Doc of the sentence's first token.
        tokens: the spaCy token texts.
        pieces: the model's wordpieces, special pieces included.
        alignment: the token/piece :class:`~trfviz.alignment.Alignment`.
        values: float32 over ``labels`` on the query and key axes, shaped as
            :data:`MEASURE_AXES` says: norms ``[layer, head, query, key]``,
            rollout ``[layer, query, key]`` (rollout up to each layer), flow
            ``[query, key]`` (from the inputs to the last layer), attributions
            ``[token]`` (one signed number per label).
        piece_values: the same before pooling, over ``pieces``, when kept (else None).
        special_labels: names of the special pseudo-tokens after the spaCy tokens
            (empty when special tokens were dropped).
        truncated: the sentence was cut at the model's maximum length.
        convergence_delta: integrated gradients only: Captum's convergence delta,
            ``Σ piece attributions − (f(input) − f(baseline))``, how far the
            integral's approximation is from completeness (else None).
    """

    start: int
    tokens: tuple[str, ...]
    pieces: tuple[str, ...]
    alignment: Alignment
    values: np.ndarray
    piece_values: np.ndarray | None = None
    special_labels: tuple[str, ...] = ()
    truncated: bool = False
    convergence_delta: float | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the query and key axes: the tokens, then the special pseudo-tokens."""
        return self.tokens + self.special_labels

    @property
    def n_tokens(self) -> int:
        """Number of spaCy tokens."""
        return len(self.tokens)


@dataclass(frozen=True)
class MeasureExtraction:
    """One measure of one model for a whole Doc, one :class:`SentenceMeasure` per sentence.

    Attributes:
        measure: ``"norms"``, ``"rollout"``, ``"flow"`` or ``"attributions"``.
        model: the model's name.
        revision: what identifies the weights.
        text: the Doc's text.
        sentences: per sentence, in order.
        options: the options the measure was computed with (pooling, residual,
            target, method, ...).
    """

    measure: Measure
    model: str
    revision: str
    text: str
    sentences: tuple[SentenceMeasure, ...]
    options: tuple[tuple[str, object], ...] = ()

    @property
    def axes(self) -> tuple[str, ...]:
        """The axes of each sentence's ``values``."""
        return MEASURE_AXES[self.measure]

    @property
    def values(self) -> tuple[np.ndarray, ...]:
        """Per sentence, its ``values`` (see :attr:`axes`)."""
        return tuple(s.values for s in self.sentences)
