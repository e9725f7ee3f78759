"""Measures beyond attention weights, per spaCy token: norms, rollout, flow, attributions, more.

Siblings of :func:`trfviz.extract` (issue 14): :func:`attention_norms`
(Kobayashi et al. 2020, :mod:`trfviz.measures.norms`), :func:`attention_rollout`
and :func:`attention_flow` (Abnar & Zuidema 2020, :mod:`trfviz.measures.rollout`),
:func:`attributions` (gradient attributions through Captum,
:mod:`trfviz.measures.attributions`, to the targets of :mod:`trfviz.measures.targets`),
each returning a :class:`MeasureExtraction` with one float32 array per sentence;
:func:`logit_lens` (nostalgebraist 2020, :mod:`trfviz.measures.logit_lens`), each
layer's next-word guesses, and :func:`neuron_view` (bertviz,
:mod:`trfviz.measures.neuron`), each head's query and key vectors.
"""

from trfviz.measures.api import attention_flow, attention_norms, attention_rollout, pool_norms
from trfviz.measures.attributions import (
    ATTRIBUTION_METHODS,
    AttributionMethod,
    attributions,
    piece_attributions,
)
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
    "LogitLens",
    "MaskedWord",
    "MeasureExtraction",
    "NeuronExtraction",
    "Objective",
    "OutputFunction",
    "PieceNeurons",
    "PieceNorms",
    "SentenceLogitLens",
    "SentenceMeasure",
    "SentenceNeurons",
    "Similarity",
    "Target",
    "attention_blocks",
    "attention_flow",
    "attention_graph",
    "attention_norms",
    "attention_rollout",
    "attributions",
    "flow",
    "logit_lens",
    "neuron_view",
    "next_word",
    "piece_attributions",
    "piece_neurons",
    "piece_norms",
    "pool_norms",
    "rollout",
]
