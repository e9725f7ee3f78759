"""One chunk of documents: parsed, extracted by every model, fed sentence by sentence to reducers.

A chunk is the unit of everything in a corpus run (see :mod:`trfviz.analysis.corpus.run`):
its reducers are unpickled from the run's template, so every chunk starts
fresh, in-process or on a worker alike.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from trfviz.extraction import Extraction
from trfviz.parse import parse_sentence

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from trfviz.loading import LoadedModel

__all__ = [
    "Extractor",
    "cached_pipeline",
    "feed",
    "in_chunks",
    "parsed",
    "resolve_extractor",
    "run_chunk",
    "run_in_process",
]

#: ``extractor(docs, model, **options)`` streams one Extraction per Doc, in order;
#: :func:`trfviz.extract_docs` is the default.
Extractor = Callable[..., Iterator[Extraction]]


def run_chunk(
    docs: Sequence[Doc],
    template: bytes,
    models: Sequence[str | LoadedModel],
    names: Sequence[str],
    options: Mapping[str, Any],
    extractor: Extractor | None,
) -> tuple[list[Any], int]:
    """Fresh reducers fed every sentence of ``docs``, and the number of sentences."""
    extract = resolve_extractor(extractor)
    reducers: list[Any] = pickle.loads(template)
    streams = [extract(docs, model, **options) for model in models]
    n_sentences = 0
    for doc, *extractions in zip(docs, *streams, strict=True):
        n_sentences += feed(reducers, doc, extractions, names)
    return reducers, n_sentences


def run_in_process(
    chunks: Iterator[list[str | Doc]],
    pipeline: str | Language,
    template: bytes,
    models: Sequence[str | LoadedModel],
    names: Sequence[str],
    options: Mapping[str, Any],
    extractor: Extractor | None,
) -> Iterator[tuple[int, list[Any], int]]:
    """Run chunk after chunk, as a worker would; yield (n_docs, reducers, n_sentences).

    Each chunk is extracted on its own, as on a cluster, so a chunk's batches do
    not depend on where a run started: a resumed run repeats them exactly.
    """
    for chunk in chunks:
        docs = parsed(chunk, pipeline)
        reducers, n_sentences = run_chunk(docs, template, models, names, options, extractor)
        yield len(docs), reducers, n_sentences


def feed(
    reducers: Sequence[Any], doc: Doc, extractions: Sequence[Extraction], names: Sequence[str]
) -> int:
    """Feed each sentence of ``doc`` to every reducer; the number of sentences."""
    from trfviz.extractor import sentences_of

    spans = sentences_of(doc)
    for extraction in extractions:
        if len(extraction.sentences) != len(spans):
            raise ValueError(
                f"{extraction.model} gave {len(extraction.sentences)} sentences for a Doc "
                f"of {len(spans)}"
            )
    for i, span in enumerate(spans):
        parse = parse_sentence(span)
        by_model = {
            name: extraction.sentences[i]
            for name, extraction in zip(names, extractions, strict=True)
        }
        for reducer in reducers:
            reducer.update(by_model, parse)
    return len(spans)


def resolve_extractor(extractor: Extractor | None) -> Extractor:
    """``extractor``, or :func:`trfviz.extract_docs` when it is None."""
    if extractor is not None:
        return extractor
    from trfviz.extractor import extract_docs

    return extract_docs


@lru_cache(maxsize=4)
def cached_pipeline(name: str) -> Language:
    """The spaCy pipeline ``name``, loaded once per process."""
    from trfviz.loading import load_pipeline

    return load_pipeline(name)


def parsed(chunk: Sequence[str | Doc], pipeline: str | Language) -> list[Doc]:
    """The chunk as Docs, texts parsed with the pipeline (loaded on first need)."""
    texts = [d for d in chunk if isinstance(d, str)]
    if not texts:
        return list(chunk)  # type: ignore[arg-type]
    nlp = cached_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    parsed = iter(nlp.pipe(texts))
    return [next(parsed) if isinstance(d, str) else d for d in chunk]


def in_chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
