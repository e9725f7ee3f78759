"""A picture of the explorer's view for places that cannot run widgets.

A saved notebook converted to HTML (nbconvert) or opened on GitHub has no
widget manager: the explorer's output would be an empty box. The explorer adds
this picture beside its widget mimetype (see
``AttentionExplorer._repr_mimebundle_``): ``text/html`` holding the view as an
inline SVG (text kept as text, so the sentence's words can be found and
copied) and ``image/png`` for renderers that drop HTML. JupyterLab and
Notebook 7 show the live widget and ignore both.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from trfviz.widget.explorer import AttentionExplorer

__all__ = ["fallback_bundle", "with_fallback"]

#: Resolution of the PNG fallback (dots per inch): 6 pt text stays readable on screen.
PNG_DPI = 150
#: The preset the picture is drawn at: a page's full width, scaled down to the cell's.
PRESET = "two-column"
#: The largest inline SVG kept (bytes); a bigger one (many arcs) gives way to the PNG alone.
MAX_SVG_BYTES = 300_000


def fallback_bundle(figure: Figure, *, caption: str) -> dict[str, str]:
    """``{"text/html": <figure> with inline SVG, "image/png": base64}`` of ``figure``.

    Args:
        figure: the view, drawn (closed afterwards by the caller).
        caption: one line saying what the picture is, shown under it in the HTML.
    """
    import matplotlib as mpl

    # No date and fixed ids: saving the notebook again leaves the picture's bytes alone.
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "trfviz"}):
        svg_buffer = io.StringIO()
        figure.savefig(svg_buffer, format="svg", metadata={"Date": None})
    svg = svg_buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prologue and doctype: inline in HTML
    # As wide as the page at most, scaled down with it (no sideways scrolling).
    svg = svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
    png_buffer = io.BytesIO()
    figure.savefig(png_buffer, format="png", dpi=PNG_DPI, metadata={"Software": "trfviz"})
    png = base64.b64encode(png_buffer.getvalue()).decode("ascii")
    if len(svg) > MAX_SVG_BYTES:  # too many paths to inline: the picture as a PNG
        svg = (
            f'<img src="data:image/png;base64,{png}" style="max-width:100%;height:auto" '
            f'alt="{html.escape(caption)}">'
        )
    text = (
        '<figure class="trfviz-static" style="margin:0;max-width:100%">'
        f"{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"
    )
    return {
        "text/html": text,
        "image/png": png,
    }


def with_fallback(bundle: Any, explorer: AttentionExplorer) -> Any:
    """The widget's mimebundle (``data`` or ``(data, metadata)``) plus the view's picture."""
    import matplotlib.pyplot as plt

    from trfviz.widget.export import view_title

    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    if not isinstance(data, dict):
        return bundle
    figure = explorer.draw_figure(preset=PRESET)
    try:
        caption = f"trfviz explorer (static picture): {view_title(explorer.view_spec())}"
        data = {**fallback_bundle(figure, caption=caption), **data}
    finally:
        plt.close(figure)
    return data if metadata is None else (data, metadata)
