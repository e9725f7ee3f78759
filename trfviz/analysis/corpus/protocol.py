"""The one protocol of corpus analyses: a picklable streaming reducer the runner splits and merges.

A reducer is a small picklable object with

- ``update(extractions, parse)``: add one sentence, given as a mapping from
  model name to that model's :class:`~trfviz.extraction.SentenceExtraction`,
  and the sentence's :class:`~trfviz.parse.SentenceParse`;
- ``merge(other)``: fold in another reducer of the same kind and settings, in
  place, returning ``self``; merging partial results in any grouping gives the
  result of one pass (up to float rounding);
- ``result()``: a tidy ``pandas.DataFrame``;
- ``n_sentences``: sentences folded in so far (0 for a fresh reducer);
- ``needs_attention`` / ``needs_states``: what it reads, so the runner only
  extracts what some reducer needs.

:class:`~trfviz.analysis.syntax.HeadRelationAccuracy` and

Every reducer of trfviz follows it directly:
:class:`~trfviz.analysis.syntax.HeadRelationAccuracy`,
:class:`~trfviz.analysis.syntax.AttentionPatterns`, and the two-model
:class:`~trfviz.analysis.similarity.HeadSimilarity` and
:class:`~trfviz.analysis.similarity.LayerCKA`, which compare the extractions
of their ``model_a`` and ``model_b`` from the mapping.
:class:`ModelPair` adapts a two-model reducer of one's own written as
``update(a, b)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from trfviz.extraction import SentenceExtraction
from trfviz.parse import SentenceParse

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ModelPair", "Reducer"]


@runtime_checkable
class Reducer(Protocol):
    """A streaming analysis the corpus runner can feed, split and merge (see the module docs)."""

    needs_attention: bool
    needs_states: bool
    n_sentences: int

    def update(self, extractions: Mapping[str, SentenceExtraction], parse: SentenceParse) -> None:
        """Add one sentence: every model's extraction of it, by model name, and its parse."""

    def merge(self, other: Any) -> Any:
        """Fold ``other`` (same kind and settings) into ``self``; returns ``self``."""

    def result(self) -> pd.DataFrame:
        """The analysis so far, as a tidy DataFrame."""


class ModelPair:
    """Adapts a two-model reducer written as ``update(a, b)`` to the :class:`Reducer` protocol.

    The built-in two-model reducers need no adapter (give them ``model_a`` and
    ``model_b``); wrapping one still works.

    Each sentence's extractions of ``model_a`` and ``model_b`` are passed on as
    ``reducer.update(extractions[model_a], extractions[model_b])``.

    Args:
        reducer: any object with ``update(a, b)``, ``merge`` and ``result``.
        model_a, model_b: model names as given to :func:`run_corpus`. They are
            also set as the reducer's ``model_a``/``model_b`` where it has those
            attributes and they are unset, so its table is labelled.
        needs_attention, needs_states: what the reducer reads; by default its
            own attributes of those names, else attention only.
    """

    def __init__(
        self,
        reducer: Any,
        model_a: str,
        model_b: str,
        *,
        needs_attention: bool | None = None,
        needs_states: bool | None = None,
    ) -> None:
        self.reducer = reducer
        self.model_a = model_a
        self.model_b = model_b
        for attribute, name in (("model_a", model_a), ("model_b", model_b)):
            if getattr(reducer, attribute, name) is None:
                setattr(reducer, attribute, name)
        self.needs_attention = (
            getattr(reducer, "needs_attention", True)
            if needs_attention is None
            else needs_attention
        )
        self.needs_states = (
            getattr(reducer, "needs_states", False) if needs_states is None else needs_states
        )

    @property
    def n_sentences(self) -> int:
        """Sentences the wrapped reducer has seen."""
        return int(getattr(self.reducer, "n_sentences", 0))

    def update(self, extractions: Mapping[str, SentenceExtraction], parse: SentenceParse) -> None:
        """Pass the sentence's two extractions on to the wrapped reducer."""
        self.reducer.update(extractions[self.model_a], extractions[self.model_b])

    def merge(self, other: ModelPair) -> ModelPair:
        """Merge the wrapped reducers; returns ``self``."""
        if (other.model_a, other.model_b) != (self.model_a, self.model_b):
            raise ValueError("cannot merge ModelPair reducers of different model pairs")
        self.reducer.merge(other.reducer)
        return self

    def result(self) -> pd.DataFrame:
        """The wrapped reducer's result."""
        result: pd.DataFrame = self.reducer.result()
        return result
