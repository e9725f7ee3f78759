"""Which wordpiece is what, and how it is shown: the plain data of the aligned-tokenization views.

A piece is **whole** (the token is exactly one piece), **split** (one of
several pieces of one token), **shared** (it covers several spaCy tokens:
spaCy's ``is`` ``n't`` against GPT-2's ``isn`` ``'t``) or **special**
(``[CLS]``). :func:`piece_rows` turns each model's pieces and
:class:`~trfviz.alignment.Alignment` into a :class:`PieceRow`, which the
figure (:mod:`trfviz.figures.tokenization`) and the HTML
(:mod:`trfviz.html.tokenization`) both draw.

>>> display_piece("Ġold", byte_level=True), display_piece("##ing")
('␣old', '##ing')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from trfviz.alignment import Alignment

if TYPE_CHECKING:
    from trfviz.extraction import SentenceExtraction

__all__ = [
    "KIND_LEGEND",
    "ModelPieces",
    "PieceKind",
    "PieceRow",
    "aligned_tokenization_from",
    "classify_pieces",
    "display_piece",
    "is_byte_level",
    "piece_rows",
    "row_label",
]

PieceKind = Literal["whole", "split", "shared", "special"]
ModelPieces = Mapping[str, tuple[Sequence[str], Alignment]]

#: What each colour of piece means, for the legends.
KIND_LEGEND = {
    "whole": "one piece = one token",
    "split": "piece of a split token",
    "shared": "piece shared by several tokens",
}


def aligned_tokenization_from(
    sentences: Mapping[str, SentenceExtraction],
) -> tuple[tuple[str, ...], dict[str, tuple[tuple[str, ...], Alignment]]]:
    """``(tokens, models)`` for the two views, from one sentence as each model extracted it.

    >>> tokens, models = aligned_tokenization_from(
    ...     {"MiniLM": ext_a.sentences[0], "SmolLM2": ext_b.sentences[0]})  # doctest: +SKIP
    >>> plot_aligned_tokenization(tokens, models)  # doctest: +SKIP
    """
    if not sentences:
        raise ValueError("no sentences given")
    tokens = next(iter(sentences.values())).tokens
    for name, sentence in sentences.items():
        if sentence.tokens != tokens:
            raise ValueError(f"{name!r} has other spaCy tokens than the first model")
    models = {name: (s.pieces, s.alignment) for name, s in sentences.items()}
    return tokens, models


def classify_pieces(alignment: Alignment) -> list[PieceKind]:
    """The kind of every piece: ``whole``, ``split``, ``shared`` or ``special``."""
    piece_counts = alignment.piece_counts
    token_counts = alignment.token_counts
    kinds: list[PieceKind] = []
    for p in range(alignment.n_pieces):
        if alignment.special[p]:
            kinds.append("special")
        elif piece_counts[p] > 1:
            kinds.append("shared")
        elif piece_counts[p] == 1 and token_counts[alignment.tokens_of(p)[0]] > 1:
            kinds.append("split")
        else:
            kinds.append("whole")
    return kinds


@functools.lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-unicode table, inverted: printable character → byte."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes, strict=True)}


def is_byte_level(pieces: Sequence[str]) -> bool:
    """Whether pieces look like byte-level BPE (a piece starts with ``Ġ``, GPT-2's space)."""
    return any(p.startswith("Ġ") or p.startswith("Ċ") for p in pieces)


def display_piece(piece: str, *, byte_level: bool = False) -> str:
    """The piece as shown: byte-level BPE decoded, leading space as ``␣``, newline as ``↵``.

    >>> display_piece("Ġold", byte_level=True), display_piece("âĢĻ", byte_level=True)
    ('␣old', '’')
    >>> display_piece("##ing"), display_piece("▁the"), display_piece("ĠðŁĺ", byte_level=True)
    ('##ing', '␣the', '␣<F0 9F 98>')
    """
    if byte_level:
        table = _byte_decoder()
        if all(c in table for c in piece):
            # Bytes of an incomplete UTF-8 character become lone surrogates, shown as hex.
            piece = bytes(table[c] for c in piece).decode("utf-8", errors="surrogateescape")
    elif piece.startswith("▁"):
        piece = " " + piece[1:]
    piece = piece.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")
    return re.sub(
        "[\udc80-\udcff]+",
        lambda m: "<" + " ".join(f"{ord(c) - 0xDC00:02X}" for c in m.group()) + ">",
        piece,
    )


@dataclass(frozen=True)
class PieceRow:
    """One model's pieces, ready to lay out."""

    name: str
    texts: tuple[str, ...]  # shown text per piece
    kinds: tuple[PieceKind, ...]
    columns: tuple[tuple[int, ...], ...]  # per token, its pieces in order
    spans: tuple[tuple[int, int], ...]  # per piece, first and last token (-1 for none)
    n_special: int


def piece_rows(tokens: Sequence[str], models: ModelPieces, raw: bool) -> list[PieceRow]:
    """One row per model: its pieces as shown, their kinds, and which tokens they cover."""
    rows = []
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of token texts, not one string")
    if not isinstance(models, Mapping):
        raise TypeError(
            "models must map a model name to (pieces, alignment); "
            "aligned_tokenization_from(sentence_extractions) makes one"
        )
    for name, value in models.items():
        if (
            not isinstance(value, tuple | list)
            or len(value) != 2
            or not isinstance(value[1], Alignment)
        ):
            raise TypeError(
                f"models[{name!r}] must be (pieces, trfviz.Alignment); got {type(value).__name__}"
            )
    for name, (pieces, alignment) in models.items():
        if alignment.n_tokens != len(tokens) or alignment.n_pieces != len(pieces):
            raise ValueError(
                f"{name!r}: alignment is {alignment.n_tokens} tokens x {alignment.n_pieces} "
                f"pieces; got {len(tokens)} tokens and {len(pieces)} pieces"
            )
        byte_level = is_byte_level(pieces)
        texts = tuple(p if raw else display_piece(p, byte_level=byte_level) for p in pieces)
        spans = []
        for p in range(alignment.n_pieces):
            owners = alignment.tokens_of(p)
            spans.append((int(owners.min()), int(owners.max())) if len(owners) else (-1, -1))
        rows.append(
            PieceRow(
                name=name,
                texts=texts,
                kinds=tuple(classify_pieces(alignment)),
                columns=tuple(
                    tuple(int(p) for p in alignment.pieces_of(t)) for t in range(len(tokens))
                ),
                spans=tuple(spans),
                n_special=int(alignment.special.sum()),
            )
        )
    return rows


def row_label(row: PieceRow, special: str = "") -> str:
    """The model's name, with the number of special pieces left out (``BERT (+2)``)."""
    return row.name + (f" (+{row.n_special}{special})" if row.n_special else "")


def piece_share(row: PieceRow, piece: int) -> int:
    """How many tokens ``piece`` covers (at least 1)."""
    first, last = row.spans[piece]
    return max(last - first + 1, 1)
