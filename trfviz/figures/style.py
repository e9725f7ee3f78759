"""Paper-size presets and the matplotlib settings every figure is drawn with.

A preset fixes the figure width of a paper layout and the font sizes that
stay legible at that width; :func:`paper_style` applies one inside a
``with`` block without touching the global ``rcParams``. Colours are not
here: they come from :mod:`trfviz.palette`, the one palette that figures,
HTML views and the widget share.

Example
-------
>>> get_preset("one-column").width
3.3
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

__all__ = [
    "MIN_TEXT_SIZE",
    "PRESETS",
    "Preset",
    "get_preset",
    "paper_rc",
    "paper_style",
]


@dataclass(frozen=True)
class Preset:
    """A paper layout: figure width in inches and font sizes in points.

    Attributes:
        name: the preset's name.
        width: figure width in inches (the text width the figure is placed at).
        font_size: body text of the figure (token labels).
        small_font_size: secondary text (arc labels, tick labels of colour bars).
        title_size: titles of axes and panels.
        line_width: default line width in points.
        dpi: resolution for raster output (PNG).
        max_height: the tallest a figure grows, in inches, however many tokens it
            shows (past it cells shrink, or a long sentence is best windowed).
    """

    name: str
    width: float
    font_size: float
    small_font_size: float
    title_size: float
    line_width: float = 0.8
    dpi: int = 300
    max_height: float = 6.0


#: Built-in presets: ACL/EMNLP column widths (3.3 in, 6.9 in), a slide.
PRESETS: Mapping[str, Preset] = {
    "one-column": Preset(
        "one-column", width=3.3, font_size=8, small_font_size=6.5, title_size=8, max_height=4.5
    ),
    "two-column": Preset(
        "two-column", width=6.9, font_size=9, small_font_size=7, title_size=9, max_height=6.0
    ),
    "slide": Preset(
        "slide",
        width=10.0,
        font_size=14,
        small_font_size=11,
        title_size=16,
        line_width=1.2,
        dpi=200,
        max_height=7.5,
    ),
}

#: Smallest text (points) a figure drawn at a preset's size may hold: journals ask for 6 pt.
MIN_TEXT_SIZE = 6.0

#: Fonts that matplotlib ships, so figures look the same on every machine.
_BASE_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.hashsalt": "trfviz",
    "axes.unicode_minus": True,
}


def get_preset(preset: str | Preset) -> Preset:
    """The :class:`Preset` called ``preset`` (or ``preset`` itself)."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        names = ", ".join(map(repr, PRESETS))
        raise ValueError(f"unknown preset {preset!r}; choose one of {names}") from None


def paper_rc(preset: str | Preset | None = None) -> dict[str, Any]:
    """The ``rcParams`` the figures use: embedded TrueType fonts, and a preset's sizes."""
    rc = dict(_BASE_RC)
    if preset is not None:
        p = get_preset(preset)
        rc.update(
            {
                "font.size": p.font_size,
                "axes.titlesize": p.title_size,
                "axes.labelsize": p.font_size,
                "xtick.labelsize": p.small_font_size,
                "ytick.labelsize": p.small_font_size,
                "legend.fontsize": p.small_font_size,
                "figure.titlesize": p.title_size,
                "lines.linewidth": p.line_width,
                "axes.linewidth": p.line_width * 0.75,
                "savefig.dpi": p.dpi,
            }
        )
    return rc


@contextlib.contextmanager
def paper_style(preset: str | Preset | None = None) -> Iterator[dict[str, Any]]:
    """Context in which new figures get a preset's fonts; yields the rc dict applied.

    Uses :func:`matplotlib.rc_context`, so the global ``rcParams`` are restored
    when the block ends.
    """
    import matplotlib

    rc = paper_rc(preset)
    with matplotlib.rc_context(cast(Any, rc)):
        yield rc
