"""Contrasts between the conditions of a suite, and their paired effect sizes across items.

:func:`contrast_conditions` gives each item's contrast between conditions (a
difference, or any weighted combination such as an interaction) from the table
of :func:`~trfviz.analysis.ambiguity.regions.measure_region_attention`, and
:func:`estimate_effects` the paired effect size across items per head: mean
difference / standard deviation of the differences (Cohen's d_z), a paired
t-test, optionally a sign-flip permutation p-value, and Benjamini–Hochberg
q-values across heads (:mod:`trfviz.analysis.stats`). Both also take the table
of :func:`~trfviz.analysis.ambiguity.measure_region_attribution` (one
``attribution`` per stimulus, no heads): then there is one effect per model,
suite, region and target.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from trfviz.analysis.stats import benjamini_hochberg, sign_flip_p

__all__ = ["Contrast", "contrast_conditions", "estimate_effects"]

#: Condition ``a`` minus condition ``b``, or a mapping of condition weights.
Contrast = tuple[str, str] | Mapping[str, float]

# The identifying columns a table may have (attention tables: source, target, layer, head;
# attribution tables: region, target), and the value columns, in the order looked for.
_KEYS = ["model", "suite", "source", "target", "region", "layer", "head"]
_UNITS = ["layer", "head"]
_VALUES = ("attention", "attribution")


def contrast_conditions(table: pd.DataFrame, contrast: Contrast) -> pd.DataFrame:
    """Each item's contrast between conditions, per head.

    Args:
        table: from :func:`measure_region_attention` or
            :func:`~trfviz.analysis.ambiguity.measure_region_attribution`
            (several models may be concatenated).
        contrast: ``(a, b)`` for condition ``a`` minus condition ``b``, or a
            mapping of condition weights, e.g. the NP/Z interaction
            ``{"ambig_nocomma": 1, "ambig_comma": -1, "unambig_nocomma": -1,
            "unambig_comma": 1}``.

    Returns:
        One row per head × item: ``model, suite, source, target, layer, head,
        item`` (for attributions: ``model, suite, target, region, item``), one
        column per condition used (its attention or attribution),
        ``difference`` (the weighted sum) and ``contrast`` (a readable label).
    """
    weights = _contrast_weights(contrast)
    missing = set(weights) - set(table["condition"].unique())
    if missing:
        raise ValueError(f"conditions {sorted(missing)} are not in the table")
    value = next((c for c in _VALUES if c in table.columns), None)
    if value is None:
        raise ValueError(f"the table has none of the value columns {list(_VALUES)}")
    keys = [k for k in _KEYS if k in table.columns]
    used = table[table["condition"].isin(list(weights))]
    # unstack, not pivot_table: only (model, layer, head, item) rows that exist, NaNs kept.
    wide = used.set_index([*keys, "item", "condition"])[value].unstack("condition")
    wide = wide.reindex(columns=list(weights))
    wide.columns.name = None
    difference = sum(wide[c].to_numpy() * w for c, w in weights.items())
    out = wide.reset_index()
    out["difference"] = difference
    out["contrast"] = _contrast_label(weights)
    return out


def _contrast_weights(contrast: Contrast) -> dict[str, float]:
    if isinstance(contrast, Mapping):
        weights = {str(k): float(v) for k, v in contrast.items() if v != 0}
    else:
        a, b = contrast
        if a == b:
            raise ValueError("a contrast needs two different conditions")
        weights = {str(a): 1.0, str(b): -1.0}
    if not weights:
        raise ValueError("the contrast has no non-zero weight")
    return weights


def _contrast_label(weights: Mapping[str, float]) -> str:
    parts = []
    for i, (condition, weight) in enumerate(weights.items()):
        sign = "-" if weight < 0 else "+"
        size = abs(weight)
        term = condition if size == 1 else f"{size:g}*{condition}"
        parts.append((f"{sign} " if i or sign == "-" else "") + term)
    return " ".join(parts)


def estimate_effects(
    contrasts: pd.DataFrame, *, permutations: int = 0, seed: int = 0
) -> pd.DataFrame:
    """Paired effect size of a contrast across items, per head.

    Args:
        contrasts: from :func:`contrast_conditions`.
        permutations: sign-flip permutations for ``p_permutation`` (0: skip).
            When ``2 ** n_items <= permutations`` every sign pattern is used
            (an exact test); otherwise a Monte Carlo sample with ``seed``.
        seed: random seed of the Monte Carlo sample.

    Returns:
        One row per head (and model, suite, regions, contrast; for an
        attribution table, one row per model, suite, target, region and
        contrast): ``n_items,
        mean_difference, sd_difference, effect_size`` (mean / sd, Cohen's
        d_z), ``t``, ``p_value`` (two-sided paired t-test), ``q_value``
        (Benjamini–Hochberg over the heads of a model) and, with
        ``permutations``, ``p_permutation`` (two-sided, statistic: mean
        difference). Items with a NaN difference are left out head by head.
    """
    from scipy import stats

    units = [k for k in _UNITS if k in contrasts.columns]
    keys = [*(k for k in _KEYS if k in contrasts.columns and k not in units), "contrast"]
    frames = []
    for group_key, group in contrasts.groupby(keys, sort=False):
        if units:
            wide = group.set_index(["item", *units])["difference"].unstack(units)
        else:
            wide = group.set_index("item")[["difference"]]
        diffs = wide.to_numpy(dtype=np.float64)  # [items, heads]
        n = np.sum(np.isfinite(diffs), axis=0)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(diffs, axis=0)
            sd = np.nanstd(diffs, axis=0, ddof=1)
            effect = mean / sd
            t = mean / (sd / np.sqrt(n))
            p = 2.0 * stats.t.sf(np.abs(t), df=np.maximum(n - 1, 1))
        p = np.where(n >= 2, p, np.nan)
        frame = pd.DataFrame(
            {
                **dict(zip(keys, group_key, strict=True)),
                **{u: wide.columns.get_level_values(u).to_numpy() for u in units},
                "n_items": n,
                "mean_difference": mean,
                "sd_difference": sd,
                "effect_size": effect,
                "t": t,
                "p_value": p,
                "q_value": benjamini_hochberg(p),
            }
        )
        if permutations:
            frame["p_permutation"] = sign_flip_p(diffs, permutations=permutations, seed=seed)
        frames.append(frame)
    if not frames:
        raise ValueError("no contrasts given")
    return pd.concat(frames, ignore_index=True)
