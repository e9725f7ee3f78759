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

import dataclasses
from collections.abc import Sequence

import numpy as np

from trfviz.alignment import align_spans
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.measures import LogitLens, NeuronExtraction, SentenceLogitLens, SentenceNeurons

__all__ = [
    "assert_same_data",
    "random_attention",
    "synthetic_extraction",
    "synthetic_logit_lens",
    "synthetic_neurons",
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
    placed, start = [], 0
    for sentence in sentences:
        placed.append(dataclasses.replace(sentence, start=start))
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


def synthetic_logit_lens(
    rng: np.random.Generator,
    *,
    n_tokens: Sequence[int] = (3, 4),
    layers: Sequence[int] = (0, 1, 2),
    top_k: int = 2,
    texts: Sequence[str] = (" the", " horse", "."),
) -> LogitLens:
    """A :class:`~trfviz.measures.LogitLens`, one sentence per entry of ``n_tokens``.

    Random piece ids and probabilities; each sentence's last token has no next
    word (NaN, -1 and ``""``, as :func:`~trfviz.measures.logit_lens` leaves it);
    pieces are drawn from ``texts``.
    """
    sentences, start = [], 0
    for n in n_tokens:
        grid = (len(layers), n)
        next_ids = rng.integers(0, 1000, n).astype(np.int32)
        next_ids[-1:] = -1
        next_prob = rng.random(grid).astype(np.float32)
        next_prob[:, -1:] = np.nan
        next_rank = rng.integers(1, 50, grid).astype(np.int32)
        next_rank[:, -1:] = -1
        pick = rng.integers(0, len(texts), (*grid, top_k))
        sentences.append(
            SentenceLogitLens(
                start=start,
                tokens=tuple(f"w{start + i}" for i in range(n)),
                layers=tuple(layers),
                top_ids=rng.integers(0, 1000, (*grid, top_k)).astype(np.int32),
                top_pieces=tuple(
                    tuple(tuple(texts[i] for i in guesses) for guesses in row) for row in pick
                ),
                top_probs=rng.random((*grid, top_k)).astype(np.float32),
                next_prob=next_prob,
                next_rank=next_rank,
                next_ids=next_ids,
                next_pieces=tuple(texts[i % len(texts)] for i in range(n - 1)) + ("",) * (n > 0),
                truncated=bool(start),
            )
        )
        start += n
    return LogitLens(
        model="synthetic/causal",
        revision="synthetic",
        text=" ".join(t for s in sentences for t in s.tokens),
        sentences=tuple(sentences),
        options=(("top_k", top_k), ("layers", tuple(layers))),
    )


def synthetic_neurons(
    rng: np.random.Generator,
    *,
    n_tokens: Sequence[int] = (3, 4),
    specials: Sequence[str] = ("[CLS]", "[SEP]"),
    layers: int = 2,
    heads: int = 3,
    d_head: int = 4,
) -> NeuronExtraction:
    """A :class:`~trfviz.measures.NeuronExtraction`, one sentence per entry of ``n_tokens``:
    random float32 queries and keys ``[layer, head, label, d_head]`` over the words then
    ``specials``."""
    sentences, start = [], 0
    for n in n_tokens:
        shape = (layers, heads, n + len(specials), d_head)
        sentences.append(
            SentenceNeurons(
                start=start,
                tokens=tuple(f"w{start + i}" for i in range(n)),
                special_labels=tuple(specials),
                queries=rng.standard_normal(shape).astype(np.float32),
                keys=rng.standard_normal(shape).astype(np.float32),
                scale=float(d_head) ** -0.5,
            )
        )
        start += n
    return NeuronExtraction(
        model="synthetic/encoder",
        revision="synthetic",
        text=" ".join(t for s in sentences for t in s.tokens),
        sentences=tuple(sentences),
        options=(("special_tokens", "keep" if specials else "drop"),),
    )


def assert_same_data(a: object, b: object) -> None:
    """``a`` and ``b`` are equal data, field by field: same types, arrays bit for bit."""
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            assert_same_data(getattr(a, field.name), getattr(b, field.name))
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_data(x, y)
    else:
        assert a == b


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
