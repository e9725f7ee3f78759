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

- Documents are cut into chunks of ``chunk_size``, counted from the first
  document. A chunk is the unit of everything: the extractor runs over one
  chunk at a time (so its length-sorted batches never span chunks), the
  chunk's sentences go to fresh copies of the reducers (unpickled from a
  template taken before the run), and the chunk's reducers are merged into
  the totals **in chunk order**. In-process, on a cluster and after any
  number of resumes the same batches are run and the same sums formed in the
  same order, so the results are identical, floats included (as long as the
  model itself is deterministic; some GPU kernels are not).
- ``checkpoint=path``: at chunk ends the totals are saved to ``path``, early
  enough that a kill loses at most ``checkpoint_every`` documents (default
  100) or about ``checkpoint_seconds`` of work (default 60), whichever is
  smaller. Each save is atomic (:func:`trfviz.atomic.atomic_writer`: a
  temporary file, fsynced, renamed over the old one), so a process killed at
  any moment, even mid-write, leaves the previous checkpoint whole. A run
  given an existing checkpoint skips the documents it holds and goes on from
  there; the final state is saved at the end, so running again returns at
  once. ``Ctrl-C`` (``KeyboardInterrupt``) leaves the last checkpoint as it
  was, warns with the call that resumes, and is re-raised. Every save writes
  the whole state: for reducers that hold a lot
  (:class:`~trfviz.analysis.similarity.LayerCKA` over every layer of two
  models holds hundreds of MB) raise ``checkpoint_every`` and
  ``checkpoint_seconds``.
- Checkpoints are pickles, because a reducer may hold anything: **load only
  checkpoints you wrote yourself**; unpickling a file runs code chosen by
  whoever wrote it. A checkpoint records the models, the reducer types, the
  extraction options and the chunk size, and a run whose settings differ is
  refused rather than mixed in.
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
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from trfviz.atomic import atomic_writer
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
CHECKPOINT_VERSION = 2

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
    chunk_size: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 100,
    checkpoint_seconds: float | None = 60.0,
    progress: bool = True,
    total: int | None = None,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    batch_size: int = 32,
    extractor: Extractor | None = None,
) -> CorpusRun:
    """Feed every sentence of ``documents``, as every model sees it, to ``reducers``.

    A run killed at any moment (``Ctrl-C``, ``SIGKILL``, a lost machine) and
    started again with the same arguments and fresh reducers goes on from its
    last checkpoint and gives exactly the result of one uninterrupted run.

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
        chunk_size: documents per chunk, the unit of extraction, merging and
            checkpointing (see the module docs). Larger chunks batch sentences
            better (the model sorts a chunk's sentences by length) but hold more
            attention in memory and make checkpoints coarser. Default: the
            checkpoint's when resuming, else ``min(50, checkpoint_every)``.
            Runs with different chunk sizes agree up to float rounding, so a
            checkpoint is only resumed with its own chunk size.
        checkpoint: a file to save the reducers to and resume from (a pickle:
            load only your own, see the module docs).
        checkpoint_every: the most documents a kill may lose: the checkpoint
            is saved at a chunk end whenever the next chunk would take the
            documents done but unsaved past this many (at every chunk end if
            chunks are larger).
        checkpoint_seconds: likewise, about the most seconds of work a kill
            may lose (the next chunk is assumed to take as long as the last);
            None for no time limit.
        progress: show a progress bar over documents.
        total: number of documents, for the progress bar, when ``documents``
            has no ``len``.
        pooling, query_pooling, special_tokens, batch_size: passed to
            :func:`trfviz.extract_docs`.
        extractor: what runs a model over Docs, ``extractor(docs, model,
            **options)``; :func:`trfviz.extract_docs` by default. It is called
            once per chunk and model. Must be picklable for a cluster.

    Returns:
        A :class:`CorpusRun` with the reducers and counts.

    Raises:
        TypeError, ValueError: an argument of the wrong type or value, used
            reducers, or a checkpoint written by a run with other settings.
        KeyboardInterrupt: re-raised after a warning that says how to resume.
    """
    _check_arguments(
        documents,
        reducers,
        checkpoint=checkpoint,
        chunk_size=chunk_size,
        checkpoint_every=checkpoint_every,
        checkpoint_seconds=checkpoint_seconds,
        batch_size=batch_size,
        total=total,
    )
    model_list = _model_list(models)
    names = [_model_name(m) for m in model_list]
    if len(set(names)) != len(names):
        raise ValueError(f"each model may appear once; got {names}")
    reducers = list(reducers)
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
        chunk_size = state.restore(path, config, chunk_size)
    if chunk_size is None:
        chunk_size = min(DEFAULT_CHUNK_SIZE, checkpoint_every)
    resumed = state.n_docs

    if total is None and isinstance(documents, Sized):
        total = len(documents)
    if total is not None and total < resumed:
        raise ValueError(
            f"the checkpoint {path} holds {resumed} documents but this run has only {total}: "
            "resume with the same documents, or pass another checkpoint path"
        )
    remaining = itertools.islice(iter(documents), resumed, None)
    chunks = _chunks(remaining, chunk_size)
    bar = _progress_bar(progress, total, resumed)
    last_saved = resumed
    outputs: Iterator[tuple[int, list[Any], int]] = iter(())
    last_save_time = last_chunk_time = _monotonic()
    try:
        if client is None:
            outputs = _run_in_process(
                chunks, pipeline, template, model_list, names, options, extractor
            )
        else:
            if any(not isinstance(m, str) for m in model_list):
                model_list = list(names)
            outputs = _run_on_cluster(
                client, chunks, pipeline, template, model_list, names, options, extractor
            )
        for n_docs, chunk_reducers, n_sentences in outputs:
            state.add(chunk_reducers, n_docs, n_sentences)
            if bar is not None:
                bar.update(n_docs)
            clock = _monotonic()
            chunk_seconds, last_chunk_time = clock - last_chunk_time, clock
            # Save now if waiting for the next chunk would leave too much unsaved.
            too_many = state.n_docs - last_saved + chunk_size > checkpoint_every
            too_long = (
                checkpoint_seconds is not None
                and clock - last_save_time + chunk_seconds > checkpoint_seconds
            )
            if path is not None and (too_many or too_long):
                state.save(path, config, chunk_size)
                last_saved, last_save_time = state.n_docs, _monotonic()
        if path is not None and (state.n_docs != last_saved or not path.exists()):
            state.save(path, config, chunk_size)
            last_saved = state.n_docs
    except KeyboardInterrupt:
        warnings.warn(
            _resume_message(
                path,
                last_saved,
                state.n_docs,
                models=names,
                reducers=reducers,
                chunk_size=chunk_size,
                client=client,
                others={
                    "pipeline": (pipeline, "en_core_web_sm"),
                    "pooling": (pooling, "weighted"),
                    "query_pooling": (query_pooling, "mean"),
                    "special_tokens": (special_tokens, "keep"),
                    "batch_size": (batch_size, 32),
                    "extractor": (extractor, None),
                },
            ),
            UserWarning,
            stacklevel=2,
        )
        raise
    finally:
        close = getattr(outputs, "close", None)
        if close is not None:
            close()  # on a cluster, cancels the chunks still running
        if bar is not None:
            bar.close()
    return CorpusRun(
        reducers=tuple(state.reducers),
        n_docs=state.n_docs,
        n_sentences=state.n_sentences,
        resumed_docs=resumed,
    )


#: Documents per chunk when ``chunk_size`` is not given (at most ``checkpoint_every``).
DEFAULT_CHUNK_SIZE = 50

#: The clock that times chunks for ``checkpoint_seconds`` (a module attribute so tests can
#: replace it).
_monotonic = time.monotonic


def _check_arguments(
    documents: Any,
    reducers: Any,
    *,
    checkpoint: Any,
    chunk_size: Any,
    checkpoint_every: Any,
    checkpoint_seconds: Any,
    batch_size: Any,
    total: Any,
) -> None:
    """Raise one clear TypeError or ValueError for the first bad argument of run_corpus."""
    _check_int("checkpoint_every", checkpoint_every)
    _check_int("batch_size", batch_size)
    if chunk_size is not None:
        _check_int("chunk_size", chunk_size)
    if total is not None:
        _check_int("total", total, minimum=0)
    if checkpoint_seconds is not None:
        if isinstance(checkpoint_seconds, bool) or not isinstance(checkpoint_seconds, (int, float)):
            raise TypeError(
                "checkpoint_seconds must be a number of seconds or None; "
                f"got {type(checkpoint_seconds).__name__} {checkpoint_seconds!r}"
            )
        if not checkpoint_seconds > 0:
            raise ValueError(f"checkpoint_seconds must be positive; got {checkpoint_seconds}")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a file path or None; got {type(checkpoint).__name__}")
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Iterable):
        raise TypeError(
            "documents must be an iterable of texts or spaCy Docs (a list, a generator, ...); "
            f"got {type(documents).__name__}"
        )
    if isinstance(reducers, (str, bytes)) or not isinstance(reducers, Iterable):
        raise TypeError(f"reducers must be a list of reducers; got {type(reducers).__name__}")
    reducers = list(reducers)
    if not reducers:
        raise ValueError("give at least one reducer")
    for reducer in reducers:
        missing = [
            a for a in ("update", "merge", "result") if not callable(getattr(reducer, a, None))
        ]
        if missing:
            raise TypeError(
                f"{type(reducer).__name__} is not a reducer: it has no {', '.join(missing)} "
                "(see trfviz.analysis.corpus.Reducer; wrap two-model reducers in ModelPair)"
            )
        if getattr(reducer, "n_sentences", 0):
            raise ValueError(
                f"{type(reducer).__name__} has already seen {reducer.n_sentences} sentences; "
                "run_corpus needs fresh reducers (it copies them for every chunk)"
            )


def _check_int(name: str, value: Any, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    if value < minimum:
        relation = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {relation}; got {value}")


def _resume_message(
    path: Path | None,
    saved: int,
    done: int,
    *,
    models: Sequence[str],
    reducers: Sequence[Any],
    chunk_size: int,
    client: Any,
    others: Mapping[str, tuple[Any, Any]],
) -> str:
    """What to tell someone who pressed Ctrl-C: what is saved and the call that resumes."""
    if path is None:
        return (
            f"run_corpus was interrupted after {done} documents; nothing was saved because no "
            "checkpoint was given. Pass checkpoint='corpus-checkpoint.pkl' (any file path) to "
            "be able to resume an interrupted run."
        )
    arguments = [
        "documents",
        "reducers",
        f"models={models[0]!r}" if len(models) == 1 else f"models={list(models)!r}",
        f"checkpoint={str(path)!r}",
        f"chunk_size={chunk_size}",
    ]
    if client is not None:
        arguments.append("client=client")
    for name, (value, default) in others.items():
        if value is default or (isinstance(value, (str, int)) and value == default):
            continue
        if isinstance(value, (str, int)):
            arguments.append(f"{name}={value!r}")
        else:  # a function by its name; a loaded pipeline or other object by a placeholder
            arguments.append(f"{name}={getattr(value, '__name__', '...')}")
    kinds = ", ".join(type(r).__name__ for r in reducers)
    held = f"the first {saved} documents" if saved else "no documents yet"
    return (
        f"run_corpus was interrupted after {done} documents; the checkpoint {path} holds "
        f"{held}. To resume, call\n\n    run_corpus({', '.join(arguments)})\n\n"
        f"with the same documents and new, unused reducers ({kinds}) made with the same "
        "settings (the ones passed to this run hold a partial result); it skips the "
        f"{saved} saved documents and gives the result of one uninterrupted run."
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

    def save(self, path: Path, config: dict[str, Any], chunk_size: int) -> None:
        """Pickle the totals to ``path`` atomically: a killed process leaves the old file."""
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": config,
            "chunk_size": chunk_size,
            "n_docs": self.n_docs,
            "n_sentences": self.n_sentences,
            "reducers": self.reducers,
        }
        with atomic_writer(path) as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, path: Path, config: dict[str, Any], chunk_size: int | None) -> int:
        """Merge the checkpoint's totals in; the checkpoint's chunk size.

        The file is unpickled, which runs code of its writer's choosing: the
        caller's own checkpoints only (see the module docs).
        """
        with open(path, "rb") as handle:
            payload = pickle.load(handle)  # the caller's own checkpoint only
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a trfviz corpus checkpoint")
        if payload.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"the checkpoint {path} was written by another version of trfviz (format "
                f"{payload.get('version')}, this one reads {CHECKPOINT_VERSION}); delete it "
                "or pass another path"
            )
        if payload.get("config") != config:
            raise ValueError(
                f"the checkpoint {path} was written by a different run "
                f"({payload.get('config')}, this run: {config}); delete it or pass another path"
            )
        saved_chunk_size = int(payload["chunk_size"])
        if chunk_size is not None and chunk_size != saved_chunk_size:
            raise ValueError(
                f"the checkpoint {path} was written with chunk_size={saved_chunk_size}, this "
                f"run asks for {chunk_size}: pass chunk_size={saved_chunk_size} (or leave it "
                "out) to resume; chunks set how sums are grouped, so another size would not "
                "give the uninterrupted result"
            )
        self.add(payload["reducers"], payload["n_docs"], payload["n_sentences"])
        return saved_chunk_size


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
        docs = _parsed(chunk, pipeline)
        reducers, n_sentences = _run_chunk(docs, template, models, names, options, extractor)
        yield len(docs), reducers, n_sentences


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


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _model_list(
    models: str | LoadedModel | Sequence[str | LoadedModel],
) -> list[str | LoadedModel]:
    from trfviz.models import LoadedModel

    listed = [models] if isinstance(models, (str, LoadedModel)) else models
    if not isinstance(listed, Sequence):
        raise TypeError(
            f"models must be a model name, a LoadedModel or a list of them; "
            f"got {type(models).__name__}"
        )
    if not listed:
        raise ValueError("give at least one model")
    for model in listed:
        if not isinstance(model, (str, LoadedModel)):
            raise TypeError(
                f"each model must be a name or a LoadedModel; got {type(model).__name__}"
            )
    return list(listed)


def _model_name(model: str | LoadedModel) -> str:
    return model if isinstance(model, str) else model.name


def _progress_bar(progress: bool, total: int | None, initial: int) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="doc", desc="corpus")
