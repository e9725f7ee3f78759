"""Corpus-scale analyses: documents through spaCy and one or more models, into streaming reducers.

:func:`run_corpus` streams documents (texts, parsed by a spaCy pipeline, or
prebuilt Docs such as the gold Docs of :func:`~trfviz.analysis.conllu.read_conllu`)
through every model with :func:`trfviz.extract_docs`, one chunk of documents at
a time, and feeds each sentence to a set of reducers. An extraction is dropped
as soon as its sentences have been fed, so memory stays at one chunk's
attention whatever the corpus size.

The reducer protocol (:class:`Reducer`)
---------------------------------------

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
:class:`~trfviz.analysis.syntax.AttentionPatterns` follow it directly.
Reducers that compare two models with ``update(a, b)`` (the cross-model
similarity reducers) fit through :class:`ModelPair`.

How the runner works
--------------------

- Documents are counted in chunks of ``chunk_size``. Each chunk's sentences
  go to fresh copies of the reducers (unpickled from a template taken before
  the run), and the chunk's reducers are merged into the totals **in chunk
  order**: in-process, on a cluster and after a resume the same sums are
  formed in the same order. In-process, each model sees the whole stream in
  one :func:`trfviz.extract_docs` call, so its length-sorted batches span
  chunks; on a cluster a chunk is one task and is batched on its own.
- ``checkpoint=path``: after every ``checkpoint_every`` documents (at the end
  of a chunk) the totals are pickled to ``path`` (written to a temporary file
  and renamed, so an interrupted write leaves the previous checkpoint). A run
  given an existing checkpoint skips the documents it already holds and goes
  on from there; the final state is written at the end, so running again
  returns at once. Checkpoints are pickles: load only your own.
- ``client=``: a ``distributed.Client``. Chunks become tasks (a few per worker
  in flight, so the corpus is never all on the client); Docs travel as
  ``DocBin`` bytes, texts as strings parsed on the worker when ``pipeline`` is
  a name. Each worker process loads a model once (:func:`trfviz.load_model`
  caches in-process) and returns the chunk's reducers; the client merges
  them. Models travel by name.

Example
-------
>>> from trfviz.analysis import HeadRelationAccuracy, read_conllu  # doctest: +SKIP
>>> docs = trfviz.datasets.ud_english_ewt("dev")  # doctest: +SKIP
>>> run = run_corpus(docs, [HeadRelationAccuracy()],
...                  models="sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
>>> run.reducers[0].result().head()  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.parse import SentenceParse, parse_sentence
from trfviz.pooling import QueryPooling, SpecialTokens, StatePooling

if TYPE_CHECKING:
    import pandas as pd
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    from trfviz.models import LoadedModel

__all__ = ["CorpusRun", "Extractor", "ModelPair", "Reducer", "run_corpus"]

CHECKPOINT_FORMAT = "trfviz.corpus-checkpoint"
CHECKPOINT_VERSION = 1

#: ``extractor(docs, model, **options)`` streams one Extraction per Doc, in order;
#: :func:`trfviz.extract_docs` is the default.
Extractor = Callable[..., Iterator[Extraction]]


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
    """Adapts a reducer of two models, ``update(a, b)``, to the :class:`Reducer` protocol.

    Each sentence's extractions of ``model_a`` and ``model_b`` are passed on as
    ``reducer.update(extractions[model_a], extractions[model_b])``.

    Args:
        reducer: e.g. :class:`~trfviz.analysis.similarity.HeadSimilarity`.
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


@dataclass(frozen=True)
class CorpusRun:
    """What :func:`run_corpus` did.

    Attributes:
        reducers: the reducers given to the run, now holding the whole corpus.
        n_docs: documents analysed, those taken from a checkpoint included.
        n_sentences: sentences fed to the reducers, likewise.
        resumed_docs: documents skipped because the checkpoint already held them.
    """

    reducers: tuple[Any, ...]
    n_docs: int
    n_sentences: int
    resumed_docs: int = 0

    def results(self) -> list[pd.DataFrame]:
        """Each reducer's ``result()``, in order."""
        return [reducer.result() for reducer in self.reducers]


def run_corpus(
    documents: Iterable[str | Doc],
    reducers: Sequence[Any],
    *,
    models: str | LoadedModel | Sequence[str | LoadedModel],
    pipeline: str | Language = "en_core_web_sm",
    client: Any = None,
    chunk_size: int = 256,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1000,
    progress: bool = True,
    total: int | None = None,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    batch_size: int = 32,
    extractor: Extractor | None = None,
) -> CorpusRun:
    """Feed every sentence of ``documents``, as every model sees it, to ``reducers``.

    Args:
        documents: texts (parsed with ``pipeline``) or spaCy Docs with sentence
            boundaries, in a fixed order (a resumed run skips by position).
        reducers: fresh reducers following :class:`Reducer`; they are updated in
            place and also returned in the :class:`CorpusRun`.
        models: one model or several, as names or
            :class:`~trfviz.models.LoadedModel` (on a cluster, by name).
        pipeline: the spaCy pipeline for texts: a name for
            :func:`trfviz.load_pipeline` (loaded only if a text comes) or a
            loaded ``Language``.
        client: a ``distributed.Client`` to run chunks on its workers; in-process
            when None.
        chunk_size: documents per partial result: reducers are merged, and
            checkpoints written, at chunk ends. In-process the model still
            batches sentences across chunks; on a cluster a chunk is one task,
            batched on its own, so larger chunks waste less on padding (but
            hold more attention in a worker's memory).
        checkpoint: a file to save the reducers to and resume from.
        checkpoint_every: save after at least this many more documents.
        progress: show a progress bar over documents.
        total: number of documents, for the progress bar, when ``documents``
            has no ``len``.
        pooling, query_pooling, special_tokens, batch_size: passed to
            :func:`trfviz.extract_docs`.
        extractor: what runs a model over Docs, ``extractor(docs, model,
            **options)``; :func:`trfviz.extract_docs` by default. Must be
            picklable for a cluster.

    Returns:
        A :class:`CorpusRun` with the reducers and counts.
    """
    if chunk_size < 1 or checkpoint_every < 1:
        raise ValueError("chunk_size and checkpoint_every must be positive")
    model_list = _model_list(models)
    names = [_model_name(m) for m in model_list]
    if len(set(names)) != len(names):
        raise ValueError(f"each model may appear once; got {names}")
    reducers = list(reducers)
    if not reducers:
        raise ValueError("give at least one reducer")
    for reducer in reducers:
        if getattr(reducer, "n_sentences", 0):
            raise ValueError(
                f"{type(reducer).__name__} has already seen {reducer.n_sentences} sentences; "
                "run_corpus needs fresh reducers (it copies them for every chunk)"
            )
    template = pickle.dumps(reducers)
    options: dict[str, Any] = {
        "attention": any(getattr(r, "needs_attention", True) for r in reducers),
        "states": any(getattr(r, "needs_states", False) for r in reducers),
        "pooling": pooling,
        "query_pooling": query_pooling,
        "special_tokens": special_tokens,
        "batch_size": batch_size,
        "progress": False,
    }
    config = {
        "models": names,
        "reducers": [f"{type(r).__module__}.{type(r).__qualname__}" for r in reducers],
        "options": {k: v for k, v in options.items() if k != "progress"},
    }

    state = _State(reducers=reducers, n_docs=0, n_sentences=0)
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        state.restore(path, config)
    resumed = state.n_docs

    if total is None and isinstance(documents, Sized):
        total = len(documents)
    remaining = itertools.islice(iter(documents), resumed, None)
    bar = _progress_bar(progress, total, resumed)
    last_saved = resumed
    outputs: Iterator[tuple[int, list[Any], int]] = iter(())
    try:
        if client is None:
            outputs = _run_in_process(
                remaining, pipeline, template, model_list, names, options, extractor, chunk_size
            )
        else:
            if any(not isinstance(m, str) for m in model_list):
                model_list = list(names)
            outputs = _run_on_cluster(
                client,
                _chunks(remaining, chunk_size),
                pipeline,
                template,
                model_list,
                names,
                options,
                extractor,
            )
        for n_docs, chunk_reducers, n_sentences in outputs:
            state.add(chunk_reducers, n_docs, n_sentences)
            if bar is not None:
                bar.update(n_docs)
            if path is not None and state.n_docs - last_saved >= checkpoint_every:
                state.save(path, config)
                last_saved = state.n_docs
    finally:
        close = getattr(outputs, "close", None)
        if close is not None:
            close()  # on a cluster, cancels the chunks still running
        if bar is not None:
            bar.close()
    if path is not None and (state.n_docs != last_saved or not path.exists()):
        state.save(path, config)
    return CorpusRun(
        reducers=tuple(state.reducers),
        n_docs=state.n_docs,
        n_sentences=state.n_sentences,
        resumed_docs=resumed,
    )


@dataclass
class _State:
    """The running totals: the caller's reducers, merged into chunk by chunk."""

    reducers: list[Any]
    n_docs: int
    n_sentences: int

    def add(self, chunk_reducers: Sequence[Any], n_docs: int, n_sentences: int) -> None:
        for total, part in zip(self.reducers, chunk_reducers, strict=True):
            total.merge(part)
        self.n_docs += n_docs
        self.n_sentences += n_sentences

    def save(self, path: Path, config: dict[str, Any]) -> None:
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": config,
            "n_docs": self.n_docs,
            "n_sentences": self.n_sentences,
            "reducers": self.reducers,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(path.name + ".tmp")
        with open(staging, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(staging, path)

    def restore(self, path: Path, config: dict[str, Any]) -> None:
        with open(path, "rb") as handle:
            payload = pickle.load(handle)
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a trfviz corpus checkpoint")
        if payload.get("version") != CHECKPOINT_VERSION or payload.get("config") != config:
            raise ValueError(
                f"the checkpoint {path} was written by a different run "
                f"({payload.get('config')}, this run: {config}); delete it or pass another path"
            )
        self.add(payload["reducers"], payload["n_docs"], payload["n_sentences"])


def _run_chunk(
    docs: Sequence[Doc],
    template: bytes,
    models: Sequence[str | LoadedModel],
    names: Sequence[str],
    options: Mapping[str, Any],
    extractor: Extractor | None,
) -> tuple[list[Any], int]:
    """Fresh reducers fed every sentence of ``docs``, and the number of sentences."""
    extract = _extractor(extractor)
    reducers: list[Any] = pickle.loads(template)
    streams = [extract(docs, model, **options) for model in models]
    n_sentences = 0
    for doc, *extractions in zip(docs, *streams, strict=True):
        n_sentences += _feed(reducers, doc, extractions, names)
    return reducers, n_sentences


def _run_in_process(
    documents: Iterator[str | Doc],
    pipeline: str | Language,
    template: bytes,
    models: Sequence[str | LoadedModel],
    names: Sequence[str],
    options: Mapping[str, Any],
    extractor: Extractor | None,
    chunk_size: int,
) -> Iterator[tuple[int, list[Any], int]]:
    """Stream every document through one extraction per model; yield (n_docs, reducers,
    n_sentences) per ``chunk_size`` documents.

    The extractor sees the whole stream, so it batches sentences across chunks
    (:func:`trfviz.extract_docs` sorts a few thousand sentences at a time by length):
    the chunk only sets how often the reducers are merged and checkpointed.
    """
    extract = _extractor(extractor)
    streams = itertools.tee(_parsed_stream(documents, pipeline), len(models) + 1)
    extractions = [
        extract(stream, model, **options) for stream, model in zip(streams[1:], models, strict=True)
    ]
    reducers: list[Any] | None = None
    n_docs = n_sentences = 0
    for doc, *doc_extractions in zip(streams[0], *extractions, strict=True):
        if reducers is None:
            reducers = pickle.loads(template)
        n_sentences += _feed(reducers, doc, doc_extractions, names)
        n_docs += 1
        if n_docs == chunk_size:
            yield n_docs, reducers, n_sentences
            reducers, n_docs, n_sentences = None, 0, 0
    if reducers is not None:
        yield n_docs, reducers, n_sentences


def _feed(
    reducers: Sequence[Any], doc: Doc, extractions: Sequence[Extraction], names: Sequence[str]
) -> int:
    """Feed each sentence of ``doc`` to every reducer; the number of sentences."""
    from trfviz.extract import sentences_of

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


def _extractor(extractor: Extractor | None) -> Extractor:
    if extractor is not None:
        return extractor
    from trfviz.extract import extract_docs

    return extract_docs


def _run_on_cluster(
    client: Any,
    chunks: Iterator[list[str | Doc]],
    pipeline: str | Language,
    template: bytes,
    models: Sequence[str | LoadedModel],
    names: Sequence[str],
    options: Mapping[str, Any],
    extractor: Extractor | None,
) -> Iterator[tuple[int, list[Any], int]]:
    """Run chunks as tasks; yield their results in chunk order as they complete."""
    from distributed import as_completed

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    in_flight = 2 * n_workers
    pipeline_name = pipeline if isinstance(pipeline, str) else None
    numbered = enumerate(chunks)
    pending = as_completed()
    submitted: list[Any] = []
    done: dict[int, tuple[int, list[Any], int]] = {}
    next_index = 0

    def submit_next() -> bool:
        item = next(numbered, None)
        if item is None:
            return False
        index, chunk = item
        payload = _payload(chunk, pipeline)
        future = client.submit(
            _run_remote_chunk,
            index,
            payload,
            pipeline_name,
            template,
            models,
            names,
            options,
            extractor,
            pure=False,
        )
        pending.add(future)
        submitted.append(future)
        return True

    try:
        for _ in range(in_flight):
            if not submit_next():
                break
        for future in pending:
            index, n_docs, chunk_reducers, n_sentences = future.result()
            submitted.remove(future)
            done[index] = (n_docs, chunk_reducers, n_sentences)
            submit_next()
            while next_index in done:
                yield done.pop(next_index)
                next_index += 1
    finally:
        if submitted:
            client.cancel(submitted)


def _payload(chunk: Sequence[str | Doc], pipeline: str | Language) -> tuple[str, Any]:
    """What a chunk travels as: texts (parsed on the worker) or DocBin bytes."""
    if isinstance(pipeline, str) and all(isinstance(d, str) for d in chunk):
        return ("texts", list(chunk))
    from spacy.tokens import DocBin

    docs = _parsed(chunk, pipeline)
    return ("docbin", DocBin(docs=docs, store_user_data=False).to_bytes())


def _run_remote_chunk(
    index: int,
    payload: tuple[str, Any],
    pipeline_name: str | None,
    template: bytes,
    models: Sequence[str],
    names: Sequence[str],
    options: Mapping[str, Any],
    extractor: Extractor | None,
) -> tuple[int, int, list[Any], int]:
    """On a worker: the chunk's index, number of Docs, reducers and number of sentences."""
    kind, data = payload
    if kind == "texts":
        if pipeline_name is None:
            raise ValueError("texts can only be parsed on a worker with a pipeline name")
        docs = list(_cached_pipeline(pipeline_name).pipe(data))
    else:
        from spacy.tokens import DocBin

        docs = list(DocBin().from_bytes(data).get_docs(_worker_vocab()))
    reducers, n_sentences = _run_chunk(docs, template, models, names, options, extractor)
    return index, len(docs), reducers, n_sentences


@lru_cache(maxsize=4)
def _cached_pipeline(name: str) -> Language:
    from trfviz.pipelines import load_pipeline

    return load_pipeline(name)


@lru_cache(maxsize=1)
def _worker_vocab() -> Vocab:
    from spacy.vocab import Vocab

    return Vocab()


def _parsed(chunk: Sequence[str | Doc], pipeline: str | Language) -> list[Doc]:
    """The chunk as Docs, texts parsed with the pipeline (loaded on first need)."""
    texts = [d for d in chunk if isinstance(d, str)]
    if not texts:
        return list(chunk)  # type: ignore[arg-type]
    nlp = _cached_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    parsed = iter(nlp.pipe(texts))
    return [next(parsed) if isinstance(d, str) else d for d in chunk]


def _parsed_stream(items: Iterable[str | Doc], pipeline: str | Language) -> Iterator[Doc]:
    """The documents as Docs: Docs as they come, texts parsed a few hundred at a time."""
    texts: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
            if len(texts) < 256:
                continue
        yield from _parsed(texts, pipeline)
        texts = []
        if not isinstance(item, str):
            yield item
    yield from _parsed(texts, pipeline)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _model_list(
    models: str | LoadedModel | Sequence[str | LoadedModel],
) -> list[str | LoadedModel]:
    if isinstance(models, str) or not isinstance(models, Sequence):
        return [models]
    if not models:
        raise ValueError("give at least one model")
    return list(models)


def _model_name(model: str | LoadedModel) -> str:
    return model if isinstance(model, str) else model.name


def _progress_bar(progress: bool, total: int | None, initial: int) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="doc", desc="corpus")
