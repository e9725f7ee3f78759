"""The public entry points of extraction: extract, extract_docs and sentences_of.

Options are checked here, when the call is made, before any Doc is read or the
model loads; Docs are then read in chunks of sentences, and each chunk is run by
a :class:`~trfviz.extractor.runner.Runner` (batching by length, the forward
pass, pooling). The model runs once per sentence (sentence boundaries from the
pipeline).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from trfviz.extraction import Extraction, ExtractionOptions
from trfviz.extractor.runner import Runner
from trfviz.loading import LoadedModel, load_model
from trfviz.pooling import QueryPooling, SpecialTokens, StatePooling
from trfviz.validation import MODEL_HINT, check_bool, check_doc, check_int, check_text

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = [
    "ATTENTION_MEMORY_BUDGET",
    "PROGRESS_THRESHOLD",
    "default_length_limit",
    "extract",
    "extract_docs",
    "sentences_of",
]


#: Above this many sentences a progress bar is shown unless ``progress=False``.
PROGRESS_THRESHOLD = 200

#: Bytes one sentence's piece-level attention (all layers and heads) may take
#: before it is truncated: eager attention over all layers grows with the
#: square of the length (SmolLM2's 8,192 pieces would need 72 GB).
ATTENTION_MEMORY_BUDGET = 2 * 1024**3


def extract(
    doc: Doc,
    model: str | LoadedModel,
    *,
    attention: bool = True,
    states: bool = True,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    piece_attention: bool = False,
    batch_size: int = 32,
    max_batch_pieces: int = 16384,
    max_length: int | None = None,
    progress: bool | None = None,
) -> Extraction:
    """Attention and hidden states of ``model`` per spaCy token of ``doc``.

    Args:
        doc: a spaCy Doc with sentence boundaries (from a parser, ``senter`` or
            ``sentencizer``); a Doc of a single token needs none.
        model: a hub id, local path, or a :class:`~trfviz.loading.LoadedModel`.
        attention: keep attention, ``[layer, head, query, key]`` per sentence.
        states: keep hidden states, ``[layer + 1, token, dim]`` per sentence.
        pooling: hidden-state pooling; see :mod:`trfviz.pooling`.
        query_pooling: how a split word's attention rows are combined.
        special_tokens: keep special pieces as pseudo-tokens, or drop them.
        piece_attention: also keep each sentence's raw wordpiece attention,
            float32 ``[layer, head, piece, piece]`` (special pieces included), as
            ``SentenceExtraction.piece_attention``: what the pooled attention was
            computed from, for checking it or showing it. Needs ``attention``;
            roughly doubles the memory attention takes.
        batch_size: most sentences in one forward pass.
        max_batch_pieces: most wordpieces (padding included) in one forward pass.
        max_length: most wordpieces per sentence; longer sentences are truncated
            (with a warning, the lost tokens flagged in ``missing``). By default
            the model's maximum, lowered with ``attention=True`` so one
            sentence's attention over all layers stays within
            :data:`ATTENTION_MEMORY_BUDGET` bytes.
        progress: show a progress bar; by default only for long inputs.

    Returns:
        An :class:`~trfviz.extraction.Extraction` with one entry per sentence.

    Raises:
        TypeError: ``doc`` is not a spaCy Doc, ``model`` not a name or
            LoadedModel, or an option has the wrong type.
        ValueError: the Doc's text is empty or only whitespace, it has several
            tokens but no sentence boundaries, or an option makes no sense.
            (:func:`extract_docs` instead yields an empty Extraction for an
            empty Doc, so one blank line does not stop a corpus.)

    Control characters (NUL, ESC ...) are accepted: the tokenizer drops them and
    the tokens holding them are aligned by their other characters (a token of
    nothing else is flagged in ``missing``).

    Example:
        >>> import trfviz
        >>> nlp = trfviz.load_pipeline("en_core_web_sm")  # doctest: +SKIP
        >>> ext = trfviz.extract(nlp("The old man the boat."),
        ...                      "sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> ext.attention[0].shape  # 6 layers, 12 heads, 6 tokens + [CLS] + [SEP]  # doctest: +SKIP
        (6, 12, 8, 8)
    """
    check_doc(doc)
    if not doc.text.strip():
        raise ValueError("the Doc's text is empty or only whitespace: there is nothing to extract")
    (result,) = extract_docs(
        [doc],
        model,
        attention=attention,
        states=states,
        pooling=pooling,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
        piece_attention=piece_attention,
        batch_size=batch_size,
        max_batch_pieces=max_batch_pieces,
        max_length=max_length,
        progress=progress,
    )
    return result


def extract_docs(
    docs: Iterable[Doc],
    model: str | LoadedModel,
    *,
    attention: bool = True,
    states: bool = True,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    piece_attention: bool = False,
    batch_size: int = 32,
    max_batch_pieces: int = 16384,
    buffer_sentences: int = 4096,
    max_length: int | None = None,
    progress: bool | None = None,
) -> Iterator[Extraction]:
    """Stream one :class:`~trfviz.extraction.Extraction` per Doc, in order.

    An empty Doc gives an Extraction with no sentences. Raises as :func:`extract`
    does for bad options (before the model loads) and for an item that is not a Doc.

    Docs are read in chunks of about ``buffer_sentences`` sentences; within a
    chunk, sentences are sorted by length and batched together, so many short
    Docs run as fast as one long one. Options are those of :func:`extract`.
    """
    # Every option is checked here, when extract_docs is called, before any Doc is
    # read or the model loads, so a typo fails at once and at the caller's line.
    options = ExtractionOptions(
        attention=attention,
        states=states,
        pooling=pooling,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
        piece_attention=piece_attention,
    )
    check_int("batch_size", batch_size, minimum=1)
    check_int("max_batch_pieces", max_batch_pieces, minimum=1)
    check_int("buffer_sentences", buffer_sentences, minimum=1)
    check_int("max_length", max_length, minimum=1, allow_none=True)
    if progress is not None:
        check_bool("progress", progress)
    # A Doc (and a str) is iterable too, over its tokens (characters).
    one_doc = hasattr(docs, "vocab") and hasattr(docs, "sents")
    if one_doc or isinstance(docs, str | bytes) or not isinstance(docs, Iterable):
        raise TypeError(
            f"docs must be an iterable of spaCy Docs; got {type(docs).__name__}"
            + (" (for one Doc use trfviz.extract)" if one_doc else "")
        )
    if not isinstance(model, LoadedModel | str | os.PathLike):
        raise TypeError(
            "model must be a hub id or local path (a string) or a trfviz.LoadedModel; "
            f"got {type(model).__name__} {model!r}"
        )
    if not isinstance(model, LoadedModel):
        check_text("model", str(model), hint=MODEL_HINT)
    return _stream(
        iter(docs),
        model,
        options,
        batch_size=int(batch_size),
        max_batch_pieces=int(max_batch_pieces),
        buffer_sentences=int(buffer_sentences),
        max_length=None if max_length is None else int(max_length),
        progress=progress,
    )


def _stream(
    docs: Iterator[Doc],
    model: str | os.PathLike[str] | LoadedModel,
    options: ExtractionOptions,
    *,
    batch_size: int,
    max_batch_pieces: int,
    buffer_sentences: int,
    max_length: int | None,
    progress: bool | None,
) -> Iterator[Extraction]:
    """The Extractions of :func:`extract_docs`; the model loads once the first Docs are read."""
    runner = None
    n_docs = 0
    bar = None
    try:
        while True:
            chunk: list[Doc] = []
            chunk_sentences: list[list[Span]] = []
            n_sentences = 0
            for doc in docs:
                check_doc(doc, f"docs[{n_docs}]")
                n_docs += 1
                chunk.append(doc)
                chunk_sentences.append(sentences_of(doc))
                n_sentences += len(chunk_sentences[-1])
                if n_sentences >= buffer_sentences:
                    break
            if not chunk:
                break
            if runner is None:
                loaded = (
                    model
                    if isinstance(model, LoadedModel)
                    else load_model(model, attention=options.attention)
                )
                runner = Runner(
                    loaded,
                    options,
                    batch_size=batch_size,
                    max_batch_pieces=max_batch_pieces,
                    max_length=max_length
                    or default_length_limit(loaded, attention=options.attention),
                )
            if bar is None and (
                progress or (progress is None and n_sentences > PROGRESS_THRESHOLD)
            ):
                from tqdm.auto import tqdm

                bar = tqdm(desc=f"extract {runner.loaded.name}", unit="sent")
            yield from runner.run(chunk, chunk_sentences, bar)
    finally:
        if bar is not None:
            bar.close()


def default_length_limit(loaded: LoadedModel, *, attention: bool) -> int:
    """The most wordpieces per sentence :func:`extract` runs by default.

    The model's own maximum, lowered with attention kept so that one sentence's
    ``[layer, head, piece, piece]`` attention stays within ``ATTENTION_MEMORY_BUDGET``.
    """
    if not attention:
        return loaded.max_length
    per_square_piece = 4 * loaded.n_layers * loaded.n_heads
    return min(loaded.max_length, int((ATTENTION_MEMORY_BUDGET / per_square_piece) ** 0.5))


def sentences_of(doc: Doc) -> list[Span]:
    """The sentences the model runs on: the Doc's sentences, or the Doc if it has one token.

    Raises:
        ValueError: the Doc has several tokens but no sentence boundaries.
    """
    check_doc(doc)
    if len(doc) == 0:
        return []
    if len(doc) == 1:
        return [doc[:]]
    if not doc.has_annotation("SENT_START"):
        raise ValueError(
            "the Doc has no sentence boundaries: parse it with a pipeline that has a "
            "'parser' or 'senter' (trfviz.load_pipeline('en_core_web_sm')), or add one with "
            "nlp.add_pipe('sentencizer')"
        )
    return list(doc.sents)
