"""Corpus-scale analyses: documents through spaCy and one or more models, into streaming reducers.

:func:`run_corpus` streams documents (texts, parsed by a spaCy pipeline, or
prebuilt Docs such as the gold Docs of :func:`~trfviz.datasets.read_conllu`)
through every model with :func:`trfviz.extract_docs`, one chunk of documents at
a time, and feeds each sentence to a set of reducers
(:class:`~trfviz.analysis.corpus.protocol.Reducer`). An extraction is dropped
as soon as its sentences have been fed, so memory stays at one chunk's
attention whatever the corpus size.

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
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trfviz.analysis.corpus.checkpoint import State, resume_message
from trfviz.analysis.corpus.chunks import Extractor, in_chunks, run_in_process
from trfviz.pooling import QueryPooling, SpecialTokens, StatePooling

if TYPE_CHECKING:
    import pandas as pd
    from spacy.language import Language
    from spacy.tokens import Doc

    from trfviz.loading import LoadedModel

__all__ = ["DEFAULT_CHUNK_SIZE", "CorpusRun", "run_corpus"]


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
            :class:`~trfviz.loading.LoadedModel` (on a cluster, by name).
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

    state = State(reducers=reducers, n_docs=0, n_sentences=0)
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
    chunks = in_chunks(remaining, chunk_size)
    bar = _progress_bar(progress, total, resumed)
    last_saved = resumed
    outputs: Iterator[tuple[int, list[Any], int]] = iter(())
    last_save_time = last_chunk_time = _monotonic()
    try:
        if client is None:
            outputs = run_in_process(
                chunks, pipeline, template, model_list, names, options, extractor
            )
        else:
            if any(not isinstance(m, str) for m in model_list):
                model_list = list(names)
            from trfviz.analysis.corpus.cluster import run_on_cluster

            outputs = run_on_cluster(
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
            resume_message(
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
                "(see trfviz.analysis.corpus.Reducer)"
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


def _model_list(
    models: str | LoadedModel | Sequence[str | LoadedModel],
) -> list[str | LoadedModel]:
    from trfviz.loading import LoadedModel

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
