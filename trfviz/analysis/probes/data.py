"""What the probes learn from: per-layer states of gold-annotated words, split by sentence.

:class:`ProbeData` holds, for every usable sentence, one model's hidden states
``[layer + 1, word, dim]`` beside its gold annotation (:class:`GoldSentence`:
words, UPOS, dependency relations and the tree as a head array), and the
split each sentence belongs to (``"train"``, ``"dev"``, ``"test"``), drawn by
sentence with a fixed seed (:func:`split_sentences`), so no sentence's words
are on both sides.

:func:`collect_probe_data` pairs extractions with their gold Docs (for instance
:func:`trfviz.datasets.ud_english_ewt`); :func:`extract_probe_data` runs the
model first. Sentences that cannot be probed are skipped and counted
(``skipped``): a word the model did not cover (truncation), or an annotation
that is not one tree inside the sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trfviz.analysis.probes.trees import check_tree
from trfviz.extraction import Extraction
from trfviz.validation import check_int

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

    from trfviz.loading import LoadedModel
    from trfviz.pooling.weights import StatePooling

__all__ = [
    "SPLITS",
    "GoldSentence",
    "ProbeData",
    "collect_probe_data",
    "extract_probe_data",
    "gold_sentence",
    "split_sentences",
]

#: The three splits, in the order their shares are given.
SPLITS = ("train", "dev", "test")

#: The UPOS tag of the words left out where Hewitt & Manning leave out punctuation.
PUNCT = "PUNCT"


@dataclass(frozen=True)
class GoldSentence:
    """The gold annotation of one sentence.

    Attributes:
        words: the word forms, ``n`` of them.
        heads: int64 ``[n]``: each word's head (sentence index), ``-1`` for the root.
        upos: the universal part-of-speech tags.
        deprel: the dependency relations (``root`` for the root).
    """

    words: tuple[str, ...]
    heads: np.ndarray
    upos: tuple[str, ...]
    deprel: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.words)
        if not len(self.heads) == len(self.upos) == len(self.deprel) == n:
            raise ValueError(
                f"a gold sentence needs one head, UPOS and relation per word: {n} words, "
                f"{len(self.heads)} heads, {len(self.upos)} UPOS, {len(self.deprel)} relations"
            )
        check_tree(self.heads)

    @property
    def n_words(self) -> int:
        """Number of words."""
        return len(self.words)

    @property
    def punctuation(self) -> np.ndarray:
        """bool ``[n]``: words tagged ``PUNCT``."""
        return np.array([tag == PUNCT for tag in self.upos], dtype=bool)


@dataclass(frozen=True)
class ProbeData:
    """One model's per-layer word states beside the gold annotation, split by sentence.

    Attributes:
        model: the model's name.
        states: per sentence, float32 ``[layer + 1, n_words, dim]`` (index 0 is the
            embedding output, ``l`` the output of layer ``l``).
        gold: per sentence, its :class:`GoldSentence`.
        split: str ``[n_sentences]``: ``"train"``, ``"dev"`` or ``"test"``.
        skipped: sentences left out (uncovered words, or not one tree).
    """

    model: str
    states: tuple[np.ndarray, ...]
    gold: tuple[GoldSentence, ...]
    split: np.ndarray
    skipped: int = 0

    def __post_init__(self) -> None:
        if not self.states:
            raise ValueError("no sentences to probe: give at least one gold sentence per split")
        if not len(self.states) == len(self.gold) == len(self.split):
            raise ValueError(
                f"{len(self.states)} state arrays, {len(self.gold)} gold sentences and "
                f"{len(self.split)} split labels: give one of each per sentence"
            )
        layers, dims = {s.shape[0] for s in self.states}, {s.shape[2] for s in self.states}
        if len(layers) != 1 or len(dims) != 1:
            raise ValueError(
                f"every sentence's states need the same layers and width; got layers "
                f"{sorted(layers)} and widths {sorted(dims)}"
            )
        for i, (states, gold) in enumerate(zip(self.states, self.gold, strict=True)):
            if states.ndim != 3 or states.shape[1] != gold.n_words:
                raise ValueError(
                    f"sentence {i}: states of shape {states.shape} for {gold.n_words} words; "
                    "expected [layer + 1, n_words, dim]"
                )
        unknown = set(np.unique(self.split)) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown split labels {sorted(unknown)}; use {SPLITS}")
        for name in ("train", "test"):
            if not (self.split == name).any():
                raise ValueError(
                    f"no sentence in the {name!r} split; probe more sentences or change fractions"
                )

    @property
    def n_layers(self) -> int:
        """Transformer layers; the states hold ``n_layers + 1`` (the embeddings first)."""
        return int(self.states[0].shape[0]) - 1

    @property
    def dim(self) -> int:
        """Width of the hidden states."""
        return int(self.states[0].shape[2])

    def indices(self, split: str) -> np.ndarray:
        """int64: the sentences of ``split``."""
        return np.flatnonzero(self.split == split)


def split_sentences(
    n: int, *, seed: int = 0, fractions: Sequence[float] = (0.8, 0.1, 0.1)
) -> np.ndarray:
    """str ``[n]``: ``"train"``/``"dev"``/``"test"`` for each sentence, shuffled with ``seed``.

    ``fractions`` are the shares of train, dev and test (summing to 1); the
    counts are rounded down for dev and test, and train takes the rest.
    """
    check_int("n", n, minimum=1)
    check_int("seed", seed)
    shares = np.asarray(fractions, dtype=float)
    if shares.shape != (3,) or (shares < 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError(
            f"fractions must be three non-negative shares (train, dev, test) summing to 1; "
            f"got {tuple(fractions)}"
        )
    n_dev, n_test = int(n * shares[1]), int(n * shares[2])
    labels = np.array(["test"] * n_test + ["dev"] * n_dev + ["train"] * (n - n_dev - n_test))
    return labels[np.random.default_rng(seed).permutation(n)]


def gold_sentence(span: Span) -> GoldSentence | None:
    """The gold annotation of a sentence of a parsed Doc, or None if it is not one tree.

    A word whose head is itself or outside the sentence is a root; a sentence
    with more than one root, or without UPOS, is not probed.
    """
    heads = []
    for token in span:
        head = token.head.i
        inside = span.start <= head < span.end and head != token.i
        heads.append(head - span.start if inside else -1)
    upos = tuple(token.pos_ for token in span)
    if heads.count(-1) != 1 or not all(upos):
        return None
    return GoldSentence(
        words=tuple(token.text for token in span),
        heads=np.array(heads, dtype=np.int64),
        upos=upos,
        deprel=tuple(token.dep_ for token in span),
    )


def collect_probe_data(
    extractions: Iterable[Extraction],
    docs: Iterable[Doc],
    *,
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
) -> ProbeData:
    """:class:`ProbeData` from one model's extractions and the gold Docs they were made from.

    Args:
        extractions: one per Doc, in order, extracted with ``states=True``.
        docs: gold-parsed Docs (:func:`trfviz.datasets.ud_english_ewt`).
        seed: seed of the split by sentence.
        fractions: shares of train, dev and test.
    """
    states: list[np.ndarray] = []
    gold: list[GoldSentence] = []
    models: set[str] = set()
    skipped = 0
    doc_list = list(docs)
    extraction_list = list(extractions)
    if len(doc_list) != len(extraction_list):
        raise ValueError(
            f"{len(extraction_list)} extraction(s) for {len(doc_list)} Doc(s); give one "
            "extraction per Doc, in the same order"
        )
    for index, (extraction, doc) in enumerate(zip(extraction_list, doc_list, strict=True)):
        if not isinstance(extraction, Extraction):
            raise TypeError(
                f"extractions[{index}] must be a trfviz.Extraction; got {type(extraction).__name__}"
            )
        if extraction.text != doc.text:
            raise ValueError(
                f"Doc {index}'s text is not the text of extraction {index}; give the Docs in "
                "the order of the extractions"
            )
        models.add(extraction.model)
        for sentence in extraction.sentences:
            if sentence.states is None:
                raise ValueError(
                    f"extraction {index} kept no hidden states: extract with states=True"
                )
            annotation = gold_sentence(doc[sentence.start : sentence.end])
            if annotation is None or sentence.missing.any():
                skipped += 1
                continue
            states.append(sentence.states)
            gold.append(annotation)
    if len(models) > 1:
        raise ValueError(f"extractions of several models {sorted(models)}; probe one at a time")
    if not states:
        raise ValueError(
            f"none of the {skipped} sentence(s) can be probed: they need gold trees and UPOS "
            "(CoNLL-U Docs from trfviz.datasets) and every word covered by the model"
        )
    split = split_sentences(len(states), seed=seed, fractions=fractions)
    return ProbeData(models.pop(), tuple(states), tuple(gold), split, skipped)


def extract_probe_data(
    docs: Sequence[Doc],
    model: str | LoadedModel,
    *,
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    pooling: StatePooling = "mean",
    batch_size: int = 32,
    progress: bool | None = None,
) -> ProbeData:
    """Run ``model`` over gold-parsed ``docs`` (states only) and collect its :class:`ProbeData`.

    ``pooling`` defaults to ``"mean"``, a word's state the mean of its pieces'
    states, as Hewitt & Manning pool BERT's subwords: the default ``"weighted"``
    pooling of :func:`trfviz.extract` sums a split word's pieces (and spreads the
    special pieces over the sentence), so split words would stand out by their
    norm alone. Other options are those of :func:`trfviz.extract_docs`.
    """
    from trfviz.extractor import extract_docs

    extractions = extract_docs(
        docs,
        model,
        attention=False,
        states=True,
        pooling=pooling,
        batch_size=batch_size,
        progress=progress,
    )
    return collect_probe_data(extractions, docs, seed=seed, fractions=fractions)
