"""Running a transformer over spaCy Docs and pooling its outputs onto spaCy tokens.

The model runs once per sentence (sentence boundaries from the pipeline).
Sentences of many Docs are sorted by wordpiece length and cut into batches
under a wordpiece budget, so little compute goes to padding; pooling is done
batched with the weight matrices of :mod:`trfviz.pooling`, and each sentence's
result is copied out unpadded.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.alignment import Alignment, align_spans, align_texts
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.models import LoadedModel, load_model
from trfviz.pooling import (
    QUERY_POOLINGS,
    SPECIAL_TOKEN_MODES,
    STATE_POOLINGS,
    QueryPooling,
    SpecialTokens,
    StatePooling,
    _check,
    attention_weights,
    pool_attention,
    state_weights,
)

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

    Example:
        >>> import trfviz
        >>> nlp = trfviz.load_pipeline("en_core_web_sm")  # doctest: +SKIP
        >>> ext = trfviz.extract(nlp("The old man the boat."),
        ...                      "sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> ext.attention[0].shape  # 6 layers, 12 heads, 6 tokens + [CLS] + [SEP]  # doctest: +SKIP
        (6, 12, 8, 8)
    """
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

    Docs are read in chunks of about ``buffer_sentences`` sentences; within a
    chunk, sentences are sorted by length and batched together, so many short
    Docs run as fast as one long one. Options are those of :func:`extract`.
    """
    _check("pooling", pooling, STATE_POOLINGS)
    _check("query_pooling", query_pooling, QUERY_POOLINGS)
    _check("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    if batch_size < 1 or max_batch_pieces < 1:
        raise ValueError("batch_size and max_batch_pieces must be positive")
    loaded = model if isinstance(model, LoadedModel) else load_model(model, attention=attention)
    options = ExtractionOptions(
        attention=attention,
        states=states,
        pooling=pooling,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
    )
    if max_length is not None and max_length < 1:
        raise ValueError("max_length must be positive")
    runner = _Runner(
        loaded,
        options,
        batch_size=batch_size,
        max_batch_pieces=max_batch_pieces,
        max_length=max_length or _default_length_limit(loaded, attention=attention),
    )
    doc_iter = iter(docs)
    bar = None
    try:
        while True:
            chunk: list[Doc] = []
            n_sentences = 0
            for doc in doc_iter:
                chunk.append(doc)
                n_sentences += len(sentences_of(doc))
                if n_sentences >= buffer_sentences:
                    break
            if not chunk:
                break
            if bar is None and (
                progress or (progress is None and n_sentences > PROGRESS_THRESHOLD)
            ):
                from tqdm.auto import tqdm

                bar = tqdm(desc=f"extract {loaded.name}", unit="sent")
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
        self._backend = _truncating_backend(tokenizer, max_length)

    def run(self, docs: Sequence[Doc], bar: Any) -> Iterator[Extraction]:
        encoded = self._encode(docs)
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
        for doc_index, doc in enumerate(docs):
            sentences = tuple(s for s in grouped.get(doc_index, []) if s is not None)
            yield Extraction(
                model=self.loaded.name,
                revision=self.loaded.revision,
                text=doc.text,
                sentences=sentences,
                options=self.options,
                n_layers=self.loaded.n_layers,
                n_heads=self.loaded.n_heads,
            )

    def _encode(self, docs: Sequence[Doc]) -> list[_Encoded]:
        spans = [(d, s) for d, doc in enumerate(docs) for s in sentences_of(doc)]
        if not spans:
            return []
        texts = [span.text for _, span in spans]
        limit = self.max_length
        encodings = self._tokenize(texts)
        encoded = []
        for (doc_index, span), (ids, pieces, offsets, special) in zip(
            spans, encodings, strict=True
        ):
            tokens = tuple(token.text for token in span)
            if offsets is not None:
                start = span.start_char
                token_spans = np.array([(t.idx - start, t.idx - start + len(t)) for t in span])
                alignment = align_spans(token_spans, offsets, special)
                covered = offsets[~special]
                end = int(covered[:, 1].max()) if len(covered) else 0
                # Cut at the limit if characters of the last tokens were never reached.
                truncated = len(ids) >= limit and end < int(token_spans[:, 1].max())
            else:
                alignment = align_texts(tokens, pieces, special)
                truncated = len(ids) >= limit and bool(alignment.missing[-1])
            encoded.append(
                _Encoded(doc_index, span.start, tokens, ids, pieces, alignment, truncated)
            )
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
        width = max(len(e.input_ids) for e in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, e in enumerate(batch):
            ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
            mask[row, : len(e.input_ids)] = 1
        with torch.inference_mode():
            output = self.loaded.model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                output_attentions=options.attention,
                output_hidden_states=options.states,
            )
            attention = self._pool_attention(batch, output, width) if options.attention else None
            states = self._pool_states(batch, output, width) if options.states else None
        results = []
        for row, e in enumerate(batch):
            n_special = int(e.alignment.special.sum()) if options.special_tokens == "keep" else 0
            sentence_attention = None
            if attention is not None:
                sentence_attention = attention[row]
            sentence_states = None
            if states is not None:
                sentence_states = _copy_out(states[:, row, : len(e.tokens)])
            special_labels = (
                tuple(e.pieces[p] for p in np.flatnonzero(e.alignment.special)) if n_special else ()
            )
            results.append(
                SentenceExtraction(
                    start=e.start,
                    tokens=e.tokens,
                    pieces=e.pieces,
                    alignment=e.alignment,
                    attention=sentence_attention,
                    states=sentence_states,
                    special_labels=special_labels,
                    truncated=e.truncated,
                )
            )
        return results

    def _pool_attention(self, batch: list[_Encoded], output: Any, width: int) -> Any:
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
        matrices = [
            attention_weights(
                e.alignment,
                query_pooling=options.query_pooling,
                special_tokens=options.special_tokens,
            )
            for e in batch
        ]
        # Take the layers out of the output so each is freed as soon as it is pooled.
        pieces = list(layers)
        output.attentions = None
        return _pool_by_matrices(pieces, matrices, width, drop=options.special_tokens == "drop")

    def _pool_states(self, batch: list[_Encoded], output: Any, width: int) -> Any:
        import torch

        hidden = output.hidden_states
        device = hidden[0].device
        rows = max(len(e.tokens) for e in batch)
        weights = _padded(
            [state_weights(e.alignment, pooling=self.options.pooling) for e in batch],
            rows,
            width,
            device,
        )
        n_batch, _, dim = hidden[0].shape
        pooled = torch.empty((len(hidden), n_batch, rows, dim), device=device)
        for index, layer in enumerate(hidden):
            torch.bmm(weights, layer.float(), out=pooled[index])
        return pooled


def _pool_by_matrices(
    layers: list[Any],
    matrices: list[tuple[np.ndarray, np.ndarray]],
    width: int,
    *,
    drop: bool,
) -> list[np.ndarray]:
    """Per sentence, float32 ``[layer, head, row, row]`` pooled by dense query/key matrices.

    Layers are pooled one at a time and each is released (``layers[i] = None``)
    once pooled, so the batch never holds piece- and token-level attention for
    all layers at once.
    """
    import torch

    device = layers[0].device
    sizes = [q.shape[0] for q, _ in matrices]
    rows = max(sizes)
    queries = _padded([q for q, _ in matrices], rows, width, device)  # [batch, row, piece]
    keys_t = _padded([k for _, k in matrices], rows, width, device).transpose(1, 2)
    n_batch, n_heads = layers[0].shape[:2]
    pooled = [np.empty((len(layers), n_heads, n, n), dtype=np.float32) for n in sizes]
    # One batched GEMM per side and layer, heads folded into the matrix dimension:
    # many tiny per-head GEMMs cost far more in call overhead than in arithmetic.
    for index in range(len(layers)):
        layer = layers[index].float().reshape(n_batch, n_heads * width, width)
        layers[index] = None
        to_tokens = torch.bmm(layer, keys_t)
        del layer
        by_piece = to_tokens.reshape(n_batch, n_heads, width, rows).transpose(1, 2)
        from_tokens = torch.bmm(queries, by_piece.reshape(n_batch, width, n_heads * rows))
        block = from_tokens.reshape(n_batch, rows, n_heads, rows).transpose(1, 2)
        if drop:
            sums = block.sum(dim=-1, keepdim=True)
            block = torch.where(sums > 0, block / sums.clamp_min(1e-30), block)
        values = block.contiguous().cpu().numpy()
        for row, n in enumerate(sizes):
            pooled[row][index] = values[row, :, :n, :n]
    return pooled


def _truncating_backend(tokenizer: Any, max_length: int) -> Any:
    """A private copy of a fast tokenizer's Rust tokenizer, truncating at ``max_length``.

    Encoding through it directly skips transformers' per-sentence conversion to
    Python lists, a sizeable share of the non-model time on short sentences. None
    when the tokenizer has no such backend (then transformers' own call is used).
    """
    backend = getattr(tokenizer, "backend_tokenizer", None) if tokenizer.is_fast else None
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


def _padded(matrices: list[np.ndarray], rows: int, cols: int, device: Any) -> Any:
    """The matrices as one zero-padded float32 tensor ``[batch, rows, cols]``."""
    import torch

    padded = np.zeros((len(matrices), rows, cols), dtype=np.float32)
    for b, matrix in enumerate(matrices):
        padded[b, : matrix.shape[0], : matrix.shape[1]] = matrix
    return torch.from_numpy(padded).to(device)


def _copy_out(tensor: Any) -> np.ndarray:
    """A compact float32 numpy copy of a slice of a batch tensor (never a view into it)."""
    array: np.ndarray = tensor.detach().to("cpu").numpy()
    return np.array(array, dtype=np.float32, copy=True, order="C")
