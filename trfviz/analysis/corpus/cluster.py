"""Corpus chunks as tasks on a Dask cluster, their results given back in chunk order.

Chunks become tasks (a few per worker in flight, so the corpus is never all on
the client); Docs travel as ``DocBin`` bytes, texts as strings parsed on the
worker when the pipeline is a name. Each worker process loads a model once
(:func:`trfviz.load_model` caches in-process) and returns the chunk's
reducers; models travel by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from trfviz.analysis.corpus.chunks import Extractor, cached_pipeline, parsed, run_chunk

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    from trfviz.loading import LoadedModel

__all__ = ["run_on_cluster"]


def run_on_cluster(
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
        payload = payload_of(chunk, pipeline)
        future = client.submit(
            run_remote_chunk,
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


def payload_of(chunk: Sequence[str | Doc], pipeline: str | Language) -> tuple[str, Any]:
    """What a chunk travels as: texts (parsed on the worker) or DocBin bytes."""
    if isinstance(pipeline, str) and all(isinstance(d, str) for d in chunk):
        return ("texts", list(chunk))
    from spacy.tokens import DocBin

    docs = parsed(chunk, pipeline)
    return ("docbin", DocBin(docs=docs, store_user_data=False).to_bytes())


def run_remote_chunk(
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
        docs = list(cached_pipeline(pipeline_name).pipe(data))
    else:
        from spacy.tokens import DocBin

        docs = list(DocBin().from_bytes(data).get_docs(_worker_vocab()))
    reducers, n_sentences = run_chunk(docs, template, models, names, options, extractor)
    return index, len(docs), reducers, n_sentences


@lru_cache(maxsize=1)
def _worker_vocab() -> Vocab:
    from spacy.vocab import Vocab

    return Vocab()
