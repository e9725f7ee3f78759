"""Each head as a classifier of syntactic heads: predict_heads, hand-worked."""

from __future__ import annotations

import numpy as np

from trfviz.analysis.syntax import predict_heads


def test_predict_heads_hand_worked() -> None:
    # 1 layer, 1 head, 3 tokens + 2 specials. Row q is where q looks.
    attention = np.zeros((1, 1, 5, 5), dtype=np.float32)
    attention[0, 0, 0] = [0.5, 0.1, 0.0, 0.4, 0.0]  # self and [CLS] are out: -> 1
    attention[0, 0, 1] = [0.2, 0.1, 0.3, 0.0, 0.4]  # -> 2
    attention[0, 0, 2] = [0.1, 0.6, 0.2, 0.1, 0.0]  # -> 1
    predicted = predict_heads(attention, 3)
    assert predicted[0, 0, 0].tolist() == [1, 2, 1]
    # Columns: who attends most to 0? rows 1 (0.2), 2 (0.1) -> 1; to 1? rows 0 (.1), 2 (.6) -> 2;
    # to 2? rows 0 (0), 1 (.3) -> 1.
    assert predicted[1, 0, 0].tolist() == [1, 2, 1]


def test_predict_heads_never_picks_missing_tokens() -> None:
    attention = np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32)
    attention[0, 0, 0, 1] = 0.9
    predicted = predict_heads(attention, 3, missing=np.array([False, True, False]))
    assert predicted[0, 0, 0, 0] == 2
    assert predicted[0, 0, 0, 1] == -1  # a missing token predicts nothing
