"""Measures beyond attention weights, per spaCy token: value-weighted norms, rollout, flow.

Siblings of :func:`trfviz.extract` (issue 14): :func:`attention_norms`
(Kobayashi et al. 2020, :mod:`trfviz.measures.norms`), :func:`attention_rollout`
and :func:`attention_flow` (Abnar & Zuidema 2020, :mod:`trfviz.measures.rollout`),
each returning a :class:`MeasureExtraction` with one float32 array per sentence.
"""

from trfviz.measures.api import attention_flow, attention_norms, attention_rollout, pool_norms
from trfviz.measures.norms import PieceNorms, attention_blocks, piece_norms
from trfviz.measures.results import MEASURE_AXES, MeasureExtraction, SentenceMeasure
from trfviz.measures.rollout import FLOW_MAX_NODES, attention_graph, flow, rollout

__all__ = [
    "FLOW_MAX_NODES",
    "MEASURE_AXES",
    "MeasureExtraction",
    "PieceNorms",
    "SentenceMeasure",
    "attention_blocks",
    "attention_flow",
    "attention_graph",
    "attention_norms",
    "attention_rollout",
    "flow",
    "piece_norms",
    "pool_norms",
    "rollout",
]
