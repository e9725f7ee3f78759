"""Measures beyond attention weights, per spaCy token: norms, rollout, flow, attributions.

Siblings of :func:`trfviz.extract` (issue 14): :func:`attention_norms`
(Kobayashi et al. 2020, :mod:`trfviz.measures.norms`), :func:`attention_rollout`
and :func:`attention_flow` (Abnar & Zuidema 2020, :mod:`trfviz.measures.rollout`),
:func:`attributions` (gradient attributions through Captum,
:mod:`trfviz.measures.attributions`, to the targets of :mod:`trfviz.measures.targets`),
each returning a :class:`MeasureExtraction` with one float32 array per sentence.
"""

from trfviz.measures.api import attention_flow, attention_norms, attention_rollout, pool_norms
from trfviz.measures.attributions import (
    ATTRIBUTION_METHODS,
    AttributionMethod,
    attributions,
    piece_attributions,
)
from trfviz.measures.norms import PieceNorms, attention_blocks, piece_norms
from trfviz.measures.results import MEASURE_AXES, MeasureExtraction, SentenceMeasure
from trfviz.measures.rollout import FLOW_MAX_NODES, attention_graph, flow, rollout
from trfviz.measures.targets import (
    Continuation,
    MaskedWord,
    Objective,
    OutputFunction,
    Similarity,
    Target,
    next_word,
)

__all__ = [
    "ATTRIBUTION_METHODS",
    "FLOW_MAX_NODES",
    "MEASURE_AXES",
    "AttributionMethod",
    "Continuation",
    "MaskedWord",
    "MeasureExtraction",
    "Objective",
    "OutputFunction",
    "PieceNorms",
    "SentenceMeasure",
    "Similarity",
    "Target",
    "attention_blocks",
    "attention_flow",
    "attention_graph",
    "attention_norms",
    "attention_rollout",
    "attributions",
    "flow",
    "next_word",
    "piece_attributions",
    "piece_norms",
    "pool_norms",
    "rollout",
]
