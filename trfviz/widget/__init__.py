"""Notebook widgets: an attention explorer over the parse, for one or more models.

Needs ``anywidget`` (the ``widgets`` extra). The compute side never imports this
package; views take plain data (:class:`~trfviz.parse.SentenceParse` and
:class:`~trfviz.extraction.SentenceExtraction`).
"""

from trfviz.widget.explorer import AttentionExplorer, ExplorerView, ViewPanel, explore

__all__ = ["AttentionExplorer", "ExplorerView", "ViewPanel", "explore"]
