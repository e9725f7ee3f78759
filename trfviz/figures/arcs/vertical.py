"""Words written upwards on one line: the arcs figure when a sentence is too wide for its page.

When the window's words do not fit on one line with horizontal labels, the
figure keeps them on **one** line (one word axis, as the widget's aligned view
does) and writes each word rotated 90° in a column of its own, all columns as
wide: arcs leave from the column centres. :func:`vertical_columns` sizes the
columns for a width; :func:`vertical_capacity` says how many words a width
holds with words at least ``min_size`` points (more would be illegible: the
figure then shows a window of that many words and says so); words longer than
the column's depth allows are shortened with "…" (:func:`shorten`).

>>> vertical_capacity(9.0, 3.3, 6.0)
32
>>> shorten("internationalisation", 30.0, lambda t, s, w: len(t) * s * 0.5, 6.0)
'internati…'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "DEEPEST_WORD",
    "SHALLOWEST_WORD",
    "VERTICAL_PITCH",
    "VerticalColumns",
    "shorten",
    "upright_depth",
    "vertical_capacity",
    "vertical_columns",
    "vertical_margin",
]

#: A column is at least this many times its word's font wide (a rotated line of text
#: is about 1.05 fonts across), so that neighbouring words never touch.
VERTICAL_PITCH = 1.15

#: The widest column, in word fonts: few words do not spread across the page.
WIDEST_PITCH = 2.6

#: The deepest a word may reach down its column, in word fonts, before it is shortened
#: (to fit a height, words may be shortened down to ``SHALLOWEST_WORD`` fonts).
DEEPEST_WORD = 8.5
SHALLOWEST_WORD = 4.0


@dataclass(frozen=True)
class VerticalColumns:
    """Columns of equal width: ``pitch`` points apart, words at ``font`` points, ``depth`` deep.

    ``labels`` are the words as written (shortened with "…" past ``depth``).
    """

    pitch: float
    font: float
    labels: tuple[str, ...]
    depth: float


def vertical_margin(font: float) -> float:
    """The figure's side margin with upright words, in points (narrower than horizontal's)."""
    return font * 0.6


def vertical_capacity(font: float, width: float, min_size: float) -> int:
    """How many words a figure ``width`` inches wide holds upright with words ≥ ``min_size`` pt."""
    usable = width * 72 - 2 * vertical_margin(font)
    return max(1, math.floor(usable / (min_size * VERTICAL_PITCH) + 1e-9))


def shorten(
    word: str, room: float, measure: Callable[[str, float, str], float], size: float
) -> str:
    """``word``, cut and ended with "…" until it is at most ``room`` points long at ``size``."""
    if measure(word, size, "normal") <= room:
        return word
    for keep in range(len(word) - 1, 0, -1):
        text = word[:keep] + "…"
        if measure(text, size, "normal") <= room:
            return text
    return word[:1] + "…"


def vertical_columns(
    words: Sequence[str],
    font: float,
    width: float,
    measure: Callable[[str, float, str], float],
    *,
    deepest: float = DEEPEST_WORD,
) -> VerticalColumns:
    """The columns of ``words`` across ``width`` points, words at most ``font`` points.

    A word longer than ``deepest`` word fonts is shortened with "…".
    """
    count = max(len(words), 1)
    usable = width - 2 * vertical_margin(font)
    pitch = min(usable / count, font * WIDEST_PITCH)
    size = min(font, pitch / VERTICAL_PITCH)
    room = size * deepest
    labels = tuple(shorten(w, room, measure, size) for w in words)
    depth = max((measure(w, size, "bold") for w in labels), default=0.0)  # the focus is bold
    return VerticalColumns(pitch=pitch, font=size, labels=labels, depth=depth)


def upright_depth(
    columns: VerticalColumns,
    tags: Sequence[str],
    entities: Sequence[tuple[int, int, str]],
    window: tuple[int, int],
    small: float,
    measure: Callable[[str, float, str], float],
) -> float:
    """How far below the line the word block reaches, in points: the words, then tags.

    Each entity's label stands upright under its first word shown, clear of it;
    ``small`` is the figure's small font (the gaps between them).
    """
    depth = columns.depth + small * 0.3
    if tags:
        depth += max(measure(t, columns.font, "normal") for t in tags) + small * 0.4
    start, end = window
    ends = [
        measure(columns.labels[max(s, start) - start], columns.font, "bold")
        + small * 0.6
        + measure(label, columns.font, "bold")
        for s, e, label in entities
        if s < end and e > start
    ]
    return max(depth, depth - columns.depth + max(ends, default=0.0) + small * 0.3)
