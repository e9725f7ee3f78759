"""Attributions of the regions of SyntaxGym-style stimuli: what a region contributes to a target.

The attention contrast (:func:`~trfviz.analysis.ambiguity.measure_region_attention`)
asks where heads look; this one asks how much a region *matters* to an output,
from gradient attributions per spaCy token (a
:class:`~trfviz.measures.MeasureExtraction` with measure ``"attributions"``,
values ``[label]``: the tokens, then any special labels). For the NP/Z garden
paths, e.g. "Because the train stopped the prisoners ... " against the control
with a comma, one asks whether the disambiguating region (``Verb``) carries
more attribution in the ambiguous condition.

:func:`measure_region_attribution` gives, per stimulus, the attribution of a
region: **summed over its tokens** (attributions are additive: integrated
gradients' token values sum to ``f(x) - f(baseline)``), or their mean. Tokens
the model did not cover (``missing``) and the special labels are left out.
With ``normalize=True`` the sum is divided by the sum of the absolute
attributions of every token of the stimulus, so stimuli whose outputs differ in
size compare (a share in ``[-1, 1]``). The table goes straight into
:func:`~trfviz.analysis.ambiguity.contrast_conditions` and
:func:`~trfviz.analysis.ambiguity.estimate_effects`, which give each item's
contrast and the paired effect across items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from trfviz.analysis.ambiguity.regions import find_region_tokens, token_spans
from trfviz.datasets.syntaxgym import Region, Stimulus, region_index
from trfviz.measures.results import MeasureExtraction
from trfviz.validation import check_bool, check_choice

__all__ = ["ATTRIBUTION_MEASURES", "measure_region_attribution"]

#: Measures read as one value per label (token, then special labels).
ATTRIBUTION_MEASURES = ("attributions",)

Aggregate = Literal["sum", "mean"]


def measure_region_attribution(
    stimuli: Sequence[Stimulus],
    measures: Iterable[MeasureExtraction],
    *,
    region: Region,
    aggregate: Aggregate = "sum",
    normalize: bool = False,
    model: str | None = None,
    target: str | None = None,
) -> pd.DataFrame:
    """The attribution of one region of each stimulus.

    Args:
        stimuli: the stimuli, in the order of ``measures``.
        measures: one :class:`~trfviz.measures.MeasureExtraction` of measure
            ``"attributions"`` per stimulus (values ``[label]`` per sentence).
        region: the region (name, or SyntaxGym number from 1).
        aggregate: ``"sum"`` (default) or ``"mean"`` over the region's tokens.
        normalize: divide by the summed absolute attribution of the stimulus's tokens.
        model: name for the table (default: the measure's ``model``).
        target: what was attributed, for the table (default: the measure's
            ``target`` option, else ``"output"``).

    Returns:
        Tidy table, one row per stimulus: ``model, suite, item, condition,
        region, target, attribution, n_region``. ``attribution`` is NaN when
        the region has no covered token.

    Raises:
        TypeError: an item of ``measures`` is no MeasureExtraction.
        ValueError: a measure is not an attribution, its text is not its
            stimulus's, or the counts differ.
    """
    check_choice("aggregate", aggregate, ("sum", "mean"))
    check_bool("normalize", normalize)
    given = list(measures)
    if len(given) != len(stimuli):
        raise ValueError(f"{len(stimuli)} stimuli but {len(given)} measures")
    rows = []
    for stimulus, measure in zip(stimuli, given, strict=True):
        values, missing = _token_values(measure, stimulus)
        spans = token_spans(measure.text, [t for s in measure.sentences for t in s.tokens])
        tokens = find_region_tokens(spans, stimulus.span(region))
        tokens = tokens[~missing[tokens]]
        if len(tokens) == 0:
            value = float("nan")
        else:
            picked = values[tokens].astype(np.float64)
            value = float(picked.sum() if aggregate == "sum" else picked.mean())
            if normalize:
                total = float(np.abs(values[~missing].astype(np.float64)).sum())
                value = value / total if total > 0 else float("nan")
        rows.append(
            {
                "model": model or measure.model,
                "suite": stimulus.suite,
                "item": stimulus.item,
                "condition": stimulus.condition,
                "region": stimulus.region_names[region_index(region, stimulus.region_names)],
                "target": target or str(dict(measure.options).get("target", "output")),
                "attribution": value,
                "n_region": len(tokens),
            }
        )
    if not rows:
        raise ValueError("no stimuli given")
    return pd.DataFrame(rows)


def _token_values(measure: MeasureExtraction, stimulus: Stimulus) -> tuple[np.ndarray, np.ndarray]:
    """float ``[n_tokens]`` attributions over the Doc's tokens, and bool ``missing``."""
    if not isinstance(measure, MeasureExtraction):
        raise TypeError(f"expected a trfviz MeasureExtraction, got {type(measure).__name__}")
    if measure.measure not in ATTRIBUTION_MEASURES:
        raise ValueError(
            f"measure_region_attribution reads attributions (one value per token); got the "
            f"measure {measure.measure!r}. Attention-like measures go to measure_region_attention "
            "through trfviz.analysis.measure_inputs.as_attention"
        )
    if measure.text != stimulus.text:
        raise ValueError(
            f"measure text {measure.text!r} is not stimulus {stimulus.text!r}; "
            "give the measures in the order of the stimuli"
        )
    values, missing = [], []
    for sentence in measure.sentences:
        array = np.asarray(sentence.values)
        if array.shape != (len(sentence.labels),):
            raise ValueError(
                f"attributions of the sentence at token {sentence.start} have shape "
                f"{array.shape}; expected one value per label ({len(sentence.labels)})"
            )
        values.append(array[: sentence.n_tokens])
        missing.append(np.asarray(sentence.alignment.missing, dtype=bool))
    if not values:
        raise ValueError(f"the measure of {stimulus.text!r} has no sentences")
    return np.concatenate(values), np.concatenate(missing)
