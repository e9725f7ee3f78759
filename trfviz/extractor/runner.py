"""Running the model over encoded sentences: batching by length, the forward pass, pooling.

A :class:`Runner` holds one model and one set of options. For a chunk of Docs it
encodes every sentence (:mod:`trfviz.extractor.tokenize`), sorts the sentences by
wordpiece length and cuts them into batches under a wordpiece budget, so little
compute goes to padding, runs each batch once, pools it onto spaCy tokens with
:func:`trfviz.pooling.pool_batch`, and copies each sentence's result out unpadded.
"""

from __future__ import annotations

import gc
import itertools
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.extractor.tokenize import EncodedSentence, SentenceEncoder
from trfviz.loading import LoadedModel
from trfviz.pooling import attention_rows, pool_batch

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = ["Runner", "length_batches", "pad_id_of", "padded_ids"]


class Runner:
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
        self.pad_id = pad_id_of(loaded.tokenizer)
        config = loaded.model.config
        self.hidden_size = int(getattr(config, "hidden_size", 0) or getattr(config, "d_model", 0))
        self._encoder = SentenceEncoder(loaded.tokenizer, max_length=max_length, name=loaded.name)

    def run(
        self, docs: Sequence[Doc], sentences: Sequence[Sequence[Span]], bar: Any
    ) -> Iterator[Extraction]:
        """One Extraction per Doc of ``docs``, whose sentences are ``sentences[d]``."""
        with _cyclic_gc_paused():
            # Doc.text joins every token anew on each call: join each Doc once.
            doc_texts = [doc.text for doc in docs]
            encoded = self._encoder.encode(docs, doc_texts, sentences)
            results: list[SentenceExtraction | None] = [None] * len(encoded)
            batches = list(
                length_batches(
                    [len(e.input_ids) for e in encoded],
                    batch_size=self.batch_size,
                    max_batch_pieces=self.max_batch_pieces,
                )
            )
            # Longest batch first: its transient piece-level attention, the largest,
            # is then allocated before any result is kept, not on top of them all.
            for batch in reversed(batches):
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
            extracted = tuple(s for s in grouped.get(doc_index, []) if s is not None)
            yield Extraction(
                model=self.loaded.name,
                revision=self.loaded.revision,
                text=text,
                sentences=extracted,
                options=self.options,
                n_layers=self.loaded.n_layers,
                n_heads=self.loaded.n_heads,
            )

    def _forward(self, batch: list[EncodedSentence]) -> list[SentenceExtraction]:
        import torch

        options = self.options
        device = self.loaded.device
        ids, mask = padded_ids([e.input_ids for e in batch], self.pad_id)
        width = ids.shape[1]
        with torch.inference_mode():
            output = self.loaded.model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                output_attentions=options.attention,
                output_hidden_states=options.states,
            )
            # The results are allocated after the forward pass, into heap the
            # model's transient tensors have just freed, not before it, which made
            # the model fault in fresh pages instead (measured, 64 sentences of 200
            # words, one thread: 2.3 M minor page faults per run against 3.3 M; the
            # raw pass alone 1.8-2.5 M; about 1 s of CPU time).
            attention_out, states_out = self._allocate_results(batch)
            layers = self._attention_layers(output) if options.attention else None
            pieces_out = (
                _piece_blocks(layers, batch)
                if layers is not None and options.piece_attention
                else None
            )
            attention, states = pool_batch(
                [e.alignment for e in batch],
                width=width,
                attention=layers,
                states=output.hidden_states if options.states else None,
                pooling=options.pooling,
                query_pooling=options.query_pooling,
                special_tokens=options.special_tokens,
                attention_out=attention_out,
                states_out=states_out,
            )
        if states is not None and not isinstance(states, list):
            # The padded tensor (off CPU, or a config that misstates the layers or
            # width; then allocate to fit): compact copies, never views that would
            # keep the whole batch alive.
            state_values = states.cpu().numpy()
            if states_out is None or states_out[0].shape[::2] != state_values.shape[::3]:
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
                piece_attention=None if pieces_out is None else pieces_out[row],
            )
            for row, e in enumerate(batch)
        ]

    def _allocate_results(
        self, batch: list[EncodedSentence]
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

    def _attention_layers(self, output: Any) -> list[Any]:
        """The output's attention per layer, taken out of it so each layer is freed once pooled."""
        layers = output.attentions
        if layers is None or any(layer is None for layer in layers):
            raise RuntimeError(
                f"{self.loaded.name} returned no attention weights; load it with "
                "trfviz.load_model(..., attention=True) (eager attention)"
            )
        output.attentions = None
        return list(layers)


def pad_id_of(tokenizer: Any) -> int:
    """The id batches are padded with: the pad token, else end-of-sequence, else 0."""
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    return int(pad)


def length_batches(
    lengths: Sequence[int], *, batch_size: int, max_batch_pieces: int
) -> Iterator[list[int]]:
    """Indices of ``lengths`` sorted by length, cut into batches of at most ``batch_size``
    whose padded size (rows × the longest) stays within ``max_batch_pieces``."""
    batch: list[int] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        length = lengths[index]
        # Sorted ascending, so this sentence is the longest of the batch so far.
        if batch and (len(batch) >= batch_size or (len(batch) + 1) * length > max_batch_pieces):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


def padded_ids(batch: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """int64 tensors ``[batch, width]``: the ids padded on the right, and the attention mask."""
    import torch

    lengths = np.array([len(ids) for ids in batch])
    width = int(lengths.max())
    filled = np.arange(width) < lengths[:, None]
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    ids[filled] = list(itertools.chain.from_iterable(batch))
    return torch.from_numpy(ids), torch.from_numpy(filled.astype(np.int64))


def _piece_blocks(layers: list[Any], batch: list[EncodedSentence]) -> list[np.ndarray]:
    """Per sentence, a float32 copy of its raw ``[layer, head, piece, piece]`` attention.

    Copied out of the padded batch before pooling consumes the layers: compact
    arrays, never views that would keep the batch alive.
    """
    sizes = [e.alignment.n_pieces for e in batch]
    heads = layers[0].shape[1]
    blocks = [np.empty((len(layers), heads, n, n), dtype=np.float32) for n in sizes]
    for index, layer in enumerate(layers):
        values = layer.float().cpu().numpy()
        for row, n in enumerate(sizes):
            blocks[row][index] = values[row, :, :n, :n]
    return blocks


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
