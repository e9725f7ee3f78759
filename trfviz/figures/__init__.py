"""Figures for papers: aligned tokenization, attention over the parse, head grids, export.

Every static figure is matplotlib, returns ``(Figure, Axes)`` (a grid or a
comparison returns an array of axes) and accepts the caller's ``ax=`` so
figures compose; ``preset="one-column"``/``"two-column"`` lays a figure out
for a paper's column width. :func:`save_figure` writes PDF, SVG, PNG or PGF
with embedded TrueType fonts and identical bytes on every save. The plotly
versions (:func:`interactive_heatmap`, :func:`interactive_head_grid`) need
plotly, imported when they are called.

Views take plain data (numpy arrays, token strings,
:class:`~trfviz.parse.SentenceParse`, :class:`~trfviz.alignment.Alignment`),
never a model or a Doc; importing this package imports neither matplotlib's
pyplot nor torch. Colours and colour maps come from :mod:`trfviz.palette`
(every ``cmap=`` defaults to one of its scales); the HTML version of the
aligned tokenization lives in :mod:`trfviz.html` and is re-exported here.
"""

from trfviz.figures.arcs import plot_attention_arcs, select_attention_arcs, stack_levels
from trfviz.figures.comparison import attention_difference, plot_model_comparison
from trfviz.figures.cross_attention import plot_cross_attention
from trfviz.figures.demo import export_demo_figures, parse_head_scores
from trfviz.figures.export import save_figure
from trfviz.figures.grid import plot_head_grid
from trfviz.figures.heatmap import plot_attention_heatmap
from trfviz.figures.interactive import interactive_head_grid, interactive_heatmap
from trfviz.figures.logit_lens import plot_logit_lens
from trfviz.figures.pieces import aligned_tokenization_from, classify_pieces, display_piece
from trfviz.figures.shaded import shaded_words
from trfviz.figures.style import PRESETS, Preset, paper_style
from trfviz.figures.tokenization import plot_aligned_tokenization
from trfviz.html.tokenization import AlignedTokenizationHTML, render_aligned_tokenization_html
from trfviz.palette import ENTITY_COLORS, entity_color

__all__ = [
    "ENTITY_COLORS",
    "PRESETS",
    "AlignedTokenizationHTML",
    "Preset",
    "aligned_tokenization_from",
    "attention_difference",
    "classify_pieces",
    "display_piece",
    "entity_color",
    "export_demo_figures",
    "interactive_head_grid",
    "interactive_heatmap",
    "paper_style",
    "parse_head_scores",
    "plot_aligned_tokenization",
    "plot_attention_arcs",
    "plot_attention_heatmap",
    "plot_cross_attention",
    "plot_head_grid",
    "plot_logit_lens",
    "plot_model_comparison",
    "render_aligned_tokenization_html",
    "save_figure",
    "select_attention_arcs",
    "shaded_words",
    "stack_levels",
]
