"""The inputs of the syntax reducers: the models chosen, their attention, extractions and parses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.analysis.measure_inputs import as_attention
from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.measures.results import MeasureExtraction
from trfviz.parse import SentenceParse, parse_sentence

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["attention_of", "selected_models", "sentence_pairs"]


def selected_models(
    extractions: Mapping[str, SentenceExtraction], models: tuple[str, ...] | None
) -> Iterator[tuple[str, SentenceExtraction]]:
    if models is None:
        yield from extractions.items()
        return
    for name in models:
        if name not in extractions:
            raise ValueError(f"no extraction for model {name!r}; have {sorted(extractions)}")
        yield name, extractions[name]


def attention_of(extraction: SentenceExtraction, n_words: int, name: str) -> np.ndarray:
    if extraction.attention is None:
        raise ValueError(f"{name}: the extraction kept no attention (extract with attention=True)")
    if extraction.n_tokens != n_words:
        raise ValueError(
            f"{name}: the extraction has {extraction.n_tokens} tokens but the parse has "
            f"{n_words} words; pair each sentence's extraction with its own parse"
        )
    return extraction.attention


def sentence_pairs(
    extractions: Iterable[Extraction | MeasureExtraction],
    parses: Iterable[Doc | Sequence[SentenceParse]],
) -> Iterator[tuple[dict[str, SentenceExtraction], SentenceParse]]:
    parse_iter = iter(parses)
    count = 0
    for count, given in enumerate(extractions, start=1):
        # A measure (norms, rollout, flow) is read as attention: see trfviz.analysis.measure_inputs.
        extraction = as_attention(given) if isinstance(given, MeasureExtraction) else given
        if not isinstance(extraction, Extraction):
            raise TypeError(
                f"extractions[{count - 1}] must be a trfviz.Extraction or MeasureExtraction; "
                f"got {type(extraction).__name__}"
            )
        doc_parses = next(parse_iter, None)
        if doc_parses is None:
            raise ValueError(
                f"{count} extraction(s) but only {count - 1} Doc(s) or parse list(s); "
                "give one per extraction, in the same order"
            )
        if hasattr(doc_parses, "vocab"):  # a spaCy Doc: parse the extraction's sentences
            doc: Any = doc_parses
            if doc.text != extraction.text:
                raise ValueError(
                    f"Doc {count - 1}'s text is not the text of extraction {count - 1}; "
                    "give the Docs in the order of the extractions"
                )
            sentence_parses: Sequence[SentenceParse] = [
                parse_sentence(doc[s.start : s.end]) for s in extraction.sentences
            ]
        else:
            sentence_parses = list(doc_parses)
        if len(sentence_parses) != len(extraction.sentences):
            raise ValueError(
                f"extraction {count - 1} has {len(extraction.sentences)} sentence(s) but "
                f"{len(sentence_parses)} parse(s) were given for it"
            )
        for sentence, parse in zip(extraction.sentences, sentence_parses, strict=True):
            if not isinstance(parse, SentenceParse):
                raise TypeError(
                    f"parses for extraction {count - 1} must be SentenceParse objects "
                    f"(trfviz.parse_doc(doc)); got {type(parse).__name__}"
                )
            yield {extraction.model: sentence}, parse
    if next(parse_iter, None) is not None:
        raise ValueError(
            f"more Docs or parse lists than the {count} extraction(s); give one per extraction"
        )
