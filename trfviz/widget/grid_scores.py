"""The head grid's scores that need no caller: relation accuracy on the parse shown, one scale.

The explorer holds each sentence's parse (gold, or spaCy's) beside the models'
attention, so the head grid can be coloured by each head's accuracy at the
sentence's dependency arcs without the caller passing ``head_scores``:
:func:`relation_accuracy` reads it with
:class:`trfviz.analysis.syntax.HeadRelationAccuracy` (Clark et al. 2019: a head
predicts each word's syntactic head as the word it attends to most), over every
arc, from the dependent. :func:`share_score_ranges` gives the grids of two models
one colour range per score, so the same colour is the same value in both.

Plain data in, plain data out: no model is loaded or run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.parse import SentenceParse

__all__ = ["RELATION_ACCURACY", "relation_accuracy", "score_family", "share_score_ranges"]

#: The name of the computed score in the head grid.
RELATION_ACCURACY = "relation accuracy"


def relation_accuracy(sentence: SentenceExtraction, parse: SentenceParse) -> np.ndarray | None:
    """float64 ``[layer, head]``: the share of the parse's arcs each head gets right.

    A head is right at an arc when the dependent's most-attended-to other word
    is its syntactic head (direction ``"dependent->head"``, every relation).
    None when the parse has no arcs or the extraction kept no attention; NaN for
    a model that covered no arc (all touch tokens it did not cover).
    """
    attention = sentence.attention
    if not parse.has_parse or attention is None or sentence.n_tokens != len(parse.words):
        return None
    from trfviz.analysis.syntax.relations import ALL_RELATIONS, HeadRelationAccuracy

    reducer = HeadRelationAccuracy()
    reducer.update({"model": sentence}, parse)
    table = reducer.result()
    rows = table[(table.relation == ALL_RELATIONS) & (table.direction == "dependent->head")]
    out = np.full(attention.shape[:2], np.nan)
    out[rows.layer.to_numpy(), rows["head"].to_numpy()] = rows.accuracy.to_numpy()
    return out


def score_family(name: str) -> str:
    """What a score measures across models: ``"JS distance to X"`` and ``"… to Y"`` are one."""
    return "JS distance" if name.startswith("JS distance") else name


def share_score_ranges(grids: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The :func:`~trfviz.widget.payload.pack_grid` payloads with one range per score family.

    Each score's ``score_ranges`` entry becomes the smallest and largest value of
    that score over every model's grid, and ``shared_scale`` says so (with more
    than one grid), so both grids colour the same value the same.
    """
    spans: dict[str, list[float]] = {}
    for grid in grids.values():
        for name, span in grid.get("score_ranges", {}).items():
            if span is None:
                continue
            family = spans.setdefault(score_family(name), [span[0], span[1]])
            family[0], family[1] = min(family[0], span[0]), max(family[1], span[1])
    out = {}
    for key, grid in grids.items():
        ranges = {
            name: list(spans[score_family(name)]) if span is not None else None
            for name, span in grid.get("score_ranges", {}).items()
        }
        out[key] = {**grid, "score_ranges": ranges, "shared_scale": len(grids) > 1}
    return out
