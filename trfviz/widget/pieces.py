"""The wordpieces behind one pooled word: the raw attention the explorer's toggle shows.

When an extraction kept its wordpiece attention (``trfviz.extract(...,
piece_attention=True)``), :func:`pack_pieces` gives the browser, for the
focused word and the current layer, the raw rows of the word's pieces (every
head, and their mean), grouped by the pieces of each word they attend to, and
beside each word the value pooled again from those raw weights with the
reference pooling (:func:`trfviz.pooling.pool_attention`) and the value the view
shows. They agree: that is the point of showing them.

Plain numpy, testable without a browser. Only one word's rows of one layer cross.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.pooling import QUERY_POOLINGS, attention_weights, pool_attention
from trfviz.widget.payload import LayerChoice, pack_matrix, select_attention

__all__ = ["RULES", "has_pieces", "pack_pieces", "pieces_payload"]

#: What each query pooling does to the word's piece rows, in words (for the read-out).
RULES = {
    "mean": "mean over its piece rows of the sum over each word's pieces",
    "first": "its first piece's row, summed over each word's pieces",
    "max": "element-wise maximum over its piece rows of the sum over each word's pieces, "
    "renormalised",
}

#: How close (absolute) a re-pooled value must be to the shown one to count as the same.
TOLERANCE = 1e-4


def has_pieces(sentence: SentenceExtraction) -> bool:
    """Whether ``sentence`` kept its raw wordpiece attention (``piece_attention=True``)."""
    return sentence.piece_attention is not None


def pieces_payload(
    sentence: int, word: int, shown: Mapping[str, tuple[SentenceExtraction, LayerChoice]]
) -> dict[str, Any]:
    """The explorer's ``_pieces``: which models shown kept wordpieces, and word ``word``'s.

    Args:
        sentence: the sentence's index (the browser draws a payload only over it).
        word: the selected word, or -1 for none (nothing but ``available`` is sent).
        shown: per model key shown, in panel order, its sentence and current layer.

    Returns:
        ``{"sentence", "word", "available" (model keys with wordpiece attention),
        "panels" (a :func:`pack_pieces` per such model, while a word is selected)}``.
    """
    available = [key for key, (extraction, _) in shown.items() if has_pieces(extraction)]
    panels = [
        pack_pieces(shown[key][0], shown[key][1], word, model=key)
        for key in available
        if 0 <= word < shown[key][0].n_tokens
    ]
    return {"sentence": int(sentence), "word": int(word), "available": available, "panels": panels}


def pack_pieces(
    sentence: SentenceExtraction, layer: LayerChoice, word: int, *, model: str = ""
) -> dict[str, Any]:
    """The raw wordpiece attention behind word ``word``'s pooled row, at one layer.

    The query pooling is not stored with a sentence: it is found as the rule of
    :data:`RULES` that gives back the shown row (``rule`` is None when none does,
    which would mean the shown numbers are not a pooling of these weights). With
    ``special_tokens="drop"`` the pooled rows are renormalised over the words.

    Returns:
        ``{"model", "layer", "word", "rule", "rule_text", "pieces" (every piece's
        text), "rows" (the word's piece indices), "groups": [{"index", "label",
        "cols" (piece indices), "share" (the part of each piece that goes to the
        word: 1, or 1/k for a piece shared by k words)}], "weights" (float32, ``bits=32``
        ``[head + 1, row, piece]``, index ``n_heads`` the head mean), "pooled" and
        "shown" (``[head + 1][label]``: re-pooled from the raw weights, and the
        extraction's values)}``.

    Raises:
        ValueError: the sentence kept no wordpiece attention, or ``word`` is not one
            of its tokens.
    """
    raw, shown_all = sentence.piece_attention, sentence.attention
    if raw is None or shown_all is None:
        raise ValueError(
            "this extraction kept no wordpiece attention: extract with piece_attention=True"
        )
    if not 0 <= word < sentence.n_tokens:
        raise ValueError(f"word must be 0..{sentence.n_tokens - 1}, got {word}")
    alignment = sentence.alignment
    pieces = select_attention(raw, layer, "all")  # [head, piece, piece]
    shown = select_attention(shown_all, layer, "all")[:, word]  # [head, label]
    n_labels = shown.shape[-1]
    n_special = int(alignment.special.sum())
    special_tokens = "keep" if n_labels == sentence.n_tokens + n_special else "drop"
    rule, pooled = _matching_rule(pieces, sentence, word, shown, special_tokens)
    _, keys = attention_weights(alignment, special_tokens=special_tokens)  # type: ignore[arg-type]
    rows = alignment.pieces_of(word).tolist()
    labels = sentence.tokens + (sentence.special_labels if special_tokens == "keep" else ())
    groups = []
    for index, label in enumerate(labels):
        cols = np.flatnonzero(keys[index]).tolist()
        groups.append(
            {
                "index": index,
                "label": label,
                "cols": cols,
                "share": [round(float(keys[index, c]), 6) for c in cols],
            }
        )
    weights = pieces[:, rows, :].astype(np.float64)
    # float32 values (not 16-bit codes), and the pooled ones unrounded: a one-piece word's
    # pooled value is its piece's weight, digit for digit, as the table shows both.
    with_mean = np.concatenate([weights, weights.mean(axis=0, keepdims=True)]).astype(np.float32)
    return {
        "model": model,
        "layer": layer,
        "word": int(word),
        "rule": rule,
        "rule_text": RULES.get(rule or "", "no pooling rule gives the shown values"),
        "pieces": list(sentence.pieces),
        "rows": [int(r) for r in rows],
        "groups": groups,
        "weights": pack_matrix(with_mean, bits=32).to_dict(),
        "pooled": _with_mean(pooled),
        "shown": _with_mean(shown),
    }


def _matching_rule(
    pieces: np.ndarray,
    sentence: SentenceExtraction,
    word: int,
    shown: np.ndarray,
    special_tokens: str,
) -> tuple[str | None, np.ndarray]:
    """The first query pooling whose re-pooled row ``word`` equals ``shown``, and that row."""
    first = None
    for rule in QUERY_POOLINGS:
        pooled = pool_attention(
            pieces,
            sentence.alignment,
            query_pooling=rule,  # type: ignore[arg-type]
            special_tokens=special_tokens,  # type: ignore[arg-type]
        )[:, word]
        first = pooled if first is None else first
        if pooled.shape == shown.shape and np.allclose(pooled, shown, atol=TOLERANCE, rtol=0):
            return rule, pooled
    assert first is not None
    return None, first


def _with_mean(rows: np.ndarray) -> list[list[float]]:
    """``[head + 1][label]``, the last row the head mean, as float32 values (the precision
    of the raw weights sent beside them: rounding either would make the table disagree)."""
    values = np.asarray(rows, dtype=np.float64)
    stacked = np.concatenate([values, values.mean(axis=0, keepdims=True)]).astype(np.float32)
    return [[float(v) for v in row] for row in stacked]
