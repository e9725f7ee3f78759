"""Pairing a source with a target, and encoding both as the encoder and decoder read them.

A *pair* is one source span and one target span (two sentences, or two whole
Docs with ``pair_by="doc"``). :func:`pair_spans` pairs the sentences of two Docs
one to one and refuses counts that differ. :func:`encode_pairs` tokenizes and
aligns both sides with the same :class:`~trfviz.extractor.tokenize.SentenceEncoder`
that :func:`trfviz.extract` uses, and turns the target into the decoder's input
by teacher forcing (:func:`shift_right`), tokenized as a target (Marian's target
SentencePiece model, see :class:`TargetSide`): the target's pieces shifted one place
right behind the model's ``decoder_start`` piece, its final end-of-sequence
piece (what the decoder would predict last, never read) left out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from trfviz.alignment import Alignment
from trfviz.extractor.api import sentences_of
from trfviz.extractor.tokenize import EncodedSentence, SentenceEncoder
from trfviz.validation import check_choice, check_doc

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

    from trfviz.loading.seq2seq import LoadedSeq2SeqModel

__all__ = [
    "PAIRINGS",
    "EncodedPair",
    "Pairing",
    "TargetSide",
    "encode_pairs",
    "encode_spans",
    "pair_spans",
    "shift_right",
    "side_sentences",
]

Pairing = Literal["sentence", "doc"]
PAIRINGS: tuple[str, ...] = ("sentence", "doc")


@dataclass(frozen=True)
class EncodedPair:
    """One pair, encoded: the source as the encoder reads it, the target as the decoder does.

    ``target.input_ids`` and ``target.pieces`` are the decoder input (shifted right);
    ``target.alignment`` aligns those pieces to the target's spaCy tokens.
    """

    source: EncodedSentence
    target: EncodedSentence


def pair_spans(source_doc: Doc, target_doc: Doc, *, pair_by: Pairing) -> list[tuple[Span, Span]]:
    """The ``(source, target)`` spans that are read together, in order.

    Raises:
        TypeError: a Doc is not a spaCy Doc.
        ValueError: a Doc is empty, has no sentence boundaries (with
            ``pair_by="sentence"``), or the two have different sentence counts.
    """
    check_choice("pair_by", pair_by, PAIRINGS)
    check_doc(source_doc, "source_doc")
    check_doc(target_doc, "target_doc")
    for name, doc in (("source_doc", source_doc), ("target_doc", target_doc)):
        if not doc.text.strip():
            raise ValueError(f"{name}'s text is empty or only whitespace: there is nothing to pair")
    if pair_by == "doc":
        return [(source_doc[:], target_doc[:])]
    sources = side_sentences(source_doc, "source_doc")
    targets = side_sentences(target_doc, "target_doc")
    if len(sources) != len(targets):
        raise ValueError(
            f"source_doc has {len(sources)} sentence(s) and target_doc {len(targets)}: with "
            "pair_by='sentence' sentence i of the source is read with sentence i of the "
            "target, so the counts must match. Split or join sentences so they do, or pass "
            "pair_by='doc' to read each Doc as one sequence"
        )
    return list(zip(sources, targets, strict=True))


def side_sentences(doc: Doc, name: str) -> list[Span]:
    """The sentences of one side's Doc; a Doc without boundaries is refused, naming the side."""
    try:
        return sentences_of(doc)
    except ValueError as error:
        raise ValueError(
            f"{name}: {error}; or pass pair_by='doc' to read the Doc as one sequence"
        ) from None


def encode_pairs(
    pairs: Sequence[tuple[Span, Span]], loaded: LoadedSeq2SeqModel, *, max_length: int
) -> list[EncodedPair]:
    """Each pair tokenized and aligned, the target shifted right for the decoder.

    Warns once when a side is cut at ``max_length`` pieces (its lost tokens are
    flagged in ``alignment.missing`` and get zero rows).
    """
    encoder = SentenceEncoder(loaded.tokenizer, max_length=max_length, name=loaded.name)
    sources = encode_spans(encoder, [s for s, _ in pairs])
    target_tokenizer = (
        loaded.tokenizer
        if getattr(loaded.tokenizer, "is_fast", False)
        else TargetSide(loaded.tokenizer)
    )
    target_encoder = SentenceEncoder(target_tokenizer, max_length=max_length, name=loaded.name)
    targets = encode_spans(target_encoder, [t for _, t in pairs])
    start = loaded.decoder_start_token_id
    start_piece = str(loaded.tokenizer.convert_ids_to_tokens(start))
    encoded = [
        EncodedPair(source, shift_right(target, start, start_piece))
        for source, target in zip(sources, targets, strict=True)
    ]
    cut = [e for e in encoded if e.source.truncated or e.target.truncated]
    if cut:
        warnings.warn(
            f"{len(cut)} pair(s) had a side longer than {max_length} wordpieces (the limit "
            f"for {loaded.name}; see `max_length`) and were truncated; the tokens past the "
            "limit have zero rows and are flagged in `alignment.missing`",
            UserWarning,
            stacklevel=4,
        )
    return encoded


class TargetSide:
    """A slow tokenizer that tokenizes every text as a target (``text_target=``).

    Marian's tokenizer segments the target with its own SentencePiece model; the
    decoder must read the target as it was trained to. Everything else is the
    wrapped tokenizer's. (Fast tokenizers are read through their backend, which
    has no target side: a tokenizer that marks the target with other special
    tokens, such as mBART's language codes, reads it with the source's.)
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def __call__(self, texts: Any, **kwargs: Any) -> Any:
        return self._tokenizer(text_target=texts, **kwargs)


def encode_spans(encoder: SentenceEncoder, spans: Sequence[Span]) -> list[EncodedSentence]:
    """Spans encoded in order as the encoder reads them; spans of one Doc are encoded together."""
    docs: list[Doc] = []
    grouped: list[list[Span]] = []
    for span in spans:
        if not docs or span.doc is not docs[-1]:
            docs.append(span.doc)
            grouped.append([])
        grouped[-1].append(span)
    return encoder.encode(docs, [doc.text for doc in docs], grouped)


def shift_right(target: EncodedSentence, start_id: int, start_piece: str) -> EncodedSentence:
    """The decoder input of teacher forcing: ``start`` then the target's pieces, one place on.

    The target's last piece is dropped when it is special (the end-of-sequence
    piece: what the decoder predicts last and never reads); a target without a
    special last piece keeps all its pieces, so no word is lost. The start piece
    is special and aligned to no token.
    """
    a = target.alignment
    drop_last = a.n_pieces > 0 and bool(a.special[-1])
    keep = a.n_pieces - 1 if drop_last else a.n_pieces
    pairs = a.pairs[a.pairs[:, 1] < keep].copy()
    pairs[:, 1] += 1
    alignment = Alignment(
        pairs=pairs,
        n_tokens=a.n_tokens,
        n_pieces=keep + 1,
        special=np.concatenate([[True], a.special[:keep]]).astype(bool),
        orphan=np.concatenate([[False], a.orphan[:keep]]).astype(bool),
        missing=a.missing.copy(),
    )
    return EncodedSentence(
        doc_index=target.doc_index,
        start=target.start,
        tokens=target.tokens,
        input_ids=[int(start_id), *target.input_ids[:keep]],
        pieces=(start_piece, *target.pieces[:keep]),
        alignment=alignment,
        truncated=target.truncated,
    )
