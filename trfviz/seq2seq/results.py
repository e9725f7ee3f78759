"""What an encoder-decoder model gives for a source and a target, per spaCy token.

:class:`PairSide` is one side as the model read it (words, pieces, alignment,
parse); :class:`SentencePairExtraction` one pair of sides with encoder
self-attention, decoder self-attention, cross-attention and hidden states;
:class:`PairExtraction` all pairs of two Docs; :class:`GeneratedPair` a target
the model wrote, parsed, with its extraction. Arrays are unpadded float32 numpy
arrays. Produce them with :func:`trfviz.extract_pair` or :func:`trfviz.generate_pair`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from trfviz.alignment import Alignment
from trfviz.extraction import ExtractionOptions
from trfviz.parse import SentenceParse

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["GeneratedPair", "PairExtraction", "PairSide", "SentencePairExtraction"]


@dataclass(frozen=True)
class PairSide:
    """One side of a pair (source or target), as the model read it.

    Attributes:
        start: index in its Doc of the side's first token.
        tokens: the spaCy token texts, ``n_tokens`` of them.
        pieces: the wordpieces the model read, special pieces included. For the
            target these are the decoder input: the model's ``decoder_start``
            piece, then the target's pieces without its final end-of-sequence piece.
        alignment: the token/piece :class:`~trfviz.alignment.Alignment` over ``pieces``.
        parse: the side's words, dependency arcs and entities, for drawing.
        special_labels: the special pseudo-tokens after the words on this side's
            attention axes (empty when special tokens were dropped).
        truncated: the side was cut at the model's maximum length.
    """

    start: int
    tokens: tuple[str, ...]
    pieces: tuple[str, ...]
    alignment: Alignment
    parse: SentenceParse
    special_labels: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def n_tokens(self) -> int:
        """Number of spaCy tokens."""
        return len(self.tokens)

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of this side's attention axes: the words, then the special pseudo-tokens."""
        return self.tokens + self.special_labels

    @property
    def end(self) -> int:
        """Index in its Doc one past the side's last token."""
        return self.start + self.n_tokens


@dataclass(frozen=True)
class SentencePairExtraction:
    """Attention and hidden states of an encoder-decoder model on one source/target pair.

    ``S`` is ``len(source.labels)`` and ``T`` is ``len(target.labels)`` (words, then
    kept special pseudo-tokens); rows are the attending (query) side.

    Attributes:
        source, target: the two sides.
        encoder_attention: float32 ``[encoder_layer, encoder_head, S, S]``.
        decoder_attention: float32 ``[decoder_layer, decoder_head, T, T]`` (causal:
            a target word attends only to itself and the words before it).
        cross_attention: float32 ``[decoder_layer, decoder_head, T, S]``: from each
            target word to each source word.
        encoder_states: float32 ``[encoder_layer + 1, source_token, dim]`` (index 0
            the embeddings), or None.
        decoder_states: float32 ``[decoder_layer + 1, target_token, dim]``, or None.
    """

    source: PairSide
    target: PairSide
    encoder_attention: np.ndarray
    decoder_attention: np.ndarray
    cross_attention: np.ndarray
    encoder_states: np.ndarray | None = None
    decoder_states: np.ndarray | None = None


@dataclass(frozen=True)
class PairExtraction:
    """An encoder-decoder model's per-token attention for a source and a target Doc.

    Attributes:
        model: the model's name as the user gave it.
        revision: what identifies the weights.
        source_text, target_text: the two Docs' texts.
        pairs: one :class:`SentencePairExtraction` per pair, in order.
        pair_by: ``"sentence"`` (sentence ``i`` with sentence ``i``) or ``"doc"``.
        options: how pieces were pooled (``attention`` is always kept).
        encoder_layers, decoder_layers: layers of each stack.
        encoder_heads, decoder_heads: heads per layer of each stack.
    """

    model: str
    revision: str
    source_text: str
    target_text: str
    pairs: tuple[SentencePairExtraction, ...]
    pair_by: str = "sentence"
    options: ExtractionOptions = field(default_factory=ExtractionOptions)
    encoder_layers: int = 0
    decoder_layers: int = 0
    encoder_heads: int = 0
    decoder_heads: int = 0

    @property
    def cross_attention(self) -> tuple[np.ndarray, ...]:
        """Per pair, float32 ``[decoder_layer, decoder_head, T, S]``."""
        return tuple(p.cross_attention for p in self.pairs)


@dataclass(frozen=True)
class GeneratedPair:
    """A target the model generated from a source, parsed by spaCy, and the pair's extraction.

    Attributes:
        texts: the generated text of each source pair span, in order.
        target: the generated texts parsed by the pipeline, joined into one Doc
            (pair ``i``'s target is tokens ``extraction.pairs[i].target.start:end``).
        extraction: the extraction of the source with that target (teacher forcing
            on the parsed target, re-tokenized).
    """

    texts: tuple[str, ...]
    target: Doc
    extraction: PairExtraction
