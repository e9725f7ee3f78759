"""Do two models attend to the same words, and represent them alike? Cross-model similarity.

Two models with different wordpiece schemes are compared on what they share,
the spaCy tokens of the same sentences:

- :mod:`~trfviz.analysis.similarity.heads`: head-by-head attention similarity
  (:class:`HeadSimilarity`, :func:`compare_heads`), with the smoothed
  Jensen–Shannon divergence of :mod:`~trfviz.analysis.similarity.divergence`;
- :mod:`~trfviz.analysis.similarity.matching`: each head's best match and
  model-level scores from that table;
- :mod:`~trfviz.analysis.similarity.cka`: layer-by-layer CKA of hidden states
  (:class:`LayerCKA`, :func:`compare_layers_cka`);
- :mod:`~trfviz.analysis.similarity.pairing`: the two models' sentences side
  by side, and the base of the two-model reducers.

The reducers follow the corpus reducer protocol
(:class:`trfviz.analysis.corpus.Reducer`) and pickle.
"""

# This file only re-exports the public names of the similarity modules.

from trfviz.analysis.similarity.cka import LayerCKA, compare_layers_cka, linear_cka
from trfviz.analysis.similarity.divergence import CLARK_EPSILON, jensen_shannon, smooth_rows
from trfviz.analysis.similarity.heads import HeadSimilarity, KeySupport, compare_heads
from trfviz.analysis.similarity.matching import (
    HEAD_METRICS,
    best_matching_heads,
    summarize_head_similarity,
)

__all__ = [
    "CLARK_EPSILON",
    "HEAD_METRICS",
    "HeadSimilarity",
    "KeySupport",
    "LayerCKA",
    "best_matching_heads",
    "compare_heads",
    "compare_layers_cka",
    "jensen_shannon",
    "linear_cka",
    "smooth_rows",
    "summarize_head_similarity",
]
