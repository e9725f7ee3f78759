"""Linear probes and their control task on labels that are a known linear function of the states."""

from __future__ import annotations

import numpy as np
import pytest

from trfviz.analysis.probes import (
    GoldSentence,
    ProbeData,
    fit_linear_probe,
    run_probes,
    split_sentences,
)

TAGS = ("NOUN", "VERB", "ADJ", "DET", "ADP")
RELATIONS = ("nsubj", "obj", "amod")


def linear_data(n_sentences: int = 400, dim: int = 8, seed: int = 0) -> ProbeData:
    """Layer 1: each word's tag and relation are the argmax of fixed linear maps of its state
    (layer 0: noise).

    Every word is its own type, so the control labels cannot be learned from the states.
    """
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(dim, len(TAGS)))
    relation_weights = rng.normal(size=(dim, len(RELATIONS)))
    states, gold = [], []
    for index in range(n_sentences):
        n = int(rng.integers(4, 12))
        x = rng.normal(size=(n, dim))
        upos = tuple(TAGS[k] for k in np.argmax(x @ weights, axis=1))
        deprel = tuple(RELATIONS[k] for k in np.argmax(x @ relation_weights, axis=1))
        heads = np.r_[-1, np.zeros(n - 1, dtype=np.int64)]
        states.append(np.stack([rng.normal(size=x.shape), x]).astype(np.float32))
        gold.append(GoldSentence(tuple(f"s{index}w{i}" for i in range(n)), heads, upos, deprel))
    return ProbeData("linear", tuple(states), tuple(gold), split_sentences(n_sentences, seed=seed))


def test_a_linear_probe_recovers_linear_labels_and_its_control_stays_at_chance() -> None:
    data = linear_data()
    table = run_probes(data, probes=["upos", "deprel"], c=1000.0, progress=False)
    rows = table.set_index(["layer", "probe"])
    assert rows.loc[(1, "upos"), "value"] >= 0.99
    assert rows.loc[(1, "deprel"), "value"] >= 0.99
    assert rows.loc[(0, "upos"), "value"] < 0.6  # noise states
    # Chance: the most frequent tag's share (what a probe that learned nothing predicts).
    test_tags = [t for i in data.indices("test") for t in data.gold[i].upos]
    chance = max(test_tags.count(t) for t in TAGS) / len(test_tags)
    assert rows.loc[(1, "upos"), "control"] <= chance + 0.1
    assert rows.loc[(1, "upos"), "selectivity"] >= 0.99 - chance - 0.1
    n_test_words = sum(data.gold[i].n_words for i in data.indices("test"))
    assert (table.n == n_test_words).all()


def test_the_standardisation_is_folded_into_the_weights() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(loc=50.0, scale=[1.0, 100.0, 0.01], size=(300, 3))
    labels = np.where(x[:, 2] > 50.0, "high", "low")
    probe = fit_linear_probe(x, labels, c=100.0)
    assert probe.weights.shape == (2, 3) and probe.bias.shape == (2,)
    assert (probe.predict(x) == labels).mean() >= 0.98


def test_one_label_is_always_predicted() -> None:
    probe = fit_linear_probe(np.ones((4, 2)), ["X"] * 4)
    assert list(probe.predict(np.zeros((3, 2)))) == ["X"] * 3


def test_bad_input_says_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="give \\[n, dim\\] and n"):
        fit_linear_probe(np.zeros((3, 2)), ["a", "b"])
