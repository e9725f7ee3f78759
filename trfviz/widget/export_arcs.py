"""Which attention arcs an exported view draws: the widget's rules, in numpy.

The widget's aligned view (``js/band_lines.js``, ``js/overlay.js``) draws,
from a focused word, its attention to every word above the threshold; without
a focus, each word's **strongest** arc to another word where it reaches the
threshold (one arc per word, not every weight); every head of a layer overlaid
in the head's own colour (unfocused, only weights of at least
:data:`UNFOCUSED_MIN`). These functions turn a matrix into the matrix whose
non-zero entries are exactly those arcs, for
:func:`trfviz.figures.plot_attention_arcs`, and :func:`recolour` gives each
drawn arc the colour of its head (or of its sign, for a difference).

>>> import numpy as np
>>> overview_rows(np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6]]), 3, 0.05)
array([[0. , 0.6, 0. ],
       [0.5, 0. , 0. ],
       [0. , 0. , 0. ]])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["UNFOCUSED_MIN", "overlay_arcs", "overview_rows", "recolour"]

#: Overlaid heads without a focus: only weights at least this strong (``js/overlay.js``).
UNFOCUSED_MIN = 0.3


def overview_rows(
    matrix: np.ndarray, n: int, threshold: float, sink: int | None = None
) -> np.ndarray:
    """float ``[n, n]``: per query word only its strongest weight to another word, if ≥ threshold.

    By absolute value (a signed difference keeps its sign); self-attention and
    the special tokens' columns are not arcs, nor is column ``sink`` (the first
    word, an attention sink, while the view leaves it out: ``js/band_lines.js``).
    A tie goes to the earlier word.
    """
    words = np.nan_to_num(np.asarray(matrix, dtype=float)[:n, :n])
    strength = np.abs(words)
    np.fill_diagonal(strength, -1.0)
    if sink is not None and 0 <= sink < n:
        strength[:, sink] = -1.0
    out = np.zeros_like(words)
    if n < 2:
        return out
    best = strength.argmax(axis=1)
    rows = np.arange(n)
    keep = strength[rows, best] >= max(threshold, 1e-12)
    out[rows[keep], best[keep]] = words[rows[keep], best[keep]]
    return out


def overlay_arcs(
    heads: np.ndarray, n: int, focus: int | None, threshold: float, sink: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(matrix, head)``: every shown head's arcs on one axis, each pair by its strongest head.

    Args:
        heads: float ``[head, query, key]`` of the heads shown (hidden ones left out).
        n: the number of words (the first rows and columns).
        focus: the focused word: its row of each head; without one, each word's
            strongest arc per head, of at least :data:`UNFOCUSED_MIN`.
        threshold: the smallest weight drawn.
        sink: a column no unfocused arc ends on (:func:`overview_rows`).

    Returns:
        float ``[n, n]`` the weight drawn per pair (0: no arc), and int ``[n, n]``
        the position in ``heads`` of the head it is drawn for.
    """
    values = np.nan_to_num(np.asarray(heads, dtype=float)[:, :n, :n])
    chosen = np.zeros_like(values)
    for h, matrix in enumerate(values):
        if focus is not None:
            row = np.where(matrix[focus] >= threshold, matrix[focus], 0.0)
            chosen[h, focus] = row
        else:
            chosen[h] = overview_rows(matrix, n, max(threshold, UNFOCUSED_MIN), sink)
    if not len(values):
        return np.zeros((n, n)), np.zeros((n, n), dtype=int)
    return chosen.max(axis=0), chosen.argmax(axis=0)


_GID = re.compile(r"^(above-)?att-(?:arc|arrow|label)-(\d+)-(\d+)|^(above-)?att-self-(\d+)")


def recolour(ax: Axes, colours: Mapping[tuple[bool, int, int], str]) -> None:
    """Gives each attention arc drawn in ``ax`` its colour: ``(above, query, key)`` → colour.

    Arcs, arrow heads, dots and weight labels are matched by their gid
    (``"att-arc-2-5"``, ``"above-att-label-2-5"``...); arcs not in ``colours`` keep theirs.
    """
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    for artist in [*ax.patches, *ax.collections, *ax.texts]:
        found = _GID.match(artist.get_gid() or "")
        if found is None:
            continue
        if found.group(5) is not None:
            above, q, k = bool(found.group(4)), int(found.group(5)), int(found.group(5))
        else:
            above, q, k = bool(found.group(1)), int(found.group(2)), int(found.group(3))
        colour = colours.get((above, q, k))
        if colour is None:
            continue
        if isinstance(artist, Text):
            artist.set_color(colour)
        elif isinstance(artist, Patch):
            if artist.get_fill():
                artist.set_facecolor(colour)
            artist.set_edgecolor(colour if not artist.get_fill() else "none")
        else:
            artist.set_color(colour)  # type: ignore[attr-defined]
