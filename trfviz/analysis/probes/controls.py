"""Control tasks (Hewitt & Liang 2019): targets a probe can only learn by memorising word types.

A probe's accuracy alone says little: a flexible probe learns a task from
word identity whatever the states encode. A control task gives each word
**type** (its form, lower-cased) a random but **consistent** target, so it is
learnable only by memorising types; the probe's **selectivity** is its
accuracy on the real task minus its accuracy on the control.

- Labels (UPOS, relations): :func:`control_labels` gives each type a label drawn
  from the empirical distribution of the real labels (as Hewitt & Liang do for
  part of speech), the same label wherever the type occurs.
- Structure: :func:`control_tree` keeps the gold tree's **shape** and reassigns
  which word sits at which node by the types' random ranks: the nodes are taken
  root first, then by depth (ties by position), and the words in the order of a
  random key drawn once per type (ties by position). The control tree of a
  sentence is a function of its word types, so the same sentence always gets
  the same tree and the type with the lowest key is the root wherever it occurs.

>>> labels = control_labels([("a", "b", "a")], [("X", "Y", "X")], seed=0)
>>> labels[0][0] == labels[0][2]
True
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from trfviz.analysis.probes.trees import tree_depths

__all__ = ["control_labels", "control_tree", "type_key"]


def _word_type(word: str) -> str:
    return word.lower()


def type_key(word: str, seed: int) -> float:
    """A number in [0, 1) fixed by the word's type and ``seed`` (the same in every run)."""
    digest = zlib.crc32(f"{seed}\x00{_word_type(word)}".encode())
    return float(np.random.default_rng(digest).random())


def control_labels(
    words: Sequence[Sequence[str]], labels: Sequence[Sequence[str]], *, seed: int = 0
) -> list[tuple[str, ...]]:
    """Per sentence, the control label of every word: one label per type, drawn by frequency.

    ``labels`` gives the distribution the control labels are drawn from (each
    type gets label ``y`` with probability the share of ``y`` among all words);
    the draw of a type depends only on the type and ``seed``.
    """
    counts = Counter(label for sentence in labels for label in sentence)
    if not counts:
        raise ValueError("no labels to draw control labels from")
    names = sorted(counts)
    cumulative = np.cumsum([counts[name] for name in names], dtype=float)
    cumulative /= cumulative[-1]
    chosen: dict[str, str] = {}
    out = []
    for sentence in words:
        row = []
        for word in sentence:
            kind = _word_type(word)
            if kind not in chosen:
                index = int(np.searchsorted(cumulative, type_key(kind, seed), side="right"))
                chosen[kind] = names[min(index, len(names) - 1)]
            row.append(chosen[kind])
        out.append(tuple(row))
    return out


def control_tree(heads: np.ndarray, words: Sequence[str], *, seed: int = 0) -> np.ndarray:
    """int64 ``[n]``: a tree of the gold tree's shape with words placed by their types' keys."""
    heads = np.asarray(heads, dtype=np.int64)
    n = heads.size
    if len(words) != n:
        raise ValueError(f"{len(words)} words for a tree of {n} nodes")
    depth = tree_depths(heads)
    nodes = np.lexsort((np.arange(n), depth))  # root first, then by depth and position
    keys = np.array([type_key(word, seed) for word in words])
    order = np.lexsort((np.arange(n), keys))  # words by key, ties by position
    word_at = np.empty(n, dtype=np.int64)
    word_at[nodes] = order  # node nodes[i] is taken by word order[i]
    control = np.empty(n, dtype=np.int64)
    for node in range(n):
        head = int(heads[node])
        control[word_at[node]] = -1 if head == -1 else word_at[head]
    return control
