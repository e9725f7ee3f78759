"""Each attention head as a classifier of syntactic heads: the most-attended-to other word.

Following Clark et al. 2019 ("What does BERT look at?", §4.2, and their
released ``Syntax_Analysis.ipynb``), a head predicts, for every word, its
syntactic head as the **most-attended-to other word**: the word itself and the
special pseudo-tokens (``[CLS]``, ``[SEP]``, the last ``len(special_labels)``
rows/columns) are left out of the argmax. Ties go to the earlier word. A word
that gives no attention to any other word (the first word under a causal mask)
predicts nothing (-1). Two directions:

- ``"dependent->head"``: from the dependent's attention row, the argmax over keys;
- ``"head->dependent"``: the transposed map (Clark's ``mode="transpose"``): for
  each word, the word that attends to it most (argmax over queries of its column).

Example
-------
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

from typing import Literal

import numpy as np

__all__ = ["DIRECTIONS", "Direction", "masked_scores", "predict_heads"]

Direction = Literal["dependent->head", "head->dependent"]
DIRECTIONS: tuple[Direction, Direction] = ("dependent->head", "head->dependent")


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
    scores = masked_scores(attention, n_tokens, missing)
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


def masked_scores(attention: np.ndarray, n: int, missing: np.ndarray | None) -> np.ndarray:
    """float32 ``[layer, head, n, n]`` copy of the token block, no argmax landing off it.

    The diagonal and the rows and columns of ``missing`` tokens are -inf.
    """
    scores = np.array(attention[..., :n, :n], dtype=np.float32)
    index = np.arange(n)
    scores[..., index, index] = -np.inf
    if missing is not None and np.any(missing):
        absent = np.asarray(missing, dtype=bool)
        scores[..., :, absent] = -np.inf
        scores[..., absent, :] = -np.inf
    return scores
