"""Colours and paper-size presets shared by every figure.

Entity colours are displaCy's, so an entity looks the same in a paper figure
as in the notebook. A preset fixes the figure width of a paper layout and the
font sizes that stay legible at that width; :func:`paper_style` applies one
inside a ``with`` block without touching the global ``rcParams``.

Example
-------
>>> get_preset("one-column").width
3.3
>>> entity_color("PERSON"), entity_color("NOT_A_LABEL")
('#aa9cfc', '#dddddd')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

__all__ = [
    "ENTITY_COLORS",
    "PRESETS",
    "Preset",
    "entity_color",
    "get_preset",
    "paper_rc",
    "paper_style",
]

#: displaCy's default entity colours (``spacy.displacy.render.DEFAULT_LABEL_COLORS``).
ENTITY_COLORS: Mapping[str, str] = {
    "ORG": "#7aecec",
    "PRODUCT": "#bfeeb7",
    "GPE": "#feca74",
    "LOC": "#ff9561",
    "PERSON": "#aa9cfc",
    "NORP": "#c887fb",
    "FAC": "#9cc9cc",
    "EVENT": "#ffeb80",
    "LAW": "#ff8197",
    "LANGUAGE": "#ff8197",
    "WORK_OF_ART": "#f0d0ff",
    "DATE": "#bfe1d9",
    "TIME": "#bfe1d9",
    "MONEY": "#e4e7d2",
    "QUANTITY": "#e4e7d2",
    "ORDINAL": "#e4e7d2",
    "CARDINAL": "#e4e7d2",
    "PERCENT": "#e4e7d2",
}

#: displaCy's colour for labels it has no colour for.
DEFAULT_ENTITY_COLOR = "#dddddd"

#: Colours of the three kinds of wordpiece in the aligned-tokenization view.
PIECE_COLORS: Mapping[str, str] = {
    "whole": "#e8e8e8",  # one piece is one spaCy token
    "split": "#b9d7f0",  # one of several pieces of a spaCy token
    "shared": "#f7c68b",  # a piece covering several spaCy tokens (many-to-many)
}

#: Colour of attention arcs and of dependency arcs.
ATTENTION_COLOR = "#1f5fa8"
DEPENDENCY_COLOR = "#333333"


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
    """

    name: str
    width: float
    font_size: float
    small_font_size: float
    title_size: float
    line_width: float = 0.8
    dpi: int = 300


#: Built-in presets: ACL/EMNLP column widths (3.3 in, 6.9 in), a slide.
PRESETS: Mapping[str, Preset] = {
    "one-column": Preset("one-column", width=3.3, font_size=8, small_font_size=6.5, title_size=8),
    "two-column": Preset("two-column", width=6.9, font_size=9, small_font_size=7, title_size=9),
    "slide": Preset(
        "slide",
        width=10.0,
        font_size=14,
        small_font_size=11,
        title_size=16,
        line_width=1.2,
        dpi=200,
    ),
}

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


def entity_color(label: str, colors: Mapping[str, str] | None = None) -> str:
    """The displaCy colour of an entity label (``colors`` overrides the defaults)."""
    if colors and label in colors:
        return colors[label]
    return ENTITY_COLORS.get(label, DEFAULT_ENTITY_COLOR)


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
