"""Attention rollout and attention flow (Abnar & Zuidema 2020) over one sentence's attention.

Both read the attention of every layer as a graph: position ``i`` of layer
``l`` takes input from position ``j`` of layer ``l - 1`` with weight
``Â_l[i, j]``, where

    Â_l = renormalise_rows((1 - residual) · reduce_heads(A_l) + residual · I)

(``residual=0.5`` and ``heads="mean"`` are the paper's choice; the identity
stands for the residual connection). **Rollout** multiplies the matrices,
``R_l = Â_l · Â_(l-1) ⋯ Â_1``, so ``R_l[i, j]`` is how much of input ``j``
reaches position ``i`` at layer ``l`` when it is mixed linearly; every row sums
to 1. **Flow** treats the weights as edge capacities and takes, for each
output position ``i`` of the last layer and input ``j``, the maximum flow
from ``(0, j)`` to ``(L, i)`` through the layered graph (networkx's maximum
flow), each row then divided by its sum, as in the paper's code.

Both work on any square matrices: the attention over wordpieces (what the
paper does) or attention already pooled onto spaCy tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from trfviz.optional import require
from trfviz.pooling import renormalize_rows
from trfviz.validation import check_choice, check_int

__all__ = [
    "FLOW_MAX_NODES",
    "HEAD_REDUCTIONS",
    "HeadReduction",
    "attention_graph",
    "batch_rollout",
    "check_residual",
    "flow",
    "rollout",
]

HeadReduction = Literal["mean", "max", "min"]
HEAD_REDUCTIONS: tuple[str, ...] = ("mean", "max", "min")

#: Most graph nodes (positions × layers) :func:`flow` accepts by default: it solves
#: one maximum-flow problem per (output, input) pair over ``layers · n²`` edges,
#: so its cost grows with about the fourth power of the length.
FLOW_MAX_NODES = 600


def attention_graph(
    attention: np.ndarray, *, residual: float = 0.5, heads: HeadReduction = "mean"
) -> np.ndarray:
    """float64 ``[layer, query, key]``: the matrices ``Â_l`` rollout and flow use.

    Args:
        attention: ``[layer, head, query, key]``, or ``[layer, query, key]`` when
            the heads are already reduced.
        residual: weight of the identity (the residual connection), in ``[0, 1]``.
        heads: how the heads of a layer are combined: ``"mean"`` (the paper),
            ``"max"`` or ``"min"`` (element-wise).
    """
    values = np.asarray(attention, dtype=np.float64)
    if values.ndim == 4:
        check_choice("heads", heads, HEAD_REDUCTIONS)
        values = getattr(values, heads)(axis=1)
    if values.ndim != 3 or values.shape[1] != values.shape[2]:
        raise ValueError(
            "attention must be [layer, head, query, key] or [layer, query, key] with "
            f"query == key; got shape {np.shape(attention)}"
        )
    check_residual(residual)
    mixed = (1.0 - residual) * values + residual * np.eye(values.shape[-1])
    result: np.ndarray = renormalize_rows(mixed)
    return result


def rollout(
    attention: np.ndarray, *, residual: float = 0.5, heads: HeadReduction = "mean"
) -> np.ndarray:
    """float32 ``[layer, query, key]``: rollout up to each layer, ``R_l = Â_l ⋯ Â_1``.

    ``R[-1]`` is the rollout through the whole model. Rows sum to 1 (rows of
    positions with no attention at all, e.g. tokens with no piece, are the
    identity's). Options as in :func:`attention_graph`.
    """
    graph = attention_graph(attention, residual=residual, heads=heads)
    result = np.empty_like(graph)
    current = np.eye(graph.shape[-1])
    for layer, matrix in enumerate(graph):
        current = matrix @ current
        result[layer] = current
    return result.astype(np.float32)


def flow(
    attention: np.ndarray,
    *,
    residual: float = 0.5,
    heads: HeadReduction = "mean",
    normalize: bool = True,
    max_nodes: int = FLOW_MAX_NODES,
) -> np.ndarray:
    """float32 ``[query, key]``: attention flow from each input to each last-layer position.

    Args:
        attention: as for :func:`attention_graph`.
        residual, heads: as for :func:`attention_graph`.
        normalize: divide each row by its sum (as the paper's code does), so rows
            sum to 1; ``False`` gives the raw maximum-flow values.
        max_nodes: refuse inputs whose positions × layers exceed this.

    Raises:
        ValueError: positions × layers is over ``max_nodes``; use :func:`rollout`
            (a matrix product, fast at any length) or a shorter input.
    """
    nx = require("networkx", extra="analysis")
    check_int("max_nodes", max_nodes, minimum=1)
    graph = attention_graph(attention, residual=residual, heads=heads)
    layers, n = graph.shape[0], graph.shape[-1]
    check_flow_size(n, layers, max_nodes)
    network = nx.DiGraph()
    for layer, matrix in enumerate(graph, start=1):
        queries, keys = np.nonzero(matrix > 0)
        network.add_edges_from(
            ((layer - 1, int(k)), (layer, int(q)), {"capacity": float(matrix[q, k])})
            for q, k in zip(queries, keys, strict=True)
        )
    result = np.zeros((n, n), dtype=np.float64)
    for query in range(n):
        sink = (layers, query)
        for key in range(n):
            source = (0, key)
            if source in network and sink in network:
                result[query, key] = nx.maximum_flow_value(network, source, sink)
    if normalize:
        result = renormalize_rows(result)
    return result.astype(np.float32)


def check_flow_size(n_positions: int, n_layers: int, max_nodes: int) -> None:
    """Raise ValueError when ``n_positions × n_layers`` is over ``max_nodes``."""
    if n_positions * n_layers > max_nodes:
        raise ValueError(
            f"attention flow over {n_positions} positions × {n_layers} layers = "
            f"{n_positions * n_layers} graph nodes is over the limit max_nodes={max_nodes} "
            "(one maximum-flow problem per pair of positions, growing with about the fourth "
            "power of the length); use attention rollout (fast at any length), a shorter "
            "sentence, over='tokens', or raise max_nodes if you can wait"
        )


def batch_rollout(
    layers: list[Any],
    lengths: Sequence[int],
    *,
    residual: float = 0.5,
    heads: HeadReduction = "mean",
) -> list[Any]:
    """:func:`rollout` of a padded batch in torch: per layer, float32 ``[batch, 1, width, width]``.

    ``layers`` holds the model's attention per layer, ``[batch, head, width, width]``
    (consumed: each entry set to None once used); sentence ``b``'s ``[:n, :n]``
    corner (``n = lengths[b]``) equals :func:`rollout` of its own attention, the
    rest is zero. Computed in float64, as :func:`rollout` is.
    """
    import torch

    check_choice("heads", heads, HEAD_REDUCTIONS)
    check_residual(residual)
    width = layers[0].shape[-1]
    device = layers[0].device
    filled = torch.arange(width, device=device) < torch.as_tensor(lengths, device=device)[:, None]
    inside = filled[:, :, None] & filled[:, None, :]
    eye = torch.eye(width, dtype=torch.float64, device=device)
    current = None
    result = []
    for index in range(len(layers)):
        values = layers[index]
        layers[index] = None
        # Heads reduced first (the mean accumulated in float64): only the reduced
        # matrix, n_heads times smaller, is copied to float64.
        if heads == "mean":
            reduced = values.mean(dim=1, dtype=torch.float64)
        else:
            reduced = getattr(values, f"a{heads}")(dim=1).to(torch.float64)
        # Padding is zeroed, not just ignored: 0 · NaN in a padded row would spread.
        mixed = torch.where(inside, (1.0 - residual) * reduced + residual * eye, 0.0)
        sums = mixed.sum(dim=-1, keepdim=True)
        graph = torch.where(sums > 0, mixed / sums, 0.0)
        current = graph if current is None else torch.bmm(graph, current)
        result.append(current.float()[:, None])
    return result


def check_residual(residual: float) -> None:
    """Raise TypeError or ValueError unless ``residual`` is a number in ``[0, 1]``."""
    if isinstance(residual, bool) or not isinstance(residual, int | float):
        raise TypeError(f"residual must be a number in [0, 1]; got {residual!r}")
    if not 0.0 <= float(residual) <= 1.0:
        raise ValueError(f"residual must be in [0, 1] (0.5 in the paper); got {residual}")
