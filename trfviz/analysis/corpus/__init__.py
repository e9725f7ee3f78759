"""Corpus-scale analyses: documents through spaCy and one or more models, into streaming reducers.

- :mod:`~trfviz.analysis.corpus.protocol`: :class:`Reducer`, the one protocol
  every corpus analysis follows (and :class:`ModelPair`, for a two-model
  reducer of one's own written as ``update(a, b)``);
- :mod:`~trfviz.analysis.corpus.run`: :func:`run_corpus` and :class:`CorpusRun`;
- :mod:`~trfviz.analysis.corpus.chunks`: one chunk of documents through the
  models and into fresh reducers;
- :mod:`~trfviz.analysis.corpus.checkpoint`: the running totals saved
  atomically and restored;
- :mod:`~trfviz.analysis.corpus.cluster`: chunks as tasks on a Dask cluster.
"""

# This file only re-exports the public names of the corpus modules.

from trfviz.analysis.corpus.chunks import Extractor
from trfviz.analysis.corpus.protocol import ModelPair, Reducer
from trfviz.analysis.corpus.run import CorpusRun, run_corpus

__all__ = ["CorpusRun", "Extractor", "ModelPair", "Reducer", "run_corpus"]
