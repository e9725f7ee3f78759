"""Two models' extractions of the same Docs side by side, and the base of the two-model reducers.

:class:`PairReducer` is the base of the reducers that compare two models
(:class:`~trfviz.analysis.similarity.heads.HeadSimilarity`,
:class:`~trfviz.analysis.similarity.cka.LayerCKA`). They follow the one corpus
reducer protocol, :class:`trfviz.analysis.corpus.Reducer`: ``update(extractions,
parse)`` with every model's extraction of a sentence by name, of which they
compare ``model_a``'s and ``model_b``'s. For in-memory use they also take the two
models' extractions directly, ``update(a, b)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from trfviz.analysis.measure_inputs import as_attention
from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.measures.results import MeasureExtraction

if TYPE_CHECKING:
    from trfviz.parse import SentenceParse

__all__ = ["Extractions", "PairReducer", "flatten", "name_of", "pair_sentences"]

Extractions = (
    Extraction | MeasureExtraction | Iterable[Extraction | MeasureExtraction | SentenceExtraction]
)


def flatten(items: Extractions) -> list[SentenceExtraction]:
    """The sentences of an Extraction, or of a sequence of Extractions and sentences, in order.

    A :class:`~trfviz.measures.MeasureExtraction` (norms, rollout, flow) is read
    as attention (:func:`trfviz.analysis.measure_inputs.as_attention`).
    """
    if isinstance(items, MeasureExtraction):
        items = as_attention(items)
    if isinstance(items, Extraction):
        return list(items.sentences)
    out: list[SentenceExtraction] = []
    for item in items:
        if isinstance(item, MeasureExtraction):
            item = as_attention(item)
        if isinstance(item, Extraction):
            out.extend(item.sentences)
        elif isinstance(item, SentenceExtraction):
            out.append(item)
        else:
            raise TypeError(
                "expected Extraction, MeasureExtraction or SentenceExtraction, got "
                f"{type(item).__name__}"
            )
    return out


def pair_sentences(
    a: Extractions | SentenceExtraction, b: Extractions | SentenceExtraction
) -> Iterator[tuple[SentenceExtraction, SentenceExtraction]]:
    """Model A's and model B's sentences side by side; ValueError when the counts differ."""
    left = [a] if isinstance(a, SentenceExtraction) else flatten(a)
    right = [b] if isinstance(b, SentenceExtraction) else flatten(b)
    if len(left) != len(right):
        raise ValueError(
            f"model A has {len(left)} sentences and model B {len(right)}; "
            "compare extractions of the same Docs"
        )
    return zip(left, right, strict=True)


def name_of(items: object) -> str | None:
    """The model name of an Extraction (or of the first of a sequence of them), else None."""
    if isinstance(items, Extraction | MeasureExtraction):
        return items.model
    if (
        isinstance(items, Sequence)
        and items
        and isinstance(items[0], Extraction | MeasureExtraction)
    ):
        return items[0].model
    return None


class PairReducer:
    """Base of the streaming reducers that compare two models on the same sentences.

    Subclasses set ``model_a`` and ``model_b`` (names, or None until known) and
    implement :meth:`add_pair`; :meth:`update` routes every way of giving a
    sentence pair to it.
    """

    model_a: str | None
    model_b: str | None

    def update(
        self,
        extractions: Mapping[str, SentenceExtraction]
        | SentenceExtraction
        | Extraction
        | MeasureExtraction,
        parse: SentenceParse | SentenceExtraction | Extraction | MeasureExtraction | None = None,
    ) -> None:
        """Add one sentence (or every sentence of a Doc) as seen by the two models.

        Two ways to call it:

        - ``update(extractions, parse)``, the corpus reducer protocol
          (:class:`trfviz.analysis.corpus.Reducer`): ``extractions`` maps model
          names to each model's :class:`SentenceExtraction` of the sentence;
          ``model_a``'s and ``model_b``'s are compared (when both names are
          unset and the mapping holds exactly two models, they are taken in
          its order). ``parse`` is not read.
        - ``update(a, b)``: model A's and model B's :class:`SentenceExtraction`
          of one sentence, or their :class:`Extraction` of one Doc (whose model
          names are then adopted where unset), or a
          :class:`~trfviz.measures.MeasureExtraction` read as attention.
        """
        if isinstance(extractions, MeasureExtraction):
            extractions = as_attention(extractions)
        if isinstance(parse, MeasureExtraction):
            parse = as_attention(parse)
        if isinstance(extractions, Mapping):
            a, b = self._pick(extractions)
            self.add_pair(a, b)
            return
        second = parse
        if isinstance(extractions, Extraction) or isinstance(second, Extraction):
            if self.model_a is None and isinstance(extractions, Extraction):
                self.model_a = extractions.model
            if self.model_b is None and isinstance(second, Extraction):
                self.model_b = second.model
            for sa, sb in pair_sentences(extractions, second):  # type: ignore[arg-type]
                self.add_pair(sa, sb)
            return
        if not isinstance(extractions, SentenceExtraction) or not isinstance(
            second, SentenceExtraction
        ):
            raise TypeError(
                f"{type(self).__name__}.update takes a mapping of model names to "
                "SentenceExtractions, or two SentenceExtractions (or Extractions); got "
                f"{type(extractions).__name__} and {type(second).__name__}"
            )
        self.add_pair(extractions, second)

    def add_pair(self, a: SentenceExtraction, b: SentenceExtraction) -> None:
        """Add one sentence as seen by model A and by model B."""
        raise NotImplementedError

    def _pick(
        self, extractions: Mapping[str, SentenceExtraction]
    ) -> tuple[SentenceExtraction, SentenceExtraction]:
        if self.model_a is None and self.model_b is None and len(extractions) == 2:
            self.model_a, self.model_b = extractions
        if self.model_a not in extractions or self.model_b not in extractions:
            kind = type(self).__name__
            raise ValueError(
                f"{kind} compares model_a={self.model_a!r} and model_b={self.model_b!r}, but the "
                f"sentence's models are {sorted(extractions)}; make it as "
                f"{kind}(model_a=..., model_b=...) naming two of them"
            )
        assert self.model_a is not None and self.model_b is not None
        return extractions[self.model_a], extractions[self.model_b]
