"""Where heads look: attention to special tokens, punctuation, neighbours, itself, and its entropy.

:class:`AttentionPatterns` — per layer and head, averaged over query tokens
(Clark et al. §3): the share of attention to the special pseudo-tokens (all,
and each label), to punctuation (tokens made only of Unicode punctuation), to
the previous and the next token (averaged over the tokens that have one), to
itself, and the entropy of the attention row in nats (over tokens and special
pseudo-tokens, ``0 log 0 = 0``, no smoothing), beside the entropy of uniform
attention over the same row. Query rows are the spaCy tokens only.
Layers and heads are numbered from 0, as in ``attention[layer, head]``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from trfviz.analysis.syntax.inputs import attention_of, selected_models
from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.parse import SentenceParse

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AttentionPatterns", "summarize_attention"]


@dataclass
class _PatternSums:
    """One model's running sums of per-query attention statistics, ``[layer, head]`` each."""

    sums: dict[str, np.ndarray] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)

    def add(self, measure: str, values: np.ndarray, n: int) -> None:
        if measure in self.sums:
            self.sums[measure] += values
        else:
            self.sums[measure] = np.array(values, dtype=np.float64)
        self.queries[measure] = self.queries.get(measure, 0) + n


class AttentionPatterns:
    """Streaming per-head attention statistics: special tokens, punctuation, neighbours, entropy.

    ``result()`` gives one row per model, layer, head and measure with the
    ``mean`` over query tokens and ``n`` (the queries averaged). Measures:
    ``special`` (all special pseudo-tokens), ``special:<label>`` (each, e.g.
    ``special:[CLS]``), ``punctuation``, ``previous``, ``next``, ``self``,
    ``entropy`` and ``uniform entropy``. See the module docs.

    Args:
        models: summarise only these models of each update's mapping; all by default.
    """

    needs_attention = True
    needs_states = False

    def __init__(self, *, models: Sequence[str] | None = None) -> None:
        self.models = tuple(models) if models is not None else None
        self.n_sentences = 0
        self._sums: dict[str, _PatternSums] = {}

    def update(
        self, extractions: Mapping[str, SentenceExtraction], parse: SentenceParse | None = None
    ) -> None:
        """Add one sentence's attention rows (``parse`` is not needed; punctuation is by text)."""
        for name, extraction in selected_models(extractions, self.models):
            n = extraction.n_tokens
            attention = attention_of(extraction, n, name)
            sums = self._sums.setdefault(name, _PatternSums())
            present = ~extraction.missing
            n_q = int(present.sum())
            if n_q == 0:
                continue
            # A missing token's row and column are zero, so summing over every row adds
            # nothing for it: only the counts need to leave it out.
            rows = attention[:, :, :n, :]  # [layer, head, query, key]
            tokens = rows[..., :n]
            sums.add("special", rows[..., n:].sum(axis=(-1, -2), dtype=np.float64), n_q)
            for j, label in enumerate(extraction.special_labels):
                sums.add(f"special:{label}", rows[..., n + j].sum(-1, dtype=np.float64), n_q)
            punctuation = [i for i, t in enumerate(extraction.tokens) if _is_punctuation(t)]
            sums.add(
                "punctuation",
                tokens[..., punctuation].sum(axis=(-1, -2), dtype=np.float64)
                if punctuation
                else np.zeros(rows.shape[:2]),
                n_q,
            )
            sums.add("self", np.trace(tokens, axis1=2, axis2=3, dtype=np.float64), n_q)
            sums.add(
                "previous",
                np.trace(tokens, offset=-1, axis1=2, axis2=3, dtype=np.float64),
                int(present[1:].sum()),
            )
            sums.add(
                "next",
                np.trace(tokens, offset=1, axis1=2, axis2=3, dtype=np.float64),
                int(present[:-1].sum()),
            )
            # 0 log 0 = 0: a zero weight times the log of a tiny floor is zero.
            logs = np.log(np.maximum(rows, np.float32(1e-30)))
            entropy = -np.einsum("lhqk,lhqk->lh", rows, logs, dtype=np.float64)
            sums.add("entropy", entropy, n_q)
            sums.add("uniform entropy", np.full(rows.shape[:2], n_q * np.log(rows.shape[-1])), n_q)
        self.n_sentences += 1

    def merge(self, other: AttentionPatterns) -> AttentionPatterns:
        """Fold ``other``'s sums into this reducer; returns ``self``."""
        for name, theirs in other._sums.items():
            mine = self._sums.setdefault(name, _PatternSums())
            for measure, values in theirs.sums.items():
                mine.add(measure, values, theirs.queries[measure])
        self.n_sentences += other.n_sentences
        return self

    def result(self) -> pd.DataFrame:
        """Tidy table: model, layer, head, measure, mean, n."""
        import pandas as pd

        frames = []
        for name, sums in self._sums.items():
            for measure in _measure_order(sums.sums):
                values, n = sums.sums[measure], sums.queries[measure]
                layer, head = (a.ravel() for a in np.indices(values.shape))
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = values.ravel() / n
                frames.append(
                    pd.DataFrame(
                        {
                            "model": name,
                            "layer": layer,
                            "head": head,
                            "measure": measure,
                            "mean": mean if n else np.nan,
                            "n": n,
                        }
                    )
                )
        if not frames:
            return pd.DataFrame({c: [] for c in ["model", "layer", "head", "measure", "mean", "n"]})
        return pd.concat(frames, ignore_index=True)


_MEASURES = ("special", "punctuation", "previous", "next", "self", "entropy", "uniform entropy")


def _measure_order(measures: Iterable[str]) -> list[str]:
    known = [m for m in _MEASURES if m in measures]
    return known + sorted(m for m in measures if m not in _MEASURES)


def _is_punctuation(text: str) -> bool:
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def summarize_attention(extractions: Iterable[Extraction]) -> pd.DataFrame:
    """Tidy per-head attention statistics of every sentence (see :class:`AttentionPatterns`)."""
    reducer = AttentionPatterns()
    for extraction in extractions:
        for sentence in extraction.sentences:
            reducer.update({extraction.model: sentence})
    return reducer.result()
