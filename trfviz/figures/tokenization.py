"""How several models cut the same spaCy tokens into wordpieces, as a figure and as HTML.

Each spaCy token heads a column; beneath it, one row per model shows the
wordpieces that model cuts it into. A piece is coloured by what it is:

- **whole**: the token is exactly one piece;
- **split**: one of several pieces of one token;
- **shared**: a piece that covers several spaCy tokens (spaCy's ``is`` ``n't``
  against GPT-2's ``isn`` ``'t``: many-to-many alignment); in the figure its
  box spans the columns of every token it covers.

Byte-level BPE pieces are shown decoded (``Ġold`` as ``␣old``, ``âĢĻ`` as
``’``); a piece holding part of a multi-byte character is shown as its bytes
(``<F0 9F>``). Special pieces (``[CLS]``) are left out; pass ``raw=True`` to
see every piece as the tokenizer spells it.

Example
-------
>>> from trfviz.alignment import align_spans
>>> tokens = ["is", "n't"]
>>> a = align_spans([(0, 2), (2, 5)], [(0, 3), (3, 5)])
>>> html = render_aligned_tokenization_html(tokens, {"GPT-2": (["isn", "'t"], a)})
>>> "shared" in html._repr_html_()
True
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from trfviz.alignment import Alignment
from trfviz.figures.export import RIGID_ATTR
from trfviz.figures.layout import displayable, measure_text, new_figure
from trfviz.figures.style import PIECE_COLORS, Preset, get_preset, paper_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from trfviz.extraction import SentenceExtraction

__all__ = [
    "AlignedTokenizationHTML",
    "PieceKind",
    "aligned_tokenization_from",
    "classify_pieces",
    "display_piece",
    "plot_aligned_tokenization",
    "render_aligned_tokenization_html",
]

PieceKind = Literal["whole", "split", "shared", "special"]
ModelPieces = Mapping[str, tuple[Sequence[str], Alignment]]

_KIND_LEGEND = {
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
class _Row:
    """One model's pieces, ready to lay out."""

    name: str
    texts: tuple[str, ...]  # shown text per piece
    kinds: tuple[PieceKind, ...]
    columns: tuple[tuple[int, ...], ...]  # per token, its pieces in order
    spans: tuple[tuple[int, int], ...]  # per piece, first and last token (-1 for none)
    n_special: int


def _rows(tokens: Sequence[str], models: ModelPieces, raw: bool) -> list[_Row]:
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
            _Row(
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


def plot_aligned_tokenization(
    tokens: Sequence[str],
    models: ModelPieces,
    *,
    raw: bool = False,
    legend: bool = True,
    title: str | None = None,
    wrap: float | None = None,
    ax: Axes | None = None,
    preset: str | Preset | None = None,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: each spaCy token with each model's wordpieces beneath it.

    Args:
        tokens: the spaCy tokens of one sentence.
        models: per model name, its wordpieces for the sentence and their
            :class:`~trfviz.alignment.Alignment` to ``tokens``
            (see :func:`aligned_tokenization_from`).
        raw: show pieces as the tokenizer spells them (``Ġold``, ``##ing``).
        legend: explain the piece colours under the figure.
        title: text above the figure.
        wrap: break into blocks at most this many inches wide (default: the
            preset's width, else no wrapping); never inside a shared piece.
        ax: draw into these axes (scaled down to fit).
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).

    Every piece is a ``Rectangle`` with gid ``"piece-<model>-<index>"`` and
    every token a text with gid ``"token-<index>"``.
    """
    rows = _rows(tokens, models, raw)
    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else float(matplotlib.rcParams["font.size"])
        if wrap is None and preset is not None:
            wrap = get_preset(preset).width
        layout = _layout(tokens, rows, font, wrap, legend, title)
        if ax is not None:
            bbox = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            scale = min(1.0, bbox.width * 72 / layout.width, bbox.height * 72 / layout.height)
            if scale < 1.0:
                layout = _layout(
                    tokens, rows, font * scale, wrap / scale if wrap else None, legend, title
                )
        created = ax is None
        fig, ax = new_figure(ax, width=layout.width / 72, height=layout.height / 72, preset=preset)
        if created:
            ax.set_position((0.0, 0.0, 1.0, 1.0))
        setattr(fig, RIGID_ATTR, True)
        _draw(ax, tokens, rows, layout, legend, title)
    return fig, ax


@dataclass(frozen=True)
class _Layout:
    font: float
    width: float
    height: float
    label_width: float
    column_x: np.ndarray  # left edge of each token column, within its block
    column_w: np.ndarray
    slots: dict[tuple[int, int, int], tuple[float, float]]  # (row, token, piece) -> x0, x1
    blocks: tuple[tuple[int, int, float], ...]  # (first token, end token, top y)
    row_height: float
    block_height: float


def _layout(
    tokens: Sequence[str],
    rows: Sequence[_Row],
    font: float,
    wrap: float | None,
    legend: bool,
    title: str | None,
) -> _Layout:
    small = font * 0.85
    pad = font * 0.45
    n = len(tokens)
    piece_w = [[measure_text(t, small) + pad for t in row.texts] for row in rows]
    widths = np.array([measure_text(t, font, "bold") + pad for t in tokens])
    for r, row in enumerate(rows):
        for t, pieces in enumerate(row.columns):
            need = sum(piece_w[r][p] / _share(row, p) for p in pieces)
            widths[t] = max(widths[t], need)
    widths += font * 0.5  # gap between columns
    slots: dict[tuple[int, int, int], tuple[float, float]] = {}
    x = np.concatenate([[0.0], np.cumsum(widths)])[:-1]
    for r, row in enumerate(rows):
        for t, pieces in enumerate(row.columns):
            parts = np.array([piece_w[r][p] / _share(row, p) for p in pieces])
            inner = widths[t] - font * 0.5
            if not len(parts):
                continue
            edges = np.concatenate([[0.0], np.cumsum(parts / parts.sum() * inner)])
            for k, p in enumerate(pieces):
                slots[(r, t, p)] = (float(x[t] + edges[k]), float(x[t] + edges[k + 1]))
    label_width = (
        max([measure_text("spaCy", font, "bold")] + [measure_text(_label(r), font) for r in rows])
        + font
    )
    margin = font * 0.5
    # Break between tokens that no piece joins.
    joined = np.zeros(max(n - 1, 0), dtype=bool)
    for row in rows:
        for first, last in row.spans:
            if last > first:
                joined[first:last] = True

    def wrap_at(limit: float) -> list[int]:
        starts = [0]
        for t in range(1, n):
            if x[t] + widths[t] - x[starts[-1]] > limit and not joined[t - 1]:
                starts.append(t)
        return starts

    starts = [0]
    if wrap:
        limit = wrap * 72 - label_width - 2 * margin
        count = len(wrap_at(limit))
        low, high = limit / 2, limit
        for _ in range(12):  # the narrowest blocks that need no more of them: balanced
            middle = (low + high) / 2
            if len(wrap_at(middle)) <= count:
                high = middle
            else:
                low = middle
        starts = wrap_at(high)
    row_height = font * 1.9
    block_height = row_height * (len(rows) + 1) + font * 0.8
    top = font * 1.8 if title else font * 0.3
    blocks = []
    width = 0.0
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else n
        blocks.append((s, e, -(top + i * block_height)))
        width = max(width, float(x[e - 1] + widths[e - 1] - x[s]) if e > s else 0.0)
    total = label_width + width + 2 * margin
    legend_rows = len(_legend_rows(rows, small, total)) if legend else 0
    height = top + len(blocks) * block_height + font * 1.5 * legend_rows + margin
    return _Layout(
        font=font,
        width=total,
        height=height,
        label_width=label_width + margin,
        column_x=x,
        column_w=widths - font * 0.5,
        slots=slots,
        blocks=tuple(blocks),
        row_height=row_height,
        block_height=block_height,
    )


def _label(row: _Row) -> str:
    return row.name + (f" (+{row.n_special})" if row.n_special else "")


def _share(row: _Row, piece: int) -> int:
    first, last = row.spans[piece]
    return max(last - first + 1, 1)


def _draw(
    ax: Axes,
    tokens: Sequence[str],
    rows: Sequence[_Row],
    layout: _Layout,
    legend: bool,
    title: str | None,
) -> None:
    from matplotlib.patches import Rectangle

    font = layout.font
    small = font * 0.85
    ax.set_xlim(0, layout.width)
    ax.set_ylim(-layout.height, 0)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    if title:
        ax.text(
            layout.width / 2,
            -font * 0.3,
            title,
            ha="center",
            va="top",
            fontsize=font,
            parse_math=False,
            gid="title",
        )
    box_h = layout.row_height * 0.78
    for block_start, block_end, top in layout.blocks:
        shift = layout.label_width - layout.column_x[block_start]
        y = top - layout.row_height / 2
        ax.text(
            font * 0.5,
            y,
            "spaCy",
            ha="left",
            va="center",
            fontsize=font,
            fontweight="bold",
            parse_math=False,
        )
        for t in range(block_start, block_end):
            center = layout.column_x[t] + layout.column_w[t] / 2 + shift
            ax.text(
                center,
                y,
                displayable(tokens[t]),
                ha="center",
                va="center",
                fontsize=font,
                fontweight="bold",
                parse_math=False,
                gid=f"token-{t}",
            )
        for r, row in enumerate(rows):
            y = top - layout.row_height * (r + 1.5)
            ax.text(
                font * 0.5,
                y,
                _label(row),
                ha="left",
                va="center",
                fontsize=font,
                parse_math=False,
                gid=f"model-{r}",
            )
            drawn: set[int] = set()
            for t in range(block_start, block_end):
                if not row.columns[t]:
                    center = layout.column_x[t] + layout.column_w[t] / 2 + shift
                    ax.text(
                        center,
                        y,
                        "∅",
                        ha="center",
                        va="center",
                        fontsize=small,
                        color="#aa0000",
                        gid=f"missing-{r}-{t}",
                    )
                for p in row.columns[t]:
                    if p in drawn:
                        continue
                    drawn.add(p)
                    first, last = row.spans[p]
                    x0 = layout.slots[(r, max(first, block_start), p)][0] + shift
                    x1 = layout.slots[(r, min(last, block_end - 1), p)][1] + shift
                    inset = font * 0.08
                    ax.add_patch(
                        Rectangle(
                            (x0 + inset, y - box_h / 2),
                            x1 - x0 - 2 * inset,
                            box_h,
                            facecolor=PIECE_COLORS.get(row.kinds[p], "#ffffff"),
                            edgecolor="#555555" if row.kinds[p] == "shared" else "none",
                            linewidth=0.6,
                            gid=f"piece-{row.name}-{p}",
                        )
                    )
                    ax.text(
                        (x0 + x1) / 2,
                        y,
                        displayable(row.texts[p]),
                        ha="center",
                        va="center_baseline",
                        fontsize=small,
                        parse_math=False,
                        gid=f"piece-text-{row.name}-{p}",
                    )
    if legend:
        entries = _legend_rows(rows, small, layout.width)
        for i, entries_row in enumerate(entries):
            y = -layout.height + font * (0.9 + 1.5 * (len(entries) - 1 - i))
            for kind, text, x in entries_row:
                if kind in PIECE_COLORS:
                    ax.add_patch(
                        Rectangle(
                            (x, y - small * 0.45),
                            small,
                            small * 0.9,
                            facecolor=PIECE_COLORS[kind],
                            edgecolor="#555555" if kind == "shared" else "none",
                            linewidth=0.6,
                            gid=f"legend-{kind}",
                        )
                    )
                    x += small * 1.4
                ax.text(x, y, text, va="center", fontsize=small, color="#333333")


def _legend_rows(
    rows: Sequence[_Row], size: float, width: float
) -> list[list[tuple[str, str, float]]]:
    """Legend entries ``(kind, text, x)`` broken into lines that fit ``width`` points."""
    entries = list(_KIND_LEGEND.items())
    if any(row.n_special for row in rows):
        entries.append(("note", "(+n): special pieces not shown"))
    lines: list[list[tuple[str, str, float]]] = [[]]
    x = size * 0.6
    for kind, text in entries:
        step = (size * 1.4 if kind in PIECE_COLORS else 0.0) + measure_text(text, size)
        if lines[-1] and x + step > width - size * 0.6:
            lines.append([])
            x = size * 0.6
        lines[-1].append((kind, text, x))
        x += step + size * 1.2
    return lines


@dataclass(frozen=True)
class AlignedTokenizationHTML:
    """The aligned-tokenization view as HTML; notebooks render it, ``.html`` holds it."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str) -> None:
        """Writes a standalone HTML page."""
        from pathlib import Path

        Path(path).write_text(
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>{self.html}'
            "</body></html>\n",
            encoding="utf-8",
        )


_CSS = """
.trfviz-tok{display:grid;gap:3px 6px;font-family:sans-serif;font-size:13px;
  align-items:center;overflow-x:auto;padding:4px}
.trfviz-tok .name{font-weight:600;padding-right:8px;white-space:nowrap}
.trfviz-tok .token{font-weight:700;text-align:center;white-space:pre}
.trfviz-tok .cell{display:flex;gap:2px;justify-content:center}
.trfviz-tok .piece{padding:1px 4px;border-radius:3px;white-space:pre;font-size:12px}
.trfviz-tok .whole{background:%(whole)s}.trfviz-tok .split{background:%(split)s}
.trfviz-tok .shared{background:%(shared)s;outline:1px solid #555}
.trfviz-tok .missing{color:#a00}
.trfviz-tok-legend span{margin-right:12px;font-size:12px;font-family:sans-serif}
"""


def render_aligned_tokenization_html(
    tokens: Sequence[str],
    models: ModelPieces,
    *,
    raw: bool = False,
    title: str | None = None,
) -> AlignedTokenizationHTML:
    """An object with ``_repr_html_``: the aligned tokenization as an HTML grid.

    Token and piece text is HTML-escaped. Pieces joined by a shared piece share
    one cell spanning their tokens' columns; hovering a piece shows the tokens
    it covers.
    """
    esc = functools.partial(html.escape, quote=True)
    rows = _rows(tokens, models, raw)
    n = len(tokens)
    parts = [f"<style>{_CSS % PIECE_COLORS}</style>"]
    if title:
        parts.append(f"<div style='font-weight:600;margin:4px'>{esc(title)}</div>")
    parts.append(
        f"<div class='trfviz-tok' style='grid-template-columns:max-content "
        f"repeat({n}, max-content)'>"
    )
    parts.append("<div class='name'>spaCy</div>")
    parts += [f"<div class='token' title='token {i}'>{esc(t)}</div>" for i, t in enumerate(tokens)]
    for row in rows:
        label = row.name + (f" (+{row.n_special} special)" if row.n_special else "")
        parts.append(f"<div class='name'>{esc(label)}</div>")
        t = 0
        while t < n:
            # A cell runs over the tokens joined by shared pieces.
            end = t + 1
            for p in row.columns[t]:
                end = max(end, row.spans[p][1] + 1)
            k = t + 1
            while k < end:
                for p in row.columns[k]:
                    end = max(end, row.spans[p][1] + 1)
                k += 1
            pieces = sorted({p for c in range(t, end) for p in row.columns[c]})
            spans = "".join(
                f"<span class='piece {row.kinds[p]}' title='{esc(_covers(tokens, row, p))}'>"
                f"{esc(row.texts[p])}</span>"
                for p in pieces
            )
            if not pieces:
                spans = "<span class='missing' title='no piece covers this token'>∅</span>"
            parts.append(f"<div class='cell' style='grid-column:span {end - t}'>{spans}</div>")
            t = end
    parts.append("</div>")
    parts.append(
        "<div class='trfviz-tok-legend'>"
        + "".join(
            f"<span><span class='swatch' style='background:{PIECE_COLORS[k]}'>&nbsp;&nbsp;"
            f"</span> {esc(v)}</span>"
            for k, v in _KIND_LEGEND.items()
        )
        + "</div>"
    )
    return AlignedTokenizationHTML("".join(parts))


def _covers(tokens: Sequence[str], row: _Row, piece: int) -> str:
    first, last = row.spans[piece]
    return f"{row.kinds[piece]} piece of: " + " ".join(tokens[first : last + 1])
