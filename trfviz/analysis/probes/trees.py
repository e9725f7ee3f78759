"""Dependency trees as the structural probes read them: path distances, depths, spanning trees.

A tree is a head array: ``heads[i]`` is the index of word ``i``'s head in the
same sentence, ``-1`` for the root (exactly one). Hewitt & Manning (2019)
train their probes against the **path distance** between two words (edges on
the undirected path) and the **depth** of a word (edges from the root), and
decode a predicted distance matrix into a tree with its **minimum spanning
tree** (Prim's algorithm, as their released code does).

>>> heads = np.array([1, -1, 1, 2])  # "the cat sat down": cat is the root
>>> tree_depths(heads).tolist()
[1, 0, 1, 2]
>>> tree_distances(heads)[0].tolist()
[0, 1, 2, 3]
>>> sorted(minimum_spanning_edges(tree_distances(heads).astype(float)))
[(0, 1), (1, 2), (2, 3)]
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_tree", "minimum_spanning_edges", "tree_depths", "tree_distances", "tree_edges"]


def check_tree(heads: np.ndarray, name: str = "heads") -> np.ndarray:
    """``heads`` as int64, after checking it is one tree: one root (-1), no cycle."""
    heads = np.asarray(heads)
    if heads.ndim != 1 or heads.size == 0 or not np.issubdtype(heads.dtype, np.integer):
        raise ValueError(f"{name} must be a non-empty 1-d integer array of head indices")
    heads = heads.astype(np.int64)
    n = heads.size
    roots = np.flatnonzero(heads == -1)
    if roots.size != 1:
        raise ValueError(f"{name} must have exactly one root (-1); found {roots.size}")
    if ((heads < -1) | (heads >= n)).any() or (heads == np.arange(n)).any():
        raise ValueError(f"{name}: every head must be another word of the sentence, or -1")
    tree_depths(heads)  # raises on a cycle
    return heads


def tree_depths(heads: np.ndarray) -> np.ndarray:
    """int64 ``[n]``: edges from the root to each word (the root's depth is 0)."""
    heads = np.asarray(heads, dtype=np.int64)
    n = heads.size
    depth = np.full(n, -1, dtype=np.int64)
    for start in range(n):
        path = []
        node = start
        while depth[node] < 0 and heads[node] != -1:
            path.append(node)
            node = int(heads[node])
            if len(path) > n:
                raise ValueError("heads contain a cycle; a dependency tree has none")
        base = 0 if depth[node] < 0 else int(depth[node])
        depth[node] = base
        for offset, visited in enumerate(reversed(path), start=1):
            depth[visited] = base + offset
    return depth


def tree_distances(heads: np.ndarray) -> np.ndarray:
    """int64 ``[n, n]``: edges on the path between every two words (symmetric, 0 on the diagonal).

    Computed as ``depth(u) + depth(v) - 2 depth(lowest common ancestor)``.
    """
    heads = np.asarray(heads, dtype=np.int64)
    depth = tree_depths(heads)
    n = heads.size
    # ancestors[u, v]: v is u or an ancestor of u.
    ancestors = np.eye(n, dtype=bool)
    for u in range(n):
        node = int(heads[u])
        while node != -1:
            ancestors[u, node] = True
            node = int(heads[node])
    # The LCA of u and v is their deepest shared ancestor.
    shared = ancestors[:, None, :] & ancestors[None, :, :]
    lca_depth = np.where(shared, depth[None, None, :], -1).max(axis=2)
    return depth[:, None] + depth[None, :] - 2 * lca_depth


def tree_edges(heads: np.ndarray) -> set[tuple[int, int]]:
    """The tree's undirected edges as ``(smaller, larger)`` word-index pairs."""
    return {
        (min(i, int(h)), max(i, int(h))) for i, h in enumerate(np.asarray(heads)) if int(h) != -1
    }


def minimum_spanning_edges(
    distances: np.ndarray, keep: np.ndarray | None = None
) -> set[tuple[int, int]]:
    """Undirected edges ``(smaller, larger)`` of the minimum spanning tree of ``distances``.

    Prim's algorithm over the words where ``keep`` (bool ``[n]``, default all) is
    True, from the first kept word; ties go to the lower index. Indices are
    those of the full matrix.
    """
    distances = np.asarray(distances, dtype=np.float64)
    n = distances.shape[0]
    nodes = np.arange(n) if keep is None else np.flatnonzero(keep)
    if nodes.size < 2:
        return set()
    sub = distances[np.ix_(nodes, nodes)]
    m = nodes.size
    inside = np.zeros(m, dtype=bool)
    inside[0] = True
    best = sub[0].copy()
    parent = np.zeros(m, dtype=np.int64)
    edges = set()
    for _ in range(m - 1):
        candidates = np.where(inside, np.inf, best)
        new = int(np.argmin(candidates))
        inside[new] = True
        u, v = int(nodes[parent[new]]), int(nodes[new])
        edges.add((min(u, v), max(u, v)))
        closer = (~inside) & (sub[new] < best)
        best[closer] = sub[new][closer]
        parent[closer] = new
    return edges
