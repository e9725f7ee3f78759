"""Attention read against the parse: the sentence on one line, arcs above and below.

- :mod:`.layout`: where words, lines and arcs go (plain geometry in points);
- :mod:`.selection`: which attention arcs are drawn (a threshold; few enough to fit a height);
- :mod:`.drawing`: the matplotlib artists for a laid-out sentence;
- :mod:`.plot`: :func:`plot_attention_arcs`, the figure function.
"""

from trfviz.figures.arcs.layout import stack_levels
from trfviz.figures.arcs.plot import plot_attention_arcs
from trfviz.figures.arcs.selection import select_attention_arcs

__all__ = ["plot_attention_arcs", "select_attention_arcs", "stack_levels"]
