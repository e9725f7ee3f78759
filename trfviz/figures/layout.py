"""Figure creation, text measurement and label clean-up shared by the figures.

Every figure starts from :func:`new_figure` (the caller's axes, or a new
figure marked with its preset); layer × head maps draw with :func:`matrix_image`.

Figures whose geometry depends on text (arcs, aligned tokenization) lay words
out in points measured with the font that will draw them, so nothing overlaps
whatever the words are. Characters the font cannot draw (emoji, most CJK in
DejaVu Sans) are shown as ``[U+1F600]`` rather than as empty boxes.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from trfviz.figures.style import Preset, get_preset

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage
    from matplotlib.text import Text

__all__ = [
    "caption",
    "displayable",
    "figure_preset",
    "keep_vector",
    "mark_preset",
    "matrix_image",
    "measure_text",
    "new_figure",
    "wrap_text",
]

_PRESET_ATTR = "_trfviz_preset"
_HINTING_SLACK = 1.08


@functools.lru_cache(maxsize=1)
def _font_charmap() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return frozenset(FT2Font(path).get_charmap())


def displayable(text: str) -> str:
    r"""``text`` as it can be drawn: line breaks and tabs as ``↵`` ``⇥``, missing glyphs as codes.

    Characters DejaVu Sans cannot draw (most CJK, newer emoji, control
    characters) are written ``[U+XXXX]``.

    >>> displayable("café 🤗"), displayable("a\nb")
    ('café [U+1F917]', 'a↵b')
    """
    charmap = _font_charmap()
    if all(ord(c) in charmap and c.isprintable() for c in text):
        return text
    return "".join(_SHOWN.get(c) or _glyph(c, charmap) for c in text)


_SHOWN = {"\n": "↵", "\r": "↵", "\t": "⇥"}


def _glyph(c: str, charmap: frozenset[int]) -> str:
    return c if ord(c) in charmap and (c.isprintable() or c == " ") else f"[U+{ord(c):04X}]"


@functools.lru_cache(maxsize=4096)
def measure_text(text: str, size: float, weight: str = "normal") -> float:
    """Width in points of ``text`` drawn in DejaVu Sans at ``size`` points (no math parsing)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    if not text:
        return 0.0
    prop = FontProperties(family="DejaVu Sans", size=size, weight=weight)
    width, _, _ = TextToPath().get_text_width_height_descent(displayable(text), prop, ismath=False)
    # Raster backends hint glyphs to the pixel grid: at screen resolutions text comes
    # out up to ~7 % wider than its outline, so leave that much room.
    return float(width) * _HINTING_SLACK


def wrap_text(text: str, size: float, width: float) -> str:
    r"""``text`` broken at spaces into lines at most ``width`` points wide at ``size`` points.

    A single word wider than ``width`` keeps a line of its own.

    >>> wrap_text("MiniLM layer 3 vs SmolLM2 layer 17", 8, 80)
    'MiniLM layer 3 vs\nSmolLM2 layer 17'
    """
    lines: list[str] = []
    for line in text.split("\n"):
        start = len(lines)
        for word in line.split(" "):
            if len(lines) > start and measure_text(f"{lines[-1]} {word}", size) <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
    return "\n".join(lines)


def new_figure(
    ax: Axes | None,
    *,
    width: float,
    height: float,
    preset: str | Preset | None = None,
    constrained: bool = False,
    **subplot_kw: Any,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: the caller's axes, or a new pyplot figure of the size given in inches.

    New figures come from :mod:`matplotlib.pyplot`, so notebooks show them as
    usual; scripts should close them (``plt.close(fig)``). ``constrained``: a
    new figure lays itself out with matplotlib's constrained layout (the
    caller's figure is left as it is).
    """
    if ax is not None:
        fig = ax.get_figure()
        assert fig is not None
        return fig, ax  # type: ignore[return-value]
    import matplotlib.pyplot as plt

    fig, new_ax = plt.subplots(figsize=(width, height), subplot_kw=subplot_kw or None)
    mark_preset(fig, preset)
    if constrained:
        fig.set_layout_engine("constrained")
    return fig, new_ax


def caption(
    ax: Axes,
    xy: tuple[float, float],
    text: str,
    *,
    size: float,
    gid: str,
    ha: str = "left",
    va: str = "center",
    color: str | None = None,
) -> Text:
    """A figure's title or note, ``text`` at ``xy`` (data units) taken literally (no math)."""
    x, y = xy
    style: dict[str, Any] = {"ha": ha, "va": va, "color": color, "gid": gid}
    return ax.text(x, y, text, fontsize=size, parse_math=False, **style)


def matrix_image(ax: Axes, matrix: np.ndarray, **kwargs: Any) -> AxesImage:
    """The image drawn: ``matrix`` ``[row, col]`` as cells, row 0 at the bottom (layer 0 low).

    ``kwargs`` go to :meth:`~matplotlib.axes.Axes.imshow` (``cmap``, ``vmin``, ``vmax``).
    """
    return ax.imshow(matrix, aspect="auto", origin="lower", interpolation="nearest", **kwargs)


def mark_preset(fig: Any, preset: str | Preset | None) -> None:
    """Records on ``fig`` the preset it was laid out for (read by ``save_figure``)."""
    if preset is not None:
        setattr(fig, _PRESET_ATTR, get_preset(preset).name)


def figure_preset(fig: Any) -> str | None:
    """Name of the preset ``fig`` was laid out for, or None."""
    return getattr(fig, _PRESET_ATTR, None)


def keep_vector(colorbar: Any) -> Any:
    """``colorbar``, its colour ramp kept as vector paths (matplotlib rasterizes long ramps)."""
    if getattr(colorbar, "solids", None) is not None:
        colorbar.solids.set_rasterized(False)
    return colorbar
