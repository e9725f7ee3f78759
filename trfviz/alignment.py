"""Alignment between spaCy tokens and a model's wordpieces, by character overlap.

The alignment of one sentence is many-to-many: a wordpiece may cover several
spaCy tokens (spaCy splits ``isn't`` into ``is`` ``n't``, GPT-2 into ``isn``
``'t``) and a spaCy token is usually covered by several wordpieces. It is
stored ragged, as flat ``(token, piece)`` pairs sorted by token, the way
spacy-transformers stores its ``Ragged`` alignments.

Rules, in order:

1. A special piece (``[CLS]``, ``</s>``, XLNet's trailing ``<cls>``) is aligned
   to no spaCy token; it is flagged in :attr:`Alignment.special`.
2. A piece is aligned to exactly the spaCy tokens whose characters its
   character span overlaps. Leading spaces in byte-level BPE and SentencePiece
   spans overlap no token's characters and so change nothing.
3. A piece that overlaps no token's characters (a lone SentencePiece ``▁``, a
   piece for a space that spaCy left out of every token) is attached to the
   next token that some piece overlaps, or to the last such token at the end of
   the sentence, and flagged in :attr:`Alignment.orphan`: every non-special
   piece belongs somewhere, and never to a token whose characters were dropped.
   (If no token keeps any character, orphans stay unaligned.)
4. A spaCy token that no piece covers (a lone zero-width space the tokenizer
   dropped, a token past the model's maximum length) is flagged in
   :attr:`Alignment.missing` rather than guessed.

Example
-------
>>> import numpy as np
>>> tokens = np.array([[0, 2], [2, 5]])          # "is" "n't" in "isn't"
>>> pieces = np.array([[0, 0], [0, 3], [3, 5], [0, 0]])  # [CLS] isn 't [SEP]
>>> special = np.array([True, False, False, True])
>>> a = align_spans(tokens, pieces, special)
>>> [a.pieces_of(i).tolist() for i in range(a.n_tokens)]
[[1], [1, 2]]
>>> a.tokens_of(1).tolist(), a.tokens_of(0).tolist()
([0, 1], [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Alignment", "align_spans", "align_spans_batch", "align_texts"]


@dataclass(frozen=True)
class Alignment:
    """Many-to-many map between ``n_tokens`` spaCy tokens and ``n_pieces`` wordpieces.

    Attributes:
        pairs: int32 ``[n_pairs, 2]`` of ``(token, piece)``, sorted by token then
            piece. Special pieces appear in no pair.
        n_tokens: number of spaCy tokens in the sentence.
        n_pieces: number of wordpieces, special pieces included.
        special: bool ``[n_pieces]``: the piece is a special/boundary token.
        orphan: bool ``[n_pieces]``: the piece overlaps no token's characters and
            was attached to its neighbour (rule 3 of the module docs).
        missing: bool ``[n_tokens]``: no piece covers the token.
    """

    pairs: np.ndarray
    n_tokens: int
    n_pieces: int
    special: np.ndarray
    orphan: np.ndarray
    missing: np.ndarray

    def __post_init__(self) -> None:
        if self.pairs.ndim != 2 or self.pairs.shape[1] != 2:
            raise ValueError(f"pairs must have shape [n_pairs, 2], got {self.pairs.shape}")
        if self.special.shape != (self.n_pieces,) or self.orphan.shape != (self.n_pieces,):
            raise ValueError("special and orphan must have shape [n_pieces]")
        if self.missing.shape != (self.n_tokens,):
            raise ValueError("missing must have shape [n_tokens]")

    @property
    def token_counts(self) -> np.ndarray:
        """int64 ``[n_tokens]``: how many pieces each token is aligned to."""
        return np.bincount(self.pairs[:, 0], minlength=self.n_tokens)

    @property
    def piece_counts(self) -> np.ndarray:
        """int64 ``[n_pieces]``: how many tokens each piece is aligned to (0 for specials)."""
        return np.bincount(self.pairs[:, 1], minlength=self.n_pieces)

    def pieces_of(self, token: int) -> np.ndarray:
        """Indices of the pieces aligned to one token, ascending."""
        starts = np.searchsorted(self.pairs[:, 0], [token, token + 1])
        return self.pairs[starts[0] : starts[1], 1]

    def tokens_of(self, piece: int) -> np.ndarray:
        """Indices of the tokens one piece is aligned to, ascending."""
        return self.pairs[self.pairs[:, 1] == piece, 0]

    def incidence(self) -> np.ndarray:
        """bool ``[n_tokens, n_pieces]``: True where token and piece are aligned."""
        matrix = np.zeros((self.n_tokens, self.n_pieces), dtype=bool)
        matrix[self.pairs[:, 0], self.pairs[:, 1]] = True
        return matrix

    def truncate(self, n_tokens: int) -> Alignment:
        """The alignment restricted to the first ``n_tokens`` tokens (pieces kept)."""
        keep = self.pairs[:, 0] < n_tokens
        return Alignment(
            pairs=self.pairs[keep],
            n_tokens=n_tokens,
            n_pieces=self.n_pieces,
            special=self.special,
            orphan=self.orphan,
            missing=self.missing[:n_tokens],
        )


def align_spans(
    token_spans: np.ndarray | Sequence[tuple[int, int]],
    piece_spans: np.ndarray | Sequence[tuple[int, int]],
    special: np.ndarray | Sequence[bool] | None = None,
) -> Alignment:
    """Align wordpieces to tokens by character overlap.

    Args:
        token_spans: ``[n_tokens, 2]`` start/end character offsets of the spaCy
            tokens, sorted and non-overlapping (as spaCy gives them).
        piece_spans: ``[n_pieces, 2]`` start/end character offsets of the pieces,
            in the same string, as a fast tokenizer's ``offset_mapping`` gives them.
        special: ``[n_pieces]`` True for special pieces (``special_tokens_mask``).

    Returns:
        The :class:`Alignment`; see the module docs for the rules.
    """
    specials = None if special is None else [special]
    (alignment,) = align_spans_batch([token_spans], [piece_spans], specials)
    return alignment


def align_spans_batch(
    token_spans: Sequence[np.ndarray | Sequence[tuple[int, int]]],
    piece_spans: Sequence[np.ndarray | Sequence[tuple[int, int]]],
    specials: Sequence[np.ndarray | Sequence[bool]] | None = None,
) -> list[Alignment]:
    """:func:`align_spans` for many sentences at once, one :class:`Alignment` each.

    The same rules, computed in one vectorised pass over all sentences (each
    sentence's offsets are shifted into a character range of its own), which
    is much faster than a call per sentence for thousands of short ones.
    Arguments are per-sentence sequences of :func:`align_spans`' arguments.
    """
    n_sentences = len(token_spans)
    if len(piece_spans) != n_sentences or (specials is not None and len(specials) != n_sentences):
        raise ValueError("token_spans, piece_spans and specials must have one entry per sentence")
    if n_sentences == 0:
        return []
    tokens = [np.asarray(t, dtype=np.int64).reshape(-1, 2) for t in token_spans]
    pieces = [np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in piece_spans]
    n_tok = np.array([len(t) for t in tokens], dtype=np.int64)
    n_pc = np.array([len(p) for p in pieces], dtype=np.int64)
    if specials is None:
        is_special = np.zeros(int(n_pc.sum()), dtype=bool)
    else:
        masks = [np.asarray(s, dtype=bool) for s in specials]
        for mask, n in zip(masks, n_pc, strict=True):
            if mask.shape != (n,):
                raise ValueError(f"special has shape {mask.shape}, expected ({n},)")
        is_special = np.concatenate(masks)
    tok_start = np.concatenate([[0], np.cumsum(n_tok)])
    pc_start = np.concatenate([[0], np.cumsum(n_pc)])
    tok_sentence = np.repeat(np.arange(n_sentences), n_tok)
    pc_sentence = np.repeat(np.arange(n_sentences), n_pc)
    all_tokens = np.concatenate(tokens)
    all_pieces = np.concatenate(pieces)
    # Shift every sentence into a character range of its own, one apart from the
    # next, so one searchsorted over all sentences never crosses a sentence boundary.
    extent = np.zeros(n_sentences, dtype=np.int64)
    np.maximum.at(extent, tok_sentence, all_tokens.max(axis=1, initial=0))
    np.maximum.at(extent, pc_sentence, all_pieces.max(axis=1, initial=0))
    base = np.concatenate([[0], np.cumsum(extent + 1)[:-1]])
    all_tokens = all_tokens + base[tok_sentence, None]
    all_pieces = all_pieces + base[pc_sentence, None]
    same_sentence = tok_sentence[1:] == tok_sentence[:-1]
    if np.any(same_sentence & (all_tokens[1:, 0] < all_tokens[:-1, 1])):
        raise ValueError("token spans must be sorted and must not overlap")

    starts, ends = all_pieces[:, 0], all_pieces[:, 1]
    # First token ending after the piece starts, last token starting before it ends.
    first = np.searchsorted(all_tokens[:, 1], starts, side="right")
    last = np.searchsorted(all_tokens[:, 0], ends, side="left") - 1
    counts = np.where(ends > starts, last - first + 1, 0).clip(min=0)
    orphan = (counts == 0) & ~is_special & (n_tok > 0)[pc_sentence]
    counts = np.where(orphan | is_special, 0, counts)
    if orphan.any():
        # Tokens some piece really overlaps; orphans go to the next of them in their
        # sentence (or its last), never to a token whose characters were dropped.
        edges = np.zeros(len(all_tokens) + 1, dtype=np.int64)
        np.add.at(edges, first[counts > 0], 1)
        np.add.at(edges, (first + counts)[counts > 0], -1)
        covered = np.flatnonzero(np.cumsum(edges[:-1]) > 0)
        if covered.size:
            lost = np.flatnonzero(orphan)
            sentence = pc_sentence[lost]
            after = np.searchsorted(covered, first[lost])
            following = covered[after.clip(max=covered.size - 1)]
            preceding = covered[(after - 1).clip(min=0)]
            use_next = (after < covered.size) & (following < tok_start[sentence + 1])
            use_prev = ~use_next & (after > 0) & (preceding >= tok_start[sentence])
            attach = use_next | use_prev
            first[lost[attach]] = np.where(use_next, following, preceding)[attach]
            counts[lost[attach]] = 1

    piece_index = np.repeat(np.arange(len(all_pieces)), counts)
    within = np.arange(len(piece_index)) - np.repeat(np.cumsum(counts) - counts, counts)
    token_index = first[piece_index] + within
    if np.any(token_index[1:] < token_index[:-1]):
        # Pieces in text order usually give pairs already sorted by token then piece.
        order = np.lexsort((piece_index, token_index))
        token_index, piece_index = token_index[order], piece_index[order]
    missing = np.bincount(token_index, minlength=len(all_tokens)) == 0
    pair_sentence = tok_sentence[token_index]
    pairs = np.stack(
        [token_index - tok_start[pair_sentence], piece_index - pc_start[pair_sentence]], axis=1
    ).astype(np.int32)
    pair_start = np.searchsorted(token_index, tok_start)
    # Copies, not views: one kept sentence must not keep the whole batch alive.
    return [
        Alignment(
            pairs=pairs[pair_start[i] : pair_start[i + 1]].copy(),
            n_tokens=int(n_tok[i]),
            n_pieces=int(n_pc[i]),
            special=is_special[pc_start[i] : pc_start[i + 1]].copy(),
            orphan=orphan[pc_start[i] : pc_start[i + 1]].copy(),
            missing=missing[tok_start[i] : tok_start[i + 1]].copy(),
        )
        for i in range(n_sentences)
    ]


def align_texts(
    tokens: Sequence[str],
    pieces: Sequence[str],
    special: np.ndarray | Sequence[bool] | None = None,
) -> Alignment:
    """Align pieces to tokens by their strings, for tokenizers that give no offsets.

    The fallback for slow tokenizers: piece markers (``##``, ``Ġ``, ``▁``) are
    stripped and the two tokenizations are aligned with spacy-alignments
    (case- and Unicode-normalisation insensitive). Prefer :func:`align_spans`.
    """
    from spacy_alignments import get_alignments

    is_special = (
        np.zeros(len(pieces), dtype=bool) if special is None else np.asarray(special, dtype=bool)
    )
    cleaned = [
        "" if is_special[i] else _strip_piece_marker(piece) for i, piece in enumerate(pieces)
    ]
    _, piece_to_tokens = get_alignments(list(tokens), cleaned)
    token_index = [t for p, ts in enumerate(piece_to_tokens) for t in ts]
    piece_index = [p for p, ts in enumerate(piece_to_tokens) for _ in ts]
    n_tokens, n_pieces = len(tokens), len(pieces)
    pairs = np.array([token_index, piece_index], dtype=np.int32).T.reshape(-1, 2)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    aligned = np.bincount(pairs[:, 1], minlength=n_pieces) > 0
    orphan = ~aligned & ~is_special
    if n_tokens and orphan.any():
        # Attach unmatched pieces to the token of the next aligned piece, as align_spans does.
        extra = []
        for p in np.flatnonzero(orphan):
            later = pairs[pairs[:, 1] > p, 0]
            extra.append((later.min() if len(later) else n_tokens - 1, p))
        pairs = np.concatenate([pairs, np.array(extra, dtype=np.int32)])
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    elif not n_tokens:
        orphan[:] = False
    return Alignment(
        pairs=pairs.astype(np.int32),
        n_tokens=n_tokens,
        n_pieces=n_pieces,
        special=is_special,
        orphan=orphan,
        missing=np.bincount(pairs[:, 0], minlength=n_tokens) == 0,
    )


def _strip_piece_marker(piece: str) -> str:
    for marker in ("##", "Ġ", "▁", "Ċ"):
        if piece.startswith(marker):
            return piece[len(marker) :]
    return piece
