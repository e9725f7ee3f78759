"""The explorer's logit-lens panel: each layer's next-word guess after every word, per model.

A :class:`~trfviz.measures.logit_lens.LogitLens` (``trfviz.measures.logit_lens``)
holds, per sentence, layer and spaCy token, the top-k next pieces with their
probabilities and the probability and rank of the piece that really follows.
The explorer takes one per causal model (``logit_lens=``), matched to the
models as measures and neurons are (by model name), checked against the
attention extractions (same sentences, starts and tokens; the model causal, its
attention never reaching a later word) and, while the panel is shown
(``show_logit_lens``), sends the current sentence's table only: per cell the
top-1 guess (an index into the sentence's distinct guesses, each string sent
once) and its probability, and the actual next word's probability and rank, as
binary buffers of the lens's own float32 and int32 numbers (16 bytes a cell).

Plain data: nothing here imports :mod:`trfviz.measures.logit_lens` at run time
(it loads models); the view never runs one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.widget.measures import match_by_model

__all__ = ["LensSentence", "lens_payload", "match_lens", "pack_lens"]


class LensSentence(Protocol):
    """What the panel reads of one sentence's ``SentenceLogitLens``."""

    start: int
    tokens: tuple[str, ...]
    layers: tuple[int, ...]
    top_ids: np.ndarray
    top_pieces: tuple[tuple[tuple[str, ...], ...], ...]
    top_probs: np.ndarray
    next_prob: np.ndarray
    next_rank: np.ndarray
    next_ids: np.ndarray
    next_pieces: tuple[str, ...]


def match_lens(
    lens: Any,
    parses: Sequence[SentenceParse],
    extractions: Mapping[str, Sequence[SentenceExtraction]],
    model_names: Mapping[str, str],
) -> dict[str, tuple[LensSentence, ...]]:
    """Per model key its ``SentenceLogitLens``, one per sentence, after checking them.

    ``lens`` is one ``LogitLens``, a sequence of them (matched to the models by
    ``model``) or a mapping of model key to one.

    Raises:
        ValueError: a lens of no model shown, of another model than its key's,
            over other sentences or tokens than the attention, or of a model
            that is not causal (its attention reaches later words).
    """
    keys = list(extractions)
    out: dict[str, tuple[LensSentence, ...]] = {}
    for key, items in match_by_model(lens, keys, model_names, "logit_lens").items():
        if len(items) > 1:
            raise ValueError(f"logit_lens: {len(items)} LogitLens for {key!r}; give one")
        if not items:
            continue
        item = items[0]
        name = model_names.get(key, key)
        if name != key and short_model_name(str(item.model)) != short_model_name(name):
            raise ValueError(
                f"logit_lens for {key!r} is of model {item.model!r}, but {key!r} shows {name!r}"
            )
        out[key] = _checked(item, key, parses, extractions[key])
    return out


def _checked(
    item: Any, key: str, parses: Sequence[SentenceParse], sentences: Sequence[SentenceExtraction]
) -> tuple[LensSentence, ...]:
    lenses = tuple(getattr(item, "sentences", ()))
    if not hasattr(item, "sentences") or not all(hasattr(s, "top_ids") for s in lenses):
        raise TypeError(
            f"logit_lens must be trfviz.measures.logit_lens results; got {type(item).__name__}"
        )
    if len(lenses) != len(parses):
        raise ValueError(
            f"logit lens of {key}: {len(lenses)} sentences for {len(parses)}; compute it on "
            "the same Doc as the attention"
        )
    for i, (parse, lens, extracted) in enumerate(zip(parses, lenses, sentences, strict=True)):
        if tuple(lens.tokens) != tuple(parse.words) or int(lens.start) != int(extracted.start):
            raise ValueError(
                f"logit lens of {key}: sentence {i} has other tokens than the attention "
                f"(starts at token {lens.start}, not {extracted.start}); compute it on the "
                "same Doc"
            )
        shape = (len(lens.layers), len(lens.tokens))
        if np.shape(lens.top_ids)[:2] != shape or np.shape(lens.next_prob) != shape:
            raise ValueError(
                f"logit lens of {key}: sentence {i} must be [layer, token, k] over {shape}, "
                f"got {np.shape(lens.top_ids)}"
            )
    if any(_attends_ahead(s) for s in sentences):
        raise ValueError(
            f"logit lens for {key!r}: its attention reaches later words, so it is not a causal "
            "language model; the logit lens reads a causal model's next-word guesses (give it "
            "for a model such as SmolLM2)"
        )
    return lenses


def _attends_ahead(sentence: SentenceExtraction) -> bool:
    """True if some word attends to a word two or more ahead (an encoder, not a decoder).

    Two ahead, not one: a piece that two spaCy tokens share (GPT-2's ``isn`` of
    ``is`` ``n't``) lets a causal model's pooled word reach the next one.
    """
    if sentence.attention is None:
        return False
    n = len(sentence.tokens)
    words = np.asarray(sentence.attention)[..., :n, :n]
    return bool(np.triu(words.max(axis=(0, 1)), k=2).max(initial=0.0) > 1e-4)


def _bytes(values: Any, dtype: str) -> bytes:
    """``values`` flattened, row-major, as little-endian bytes (sent as a binary buffer)."""
    return np.ascontiguousarray(np.asarray(values).ravel(), dtype=np.dtype(dtype)).tobytes()


def pack_lens(lens: LensSentence, *, model: str = "") -> dict[str, Any]:
    """One sentence's logit-lens table, as the panel draws it.

    Returns:
        ``{"model", "layers" ([row], 0 the embeddings), "n" (tokens), "k" (guesses kept),
        "strings" (the distinct guesses and next words, each once), "next" ([token]: index
        of the actual next word in ``strings``, -1 for none), and as little-endian bytes,
        each ``[layer × token]`` row-major: "top" (int32: index of the top-1 guess in
        ``strings``, -1 where unseen), "prob" (float32: its probability, NaN where
        unseen), "next_prob" (float32: the actual next word's, NaN where there is none)
        and "next_rank" (int32, -1 where there is none)}``: the lens's own numbers, bit for bit.
    """
    top_ids = np.asarray(lens.top_ids)[..., 0]
    strings: dict[str, int] = {}

    def index(text: str) -> int:
        return strings.setdefault(text, len(strings))

    top = [
        index(lens.top_pieces[row][col][0]) if top_ids[row, col] >= 0 else -1
        for row in range(top_ids.shape[0])
        for col in range(top_ids.shape[1])
    ]
    following = [
        index(p) if int(i) >= 0 else -1
        for p, i in zip(lens.next_pieces, lens.next_ids, strict=True)
    ]
    return {
        "model": model,
        "layers": [int(x) for x in lens.layers],
        "n": len(lens.tokens),
        "k": int(np.shape(lens.top_ids)[-1]),
        "strings": list(strings),
        "next": following,
        "top": _bytes(top, "<i4"),
        "prob": _bytes(np.asarray(lens.top_probs)[..., 0], "<f4"),
        "next_prob": _bytes(lens.next_prob, "<f4"),
        "next_rank": _bytes(lens.next_rank, "<i4"),
    }


def lens_payload(
    sentence: int, shown: Mapping[str, LensSentence], available: Sequence[str]
) -> dict[str, Any]:
    """The explorer's ``_logit_lens``: which models have a lens, and each shown one's table.

    Args:
        sentence: the sentence's index.
        shown: per model key shown with a lens, its sentence (empty while the panel is closed).
        available: every model key with a lens.
    """
    return {
        "sentence": int(sentence),
        "available": list(available),
        "panels": [pack_lens(lens, model=key) for key, lens in shown.items()],
    }
