"""Measures beyond attention weights, per spaCy token: norms, rollout, flow, lens, neurons.

Siblings of :func:`trfviz.extract` (issue 14): :func:`attention_norms`
(Kobayashi et al. 2020, :mod:`trfviz.measures.norms`), :func:`attention_rollout`
and :func:`attention_flow` (Abnar & Zuidema 2020, :mod:`trfviz.measures.rollout`),
each returning a :class:`MeasureExtraction` with one float32 array per sentence;
:func:`logit_lens` (nostalgebraist 2020, :mod:`trfviz.measures.logit_lens`), each
layer's next-word guesses, and :func:`neuron_view` (bertviz,
:mod:`trfviz.measures.neuron`), each head's query and key vectors.
"""

from trfviz.measures.api import attention_flow, attention_norms, attention_rollout, pool_norms
from trfviz.measures.logit_lens import LogitLens, SentenceLogitLens, logit_lens
from trfviz.measures.neuron import (
    NeuronExtraction,
    PieceNeurons,
    SentenceNeurons,
    neuron_view,
    piece_neurons,
)
from trfviz.measures.norms import PieceNorms, attention_blocks, piece_norms
from trfviz.measures.results import MEASURE_AXES, MeasureExtraction, SentenceMeasure
from trfviz.measures.rollout import FLOW_MAX_NODES, attention_graph, flow, rollout

__all__ = [
    "FLOW_MAX_NODES",
    "MEASURE_AXES",
    "LogitLens",
    "MeasureExtraction",
    "NeuronExtraction",
    "PieceNeurons",
    "PieceNorms",
    "SentenceLogitLens",
    "SentenceMeasure",
    "SentenceNeurons",
    "attention_blocks",
    "attention_flow",
    "attention_graph",
    "attention_norms",
    "attention_rollout",
    "flow",
    "logit_lens",
    "neuron_view",
    "piece_neurons",
    "piece_norms",
    "pool_norms",
    "rollout",
]
