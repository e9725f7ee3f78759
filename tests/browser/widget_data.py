"""Synthetic, hand-built inputs for the attention explorer: no model, no spaCy pipeline.

Used by the widget's unit tests, its browser tests and its benchmark, so that the
widget can be driven without loading a transformer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trfviz.alignment import align_spans
from trfviz.extraction import SentenceExtraction
from trfviz.parse import Arc, EntitySpan, SentenceParse

#: A sentence with a parse and an entity.
TELESCOPE = (
    ["Anna", "saw", "the", "man", "with", "the", "telescope", "."],
    [1, 1, 3, 1, 3, 6, 4, 1],
    ["nsubj", "ROOT", "det", "dobj", "prep", "det", "pobj", "punct"],
    [(0, 1, "PERSON")],
)
#: Token text that must be shown as text and never run.
NASTY = (
    ["<script>alert(1)</script>", "is", "<b>", "&amp;", "text"],
    [1, 1, 4, 4, 1],
    ["nsubj", "ROOT", "amod", "amod", "attr"],
    [(2, 3, "ORG")],
)


def make_parse(
    words: Sequence[str],
    heads: Sequence[int],
    deps: Sequence[str],
    entities: Sequence[tuple[int, int, str]] = (),
) -> SentenceParse:
    """A SentenceParse from CoNLL-style heads (a token whose head is itself is the root)."""
    arcs = tuple(
        Arc(h, d, dep) for d, (h, dep) in enumerate(zip(heads, deps, strict=True)) if h != d
    )
    return SentenceParse(
        words=tuple(words),
        tags=tuple("X" for _ in words),
        arcs=arcs,
        entities=tuple(EntitySpan(s, e, label) for s, e, label in entities),
    )


def make_extraction(
    words: Sequence[str],
    *,
    n_layers: int = 2,
    n_heads: int = 3,
    specials: Sequence[str] = ("[CLS]", "[SEP]"),
    split_every: int = 3,
    causal: bool = False,
    seed: int = 0,
) -> SentenceExtraction:
    """A SentenceExtraction with random row-stochastic attention over words + specials.

    Every ``split_every``-th word (of 3+ characters) is split into two pieces;
    the special pieces come first and last like BERT's.
    """
    rng = np.random.default_rng(seed)
    text_spans, pieces, piece_spans = [], [], []
    special_mask = []
    position = 0
    if specials:
        pieces.append(specials[0])
        piece_spans.append((0, 0))
        special_mask.append(True)
    for i, word in enumerate(words):
        text_spans.append((position, position + len(word)))
        if split_every and i % split_every == 1 and len(word) >= 3:
            cut = len(word) // 2
            pieces += [word[:cut], "##" + word[cut:]]
            piece_spans += [(position, position + cut), (position + cut, position + len(word))]
            special_mask += [False, False]
        else:
            pieces.append(word)
            piece_spans.append((position, position + len(word)))
            special_mask.append(False)
        position += len(word) + 1
    for name in specials[1:]:
        pieces.append(name)
        piece_spans.append((0, 0))
        special_mask.append(True)
    alignment = align_spans(text_spans, piece_spans, special_mask)
    n = len(words) + len(specials)
    logits = rng.normal(size=(n_layers, n_heads, n, n)) * 2.0
    if causal:
        logits = np.where(np.tril(np.ones((n, n), dtype=bool)), logits, -np.inf)
    attention = np.exp(logits - logits.max(axis=-1, keepdims=True))
    attention = (attention / attention.sum(axis=-1, keepdims=True)).astype(np.float32)
    states = rng.normal(size=(n_layers + 1, len(words), 8)).astype(np.float32)
    return SentenceExtraction(
        start=0,
        tokens=tuple(words),
        pieces=tuple(pieces),
        alignment=alignment,
        attention=attention,
        states=states,
        special_labels=tuple(specials),
    )


def make_document(
    sentences: Sequence[tuple] = (TELESCOPE, NASTY),
) -> tuple[tuple[SentenceParse, ...], dict[str, list[SentenceExtraction]]]:
    """Parses of ``sentences`` and two synthetic models' extractions of them.

    ``tiny-bert`` has 2 layers x 3 heads and [CLS]/[SEP]; ``tiny-gpt`` has
    4 layers x 2 heads, causal attention and no special tokens.
    """
    parses = tuple(make_parse(*s) for s in sentences)
    bert, gpt = [], []
    start = 0
    for i, parse in enumerate(parses):
        b = make_extraction(parse.words, seed=i)
        g = make_extraction(
            parse.words, n_layers=4, n_heads=2, specials=(), split_every=2, causal=True, seed=10 + i
        )
        bert.append(_moved(b, start))
        gpt.append(_moved(g, start))
        start += len(parse.words)
    return parses, {"tiny-bert": bert, "tiny-gpt": gpt}


def _moved(sentence: SentenceExtraction, start: int) -> SentenceExtraction:
    from dataclasses import replace

    return replace(sentence, start=start)
