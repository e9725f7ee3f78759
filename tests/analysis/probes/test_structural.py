"""Structural probes (Hewitt & Manning 2019) on planted trees, and their scores' identities."""

from __future__ import annotations

import numpy as np
import pytest

from tests.analysis.probes.synthetic import planted_data
from trfviz.analysis.probes import (
    PROBE_COLUMNS,
    depth_spearman,
    distance_spearman,
    fit_structural_probe,
    root_accuracy,
    run_probes,
    tree_depths,
    tree_distances,
    uuas,
)


@pytest.fixture(scope="module")
def planted():
    return planted_data(120, seed=3)


@pytest.fixture(scope="module")
def planted_table(planted):
    return run_probes(planted, probes=["distance", "depth"], rank=32, max_epochs=40, progress=False)


def test_the_distance_probe_recovers_a_planted_tree(planted_table) -> None:
    rows = planted_table[planted_table.probe == "distance"].set_index(["layer", "metric"])
    assert rows.loc[(1, "uuas"), "value"] >= 0.95
    assert rows.loc[(1, "spearman"), "value"] >= 0.9
    assert rows.loc[(1, "uuas"), "value"] > rows.loc[(0, "uuas"), "value"] + 0.3  # 0 is noise
    # The words are all distinct types, so the control tree is not learnable from them.
    assert rows.loc[(1, "uuas"), "selectivity"] > 0.5


def test_the_depth_probe_recovers_planted_depths(planted_table) -> None:
    rows = planted_table[planted_table.probe == "depth"].set_index(["layer", "metric"])
    assert rows.loc[(1, "root_accuracy"), "value"] >= 0.9
    assert rows.loc[(1, "spearman"), "value"] >= 0.9
    assert rows.loc[(1, "spearman"), "selectivity"] > 0.5


def test_the_table_is_tidy(planted, planted_table) -> None:
    assert list(planted_table.columns) == PROBE_COLUMNS
    assert len(planted_table) == 2 * 2 * 2  # layers x probes x metrics
    np.testing.assert_array_equal(
        planted_table.selectivity, planted_table.value - planted_table["control"]
    )
    assert (planted_table.n == len(planted.indices("test"))).all()


def test_a_trained_probe_predicts_squared_distances_and_norms(planted) -> None:
    states = [s[1] for s in planted.states]
    targets = [tree_depths(g.heads) for g in planted.gold]
    probe = fit_structural_probe(
        "depth", states, targets, train=planted.indices("train"), dev=[], rank=4, max_epochs=2
    )
    x = states[0]
    projected = x.astype(np.float64) @ probe.matrix.T.astype(np.float64)
    np.testing.assert_allclose(probe.predict(x), (projected**2).sum(1), rtol=1e-10)
    as_distance = type(probe)("distance", probe.matrix, probe.epochs, probe.dev_loss)
    distances = as_distance.predict(x)
    np.testing.assert_allclose(distances, distances.T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        distances[0, 1], ((projected[0] - projected[1]) ** 2).sum(), rtol=1e-10
    )
    assert probe.epochs == 2


def test_perfect_predictions_score_one() -> None:
    heads = [np.array([1, -1, 1, 2, 1]), np.array([-1, 0, 1, 2, 3, 4])]
    distances = [tree_distances(h) for h in heads]
    depths = [tree_depths(h) for h in heads]
    none = [np.zeros(h.size, dtype=bool) for h in heads]
    assert uuas([d.astype(float) for d in distances], distances, none) == 1.0
    assert distance_spearman([d * 2.0 for d in distances], distances) == pytest.approx(1.0)
    assert root_accuracy([d + 0.5 for d in depths], [1, 0], none) == 1.0
    assert depth_spearman([d**2 for d in depths], depths) == pytest.approx(1.0)


def test_punctuation_is_left_out_of_uuas_and_the_root() -> None:
    heads = np.array([1, -1, 1, 1])  # word 3 is punctuation attached to the root
    gold = tree_distances(heads)
    predicted = gold.astype(float)
    predicted[3, :] = predicted[:, 3] = 0.01  # wrong about the punctuation only
    punct = np.array([False, False, False, True])
    assert uuas([predicted], [gold], [punct]) == 1.0
    assert uuas([predicted], [gold], [np.zeros(4, dtype=bool)]) < 1.0
    depth = np.array([1.0, 0.5, 1.0, 0.0])  # the punctuation looks shallowest
    assert root_accuracy([depth], [1], [punct]) == 1.0
    assert root_accuracy([depth], [1], [np.zeros(4, dtype=bool)]) == 0.0


def test_spearman_keeps_only_sentences_of_5_to_50_words() -> None:
    short = tree_distances(np.array([-1, 0, 1]))
    assert np.isnan(distance_spearman([short * 1.0], [short]))
    assert np.isnan(depth_spearman([np.arange(3.0)], [np.arange(3)]))


def test_bad_arguments_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        fit_structural_probe("width", [np.zeros((2, 3))], [np.zeros(2)], train=[0], dev=[])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no training sentences"):
        fit_structural_probe("depth", [np.zeros((2, 3))], [np.zeros(2)], train=[], dev=[])
