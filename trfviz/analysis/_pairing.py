"""Pairing the sentences of two models' extractions of the same Docs (shared by the analyses)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from trfviz.extraction import Extraction, SentenceExtraction

Extractions = Extraction | Iterable[Extraction | SentenceExtraction]


def flatten(items: Extractions) -> list[SentenceExtraction]:
    """The sentences of an Extraction, or of a sequence of Extractions and sentences, in order."""
    if isinstance(items, Extraction):
        return list(items.sentences)
    out: list[SentenceExtraction] = []
    for item in items:
        if isinstance(item, Extraction):
            out.extend(item.sentences)
        elif isinstance(item, SentenceExtraction):
            out.append(item)
        else:
            raise TypeError(f"expected Extraction or SentenceExtraction, got {type(item).__name__}")
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
    if isinstance(items, Extraction):
        return items.model
    if isinstance(items, Sequence) and items and isinstance(items[0], Extraction):
        return items[0].model
    return None
