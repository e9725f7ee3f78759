"""Which hidden-state layers a layer-CKA reducer keeps: the selection checked, then resolved.

Layers are hidden-state indices: 0 is the embedding output, ``l`` the output
of layer ``l``; negative indices count from the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["layer_index", "layer_list"]


def layer_list(layers: Sequence[int] | None, name: str) -> tuple[int, ...] | None:
    """The layer selection as a tuple of ints; TypeError for anything but integers."""
    if layers is None:
        return None
    if isinstance(layers, str | bytes) or not isinstance(layers, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of layer indices; got {layers!r}")
    bad = [i for i in layers if isinstance(i, bool) or not isinstance(i, int | np.integer)]
    if bad:
        raise TypeError(f"{name} must hold integer layer indices; got {bad}")
    return tuple(int(i) for i in layers)


def layer_index(layers: tuple[int, ...] | None, n_layers: int, name: str) -> np.ndarray:
    """Resolved hidden-state indices; one ValueError naming every index out of range."""
    if layers is None:
        return np.arange(n_layers)
    if len(layers) == 0:
        raise ValueError(f"{name} is empty; give at least one layer index or None for all")
    bad = [i for i in layers if not -n_layers <= i < n_layers]
    if bad:
        raise ValueError(
            f"{name}: {bad} out of range for {n_layers} hidden-state layers "
            f"(0 = embeddings .. {n_layers - 1}, or -{n_layers} .. -1 from the end)"
        )
    index = np.array([i + n_layers if i < 0 else i for i in layers], dtype=int)
    if len(set(index.tolist())) != len(index):
        raise ValueError(f"{name} names a layer twice: {list(layers)}")
    return index
