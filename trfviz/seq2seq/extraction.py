"""Extraction for encoder-decoder models: one forward pass per pair, pooled onto spaCy tokens.

:func:`extract_pair` reads a source Doc with the encoder and a target Doc with
the decoder under teacher forcing (see :mod:`trfviz.seq2seq.pairing`), and pools
encoder self-attention and decoder self-attention with
:func:`trfviz.pooling.pool_attention`, cross-attention with
:func:`~trfviz.seq2seq.cross.pool_cross_attention`, and both stacks' hidden
states with :func:`trfviz.pooling.pool_states`, so every number follows the same
conventions as :func:`trfviz.extract`. Pairs run one at a time (no padding, so
no attention leaks onto padding); a progress bar shows past
:data:`PROGRESS_THRESHOLD` pairs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.extraction import ExtractionOptions
from trfviz.loading import LoadedModel
from trfviz.loading.seq2seq import LoadedSeq2SeqModel, load_seq2seq_model
from trfviz.parse import parse_sentence
from trfviz.pooling import (
    QueryPooling,
    SpecialTokens,
    StatePooling,
    pool_attention,
    pool_states,
)
from trfviz.seq2seq.cross import pool_cross_attention
from trfviz.seq2seq.pairing import EncodedPair, Pairing, encode_pairs, pair_spans
from trfviz.seq2seq.results import PairExtraction, PairSide, SentencePairExtraction
from trfviz.validation import MODEL_HINT, check_bool, check_int, check_text

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = [
    "PROGRESS_THRESHOLD",
    "extract_pair",
    "extract_spans",
    "pair_options",
    "resolve_seq2seq_model",
]

#: Above this many pairs a progress bar is shown unless ``progress=False``.
PROGRESS_THRESHOLD = 50


def extract_pair(
    source_doc: Doc,
    target_doc: Doc,
    model: str | os.PathLike[str] | LoadedSeq2SeqModel,
    *,
    pair_by: Pairing = "sentence",
    states: bool = True,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    max_length: int | None = None,
    progress: bool | None = None,
) -> PairExtraction:
    """Encoder, decoder and cross-attention of ``model`` per spaCy token of a source and target.

    Args:
        source_doc: the Doc the encoder reads.
        target_doc: the Doc the decoder reads under teacher forcing: its pieces,
            shifted right behind the model's ``decoder_start`` piece.
        model: a hub id or local path of any ``AutoModelForSeq2SeqLM`` (T5,
            BART, Marian, ...), or a :class:`~trfviz.loading.LoadedSeq2SeqModel`.
        pair_by: ``"sentence"``: sentence ``i`` of the source with sentence ``i``
            of the target (both Docs need sentence boundaries and as many
            sentences); ``"doc"``: each Doc read whole, as one sequence.
        states: keep both stacks' hidden states.
        pooling, query_pooling, special_tokens: as in :func:`trfviz.extract`;
            the Clark conventions hold on both sides and across.
        max_length: most wordpieces per side; longer sides are truncated (with
            a warning, lost tokens flagged in ``alignment.missing``). By default
            the model's maximum.
        progress: show a progress bar; by default only past 50 pairs.

    Returns:
        A :class:`~trfviz.seq2seq.results.PairExtraction`, one entry per pair.

    Raises:
        UnsupportedModelError: ``model`` is not an encoder-decoder model (it has
            no cross-attention; :func:`trfviz.extract` reads it).
        TypeError, ValueError: a Doc is not a Doc, is empty or (with
            ``pair_by="sentence"``) has no sentence boundaries; the sentence
            counts differ; an option makes no sense.

    Example:
        >>> pair = trfviz.extract_pair(nlp("The cat sat."), nlp("Die Katze saß."),
        ...                            "Helsinki-NLP/opus-mt-en-de")  # doctest: +SKIP
        >>> pair.pairs[0].cross_attention.shape  # 6 layers, 8 heads, 4+1 x 4+1  # doctest: +SKIP
        (6, 8, 5, 5)
    """
    options = pair_options(states, pooling, query_pooling, special_tokens, max_length, progress)
    pairs = pair_spans(source_doc, target_doc, pair_by=pair_by)
    loaded = resolve_seq2seq_model(model)
    return extract_spans(
        pairs,
        loaded,
        options,
        pair_by=pair_by,
        max_length=max_length,
        progress=progress,
        texts=(source_doc.text, target_doc.text),
    )


def pair_options(
    states: bool,
    pooling: StatePooling,
    query_pooling: QueryPooling,
    special_tokens: SpecialTokens,
    max_length: int | None,
    progress: bool | None,
) -> ExtractionOptions:
    """The pooling options, every one checked before any Doc is read or the model loads."""
    check_int("max_length", max_length, minimum=1, allow_none=True)
    if progress is not None:
        check_bool("progress", progress)
    return ExtractionOptions(
        attention=True,
        states=states,
        pooling=pooling,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
    )


def resolve_seq2seq_model(model: Any) -> LoadedSeq2SeqModel:
    """``model`` loaded, or refused with what to pass instead."""
    if isinstance(model, LoadedSeq2SeqModel):
        return model
    if isinstance(model, LoadedModel):
        raise TypeError(
            f"{model.name!r} was loaded with trfviz.load_model, which holds encoder-only and "
            "decoder-only models: they have no cross-attention. Pass an encoder-decoder "
            "model's name (or trfviz.load_seq2seq_model(name)); for this model use "
            "trfviz.extract(doc, model)"
        )
    if not isinstance(model, str | os.PathLike):
        raise TypeError(
            "model must be a hub id or local path (a string) or a trfviz.LoadedSeq2SeqModel; "
            f"got {type(model).__name__} {model!r}"
        )
    check_text("model", str(model), hint=MODEL_HINT)
    return load_seq2seq_model(model)


def extract_spans(
    pairs: Sequence[tuple[Span, Span]],
    loaded: LoadedSeq2SeqModel,
    options: ExtractionOptions,
    *,
    pair_by: str,
    max_length: int | None,
    progress: bool | None,
    texts: tuple[str, str],
) -> PairExtraction:
    """The :class:`PairExtraction` of already paired ``(source, target)`` spans."""
    encoded = encode_pairs(pairs, loaded, max_length=max_length or loaded.max_length)
    bar = None
    if progress or (progress is None and len(pairs) > PROGRESS_THRESHOLD):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pairs), desc=f"extract_pair {loaded.name}", unit="pair")
    results = []
    try:
        for (source_span, target_span), pair in zip(pairs, encoded, strict=True):
            results.append(_extract_one(source_span, target_span, pair, loaded, options))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return PairExtraction(
        model=loaded.name,
        revision=loaded.revision,
        source_text=texts[0],
        target_text=texts[1],
        pairs=tuple(results),
        pair_by=pair_by,
        options=options,
        encoder_layers=loaded.encoder_layers,
        decoder_layers=loaded.decoder_layers,
        encoder_heads=loaded.encoder_heads,
        decoder_heads=loaded.decoder_heads,
    )


def _extract_one(
    source_span: Span,
    target_span: Span,
    pair: EncodedPair,
    loaded: LoadedSeq2SeqModel,
    options: ExtractionOptions,
) -> SentencePairExtraction:
    """One pair: the forward pass with teacher forcing, and every output pooled."""
    import torch

    device = loaded.device
    source_ids = torch.tensor([pair.source.input_ids], device=device)
    decoder_ids = torch.tensor([pair.target.input_ids], device=device)
    with torch.inference_mode():
        output = loaded.model(
            input_ids=source_ids,
            attention_mask=torch.ones_like(source_ids),
            decoder_input_ids=decoder_ids,
            output_attentions=True,
            output_hidden_states=options.states,
            return_dict=True,
        )
    src, tgt = pair.source.alignment, pair.target.alignment
    query, special = options.query_pooling, options.special_tokens
    encoder_states = decoder_states = None
    if options.states:
        encoder_states = pool_states(
            _stacked(output.encoder_hidden_states), src, pooling=options.pooling
        )
        decoder_states = pool_states(
            _stacked(output.decoder_hidden_states), tgt, pooling=options.pooling
        )
    return SentencePairExtraction(
        source=_side(source_span, pair.source, options),
        target=_side(target_span, pair.target, options),
        encoder_attention=pool_attention(
            _stacked(output.encoder_attentions), src, query_pooling=query, special_tokens=special
        ),
        decoder_attention=pool_attention(
            _stacked(output.decoder_attentions), tgt, query_pooling=query, special_tokens=special
        ),
        cross_attention=pool_cross_attention(
            _stacked(output.cross_attentions), tgt, src, query_pooling=query, special_tokens=special
        ),
        encoder_states=encoder_states,
        decoder_states=decoder_states,
    )


def _stacked(layers: Sequence[Any]) -> np.ndarray:
    """float32 ``[layer, ...]`` from the model's per-layer tensors of batch 1."""
    import torch

    return torch.stack([layer[0] for layer in layers]).float().cpu().numpy()


def _side(span: Span, encoded: Any, options: ExtractionOptions) -> PairSide:
    alignment = encoded.alignment
    keep = options.special_tokens == "keep"
    return PairSide(
        start=span.start,
        tokens=encoded.tokens,
        pieces=encoded.pieces,
        alignment=alignment,
        parse=parse_sentence(span),
        special_labels=(
            tuple(encoded.pieces[p] for p in np.flatnonzero(alignment.special)) if keep else ()
        ),
        truncated=encoded.truncated,
    )
