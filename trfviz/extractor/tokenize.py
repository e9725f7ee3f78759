"""Encoding sentences for a model: wordpieces, their alignment to spaCy tokens, truncation.

:class:`SentenceEncoder` tokenizes the sentences of a chunk of Docs at once,
aligns every sentence's wordpieces to its spaCy tokens (by character offsets,
or by text for a slow tokenizer that gives none) and marks sentences cut at
the model's maximum length. A fast tokenizer is encoded through a cached,
truncating copy of its Rust backend (:func:`truncating_backend`).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.alignment import Alignment, align_spans_batch, align_texts

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

__all__ = ["EncodedSentence", "SentenceEncoder", "truncating_backend"]


@dataclass(frozen=True)
class EncodedSentence:
    """One sentence, tokenized and aligned, waiting for its forward pass."""

    doc_index: int
    start: int
    tokens: tuple[str, ...]
    input_ids: list[int]
    pieces: tuple[str, ...]
    alignment: Alignment
    truncated: bool


class SentenceEncoder:
    """Tokenizes and aligns sentences for one model, truncating at ``max_length`` pieces."""

    def __init__(self, tokenizer: Any, *, max_length: int, name: str) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.name = name
        self._backend = truncating_backend(tokenizer, max_length)

    def encode(
        self, docs: Sequence[Doc], doc_texts: list[str], sentences: Sequence[Sequence[Span]]
    ) -> list[EncodedSentence]:
        """Per sentence of ``docs`` (``sentences[d]`` are Doc ``d``'s), in order, encoded.

        ``doc_texts[d]`` is ``docs[d].text``, joined once by the caller.
        """
        spans = [(d, s) for d, doc_sentences in enumerate(sentences) for s in doc_sentences]
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
                EncodedSentence(doc_index, span.start, words, ids, pieces, alignment, truncated)
            )
        if encodings[0][2] is None:
            _warn_unmatched(encoded, self.name)
        return encoded

    def _tokenize(
        self, texts: list[str]
    ) -> list[tuple[list[int], tuple[str, ...], np.ndarray | None, np.ndarray]]:
        """Per text: ids, piece strings, character offsets (None without them), special mask.

        Literal special-token text ("[CLS]") in the input is split as text, not matched.
        """
        tokenizer = self.tokenizer
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


def _token_spans(docs: Sequence[Doc], spans: list[tuple[int, Span]]) -> list[np.ndarray]:
    """Per sentence, int64 ``[n_tokens, 2]`` character spans relative to the sentence start."""
    by_doc = [doc.to_array(["IDX", "LENGTH"]).astype(np.int64) for doc in docs]
    result = []
    for doc_index, span in spans:
        starts_lengths = by_doc[doc_index][span.start : span.end]
        start = starts_lengths[:, 0] - span.start_char
        result.append(np.stack([start, start + starts_lengths[:, 1]], axis=1))
    return result


def _warn_unmatched(encoded: list[EncodedSentence], name: str) -> None:
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


def truncating_backend(tokenizer: Any, max_length: int) -> Any:
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
