"""The aligned-tokenization view as HTML: each spaCy token, and each model's pieces under it.

A CSS grid with one column per spaCy token and one row per model; pieces are
coloured by kind (the palette's piece colours), and the pieces joined by a
shared piece share one cell spanning their tokens' columns. Every token,
piece, model name and title is HTML-escaped; the markup around them comes
from ``templates/aligned_tokenization.html`` and ``css/aligned_tokenization.css``.

Example
-------
>>> from trfviz.alignment import align_spans
>>> a = align_spans([(0, 2), (2, 5)], [(0, 3), (3, 5)])
>>> view = render_aligned_tokenization_html(["is", "n't"], {"GPT-2": (["isn", "'t"], a)})
>>> "shared" in view._repr_html_()
True
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trfviz.atomic import write_bytes_atomically
from trfviz.html.resources import stylesheet, template
from trfviz.palette import PIECE_COLORS

if TYPE_CHECKING:
    from trfviz.figures.pieces import ModelPieces, PieceRow

__all__ = ["AlignedTokenizationHTML", "render_aligned_tokenization_html"]

_escape = functools.partial(html.escape, quote=True)


@dataclass(frozen=True)
class AlignedTokenizationHTML:
    """The aligned-tokenization view as HTML; notebooks render it, ``.html`` holds it."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str | Path) -> Path:
        """The path written: a standalone HTML page holding the view (written atomically)."""
        page = template("page").substitute(body=self.html) + "\n"
        return write_bytes_atomically(path, page.encode("utf-8"))


def render_aligned_tokenization_html(
    tokens: Sequence[str],
    models: ModelPieces,
    *,
    raw: bool = False,
    title: str | None = None,
) -> AlignedTokenizationHTML:
    """An object with ``_repr_html_``: the aligned tokenization as an HTML grid.

    Args:
        tokens: the spaCy tokens of one sentence.
        models: per model name, its wordpieces and their
            :class:`~trfviz.alignment.Alignment` to ``tokens``
            (:func:`trfviz.figures.aligned_tokenization_from` makes it).
        raw: show pieces as the tokenizer spells them (``Ġold``, ``##ing``).
        title: text above the grid.

    Token and piece text is HTML-escaped. Hovering a piece shows the tokens it covers.
    """
    # Imported here: trfviz.figures re-exports this module, so importing it at the top
    # would make the two packages import each other.
    from trfviz.figures.pieces import KIND_LEGEND, piece_rows, row_label

    rows = piece_rows(tokens, models, raw)
    grid = ["<div class='name'>spaCy</div>"]
    grid += [
        f"<div class='token' title='token {i}'>{_escape(t)}</div>" for i, t in enumerate(tokens)
    ]
    for row in rows:
        grid.append(f"<div class='name'>{_escape(row_label(row, ' special'))}</div>")
        grid += _cells(tokens, row)
    legend = "".join(
        f"<span><span class='swatch' style='background:{PIECE_COLORS[kind]}'>&nbsp;&nbsp;"
        f"</span> {_escape(text)}</span>"
        for kind, text in KIND_LEGEND.items()
    )
    markup = template("aligned_tokenization").substitute(
        css=stylesheet("aligned_tokenization", **PIECE_COLORS),
        title=f"<div style='font-weight:600;margin:4px'>{_escape(title)}</div>" if title else "",
        n_tokens=len(tokens),
        grid="".join(grid),
        legend=legend,
    )
    return AlignedTokenizationHTML(markup)


def _cells(tokens: Sequence[str], row: PieceRow) -> list[str]:
    """One model's cells; a cell runs over the tokens joined by shared pieces."""
    cells = []
    t = 0
    while t < len(tokens):
        end = t + 1
        k = t
        while k < end:
            for p in row.columns[k]:
                end = max(end, row.spans[p][1] + 1)
            k += 1
        pieces = sorted({p for c in range(t, end) for p in row.columns[c]})
        spans = "".join(
            f"<span class='piece {row.kinds[p]}' title='{_escape(_covers(tokens, row, p))}'>"
            f"{_escape(row.texts[p])}</span>"
            for p in pieces
        )
        if not pieces:
            spans = "<span class='missing' title='no piece covers this token'>∅</span>"
        cells.append(f"<div class='cell' style='grid-column:span {end - t}'>{spans}</div>")
        t = end
    return cells


def _covers(tokens: Sequence[str], row: PieceRow, piece: int) -> str:
    first, last = row.spans[piece]
    return f"{row.kinds[piece]} piece of: " + " ".join(tokens[first : last + 1])
