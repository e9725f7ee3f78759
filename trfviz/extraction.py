"""What one model gives for a Doc: attention and hidden states per spaCy token.

:class:`SentenceExtraction` holds one sentence; :class:`Extraction` a whole Doc
as its sentences, with doc-level views stitched from them. Arrays are unpadded
float32 numpy arrays owned by the object (never views into a padded batch).
Produce them with :func:`trfviz.extract`. They survive spaCy's serialization
of ``Doc.user_data`` through the msgpack codec of :mod:`trfviz.extraction_codec`
(registered when trfviz is imported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from trfviz.alignment import Alignment
from trfviz.pooling.weights import (
    QUERY_POOLINGS,
    SPECIAL_TOKEN_MODES,
    STATE_POOLINGS,
    QueryPooling,
    SpecialTokens,
    StatePooling,
)
from trfviz.validation import IndexOutOfRangeError, check_bool, check_choice, check_index

__all__ = ["Extraction", "ExtractionOptions", "SentenceExtraction"]


@dataclass(frozen=True)
class ExtractionOptions:
    """How wordpiece outputs were pooled onto spaCy tokens (see :mod:`trfviz.pooling`).

    Attributes:
        attention: whether attention was kept.
        states: whether hidden states were kept.
        pooling: hidden-state pooling (``"weighted"`` is the spacy-transformers weighting).
        query_pooling: how a split word's attention rows are combined (Clark et al.: ``"mean"``).
        special_tokens: ``"keep"`` special pieces as pseudo-tokens, or ``"drop"`` them
            and renormalise rows.
        piece_attention: whether the raw wordpiece attention behind the pooled
            attention was kept too (:attr:`SentenceExtraction.piece_attention`);
            needs ``attention``.
    """

    attention: bool = True
    states: bool = True
    pooling: StatePooling = "weighted"
    query_pooling: QueryPooling = "mean"
    special_tokens: SpecialTokens = "keep"
    piece_attention: bool = False

    def __post_init__(self) -> None:
        # Checked once here, so every path that builds options (extract, storage) refuses
        # nonsense with one clear error instead of failing later inside pooling.
        check_bool("attention", self.attention)
        check_bool("states", self.states)
        check_choice("pooling", self.pooling, STATE_POOLINGS)
        check_choice("query_pooling", self.query_pooling, QUERY_POOLINGS)
        check_choice("special_tokens", self.special_tokens, SPECIAL_TOKEN_MODES)
        check_bool("piece_attention", self.piece_attention)
        if self.piece_attention and not self.attention:
            raise ValueError(
                "piece_attention=True keeps the wordpiece attention behind the pooled "
                "attention, so it needs attention=True"
            )


@dataclass(frozen=True)
class SentenceExtraction:
    """Attention and hidden states of one model on one sentence, per spaCy token.

    Attributes:
        start: index in the Doc of the sentence's first token.
        tokens: the spaCy token texts, ``n_tokens`` of them.
        pieces: the model's wordpieces for the sentence, ``n_pieces`` of them,
            special pieces included.
        alignment: the token/piece :class:`~trfviz.alignment.Alignment`.
        attention: float32 ``[layer, head, query, key]`` over ``labels`` (the
            spaCy tokens, then any special pseudo-tokens), or None.
        states: float32 ``[layer + 1, token, dim]`` over the spaCy tokens; index
            0 is the embedding output, index ``l`` the output of layer ``l``. Or None.
        special_labels: names of the special pseudo-tokens at the end of the
            attention axes (empty when special tokens were dropped).
        truncated: the sentence was longer than the model's maximum length;
            tokens past the limit are in ``missing``, with zero rows.
        piece_attention: the model's raw attention, float32 ``[layer, head,
            piece, piece]`` over ``pieces`` (special pieces included), before any
            pooling; ``trfviz.pooling.pool_attention(piece_attention, alignment,
            ...)`` with the extraction's options gives ``attention``. None unless
            extracted with ``piece_attention=True``. Kept as float32, not float16:
            it exists to check the pooled numbers, which float16 would blur
            (about 3 significant digits, weights under 6e-8 lost).
    """

    start: int
    tokens: tuple[str, ...]
    pieces: tuple[str, ...]
    alignment: Alignment
    attention: np.ndarray | None
    states: np.ndarray | None
    special_labels: tuple[str, ...] = ()
    truncated: bool = False
    piece_attention: np.ndarray | None = None

    @property
    def n_tokens(self) -> int:
        """Number of spaCy tokens."""
        return len(self.tokens)

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the attention axes: the tokens, then the special pseudo-tokens."""
        return self.tokens + self.special_labels

    @property
    def missing(self) -> np.ndarray:
        """bool ``[n_tokens]``: tokens no wordpiece covers (dropped characters, truncation)."""
        return self.alignment.missing

    @property
    def end(self) -> int:
        """Index in the Doc one past the sentence's last token."""
        return self.start + self.n_tokens


@dataclass(frozen=True)
class Extraction:
    """One model's per-token attention and hidden states for a whole Doc.

    Attributes:
        model: the model's name as the user gave it.
        revision: what identifies the weights (hub commit, package version, or
            a hash of the config), so stored results can be matched to them.
        text: the Doc's text.
        sentences: one :class:`SentenceExtraction` per sentence, in order.
        options: how pieces were pooled.
        n_layers: transformer layers; ``states`` have ``n_layers + 1``.
        n_heads: attention heads per layer.
    """

    model: str
    revision: str
    text: str
    sentences: tuple[SentenceExtraction, ...]
    options: ExtractionOptions = field(default_factory=ExtractionOptions)
    n_layers: int = 0
    n_heads: int = 0

    @property
    def attention(self) -> tuple[np.ndarray | None, ...]:
        """Per sentence, float32 ``[layer, head, query, key]`` over its tokens (see labels)."""
        return tuple(s.attention for s in self.sentences)

    @property
    def states(self) -> tuple[np.ndarray | None, ...]:
        """Per sentence, float32 ``[layer + 1, token, dim]``."""
        return tuple(s.states for s in self.sentences)

    @property
    def alignment(self) -> tuple[Alignment, ...]:
        """Per sentence, the token/piece alignment."""
        return tuple(s.alignment for s in self.sentences)

    @property
    def n_tokens(self) -> int:
        """Number of spaCy tokens in the Doc."""
        return sum(s.n_tokens for s in self.sentences)

    @property
    def missing(self) -> np.ndarray:
        """bool ``[n_tokens]`` over the Doc: tokens no wordpiece covers."""
        return _concat([s.missing for s in self.sentences], np.zeros(0, dtype=bool))

    @property
    def truncated(self) -> bool:
        """Whether any sentence was cut at the model's maximum length."""
        return any(s.truncated for s in self.sentences)

    def sentence_of(self, token: int) -> SentenceExtraction:
        """The sentence holding Doc token ``token`` (from 0; ``-1`` is the last token)."""
        token = check_index("token", token, self.n_tokens)
        for sentence in self.sentences:
            if sentence.start <= token < sentence.end:
                return sentence
        raise IndexOutOfRangeError(f"token {token} is outside the Doc's {self.n_tokens} tokens")

    def token_states(self, layer: int = -1) -> np.ndarray:
        """float32 ``[n_tokens, dim]``: one layer's states for every token of the Doc.

        ``layer`` 0 is the embedding output, ``l`` the output of layer ``l``; ``-1``
        (the default) is the last layer.
        """
        if not self.sentences:
            raise ValueError("the extraction has no sentences (its Doc was empty)")
        rows = []
        for sentence in self.sentences:
            if sentence.states is None:
                raise ValueError("this extraction kept no hidden states: extract with states=True")
            index = check_index("layer", layer, sentence.states.shape[0])
            rows.append(sentence.states[index])
        return np.concatenate(rows, axis=0)


def _concat(parts: Sequence[np.ndarray], empty: np.ndarray) -> np.ndarray:
    return np.concatenate(list(parts)) if parts else empty
