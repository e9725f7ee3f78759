"""Probe data: gold annotation from CoNLL-U Docs paired with states, split by sentence."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import synthetic_extraction, synthetic_sentence
from trfviz.analysis.probes import (
    GoldSentence,
    ProbeData,
    collect_probe_data,
    gold_sentence,
    split_sentences,
)
from trfviz.datasets import ud_english_ewt


def test_splits_are_by_sentence_fixed_by_the_seed_and_sized_by_the_fractions() -> None:
    split = split_sentences(100, seed=4)
    np.testing.assert_array_equal(split, split_sentences(100, seed=4))
    assert not np.array_equal(split, split_sentences(100, seed=5))
    assert [(split == s).sum() for s in ("train", "dev", "test")] == [80, 10, 10]
    assert (split_sentences(10, fractions=(0.5, 0.0, 0.5)) == "dev").sum() == 0
    with pytest.raises(ValueError, match="summing to 1"):
        split_sentences(10, fractions=(0.5, 0.5, 0.5))


def test_gold_sentences_come_from_conllu_docs() -> None:
    doc = ud_english_ewt("dev", limit=1)[0]
    gold = gold_sentence(doc[:])
    assert gold is not None
    assert gold.words == tuple(t.text for t in doc)
    assert gold.upos == tuple(t.pos_ for t in doc)
    root = int(np.flatnonzero(gold.heads == -1)[0])
    assert gold.deprel[root] == "root"
    assert gold.punctuation.tolist() == [t.pos_ == "PUNCT" for t in doc]


def test_collect_pairs_states_with_gold_and_skips_uncovered_words() -> None:
    docs = ud_english_ewt("dev", limit=6)
    extractions = []
    for index, doc in enumerate(docs):
        n = len(doc)
        states = np.zeros((3, n, 4), dtype=np.float32)
        missing = [0] if index == 2 else []
        sentence = synthetic_sentence(states=states, words=[t.text for t in doc], missing=missing)
        extraction = synthetic_extraction([sentence], model="m")
        extractions.append(type(extraction)(**{**extraction.__dict__, "text": doc.text}))
    data = collect_probe_data(extractions, docs, fractions=(0.6, 0.2, 0.2))
    assert (len(data.gold), data.skipped, data.n_layers, data.dim) == (5, 1, 2, 4)
    assert data.model == "m"
    with pytest.raises(ValueError, match="one extraction per Doc"):
        collect_probe_data(extractions[:2], docs)
    with pytest.raises(ValueError, match="order of the extractions"):
        collect_probe_data(extractions[::-1], docs)


def test_probe_data_refuses_states_that_do_not_fit_the_words() -> None:
    gold = GoldSentence(("a", "b"), np.array([-1, 0]), ("X", "Y"), ("root", "dep"))
    with pytest.raises(ValueError, match="expected \\[layer \\+ 1, n_words, dim\\]"):
        ProbeData("m", (np.zeros((2, 3, 4)),), (gold,), np.array(["train"]))
    with pytest.raises(ValueError, match="no sentence in the 'test' split"):
        ProbeData("m", (np.zeros((2, 2, 4)),), (gold,), np.array(["train"]))
    with pytest.raises(ValueError, match="one head, UPOS and relation per word"):
        GoldSentence(("a",), np.array([-1, 0]), ("X",), ("root",))
