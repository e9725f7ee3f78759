"""Running a transformer over spaCy Docs and pooling its outputs onto spaCy tokens.

The model runs once per sentence (sentence boundaries from the pipeline).
Sentences of many Docs are sorted by wordpiece length and cut into batches
under a wordpiece budget, so little compute goes to padding; pooling is done
batched with the weight matrices of :mod:`trfviz.pooling`, and each sentence's
result is copied out unpadded.
"""

from __future__ import annotations

import gc
import itertools
import os
import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.alignment import Alignment, align_spans_batch, align_texts
from trfviz.batch_pooling import pool_attention_layers, pool_state_layers
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.models import LoadedModel, load_model
from trfviz.pooling import (
    QueryPooling,
    SpecialTokens,
    StatePooling,
    attention_rows,
    batch_attention_weights,
    batch_state_weights,
    pool_attention,
)
from trfviz.validation import MODEL_HINT, check_bool, check_doc, check_int, check_text

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = ["extract", "extract_docs", "sentences_of"]

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
    batch_size: int = 32,
    max_batch_pieces: int = 16384,
    max_length: int | None = None,
    progress: bool | None = None,
) -> Extraction:
    """Attention and hidden states of ``model`` per spaCy token of ``doc``.

    Args:
        doc: a spaCy Doc with sentence boundaries (from a parser, ``senter`` or
            ``sentencizer``); a Doc of a single token needs none.
        model: a hub id, local path, or a :class:`~trfviz.models.LoadedModel`.
        attention: keep attention, ``[layer, head, query, key]`` per sentence.
        states: keep hidden states, ``[layer + 1, token, dim]`` per sentence.
        pooling: hidden-state pooling; see :mod:`trfviz.pooling`.
        query_pooling: how a split word's attention rows are combined.
        special_tokens: keep special pieces as pseudo-tokens, or drop them.
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
            n_sentences = 0
            for doc in docs:
                check_doc(doc, f"docs[{n_docs}]")
                n_docs += 1
                chunk.append(doc)
                n_sentences += len(sentences_of(doc))
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
                runner = _Runner(
                    loaded,
                    options,
                    batch_size=batch_size,
                    max_batch_pieces=max_batch_pieces,
                    max_length=max_length
                    or _default_length_limit(loaded, attention=options.attention),
                )
            if bar is None and (
                progress or (progress is None and n_sentences > PROGRESS_THRESHOLD)
            ):
                from tqdm.auto import tqdm

                bar = tqdm(desc=f"extract {runner.loaded.name}", unit="sent")
            yield from runner.run(chunk, bar)
    finally:
        if bar is not None:
            bar.close()


def _default_length_limit(loaded: LoadedModel, *, attention: bool) -> int:
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


@dataclass(frozen=True)
class _Encoded:
    """One sentence, tokenized and aligned, waiting for its forward pass."""

    doc_index: int
    start: int
    tokens: tuple[str, ...]
    input_ids: list[int]
    pieces: tuple[str, ...]
    alignment: Alignment
    truncated: bool


class _Runner:
    """Tokenizes, batches, runs and pools sentences for one model and one set of options."""

    def __init__(
        self,
        loaded: LoadedModel,
        options: ExtractionOptions,
        *,
        batch_size: int,
        max_batch_pieces: int,
        max_length: int,
    ) -> None:
        self.loaded = loaded
        self.max_length = max_length
        self.options = options
        self.batch_size = batch_size
        self.max_batch_pieces = max_batch_pieces
        tokenizer = loaded.tokenizer
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.pad_id = int(pad)
        config = loaded.model.config
        self.hidden_size = int(getattr(config, "hidden_size", 0) or getattr(config, "d_model", 0))
        self._backend = _truncating_backend(tokenizer, max_length)

    def run(self, docs: Sequence[Doc], bar: Any) -> Iterator[Extraction]:
        with _cyclic_gc_paused():
            # Doc.text joins every token anew on each call: join each Doc once.
            doc_texts = [doc.text for doc in docs]
            encoded = self._encode(docs, doc_texts)
            results: list[SentenceExtraction | None] = [None] * len(encoded)
            order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
            for batch in self._batches(order, encoded):
                for index, sentence in zip(
                    batch, self._forward([encoded[i] for i in batch]), strict=True
                ):
                    results[index] = sentence
                if bar is not None:
                    bar.update(len(batch))
        truncated = [e for e in encoded if e.truncated]
        if truncated:
            lost = sum(int(e.alignment.missing.sum()) for e in truncated)
            warnings.warn(
                f"{len(truncated)} sentence(s) longer than {self.max_length} wordpieces (the "
                f"limit for {self.loaded.name}; see `max_length`) were truncated; {lost} token(s) "
                "past the limit have zero rows and are flagged in `missing`",
                UserWarning,
                stacklevel=4,
            )
        by_doc = itertools.groupby(
            zip(encoded, results, strict=True), key=lambda pair: pair[0].doc_index
        )
        grouped = {doc_index: [r for _, r in group] for doc_index, group in by_doc}
        for doc_index, text in enumerate(doc_texts):
            sentences = tuple(s for s in grouped.get(doc_index, []) if s is not None)
            yield Extraction(
                model=self.loaded.name,
                revision=self.loaded.revision,
                text=text,
                sentences=sentences,
                options=self.options,
                n_layers=self.loaded.n_layers,
                n_heads=self.loaded.n_heads,
            )

    def _encode(self, docs: Sequence[Doc], doc_texts: list[str]) -> list[_Encoded]:
        spans = [(d, s) for d, doc in enumerate(docs) for s in sentences_of(doc)]
        if not spans:
            return []
        encodings = self._tokenize([doc_texts[d][s.start_char : s.end_char] for d, s in spans])
        tokens = [tuple(token.text for token in span) for _, span in spans]
        if encodings[0][2] is not None:
            piece_spans = [e[2] for e in encodings if e[2] is not None]
            alignments = align_spans_batch(
                _token_spans(docs, spans), piece_spans, [e[3] for e in encodings]
            )
        else:
            alignments = [
                align_texts(words, pieces, special)
                for words, (_, pieces, _, special) in zip(tokens, encodings, strict=True)
            ]
        limit = self.max_length
        encoded = []
        for (doc_index, span), words, (ids, pieces, offsets, special), alignment in zip(
            spans, tokens, encodings, alignments, strict=True
        ):
            truncated = len(ids) >= limit and _cut_short(span, offsets, special, alignment)
            encoded.append(
                _Encoded(doc_index, span.start, words, ids, pieces, alignment, truncated)
            )
        if encodings[0][2] is None:
            _warn_unmatched(encoded, self.loaded.name)
        return encoded

    def _tokenize(
        self, texts: list[str]
    ) -> list[tuple[list[int], tuple[str, ...], np.ndarray | None, np.ndarray]]:
        """Per text: ids, piece strings, character offsets (None without them), special mask.

        Literal special-token text ("[CLS]") in the input is split as text, not matched.
        """
        tokenizer = self.loaded.tokenizer
        limit = self.max_length
        if self._backend is not None:
            return [
                (
                    e.ids,
                    tuple(e.tokens),
                    np.array(e.offsets, dtype=np.int64).reshape(-1, 2),
                    np.array(e.special_tokens_mask, dtype=bool),
                )
                for e in self._backend.encode_batch(texts, add_special_tokens=True)
            ]
        kwargs = {"truncation": True, "max_length": limit, "return_special_tokens_mask": True}
        if getattr(tokenizer, "is_fast", False):
            batch = tokenizer(
                texts, return_offsets_mapping=True, split_special_tokens=True, **kwargs
            )
            offsets: list[Any] = [np.asarray(o).reshape(-1, 2) for o in batch["offset_mapping"]]
        else:
            batch = tokenizer(texts, split_special_tokens=True, **kwargs)
            offsets = [None] * len(texts)
        return [
            (
                list(ids),
                tuple(tokenizer.convert_ids_to_tokens(list(ids))),
                offsets[i],
                np.asarray(batch["special_tokens_mask"][i], dtype=bool),
            )
            for i, ids in enumerate(batch["input_ids"])
        ]

    def _batches(self, order: list[int], encoded: list[_Encoded]) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in order:
            length = len(encoded[index].input_ids)
            # Sorted ascending, so this sentence is the longest of the batch so far.
            if batch and (
                len(batch) >= self.batch_size or (len(batch) + 1) * length > self.max_batch_pieces
            ):
                yield batch
                batch = []
            batch.append(index)
        if batch:
            yield batch

    def _forward(self, batch: list[_Encoded]) -> list[SentenceExtraction]:
        import torch

        options = self.options
        device = self.loaded.device
        lengths = np.array([len(e.input_ids) for e in batch])
        width = int(lengths.max())
        filled = np.arange(width) < lengths[:, None]
        ids_np = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        ids_np[filled] = list(itertools.chain.from_iterable(e.input_ids for e in batch))
        ids = torch.from_numpy(ids_np)
        mask = torch.from_numpy(filled.astype(np.int64))
        # The results are allocated before the forward pass, not between its
        # transient tensors, so those reuse the same heap batch after batch
        # (measured: a third of the page faults inside the model, and no slowdown).
        attention_out, states_out = self._allocate_results(batch)
        with torch.inference_mode():
            output = self.loaded.model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                output_attentions=options.attention,
                output_hidden_states=options.states,
            )
            attention = (
                self._pool_attention(batch, output, width, attention_out)
                if options.attention
                else None
            )
            states = self._pool_states(batch, output, width) if options.states else None
        if states is not None:
            # Compact copies, never views that would keep the whole batch alive.
            state_values = states.cpu().numpy()
            if states_out is None or states_out[0].shape[::2] != state_values.shape[::3]:
                # A config that misstates the layers or width: allocate to fit.
                states_out = [
                    np.empty((len(state_values), len(e.tokens), state_values.shape[-1]), np.float32)
                    for e in batch
                ]
            for row, array in enumerate(states_out):
                array[...] = state_values[:, row, : array.shape[1]]
        keep = options.special_tokens == "keep"
        return [
            SentenceExtraction(
                start=e.start,
                tokens=e.tokens,
                pieces=e.pieces,
                alignment=e.alignment,
                attention=None if attention is None else attention[row],
                states=None if states_out is None else states_out[row],
                special_labels=(
                    tuple(e.pieces[p] for p in np.flatnonzero(e.alignment.special)) if keep else ()
                ),
                truncated=e.truncated,
            )
            for row, e in enumerate(batch)
        ]

    def _allocate_results(
        self, batch: list[_Encoded]
    ) -> tuple[list[np.ndarray] | None, list[np.ndarray] | None]:
        """Per sentence, the empty float32 attention and state arrays the batch fills."""
        options, loaded = self.options, self.loaded
        attention = None
        if options.attention and options.query_pooling != "max":
            sizes = [
                attention_rows(e.alignment, special_tokens=options.special_tokens) for e in batch
            ]
            shape = (loaded.n_layers, loaded.n_heads)
            attention = [np.empty((*shape, n, n), dtype=np.float32) for n in sizes]
        states = None
        if options.states:
            layers = loaded.n_layers + 1
            states = [
                np.empty((layers, len(e.tokens), self.hidden_size), dtype=np.float32) for e in batch
            ]
        return attention, states

    def _pool_attention(
        self, batch: list[_Encoded], output: Any, width: int, out: list[np.ndarray] | None
    ) -> Any:
        import torch

        layers = output.attentions
        if layers is None or any(layer is None for layer in layers):
            raise RuntimeError(
                f"{self.loaded.name} returned no attention weights; load it with "
                "trfviz.load_model(..., attention=True) (eager attention)"
            )
        options = self.options
        if options.query_pooling == "max":
            # Not a linear map: pool each sentence on its own, in numpy.
            stacked = torch.stack([layer.float() for layer in layers]).cpu().numpy()
            return [
                pool_attention(
                    stacked[:, row, :, : len(e.input_ids), : len(e.input_ids)],
                    e.alignment,
                    query_pooling="max",
                    special_tokens=options.special_tokens,
                )
                for row, e in enumerate(batch)
            ]
        alignments = [e.alignment for e in batch]
        queries, keys = batch_attention_weights(
            alignments,
            query_pooling=options.query_pooling,
            special_tokens=options.special_tokens,
            cols=width,
        )
        if out is not None and out[0].shape[:2] != (len(layers), layers[0].shape[1]):
            out = None  # a config that misstates the layers or heads: allocate to fit
        sizes = (
            [array.shape[-1] for array in out]
            if out is not None
            else [attention_rows(a, special_tokens=options.special_tokens) for a in alignments]
        )
        # Take the layers out of the output so each is freed as soon as it is pooled.
        pieces = list(layers)
        output.attentions = None
        return pool_attention_layers(
            pieces, queries, keys, sizes, drop=options.special_tokens == "drop", out=out
        )

    def _pool_states(self, batch: list[_Encoded], output: Any, width: int) -> Any:
        weights = batch_state_weights(
            [e.alignment for e in batch], pooling=self.options.pooling, cols=width
        )
        return pool_state_layers(output.hidden_states, weights)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a chunk is computed.

    Reference counting still frees everything at once; only the search for
    reference cycles waits. A chunk leaves thousands of small objects alive
    (tokens, alignments, results), and they trigger full collections, each of
    which walks every object in the process: spaCy's vocabulary, the model, the
    user's data; about 0.2 s each in a typical session. Nothing is yielded to
    the caller while paused.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _token_spans(docs: Sequence[Doc], spans: list[tuple[int, Span]]) -> list[np.ndarray]:
    """Per sentence, int64 ``[n_tokens, 2]`` character spans relative to the sentence start."""
    by_doc = [doc.to_array(["IDX", "LENGTH"]).astype(np.int64) for doc in docs]
    result = []
    for doc_index, span in spans:
        starts_lengths = by_doc[doc_index][span.start : span.end]
        start = starts_lengths[:, 0] - span.start_char
        result.append(np.stack([start, start + starts_lengths[:, 1]], axis=1))
    return result


def _warn_unmatched(encoded: list[_Encoded], name: str) -> None:
    """Warn when matching pieces by their text (no offsets) left visible tokens uncovered."""
    lost = [
        word
        for e in encoded
        if not e.truncated
        for word, missing in zip(e.tokens, e.alignment.missing, strict=True)
        # Tokens of only spaces or control characters have no pieces with any tokenizer.
        if missing and any(c.isprintable() and not c.isspace() for c in word)
    ]
    if lost:
        shown = ", ".join(repr(w) for w in lost[:5]) + (" ..." if len(lost) > 5 else "")
        warnings.warn(
            f"the tokenizer of {name} gives no character offsets (a slow, Python tokenizer), "
            f"so pieces were matched to tokens by their text; {len(lost)} token(s) could not "
            f"be matched ({shown}) and have zero rows, flagged in `missing`. Load the model "
            "with a fast tokenizer (use_fast=True) to align them",
            UserWarning,
            stacklevel=5,
        )


def _cut_short(
    span: Span, offsets: np.ndarray | None, special: np.ndarray, alignment: Alignment
) -> bool:
    """Whether the tokenizer stopped (at the length limit) before the sentence's last token."""
    if offsets is None:
        return bool(alignment.missing[-1])
    covered = offsets[~special]
    end = int(covered[:, 1].max()) if len(covered) else 0
    return end < len(span.text)  # the end of the last token


#: Per tokenizer, its truncating backend copies by (max_length, vocabulary size).
_BACKENDS: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], Any]] = weakref.WeakKeyDictionary()


def _truncating_backend(tokenizer: Any, max_length: int) -> Any:
    """A private copy of a fast tokenizer's Rust tokenizer, truncating at ``max_length``.

    Encoding through it directly skips transformers' per-sentence conversion to
    Python lists, a sizeable share of the non-model time on short sentences. None
    when the tokenizer has no such backend (then transformers' own call is used).
    Copies are cached per tokenizer (making one takes ~17 ms, which a pipeline
    component called on one Doc at a time would otherwise pay per Doc); adding
    tokens to the tokenizer changes its vocabulary size and so makes a new copy.
    """
    if not getattr(tokenizer, "is_fast", False):
        return None
    key = (max_length, len(tokenizer))
    try:
        cached = _BACKENDS.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: copy every time
        cached = {}
    if key not in cached:
        cached[key] = _copy_backend(tokenizer, max_length)
    return cached[key]


def _copy_backend(tokenizer: Any, max_length: int) -> Any:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    try:
        from tokenizers import Tokenizer

        copy = Tokenizer.from_str(backend.to_str())
        copy.no_padding()
        copy.enable_truncation(max_length)
        copy.encode_special_tokens = True
    except Exception:  # a backend that cannot be copied: transformers' own call still works
        return None
    return copy
