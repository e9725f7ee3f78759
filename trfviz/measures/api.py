"""Doc-level entry points: value-weighted norms, rollout and flow per spaCy token.

Siblings of :func:`trfviz.extract`: each encodes the Doc's sentences as it does
(same tokenizer call, same alignment, :class:`~trfviz.extractor.tokenize.SentenceEncoder`),
runs the model over batches of sentences sorted by length, as extraction does
(:mod:`trfviz.measures.batching`), computes the measure over each batch's
wordpieces and pools it onto spaCy tokens with the attention matrices of
:func:`trfviz.pooling.attention_weights` (attention *to* a token: the sum over
its pieces; *from* a token: the mean of its pieces' rows, or the first piece's)
and the extractor's pooling kernel.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.alignment import Alignment
from trfviz.extractor import extract
from trfviz.extractor.tokenize import EncodedSentence
from trfviz.loading import LoadedModel
from trfviz.measures.batching import (
    attention_forward,
    piece_blocks,
    pool_layers,
    sentence_batches,
)
from trfviz.measures.encoding import encode_doc
from trfviz.measures.norms import batch_norms
from trfviz.measures.results import Measure, MeasureExtraction, SentenceMeasure
from trfviz.measures.rollout import (
    FLOW_MAX_NODES,
    HEAD_REDUCTIONS,
    HeadReduction,
    batch_rollout,
    check_flow_size,
    check_residual,
    flow,
    rollout,
)
from trfviz.pooling import (
    QUERY_POOLINGS,
    SPECIAL_TOKEN_MODES,
    QueryPooling,
    SpecialTokens,
    attention_weights,
    pool_attention,
)
from trfviz.validation import check_bool, check_choice, check_int

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["attention_flow", "attention_norms", "attention_rollout", "pool_norms"]

Over = Literal["pieces", "tokens"]


def attention_norms(
    doc: Doc,
    model: str | LoadedModel,
    *,
    query_pooling: Literal["mean", "first"] = "mean",
    special_tokens: SpecialTokens = "keep",
    keep_pieces: bool = False,
    max_length: int | None = None,
) -> MeasureExtraction:
    """Value-weighted norms ``‖α_ij · f(x_j)‖`` per spaCy token, ``[layer, head, query, key]``.

    See :mod:`trfviz.measures.norms` for the definition (Kobayashi et al. 2020)
    and the supported architectures. Norms are pooled like attention (to a
    token: sum; from a token: mean or first piece) but, not being
    distributions, rows are never renormalised (``special_tokens="drop"``
    simply leaves the special pieces out).

    Args:
        doc: a spaCy Doc with sentence boundaries.
        model: a hub id, local path or :class:`~trfviz.loading.LoadedModel`
            (loaded with eager attention).
        query_pooling: ``"mean"`` or ``"first"``.
        special_tokens: ``"keep"`` special pieces as pseudo-tokens, or ``"drop"`` them.
        keep_pieces: also keep the unpooled norms over wordpieces (``piece_values``).
        max_length: most wordpieces per sentence; longer sentences are truncated
            with a warning, as by :func:`trfviz.extract` (by default its limit
            with attention kept).

    Raises:
        TypeError, ValueError: a bad Doc or option; ValueError also for an
            architecture that is neither BERT-style nor Llama-style.
    """
    check_choice("query_pooling", query_pooling, ("mean", "first"))
    check_choice("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    check_bool("keep_pieces", keep_pieces)
    loaded, encoded, _ = encode_doc(doc, model, max_length)
    sentences: list[SentenceMeasure | None] = [None] * len(encoded)
    for batch in sentence_batches(loaded, encoded):
        _, norms = batch_norms(loaded, batch.ids, batch.mask)
        pieces = piece_blocks(norms, batch) if keep_pieces else None
        pooled = pool_layers(
            norms,
            batch,
            query_pooling=query_pooling,
            special_tokens=special_tokens,
            renormalize=False,
        )
        for row, (index, sentence) in enumerate(zip(batch.indices, batch.sentences, strict=True)):
            kept = None if pieces is None else pieces[row]
            sentences[index] = _sentence(sentence, pooled[row], kept, special_tokens)
    options: dict[str, object] = {"query_pooling": query_pooling, "special_tokens": special_tokens}
    return _result("norms", loaded, doc, sentences, options)


def attention_rollout(
    doc: Doc,
    model: str | LoadedModel,
    *,
    residual: float = 0.5,
    heads: HeadReduction = "mean",
    over: Over = "pieces",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    keep_pieces: bool = False,
    max_length: int | None = None,
) -> MeasureExtraction:
    """Attention rollout per spaCy token, ``[layer, query, key]``: rollout up to each layer.

    Computed as in :func:`trfviz.measures.rollout.rollout` (Abnar & Zuidema
    2020: heads averaged, ``0.5·A + 0.5·I``, the product over layers).

    Args:
        residual: weight of the identity (the residual connection); 0.5 in the paper.
        heads: ``"mean"`` (the paper), ``"max"`` or ``"min"`` over a layer's heads.
        over: ``"pieces"`` (default, the paper): roll out the wordpiece attention,
            then pool the result like attention; ``"tokens"``: roll out the
            attention already pooled onto spaCy tokens by :func:`trfviz.extract`.
        query_pooling, special_tokens: the attention pooling; see :mod:`trfviz.pooling`.
        keep_pieces: with ``over="pieces"``, also keep the rollout over wordpieces.
        max_length: as for :func:`attention_norms`.

    Rows of tokens with pieces sum to 1.
    """
    return _graph_measure(
        "rollout",
        doc,
        model,
        residual,
        heads,
        over,
        query_pooling,
        special_tokens,
        keep_pieces,
        max_length=max_length,
    )


def attention_flow(
    doc: Doc,
    model: str | LoadedModel,
    *,
    residual: float = 0.5,
    heads: HeadReduction = "mean",
    over: Over = "pieces",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    keep_pieces: bool = False,
    max_nodes: int = FLOW_MAX_NODES,
    max_length: int | None = None,
) -> MeasureExtraction:
    """Attention flow per spaCy token, ``[query, key]``: from the inputs to the last layer.

    The maximum flow through the attention graph (networkx), rows normalised to
    sum to 1; see :func:`trfviz.measures.rollout.flow`. Options as for
    :func:`attention_rollout`.

    Raises:
        ValueError: a sentence's positions × layers is over ``max_nodes`` (checked
            before the model runs); use :func:`attention_rollout` instead.
    """
    check_int("max_nodes", max_nodes, minimum=1)
    return _graph_measure(
        "flow",
        doc,
        model,
        residual,
        heads,
        over,
        query_pooling,
        special_tokens,
        keep_pieces,
        max_nodes=max_nodes,
        max_length=max_length,
    )


def pool_norms(
    norms: np.ndarray,
    alignment: Alignment,
    *,
    query_pooling: Literal["mean", "first"] = "mean",
    special_tokens: SpecialTokens = "keep",
) -> np.ndarray:
    """float32 ``[..., query, key]`` over tokens from piece norms ``[..., piece, piece]``.

    Pooled like attention (keys summed, queries averaged or first), never renormalised.
    """
    queries, keys = attention_weights(
        alignment, query_pooling=query_pooling, special_tokens=special_tokens
    )
    return np.asarray(queries @ norms @ keys.T, dtype=np.float32)


def _graph_measure(
    measure: Measure,
    doc: Doc,
    model: str | LoadedModel,
    residual: float,
    heads: HeadReduction,
    over: Over,
    query_pooling: QueryPooling,
    special_tokens: SpecialTokens,
    keep_pieces: bool,
    *,
    max_nodes: int = FLOW_MAX_NODES,
    max_length: int | None = None,
) -> MeasureExtraction:
    check_choice("heads", heads, HEAD_REDUCTIONS)
    check_choice("over", over, ("pieces", "tokens"))
    check_choice("query_pooling", query_pooling, QUERY_POOLINGS)
    check_choice("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    check_bool("keep_pieces", keep_pieces)

    def compute(attention: np.ndarray) -> np.ndarray:
        if measure == "rollout":
            return rollout(attention, residual=residual, heads=heads)
        return flow(attention, residual=residual, heads=heads, max_nodes=max_nodes)

    loaded, encoded, limit = encode_doc(doc, model, max_length)
    if measure == "flow":
        for sentence in encoded:
            n = (
                len(sentence.input_ids)
                if over == "pieces"
                else _token_rows(sentence, special_tokens)
            )
            check_flow_size(n, loaded.n_layers, max_nodes)
    check_residual(residual)
    sentences: list[SentenceMeasure | None] = [None] * len(encoded)
    if over == "tokens":
        with warnings.catch_warnings():
            # The same sentences as encoded above: their truncation was already reported.
            warnings.filterwarnings("ignore", message=".*were truncated", category=UserWarning)
            extraction = extract(
                doc,
                loaded,
                states=False,
                query_pooling=query_pooling,
                special_tokens=special_tokens,
                max_length=limit,
            )
        for index, (sentence, extracted) in enumerate(
            zip(encoded, extraction.sentences, strict=True)
        ):
            assert extracted.attention is not None
            values = compute(extracted.attention)
            sentences[index] = _sentence(sentence, values, None, special_tokens)
    elif measure == "rollout":
        for batch in sentence_batches(loaded, encoded):
            layers = batch_rollout(
                attention_forward(loaded, batch), batch.lengths, residual=residual, heads=heads
            )
            blocks = piece_blocks(layers, batch) if keep_pieces else None
            pooled = pool_layers(
                layers,
                batch,
                query_pooling=query_pooling,
                special_tokens=special_tokens,
                renormalize=True,
            )
            for row, (index, sentence) in enumerate(
                zip(batch.indices, batch.sentences, strict=True)
            ):
                kept = None if blocks is None else blocks[row][:, 0]
                sentences[index] = _sentence(sentence, pooled[row][:, 0], kept, special_tokens)
    else:
        for batch in sentence_batches(loaded, encoded):
            blocks = piece_blocks(attention_forward(loaded, batch), batch)
            for index, sentence, attention in zip(
                batch.indices, batch.sentences, blocks, strict=True
            ):
                pieces = compute(attention)
                pooled_values = pool_attention(
                    pieces,
                    sentence.alignment,
                    query_pooling=query_pooling,
                    special_tokens=special_tokens,
                )
                kept = pieces if keep_pieces else None
                sentences[index] = _sentence(sentence, pooled_values, kept, special_tokens)
    options: dict[str, object] = {
        "residual": float(residual),
        "heads": heads,
        "over": over,
        "query_pooling": query_pooling,
        "special_tokens": special_tokens,
    }
    return _result(measure, loaded, doc, sentences, options)


def _token_rows(sentence: EncodedSentence, special_tokens: SpecialTokens) -> int:
    kept = int(sentence.alignment.special.sum()) if special_tokens == "keep" else 0
    return len(sentence.tokens) + kept


def _sentence(
    sentence: EncodedSentence,
    values: np.ndarray,
    piece_values: np.ndarray | None,
    special_tokens: SpecialTokens,
) -> SentenceMeasure:
    special = np.flatnonzero(sentence.alignment.special)
    return SentenceMeasure(
        start=sentence.start,
        tokens=sentence.tokens,
        pieces=sentence.pieces,
        alignment=sentence.alignment,
        values=np.ascontiguousarray(values, dtype=np.float32),
        piece_values=None if piece_values is None else piece_values.astype(np.float32),
        special_labels=(
            tuple(sentence.pieces[p] for p in special) if special_tokens == "keep" else ()
        ),
        truncated=sentence.truncated,
    )


def _result(
    measure: Measure,
    loaded: LoadedModel,
    doc: Doc,
    sentences: list[SentenceMeasure | None],
    options: dict[str, object],
) -> MeasureExtraction:
    return MeasureExtraction(
        measure=measure,
        model=loaded.name,
        revision=loaded.revision,
        text=doc.text,
        sentences=tuple(s for s in sentences if s is not None),
        options=tuple(options.items()),
    )
