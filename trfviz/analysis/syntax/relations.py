"""Which attention heads track which dependency relations: per-head accuracy beside a baseline.

:class:`HeadRelationAccuracy` is a streaming corpus reducer
(:class:`trfviz.analysis.corpus.Reducer`), fed one sentence at a time with
``update(extractions_by_model, parse)``, combined with ``merge`` and read with
``result()`` as a tidy ``pandas.DataFrame``; it follows Clark et al. 2019,
"What does BERT look at?", §4.2, and their released code (``Syntax_Analysis.ipynb``):

- Each head is a classifier that predicts each word's syntactic head
  (:mod:`trfviz.analysis.syntax.prediction`), in either direction; one
  prediction is scored per arc, so a head word with several dependents can get
  all of them right.
- Accuracy is over the arcs of a relation (the root has no arc and is not
  scored); ``"all"`` is over every arc, punctuation included. Clark's special
  case for PTB ``poss`` (scoring the following ``'s``) is not applied: UD
  attaches ``'s`` as ``case`` of the possessor, a relation of its own.
- Baseline: for each relation and direction, the best **fixed relative
  offset**: predict the word ``offset`` positions away (offsets ``±1 …
  ±max_offset``; one past the sentence's edge is simply wrong). Its offset is
  given from the word predicted from: in ``"dependent->head"`` it is
  ``head - dependent`` (+1: "the next word is my head"), in
  ``"head->dependent"`` ``dependent - head``. Ties go to the nearer offset.
- Arcs touching a token the model did not cover (``missing``, e.g. past
  truncation) are not scored, and such tokens are never predicted.
- Counting is :mod:`trfviz.analysis.syntax.counts`.

:func:`score_dependency_heads` runs it over in-memory extractions and
:func:`best_heads_per_relation` picks each relation's best head. Layers and
heads are numbered from 0, as in ``attention[layer, head]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.analysis.syntax.counts import ArcCounts, best_offsets
from trfviz.analysis.syntax.inputs import attention_of, selected_models, sentence_pairs
from trfviz.analysis.syntax.prediction import DIRECTIONS, masked_scores
from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.measures.results import MeasureExtraction
from trfviz.parse import SentenceParse
from trfviz.validation import check_int

if TYPE_CHECKING:
    import pandas as pd
    from spacy.tokens import Doc

__all__ = [
    "ALL_RELATIONS",
    "BEST_HEAD_COLUMNS",
    "SCORE_COLUMNS",
    "HeadRelationAccuracy",
    "best_heads_per_relation",
    "score_dependency_heads",
]

#: The relation label of the rows that pool every arc.
ALL_RELATIONS = "all"

SCORE_COLUMNS = [
    "model",
    "layer",
    "head",
    "relation",
    "direction",
    "correct",
    "n",
    "accuracy",
    "baseline_offset",
    "baseline_accuracy",
]


class HeadRelationAccuracy:
    """Streaming per-head accuracy at dependency relations, with the fixed-offset baseline.

    ``result()`` gives one row per model, layer, head, relation (plus
    ``"all"``) and direction: ``correct``, ``n`` (arcs scored), ``accuracy``,
    and the relation's best ``baseline_offset`` with its ``baseline_accuracy``.
    See the module docs for the exact definitions (Clark et al. 2019, §4.2).

    Args:
        models: score only these models of each update's mapping; all by default.
        max_offset: the baseline tries offsets ``±1 … ±max_offset``.
        relation_subtypes: keep UD subtypes (``nmod:poss``); False folds them
            into the universal relation (``nmod``).
    """

    needs_attention = True
    needs_states = False

    def __init__(
        self,
        *,
        models: Sequence[str] | None = None,
        max_offset: int = 5,
        relation_subtypes: bool = True,
    ) -> None:
        check_int("max_offset", max_offset, minimum=1)
        self.models = tuple(models) if models is not None else None
        self.max_offset = max_offset
        self.relation_subtypes = relation_subtypes
        self.n_sentences = 0
        self.relations: list[str] = []
        self._relation_index: dict[str, int] = {}
        self._counts: dict[str, ArcCounts] = {}

    def update(self, extractions: Mapping[str, SentenceExtraction], parse: SentenceParse) -> None:
        """Score every selected model's heads on the arcs of one sentence."""
        n_words = len(parse.words)
        labels = [self._label(arc.label) for arc in parse.arcs]
        relation = np.array([self._relation_id(label) for label in labels], dtype=np.int64)
        heads = np.array([arc.head for arc in parse.arcs], dtype=np.int64)
        dependents = np.array([arc.dependent for arc in parse.arcs], dtype=np.int64)
        for name, extraction in selected_models(extractions, self.models):
            attention = attention_of(extraction, n_words, name)
            counts = self._model_counts(name, attention.shape[0], attention.shape[1])
            counts.n_sentences += 1
            keep = ~(extraction.missing[heads] | extraction.missing[dependents])
            counts.skipped_arcs += int((~keep).sum())
            if not keep.any():
                continue
            rel, head, dep = relation[keep], heads[keep], dependents[keep]
            scores = masked_scores(attention, n_words, extraction.missing)
            correct = np.empty((2, *scores.shape[:2], len(dep)), dtype=bool)
            # A prediction is the argmax; it is right when it is the gold head and got some
            # attention (an all-zero row or column predicts nothing; see predict_heads).
            np.equal(scores.argmax(-1)[..., dep], head, out=correct[0])
            correct[0] &= scores[..., dep, head] > 0
            np.equal(scores.argmax(-2)[..., dep], head, out=correct[1])
            correct[1] &= scores[..., head, dep] > 0
            counts.add(correct, rel, head - dep)
        self.n_sentences += 1

    def merge(self, other: HeadRelationAccuracy) -> HeadRelationAccuracy:
        """Fold ``other``'s counts into this reducer; returns ``self``."""
        if (other.max_offset, other.relation_subtypes) != (self.max_offset, self.relation_subtypes):
            raise ValueError("cannot merge reducers with different max_offset/relation_subtypes")
        mapping = np.array([self._relation_id(label) for label in other.relations], dtype=np.int64)
        for name, theirs in other._counts.items():
            theirs.flush()
            mine = self._model_counts(name, theirs.n_layers, theirs.n_heads)
            # Labels are distinct, so ``mapping`` has no repeats and ``+=`` adds each once.
            mine.correct[..., mapping] += theirs.correct
            mine.arcs[mapping] += theirs.arcs
            mine.offsets[mapping] += theirs.offsets
            mine.n_sentences += theirs.n_sentences
            mine.skipped_arcs += theirs.skipped_arcs
        self.n_sentences += other.n_sentences
        return self

    def result(self) -> pd.DataFrame:
        """Tidy accuracy table: model, layer, head, relation, direction, correct, n, accuracy,
        baseline_offset, baseline_accuracy; ``"all"`` first, then relations by frequency."""
        import pandas as pd

        self._flush()

        frames = []
        for name, counts in self._counts.items():
            relations, correct, arcs, offsets = self._with_all(counts)
            offset_values, baseline_hits = best_offsets(offsets, self.max_offset)
            d, lay, hd, r = (a.ravel() for a in np.indices(correct.shape))
            n = arcs[r]
            with np.errstate(invalid="ignore", divide="ignore"):
                accuracy = correct.ravel() / n
                baseline = baseline_hits[r] / n
            sign = np.where(d == 0, 1, -1)
            frames.append(
                pd.DataFrame(
                    {
                        "model": name,
                        "layer": lay,
                        "head": hd,
                        "relation": np.array(relations, dtype=object)[r],
                        "direction": np.array(DIRECTIONS, dtype=object)[d],
                        "correct": correct.ravel(),
                        "n": n,
                        "accuracy": accuracy,
                        "baseline_offset": sign * offset_values[r],
                        "baseline_accuracy": baseline,
                    }
                )
            )
        if not frames:
            return pd.DataFrame({c: [] for c in SCORE_COLUMNS})
        table = pd.concat(frames, ignore_index=True)
        table = table[table.n > 0]
        # Rows come out per model, "all" first, then relations by total frequency.
        rank = {label: i for i, label in enumerate([ALL_RELATIONS, *self._by_frequency()])}
        table = table.assign(_rank=table.relation.map(rank))
        table = table.sort_values(["_rank", "direction", "layer", "head"], kind="stable")
        table = table.sort_values(
            "model",
            kind="stable",
            key=lambda col: col.map({name: i for i, name in enumerate(self._counts)}),
        )
        return table.drop(columns="_rank").reset_index(drop=True)

    def baseline_result(self) -> pd.DataFrame:
        """Every offset's accuracy: model, relation, direction, offset, correct, n, accuracy."""
        import pandas as pd

        self._flush()

        rows = []
        for name, counts in self._counts.items():
            relations, _, arcs, offsets = self._with_all(counts)
            k = self.max_offset
            for r, relation in enumerate(relations):
                if arcs[r] == 0:
                    continue
                for o in range(-k, k + 1):
                    if o == 0:
                        continue
                    hits = int(offsets[r, o + k])
                    for direction, signed in zip(DIRECTIONS, (o, -o), strict=True):
                        rows.append((name, relation, direction, signed, hits, int(arcs[r])))
        table = pd.DataFrame(
            rows, columns=["model", "relation", "direction", "offset", "correct", "n"]
        )
        table["accuracy"] = table.correct / table.n
        return table

    @property
    def skipped_arcs(self) -> dict[str, int]:
        """Per model, arcs not scored because a token was missing from the model's input."""
        return {name: counts.skipped_arcs for name, counts in self._counts.items()}

    def __getstate__(self) -> dict[str, Any]:
        self._flush()  # pickle counts, not queued sentences
        return self.__dict__.copy()

    def _flush(self) -> None:
        for counts in self._counts.values():
            counts.flush()

    def _label(self, label: str) -> str:
        return label if self.relation_subtypes else label.split(":", 1)[0]

    def _relation_id(self, label: str) -> int:
        index = self._relation_index.get(label)
        if index is None:
            index = self._relation_index[label] = len(self.relations)
            self.relations.append(label)
            for counts in self._counts.values():
                counts.grow(len(self.relations))
        return index

    def _model_counts(self, name: str, n_layers: int, n_heads: int) -> ArcCounts:
        counts = self._counts.get(name)
        if counts is None:
            counts = self._counts[name] = ArcCounts.empty(
                n_layers, n_heads, len(self.relations), self.max_offset
            )
        elif (counts.n_layers, counts.n_heads) != (n_layers, n_heads):
            raise ValueError(
                f"{name}: attention has {n_layers}x{n_heads} layers x heads, "
                f"earlier sentences had {counts.n_layers}x{counts.n_heads}"
            )
        return counts

    def _with_all(self, counts: ArcCounts) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        return (
            [ALL_RELATIONS, *self.relations],
            np.concatenate([counts.correct.sum(-1, keepdims=True), counts.correct], -1),
            np.concatenate([[counts.arcs.sum()], counts.arcs]),
            np.concatenate([counts.offsets.sum(0, keepdims=True), counts.offsets], 0),
        )

    def _by_frequency(self) -> list[str]:
        totals = sum((c.arcs for c in self._counts.values()), np.zeros(len(self.relations)))
        return sorted(
            self.relations, key=lambda label: (-totals[self._relation_index[label]], label)
        )


def score_dependency_heads(
    extractions: Iterable[Extraction | MeasureExtraction],
    parses: Iterable[Doc | Sequence[SentenceParse]],
    *,
    max_offset: int = 5,
    relation_subtypes: bool = True,
) -> pd.DataFrame:
    """Tidy per-head accuracy at each dependency relation (see :class:`HeadRelationAccuracy`).

    Args:
        extractions: one :class:`~trfviz.extraction.Extraction` per Doc, or one
            :class:`~trfviz.measures.MeasureExtraction` (value-weighted norms,
            rollout, flow) read in place of attention; see
            :mod:`trfviz.analysis.measure_inputs` for what differs.
        parses: for each Doc, the Doc itself (its parse is read, gold from
            :func:`~trfviz.datasets.read_conllu` or spaCy's) or its
            sentences' :class:`~trfviz.parse.SentenceParse`.
        max_offset: the baseline tries offsets ``±1 … ±max_offset``.
        relation_subtypes: keep UD subtypes (``nmod:poss``) apart.
    """
    reducer = HeadRelationAccuracy(max_offset=max_offset, relation_subtypes=relation_subtypes)
    for by_model, parse in sentence_pairs(extractions, parses):
        reducer.update(by_model, parse)
    return reducer.result()


#: Columns of :func:`best_heads_per_relation`, in order.
BEST_HEAD_COLUMNS = (
    "model",
    "relation",
    "direction",
    "layer",
    "head",
    "accuracy",
    "correct",
    "n",
    "baseline_offset",
    "baseline_accuracy",
    "gain",
)


def best_heads_per_relation(
    scores: pd.DataFrame,
    *,
    min_count: int = 1,
    exclude: Sequence[str] = (),
    per_direction: bool = True,
) -> pd.DataFrame:
    """The best head for each model, relation (and direction), beside the offset baseline.

    Args:
        scores: the table of :meth:`HeadRelationAccuracy.result` or
            :func:`score_dependency_heads`.
        min_count: leave out relations with fewer arcs (Clark et al. used 100).
        exclude: relations to leave out (Clark et al. left out ``root`` and ``punct``).
        per_direction: one row per direction; False keeps each relation's better
            direction, as Clark et al.'s Table 1 does.

    Returns:
        Columns model, relation, direction, layer, head, accuracy, correct, n,
        baseline_offset, baseline_accuracy, gain (accuracy - baseline_accuracy);
        ordered as ``scores`` (``"all"`` first, then by frequency). Ties go to
        the lower layer, then head.
    """
    import pandas as pd

    table = scores[(scores.n >= min_count) & ~scores.relation.isin(list(exclude))]
    if table.empty:
        return pd.DataFrame({c: [] for c in BEST_HEAD_COLUMNS})
    keys = ["model", "relation", "direction"] if per_direction else ["model", "relation"]
    order = {key: i for i, key in enumerate(dict.fromkeys(map(tuple, table[keys].to_numpy())))}
    ranked = table.sort_values(
        ["accuracy", "direction", "layer", "head"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    best = ranked.groupby(keys, sort=False).head(1).copy()
    best["gain"] = best.accuracy - best.baseline_accuracy
    best["_order"] = [order[tuple(k)] for k in best[keys].to_numpy()]
    return best.sort_values("_order")[list(BEST_HEAD_COLUMNS)].reset_index(drop=True)
