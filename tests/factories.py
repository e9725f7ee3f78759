"""Synthetic extractions for tests that need per-token arrays but no model.

One factory for the whole suite, so every test builds its fake
:class:`~trfviz.extraction.SentenceExtraction` the same way: each word is one
wordpiece (character span ``(2 i, 2 i + 1)``), special pieces cover no
characters, and the attention axes are the words then the special
pseudo-tokens, as :func:`trfviz.extract` lays them out with
``special_tokens="keep"``.

>>> sentence = synthetic_sentence(uniform_attention(1, 2, 3), words=("a", "b", "c"))
>>> sentence.labels, sentence.attention.shape
(('a', 'b', 'c'), (1, 2, 3, 3))
>>> synthetic_sentence(uniform_attention(1, 1, 4), specials=("[CLS]",)).pieces
('[CLS]', 'w0', 'w1', 'w2')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trfviz.alignment import align_spans
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction

__all__ = [
    "random_attention",
    "synthetic_extraction",
    "synthetic_sentence",
    "uniform_attention",
]


def synthetic_sentence(
    attention: np.ndarray | None = None,
    states: np.ndarray | None = None,
    *,
    words: Sequence[str] | None = None,
    n_tokens: int | None = None,
    specials: Sequence[str] = (),
    specials_first: int | None = None,
    missing: Sequence[int] = (),
    start: int = 0,
) -> SentenceExtraction:
    """A SentenceExtraction around the given arrays, one wordpiece per word.

    Args:
        attention: ``[layer, head, query, key]`` over the words then ``specials``.
        states: ``[layer + 1, token, dim]`` over the words.
        words: the token texts; ``w0``, ``w1``, … by default.
        n_tokens: the number of words, when neither ``words`` nor an array says it.
        specials: labels of the special pseudo-tokens (``("[CLS]", "[SEP]")`` for BERT).
        specials_first: how many special pieces come before the words; by default
            one when there are specials (BERT's ``[CLS]``) and the rest after them.
        missing: words no piece covers (their rows are whatever the arrays hold).
        start: index in the Doc of the first word.
    """
    n = _n_tokens(attention, states, words, n_tokens, len(specials))
    words = tuple(words) if words is not None else tuple(f"w{i}" for i in range(n))
    if len(words) != n:
        raise ValueError(f"{len(words)} words for arrays over {n} tokens")
    first = (1 if specials else 0) if specials_first is None else specials_first
    covered = [i for i in range(n) if i not in set(missing)]
    token_spans = [(2 * i, 2 * i + 1) for i in range(n)]
    piece_spans = [(0, 0)] * first + [token_spans[i] for i in covered]
    piece_spans += [(0, 0)] * (len(specials) - first)
    special = [True] * first + [False] * len(covered) + [True] * (len(specials) - first)
    pieces = tuple(specials[:first]) + tuple(words[i] for i in covered) + tuple(specials[first:])
    return SentenceExtraction(
        start=start,
        tokens=words,
        pieces=pieces,
        alignment=align_spans(
            np.array(token_spans, dtype=np.int64).reshape(-1, 2),
            np.array(piece_spans, dtype=np.int64).reshape(-1, 2),
            np.array(special, dtype=bool),
        ),
        attention=None if attention is None else np.asarray(attention, dtype=np.float32),
        states=None if states is None else np.asarray(states, dtype=np.float32),
        special_labels=tuple(specials),
    )


def synthetic_extraction(
    sentences: Sequence[SentenceExtraction], *, model: str = "synthetic/model"
) -> Extraction:
    """An Extraction of ``sentences`` laid end to end (their ``start`` is recomputed)."""
    from dataclasses import replace

    placed, start = [], 0
    for sentence in sentences:
        placed.append(replace(sentence, start=start))
        start += sentence.n_tokens
    shapes = [s.attention.shape for s in placed if s.attention is not None]
    return Extraction(
        model=model,
        revision="synthetic",
        text=" ".join(" ".join(s.tokens) for s in placed),
        sentences=tuple(placed),
        options=ExtractionOptions(
            attention=bool(shapes), states=any(s.states is not None for s in placed)
        ),
        n_layers=shapes[0][0] if shapes else 0,
        n_heads=shapes[0][1] if shapes else 0,
    )


def uniform_attention(layers: int, heads: int, n: int) -> np.ndarray:
    """float32 ``[layers, heads, n, n]`` whose rows are uniform."""
    return np.full((layers, heads, n, n), 1.0 / n, dtype=np.float32)


def random_attention(
    rng: np.random.Generator, layers: int, heads: int, n: int, *, peak: float = 3.0
) -> np.ndarray:
    """float32 ``[layers, heads, n, n]``: random rows summing to 1, peaked by ``peak``."""
    logits = rng.normal(scale=peak, size=(layers, heads, n, n))
    attention = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (attention / attention.sum(axis=-1, keepdims=True)).astype(np.float32)


def _n_tokens(
    attention: np.ndarray | None,
    states: np.ndarray | None,
    words: Sequence[str] | None,
    n_tokens: int | None,
    n_specials: int,
) -> int:
    if n_tokens is not None:
        return n_tokens
    if words is not None:
        return len(words)
    if attention is not None:
        return int(attention.shape[-1]) - n_specials
    if states is not None:
        return int(states.shape[1])
    raise ValueError("give words, n_tokens, attention or states")
