"""Where heads look (AttentionPatterns): special tokens, punctuation, neighbours, entropy."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import synthetic_sentence
from trfviz.analysis.syntax import AttentionPatterns

SPECIALS = ("[CLS]", "[SEP]")


def test_attention_patterns_by_hand() -> None:
    words = ("Hi", ",", "you", ".")
    n = len(words)
    attention = np.zeros((2, 1, n + 2, n + 2))
    # Head (0, 0): word 0 -> [CLS]; the others -> the previous word.
    attention[0, 0, 0, n] = 1.0
    for q in range(1, n):
        attention[0, 0, q, q - 1] = 1.0
    # Head (1, 0): uniform over the whole row.
    attention[1, 0] = 1 / (n + 2)
    table = AttentionPatterns().result()
    assert table.empty
    reducer = AttentionPatterns()
    reducer.update({"m": synthetic_sentence(attention, words=words, specials=SPECIALS)})
    table = reducer.result().set_index(["layer", "head", "measure"])["mean"]
    assert table[0, 0, "special"] == pytest.approx(1 / n)
    assert table[0, 0, "special:[CLS]"] == pytest.approx(1 / n)
    assert table[0, 0, "special:[SEP]"] == 0.0
    assert table[0, 0, "previous"] == pytest.approx(1.0)  # over the 3 words that have one
    assert table[0, 0, "next"] == 0.0
    # Only "you" attends to punctuation (","): one row of four.
    assert table[0, 0, "punctuation"] == pytest.approx(1 / n)
    assert table[0, 0, "entropy"] == pytest.approx(0.0)
    assert table[1, 0, "entropy"] == pytest.approx(np.log(n + 2))
    assert table[1, 0, "uniform entropy"] == pytest.approx(np.log(n + 2))
    assert table[1, 0, "self"] == pytest.approx(1 / (n + 2))
    assert table[1, 0, "punctuation"] == pytest.approx(2 / (n + 2))
