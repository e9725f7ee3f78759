"""Which attention heads track which dependency relations, and where heads look.

- :mod:`~trfviz.analysis.syntax.prediction`: each head as a classifier of
  syntactic heads (:func:`predict_heads`);
- :mod:`~trfviz.analysis.syntax.relations`: per-head accuracy at each
  dependency relation beside the best fixed-offset baseline
  (:class:`HeadRelationAccuracy`, :func:`score_dependency_heads`,
  :func:`best_heads_per_relation`), counted by :mod:`~trfviz.analysis.syntax.counts`;
- :mod:`~trfviz.analysis.syntax.patterns`: attention to special tokens,
  punctuation, neighbours and its entropy (:class:`AttentionPatterns`,
  :func:`summarize_attention`);
- :mod:`~trfviz.analysis.syntax.inputs`: extractions paired with parses.

The reducers follow the corpus reducer protocol (:class:`trfviz.analysis.corpus.Reducer`).
"""

# This file only re-exports the public names of the syntax modules.

from trfviz.analysis.syntax.patterns import AttentionPatterns, summarize_attention
from trfviz.analysis.syntax.prediction import DIRECTIONS, Direction, predict_heads
from trfviz.analysis.syntax.relations import (
    ALL_RELATIONS,
    BEST_HEAD_COLUMNS,
    SCORE_COLUMNS,
    HeadRelationAccuracy,
    best_heads_per_relation,
    score_dependency_heads,
)

__all__ = [
    "ALL_RELATIONS",
    "BEST_HEAD_COLUMNS",
    "DIRECTIONS",
    "SCORE_COLUMNS",
    "AttentionPatterns",
    "Direction",
    "HeadRelationAccuracy",
    "best_heads_per_relation",
    "predict_heads",
    "score_dependency_heads",
    "summarize_attention",
]
