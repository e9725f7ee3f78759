"""One model's running counts of correct head predictions and of offset-baseline hits, per relation.

:class:`ArcCounts` holds, for one model, how many arcs of each relation each
head predicted right in each direction, how many arcs each relation has, and
how many arcs of each relation have each ``head - dependent`` offset, from
which :func:`best_offsets` reads the best fixed-offset baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

__all__ = ["ArcCounts", "best_offsets"]


@dataclass
class ArcCounts:
    """One model's running counts; relation axes follow the reducer's relation list.

    Sentences' per-arc results wait in ``pending`` and are counted in one
    matrix product per few thousand arcs (:meth:`flush`), which costs far less
    than counting each sentence on its own.
    """

    n_layers: int
    n_heads: int
    correct: np.ndarray  # int64 [direction, layer, head, relation]
    arcs: np.ndarray  # int64 [relation]
    offsets: np.ndarray  # int64 [relation, 2 * max_offset + 1]: arcs with head - dependent = o
    n_sentences: int = 0
    skipped_arcs: int = 0
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    n_pending: int = 0

    FLUSH_ARCS: ClassVar[int] = 8192

    @classmethod
    def empty(cls, n_layers: int, n_heads: int, n_relations: int, max_offset: int) -> ArcCounts:
        return cls(
            n_layers,
            n_heads,
            np.zeros((2, n_layers, n_heads, n_relations), dtype=np.int64),
            np.zeros(n_relations, dtype=np.int64),
            np.zeros((n_relations, 2 * max_offset + 1), dtype=np.int64),
        )

    def add(self, correct: np.ndarray, relation: np.ndarray, offset: np.ndarray) -> None:
        """Queue one sentence: bool ``[direction, layer, head, arc]``, its arcs' relations and
        head - dependent offsets."""
        self.pending.append((correct, relation, offset))
        self.n_pending += len(relation)
        if self.n_pending >= self.FLUSH_ARCS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        correct = np.concatenate([c for c, _, _ in self.pending], axis=-1)
        relation = np.concatenate([r for _, r, _ in self.pending])
        offset = np.concatenate([o for _, _, o in self.pending])
        self.pending, self.n_pending = [], 0
        n_relations = self.arcs.shape[0]
        one_hot = np.zeros((len(relation), n_relations), dtype=np.float32)
        one_hot[np.arange(len(relation)), relation] = 1.0
        # Exact: float32 holds every count up to 2**24, far above FLUSH_ARCS.
        hits = correct.reshape(-1, len(relation)).astype(np.float32) @ one_hot
        self.correct += np.rint(hits).astype(np.int64).reshape(self.correct.shape)
        self.arcs += np.bincount(relation, minlength=n_relations)
        max_offset = (self.offsets.shape[1] - 1) // 2
        near = np.abs(offset) <= max_offset
        self.offsets += np.bincount(
            relation[near] * self.offsets.shape[1] + offset[near] + max_offset,
            minlength=self.offsets.size,
        ).reshape(self.offsets.shape)

    def grow(self, n_relations: int) -> None:
        extra = n_relations - self.arcs.shape[0]
        if extra > 0:
            self.correct = np.concatenate(
                [self.correct, np.zeros((*self.correct.shape[:3], extra), dtype=np.int64)], -1
            )
            self.arcs = np.concatenate([self.arcs, np.zeros(extra, dtype=np.int64)])
            self.offsets = np.concatenate(
                [self.offsets, np.zeros((extra, self.offsets.shape[1]), dtype=np.int64)]
            )


def best_offsets(offsets: np.ndarray, max_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``offsets`` ``[relation, 2k+1]``: the best offset (nearest on ties), its hits."""
    candidates = sorted(
        (o for o in range(-max_offset, max_offset + 1) if o), key=lambda o: (abs(o), o)
    )
    columns = offsets[:, [o + max_offset for o in candidates]]
    best = columns.argmax(-1)
    return np.array(candidates, dtype=np.int64)[best], columns[np.arange(len(columns)), best]
