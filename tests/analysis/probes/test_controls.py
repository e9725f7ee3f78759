"""Control tasks (Hewitt & Liang 2019): consistent per word type, same shape for trees."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.analysis.probes.synthetic import random_heads
from trfviz.analysis.probes import control_labels, control_tree, tree_depths
from trfviz.analysis.probes.trees import check_tree


def test_control_labels_are_one_per_type_and_follow_the_label_distribution() -> None:
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(2000)]
    words = [tuple(rng.choice(vocabulary, size=10)) for _ in range(300)]
    labels = [tuple("A" if rng.random() < 0.7 else "B" for _ in s) for s in words]
    control = control_labels(words, labels, seed=1)
    seen: dict[str, str] = {}
    for sentence, tags in zip(words, control, strict=True):
        for word, tag in zip(sentence, tags, strict=True):
            assert seen.setdefault(word.lower(), tag) == tag
    share = Counter(seen.values())["A"] / len(seen)
    assert 0.65 < share < 0.75  # the types' labels are drawn with the labels' shares
    assert control_labels(words, labels, seed=1) == control
    assert control_labels(words, labels, seed=2) != control
    assert control_labels([("The", "the")], [("DET", "DET")])[0][0] == "DET"


@given(st.integers(1, 25), st.integers(0, 2**32 - 1))
def test_a_control_tree_has_the_gold_shape(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    heads = random_heads(n, rng)
    words = [f"t{rng.integers(8)}" for _ in range(n)]
    control = check_tree(control_tree(heads, words, seed=seed % 7))
    assert sorted(tree_depths(control)) == sorted(tree_depths(heads))
    children = sorted(Counter(h for h in heads if h != -1).values())
    assert sorted(Counter(h for h in control if h != -1).values()) == children
    np.testing.assert_array_equal(control, control_tree(heads, words, seed=seed % 7))


def test_the_control_root_is_fixed_by_the_types() -> None:
    heads = np.array([1, -1, 1])
    first = control_tree(heads, ["a", "b", "c"], seed=0)
    moved = control_tree(heads, ["c", "a", "b"], seed=0)
    root_word = ["a", "b", "c"][int(np.flatnonzero(first == -1)[0])]
    assert ["c", "a", "b"][int(np.flatnonzero(moved == -1)[0])] == root_word
