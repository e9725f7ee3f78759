"""Notebook widgets: an attention explorer over the parse, for one or more models.

:class:`AttentionExplorer` (:func:`explore`) shows self-attention and the measures of
:mod:`trfviz.measures`; :class:`CrossAttentionExplorer` an encoder-decoder pair's
cross-attention (:func:`trfviz.extract_pair`), source words above, target words below.

Needs ``anywidget`` (the ``widgets`` extra). The compute side never imports this
package; views take plain data (:class:`~trfviz.parse.SentenceParse` and
:class:`~trfviz.extraction.SentenceExtraction`).
"""

from trfviz.widget.cross import CrossAttentionExplorer
from trfviz.widget.explorer import AttentionExplorer, ExplorerView, ViewPanel, explore

__all__ = ["AttentionExplorer", "CrossAttentionExplorer", "ExplorerView", "ViewPanel", "explore"]
