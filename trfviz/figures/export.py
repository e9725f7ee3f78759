"""Saving figures for papers: vector formats, embedded TrueType fonts, identical bytes.

:func:`save_figure` picks the format from the file suffix (``.pdf``, ``.svg``,
``.png``, ``.pgf``), embeds fonts as TrueType (``pdf.fonttype 42``), and
removes what would make two saves differ (creation dates, random SVG ids), so
a figure in a paper's repository only changes when the figure changes. The
global ``rcParams`` and the figure itself are left as they were.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from trfviz.figures.layout import figure_preset
from trfviz.figures.style import Preset, get_preset, paper_rc

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "save_figure"]

#: File suffixes :func:`save_figure` writes, and whether the format is vector.
FORMATS: dict[str, bool] = {".pdf": True, ".svg": True, ".pgf": True, ".png": False}

#: Attribute set on figures whose layout is measured text (arcs, tokenization):
#: they scale as a whole when saved at another width.
RIGID_ATTR = "_trfviz_rigid"


def save_figure(
    fig: Figure,
    path: str | Path,
    *,
    preset: str | Preset | None = None,
    dpi: float | None = None,
    svg_text: Literal["path", "text"] = "path",
    transparent: bool = False,
    pad_inches: float = 0.02,
) -> Path:
    """The path written: ``fig`` saved as PDF, SVG, PNG or PGF by the suffix of ``path``.

    A plotly figure (from :mod:`trfviz.figures.interactive`) is saved as an
    ``.html`` page that loads ``plotly.min.js`` written once beside it in the
    same folder: it opens offline, and many pages share one copy of plotly.js.

    Args:
        fig: a matplotlib figure (any, not only trfviz's).
        path: where to write; the suffix chooses the format. Parent folders are created.
        preset: ``"one-column"`` (3.3 in), ``"two-column"`` (6.9 in), ``"slide"``
            or a :class:`~trfviz.figures.style.Preset`: the figure is saved at
            the preset's width and font size, then restored. Figures made with
            the same ``preset=`` are saved as they are; others are resized (text
            reflows where the figure uses a layout engine) and a figure laid
            out from measured text (arcs, tokenization) is scaled as a whole,
            with a warning when its text would end up smaller than the preset's.
        dpi: resolution of PNG output (default: the preset's, else 300).
        svg_text: ``"path"`` draws SVG text as glyph outlines (looks the same
            everywhere; the text is kept in comments); ``"text"`` keeps it as
            ``<text>`` elements (searchable and editable, needs the font to view).
        transparent: transparent background.
        pad_inches: white margin kept around the tight bounding box. A figure laid
            out for ``preset`` at exactly its width is not cropped: the file is
            the preset's width, so the paper shows it unscaled.

    Returns:
        ``Path(path)``.

    Saving the same figure twice gives byte-identical files: PDF and SVG
    carry no creation date and SVG ids are salted with a fixed string.
    PGF needs a LaTeX installation (matplotlib measures text with it).
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if type(fig).__module__.startswith("plotly"):
        return _save_plotly(fig, out)
    import matplotlib

    if suffix not in FORMATS:
        raise ValueError(f"cannot save {out.name!r}: use one of {', '.join(FORMATS)}")
    texsystem = None
    if suffix == ".pgf":
        # matplotlib measures PGF text with LaTeX: its configured engine if present,
        # else whichever of the three is installed.
        wanted = matplotlib.rcParams["pgf.texsystem"]
        found = [t for t in (wanted, "pdflatex", "xelatex", "lualatex") if shutil.which(t)]
        if not found:
            raise RuntimeError("saving PGF needs LaTeX (xelatex, pdflatex or lualatex) on the PATH")
        texsystem = found[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    p = get_preset(preset) if preset is not None else None
    rc = paper_rc(None)
    rc["svg.fonttype"] = "none" if svg_text == "text" else "path"
    if texsystem is not None:
        rc["pgf.texsystem"] = texsystem
    by_format: dict[str, dict[str, Any]] = {
        ".pdf": {"CreationDate": None, "Creator": "trfviz"},
        ".svg": {"Date": None, "Creator": "trfviz"},
        ".png": {"Software": "trfviz"},
        ".pgf": {},
    }
    metadata = by_format[suffix]
    resolution = dpi if dpi is not None else (p.dpi if p is not None else 300)
    restore = _apply_preset(fig, p) if p is not None else None
    engine = fig.get_layout_engine()
    # A layout engine places axes starting from where they are, so a save would
    # move them and the next save would differ: save from the same state each time.
    positions = [
        (ax, ax.get_position(original=True).frozen(), ax.get_position().frozen()) for ax in fig.axes
    ]
    try:
        with matplotlib.rc_context(cast(Any, rc)):
            # The PGF writer takes no metadata argument at all, not even None.
            extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
            if not _at_preset_width(fig, p):  # else the page is the preset's, margins and all
                extra.update(bbox_inches="tight", pad_inches=pad_inches)
            fig.savefig(
                out,
                format=suffix[1:],
                dpi=resolution,
                **extra,
                transparent=transparent,
            )
    finally:
        if engine is not None:
            for ax, original, active in positions:
                in_layout = ax.get_in_layout()  # set_position takes axes out of the layout
                ax.set_position(original, which="original")
                ax.set_position(active, which="active")
                ax.set_in_layout(in_layout)
        if restore is not None:
            restore()
    return out


def _at_preset_width(fig: Figure, preset: Preset | None) -> bool:
    """Whether ``fig`` was laid out for ``preset`` at exactly its width (saved uncropped).

    Such a figure is saved at its own size, not cropped to its ink: placed at
    ``\\linewidth`` in the paper it is not scaled, so its text keeps its size.
    """
    if preset is None or figure_preset(fig) != preset.name:
        return False
    return abs(float(fig.get_size_inches()[0]) - preset.width) < 0.005


def _apply_preset(fig: Figure, preset: Preset) -> Any:
    """Resizes ``fig`` to the preset; returns a function that undoes it."""
    from matplotlib.text import Text

    made_for = figure_preset(fig)
    if made_for == preset.name:
        return None
    import matplotlib

    base = float(get_preset(made_for).font_size if made_for else matplotlib.rcParams["font.size"])
    old_width, old_height = fig.get_size_inches()
    width_scale = preset.width / old_width
    rigid = getattr(fig, RIGID_ATTR, False)
    font_scale = width_scale if rigid else preset.font_size / base
    if rigid and base * font_scale < preset.small_font_size:
        warnings.warn(
            f"the figure was laid out for another width; at {preset.width} in its text is "
            f"{base * font_scale:.1f} pt. Make it with preset={preset.name!r} for legible text.",
            stacklevel=3,
        )
    texts = [t for t in fig.findobj(Text) if isinstance(t, Text)]
    sizes = [float(t.get_fontsize()) for t in texts]
    for text, size in zip(texts, sizes, strict=True):
        text.set_fontsize(size * font_scale)
    fig.set_size_inches(preset.width, old_height * width_scale)

    def restore() -> None:
        for text, size in zip(texts, sizes, strict=True):
            text.set_fontsize(size)
        fig.set_size_inches(old_width, old_height)

    return restore


def _save_plotly(fig: Any, out: Path) -> Path:
    """Writes a plotly figure as an HTML page loading ``plotly.min.js`` from its folder."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"a plotly figure is saved as .html, not {out.suffix!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    # plotly.js (4.5 MB) once per folder, beside the pages, not inside each of them.
    fig.write_html(
        out,
        include_plotlyjs="directory",
        full_html=True,
        div_id="trfviz-figure",
        config={"displaylogo": False},
    )
    return out
