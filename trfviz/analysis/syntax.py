"""Which attention heads track which dependency relations, and where heads look.

Two streaming reducers (see :class:`trfviz.analysis.corpus.Reducer`), fed one
sentence at a time with ``update(extractions_by_model, parse)``, combined with
``merge`` and read with ``result()`` as a tidy ``pandas.DataFrame``:

:class:`HeadRelationAccuracy` — Clark et al. 2019, "What does BERT look at?",
§4.2, following their released code (``Syntax_Analysis.ipynb``):

- Each head is a classifier that predicts, for every word, its syntactic head
  as the **most-attended-to other word**: the word itself and the special
  pseudo-tokens (``[CLS]``, ``[SEP]``, the last ``len(special_labels)``
  rows/columns) are left out of the argmax. Ties go to the earlier word. A
  word that gives no attention to any other word (the first word under a
  causal mask) predicts nothing, and its arc counts as wrong.
- ``"dependent->head"``: from the dependent's attention row, the argmax over
  keys is its gold head.
- ``"head->dependent"``: the transposed map (Clark's ``mode="transpose"``): for
  each dependent, the word that attends to it most (argmax over queries of
  its column) is its gold head — "the head attends to the dependent more than
  any other word does". Either way one prediction is scored per arc, so a
  head word with several dependents can get all of them right.
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

:class:`AttentionPatterns` — per layer and head, averaged over query tokens
(Clark et al. §3): the share of attention to the special pseudo-tokens (all,
and each label), to punctuation (tokens made only of Unicode punctuation), to
the previous and the next token (averaged over the tokens that have one), to
itself, and the entropy of the attention row in nats (over tokens and special
pseudo-tokens, ``0 log 0 = 0``, no smoothing), beside the entropy of uniform
attention over the same row. Query rows are the spaCy tokens only.

Layers and heads are numbered from 0, as in ``attention[layer, head]``.

Example
-------
>>> import numpy as np
>>> attention = np.zeros((1, 1, 3, 3), dtype=np.float32)   # one layer, one head
>>> attention[0, 0, [0, 1, 2], [1, 2, 1]] = 1.0   # "the"->"dog", "dog"->"barks", "barks"->"dog"
>>> predict_heads(attention, 3)[:, 0, 0].tolist()  # [dependent->head, head->dependent]
[[1, 2, 1], [-1, 0, 1]]

With gold arcs "dog" -det-> "the" and "barks" -nsubj-> "dog", this head gets
both right from the dependent (``dependent->head``) and neither the other way
round: no word attends to "the" (-1), and "the" and "barks" tie as the word
attending most to "dog" (the earlier one wins).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.parse import SentenceParse, parse_sentence
from trfviz.validation import check_int

if TYPE_CHECKING:
    import pandas as pd
    from spacy.tokens import Doc

__all__ = [
    "ALL_RELATIONS",
    "DIRECTIONS",
    "AttentionPatterns",
    "Direction",
    "HeadRelationAccuracy",
    "best_heads_per_relation",
    "predict_heads",
    "score_dependency_heads",
    "summarize_attention",
]

Direction = Literal["dependent->head", "head->dependent"]
DIRECTIONS: tuple[Direction, Direction] = ("dependent->head", "head->dependent")
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


def predict_heads(
    attention: np.ndarray, n_tokens: int, *, missing: np.ndarray | None = None
) -> np.ndarray:
    """int64 ``[2, layer, head, n_tokens]``: each head's predicted syntactic head of every token.

    Index 0 is ``"dependent->head"`` (the most-attended-to other token of each
    token's row), index 1 ``"head->dependent"`` (the other token attending most
    to each token's column). The token itself, special pseudo-tokens (columns
    and rows past ``n_tokens``) and ``missing`` tokens are never predicted; a
    token whose row (column) has no positive weight on another token gets -1.

    Args:
        attention: ``[layer, head, query, key]`` over the tokens, then any
            special pseudo-tokens.
        n_tokens: number of spaCy tokens (the first ``n_tokens`` rows/columns).
        missing: bool ``[n_tokens]`` tokens the model did not cover.
    """
    scores = _masked_scores(attention, n_tokens, missing)
    prediction = np.empty((2, *scores.shape[:-1]), dtype=np.int64)
    scores.argmax(-1, out=prediction[0])
    scores.argmax(-2, out=prediction[1])
    # No attention at all to (or from) any other token is no prediction: a causal
    # model's first word, a missing token. Argmax would pick the first zero.
    row_best = np.take_along_axis(scores, prediction[0][..., None], -1)[..., 0]
    column_best = np.take_along_axis(scores, prediction[1][..., None, :], -2)[..., 0, :]
    prediction[0][~(row_best > 0)] = -1
    prediction[1][~(column_best > 0)] = -1
    return prediction


def _masked_scores(attention: np.ndarray, n: int, missing: np.ndarray | None) -> np.ndarray:
    """float32 ``[layer, head, n, n]`` copy of the token block, with the diagonal and the
    rows and columns of missing tokens at -inf, so no argmax lands there."""
    scores = np.array(attention[..., :n, :n], dtype=np.float32)
    index = np.arange(n)
    scores[..., index, index] = -np.inf
    if missing is not None and np.any(missing):
        absent = np.asarray(missing, dtype=bool)
        scores[..., :, absent] = -np.inf
        scores[..., absent, :] = -np.inf
    return scores


@dataclass
class _ArcCounts:
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
    def empty(cls, n_layers: int, n_heads: int, n_relations: int, max_offset: int) -> _ArcCounts:
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
        self._counts: dict[str, _ArcCounts] = {}

    def update(self, extractions: Mapping[str, SentenceExtraction], parse: SentenceParse) -> None:
        """Score every selected model's heads on the arcs of one sentence."""
        n_words = len(parse.words)
        labels = [self._label(arc.label) for arc in parse.arcs]
        relation = np.array([self._relation_id(label) for label in labels], dtype=np.int64)
        heads = np.array([arc.head for arc in parse.arcs], dtype=np.int64)
        dependents = np.array([arc.dependent for arc in parse.arcs], dtype=np.int64)
        for name, extraction in _selected(extractions, self.models):
            attention = _attention_of(extraction, n_words, name)
            counts = self._model_counts(name, attention.shape[0], attention.shape[1])
            counts.n_sentences += 1
            keep = ~(extraction.missing[heads] | extraction.missing[dependents])
            counts.skipped_arcs += int((~keep).sum())
            if not keep.any():
                continue
            rel, head, dep = relation[keep], heads[keep], dependents[keep]
            scores = _masked_scores(attention, n_words, extraction.missing)
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
            offset_values, baseline_hits = _best_offsets(offsets, self.max_offset)
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

    def _model_counts(self, name: str, n_layers: int, n_heads: int) -> _ArcCounts:
        counts = self._counts.get(name)
        if counts is None:
            counts = self._counts[name] = _ArcCounts.empty(
                n_layers, n_heads, len(self.relations), self.max_offset
            )
        elif (counts.n_layers, counts.n_heads) != (n_layers, n_heads):
            raise ValueError(
                f"{name}: attention has {n_layers}x{n_heads} layers x heads, "
                f"earlier sentences had {counts.n_layers}x{counts.n_heads}"
            )
        return counts

    def _with_all(self, counts: _ArcCounts) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
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


def _best_offsets(offsets: np.ndarray, max_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``offsets`` ``[relation, 2k+1]``: the best offset (nearest on ties), its hits."""
    candidates = sorted(
        (o for o in range(-max_offset, max_offset + 1) if o), key=lambda o: (abs(o), o)
    )
    columns = offsets[:, [o + max_offset for o in candidates]]
    best = columns.argmax(-1)
    return np.array(candidates, dtype=np.int64)[best], columns[np.arange(len(columns)), best]


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
        for name, extraction in _selected(extractions, self.models):
            n = extraction.n_tokens
            attention = _attention_of(extraction, n, name)
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


def _selected(
    extractions: Mapping[str, SentenceExtraction], models: tuple[str, ...] | None
) -> Iterator[tuple[str, SentenceExtraction]]:
    if models is None:
        yield from extractions.items()
        return
    for name in models:
        if name not in extractions:
            raise ValueError(f"no extraction for model {name!r}; have {sorted(extractions)}")
        yield name, extractions[name]


def _attention_of(extraction: SentenceExtraction, n_words: int, name: str) -> np.ndarray:
    if extraction.attention is None:
        raise ValueError(f"{name}: the extraction kept no attention (extract with attention=True)")
    if extraction.n_tokens != n_words:
        raise ValueError(
            f"{name}: the extraction has {extraction.n_tokens} tokens but the parse has "
            f"{n_words} words; pair each sentence's extraction with its own parse"
        )
    return extraction.attention


def _sentence_pairs(
    extractions: Iterable[Extraction], parses: Iterable[Doc | Sequence[SentenceParse]]
) -> Iterator[tuple[dict[str, SentenceExtraction], SentenceParse]]:
    parse_iter = iter(parses)
    count = 0
    for count, extraction in enumerate(extractions, start=1):
        if not isinstance(extraction, Extraction):
            raise TypeError(
                f"extractions[{count - 1}] must be a trfviz.Extraction; "
                f"got {type(extraction).__name__}"
            )
        doc_parses = next(parse_iter, None)
        if doc_parses is None:
            raise ValueError(
                f"{count} extraction(s) but only {count - 1} Doc(s) or parse list(s); "
                "give one per extraction, in the same order"
            )
        if hasattr(doc_parses, "vocab"):  # a spaCy Doc: parse the extraction's sentences
            doc: Any = doc_parses
            if doc.text != extraction.text:
                raise ValueError(
                    f"Doc {count - 1}'s text is not the text of extraction {count - 1}; "
                    "give the Docs in the order of the extractions"
                )
            sentence_parses: Sequence[SentenceParse] = [
                parse_sentence(doc[s.start : s.end]) for s in extraction.sentences
            ]
        else:
            sentence_parses = list(doc_parses)
        if len(sentence_parses) != len(extraction.sentences):
            raise ValueError(
                f"extraction {count - 1} has {len(extraction.sentences)} sentence(s) but "
                f"{len(sentence_parses)} parse(s) were given for it"
            )
        for sentence, parse in zip(extraction.sentences, sentence_parses, strict=True):
            if not isinstance(parse, SentenceParse):
                raise TypeError(
                    f"parses for extraction {count - 1} must be SentenceParse objects "
                    f"(trfviz.parse_doc(doc)); got {type(parse).__name__}"
                )
            yield {extraction.model: sentence}, parse
    if next(parse_iter, None) is not None:
        raise ValueError(
            f"more Docs or parse lists than the {count} extraction(s); give one per extraction"
        )


def score_dependency_heads(
    extractions: Iterable[Extraction],
    parses: Iterable[Doc | Sequence[SentenceParse]],
    *,
    max_offset: int = 5,
    relation_subtypes: bool = True,
) -> pd.DataFrame:
    """Tidy per-head accuracy at each dependency relation (see :class:`HeadRelationAccuracy`).

    Args:
        extractions: one :class:`~trfviz.extraction.Extraction` per Doc.
        parses: for each Doc, the Doc itself (its parse is read, gold from
            :func:`~trfviz.analysis.conllu.read_conllu` or spaCy's) or its
            sentences' :class:`~trfviz.parse.SentenceParse`.
        max_offset: the baseline tries offsets ``±1 … ±max_offset``.
        relation_subtypes: keep UD subtypes (``nmod:poss``) apart.
    """
    reducer = HeadRelationAccuracy(max_offset=max_offset, relation_subtypes=relation_subtypes)
    for by_model, parse in _sentence_pairs(extractions, parses):
        reducer.update(by_model, parse)
    return reducer.result()


def summarize_attention(extractions: Iterable[Extraction]) -> pd.DataFrame:
    """Tidy per-head attention statistics of every sentence (see :class:`AttentionPatterns`)."""
    reducer = AttentionPatterns()
    for extraction in extractions:
        for sentence in extraction.sentences:
            reducer.update({extraction.model: sentence})
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
