"""Tick labels thinned so that a long axis stays legible.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> label_ticks(ax, list(range(40)), axis="x")
>>> [t.get_text() for t in ax.get_xticklabels()][:4]
['0', '3', '6', '9']
>>> plt.close(fig)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["label_ticks", "tick_step"]


def tick_step(count: int, max_labels: int) -> int:
    """How many positions apart labels go so that at most ``max_labels`` of ``count`` show."""
    return max(-(-count // max_labels), 1)


def label_ticks(
    ax: Axes,
    labels: Sequence[Any] | np.ndarray,
    *,
    axis: Literal["x", "y"],
    positions: Sequence[float] | np.ndarray | None = None,
    max_labels: int = 16,
) -> None:
    """Returns None; labels ``axis`` of ``ax`` with every n-th of ``labels``, no tick marks.

    ``positions`` are where the labels belong (default 0, 1, 2, …, one per
    cell of a heatmap); at most ``max_labels`` of them get a label.
    """
    where = np.arange(len(labels)) if positions is None else np.asarray(positions)
    step = tick_step(len(labels), max_labels)
    texts = [str(v) for v in list(labels)[::step]]
    if axis == "y":
        ax.set_yticks(where[::step], texts)
    else:
        ax.set_xticks(where[::step], texts)
    ax.tick_params(length=0)
