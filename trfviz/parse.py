"""The linguistic annotation of a sentence as plain data: words, dependency arcs, entities.

Views (figures, widgets) draw a :class:`SentenceParse` and never touch a spaCy
``Doc``, the way displaCy's ``parse_deps`` turns a Doc into a plain dict before
rendering. Indices are relative to the sentence's first token.

Example
-------
>>> from spacy.tokens import Doc
>>> from spacy.vocab import Vocab
>>> doc = Doc(Vocab(), words=["Anna", "saw", "Bob"], heads=[1, 1, 1],
...           deps=["nsubj", "ROOT", "obj"], ents=["B-PERSON", "O", "B-PERSON"])
>>> parse = parse_sentence(doc[:])
>>> [(a.head, a.dependent, a.label) for a in parse.arcs]
[(1, 0, 'nsubj'), (1, 2, 'obj')]
>>> [(e.start, e.end, e.label) for e in parse.entities]
[(0, 1, 'PERSON'), (2, 3, 'PERSON')]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = ["Arc", "EntitySpan", "SentenceParse", "parse_doc", "parse_sentence"]


@dataclass(frozen=True)
class Arc:
    """A dependency arc from ``head`` to ``dependent`` (sentence token indices)."""

    head: int
    dependent: int
    label: str


@dataclass(frozen=True)
class EntitySpan:
    """A named entity over sentence tokens ``start`` (inclusive) to ``end`` (exclusive)."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class SentenceParse:
    """Words of one sentence with their tags, dependency arcs and named entities.

    ``arcs`` holds one arc per token whose head is another token of the same
    sentence (the root has none). ``tags`` and ``lemmas`` may be empty strings
    where the pipeline set none.
    """

    words: tuple[str, ...]
    tags: tuple[str, ...]
    arcs: tuple[Arc, ...]
    entities: tuple[EntitySpan, ...]

    @property
    def has_parse(self) -> bool:
        """Whether any dependency arc is present."""
        return bool(self.arcs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``{"words", "tags", "arcs", "entities"}``."""
        return {
            "words": list(self.words),
            "tags": list(self.tags),
            "arcs": [asdict(arc) for arc in self.arcs],
            "entities": [asdict(ent) for ent in self.entities],
        }


def parse_sentence(span: Span) -> SentenceParse:
    """The plain-data parse of one sentence (any ``Span``) of a Doc."""
    from spacy.tokens import Doc, Span

    if isinstance(span, Doc):
        span = span[:]
    if not isinstance(span, Span):
        raise TypeError(
            f"parse_sentence needs a spaCy Span (a sentence of a Doc); got {type(span).__name__}"
        )
    doc = span.doc
    has_deps = doc.has_annotation("DEP")
    arcs = []
    if has_deps:
        for token in span:
            if token.head.i != token.i and span.start <= token.head.i < span.end:
                arcs.append(Arc(token.head.i - span.start, token.i - span.start, token.dep_))
    entities = []
    for ent in doc.ents:
        start, end = max(ent.start, span.start), min(ent.end, span.end)
        if start < end:
            entities.append(EntitySpan(start - span.start, end - span.start, ent.label_))
    return SentenceParse(
        words=tuple(token.text for token in span),
        tags=tuple(token.tag_ for token in span),
        arcs=tuple(arcs),
        entities=tuple(entities),
    )


def parse_doc(doc: Doc) -> tuple[SentenceParse, ...]:
    """One :class:`SentenceParse` per sentence of ``doc`` (the whole Doc if it has no sentences)."""
    from trfviz.validation import check_doc

    check_doc(doc)
    if not doc.has_annotation("SENT_START") and not doc.has_annotation("DEP"):
        return (parse_sentence(doc[:]),)
    return tuple(parse_sentence(sent) for sent in doc.sents)
