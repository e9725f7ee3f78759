"""Tree distances, depths and spanning trees: exact identities on random trees (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.analysis.probes.synthetic import random_heads
from trfviz.analysis.probes import minimum_spanning_edges, tree_depths, tree_distances
from trfviz.analysis.probes.trees import check_tree, tree_edges

trees = st.builds(
    random_heads,
    st.integers(1, 30),
    st.integers(0, 2**32 - 1).map(np.random.default_rng),
)


@given(trees)
def test_distances_are_a_tree_metric(heads: np.ndarray) -> None:
    d = tree_distances(heads)
    depth = tree_depths(heads)
    root = int(np.flatnonzero(heads == -1)[0])
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0)
    np.testing.assert_array_equal(d[root], depth)
    for child, head in enumerate(heads):
        if head != -1:
            assert d[child, head] == 1 and depth[child] == depth[head] + 1
    # d(i, k) <= d(i, j) + d(j, k), indexed [i, j, k]
    assert (d[:, None, :] <= d[:, :, None] + d[None, :, :]).all()


@given(trees)
def test_the_spanning_tree_of_tree_distances_is_the_tree(heads: np.ndarray) -> None:
    assert minimum_spanning_edges(tree_distances(heads).astype(float)) == tree_edges(heads)


def test_bad_trees_are_refused() -> None:
    with pytest.raises(ValueError, match="exactly one root"):
        check_tree(np.array([-1, -1, 0]))
    with pytest.raises(ValueError, match="cycle"):
        check_tree(np.array([-1, 2, 1]))
    with pytest.raises(ValueError, match="another word"):
        check_tree(np.array([-1, 1]))
