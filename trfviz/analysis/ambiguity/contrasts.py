"""Contrasts between the conditions of a suite, and their paired effect sizes across items.

:func:`contrast_conditions` gives each item's contrast between conditions (a
difference, or any weighted combination such as an interaction) from the table
of :func:`~trfviz.analysis.ambiguity.regions.measure_region_attention`, and
:func:`estimate_effects` the paired effect size across items per head: mean
difference / standard deviation of the differences (Cohen's d_z), a paired
t-test, optionally a sign-flip permutation p-value, and Benjamini–Hochberg
q-values across heads (:mod:`trfviz.analysis.stats`).
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

_HEAD_KEYS = ["model", "suite", "source", "target", "layer", "head"]


def contrast_conditions(table: pd.DataFrame, contrast: Contrast) -> pd.DataFrame:
    """Each item's contrast between conditions, per head.

    Args:
        table: from :func:`measure_region_attention` (several models may be concatenated).
        contrast: ``(a, b)`` for condition ``a`` minus condition ``b``, or a
            mapping of condition weights, e.g. the NP/Z interaction
            ``{"ambig_nocomma": 1, "ambig_comma": -1, "unambig_nocomma": -1,
            "unambig_comma": 1}``.

    Returns:
        One row per head × item: ``model, suite, source, target, layer, head,
        item``, one column per condition used (its attention), ``difference``
        (the weighted sum) and ``contrast`` (a readable label).
    """
    weights = _contrast_weights(contrast)
    missing = set(weights) - set(table["condition"].unique())
    if missing:
        raise ValueError(f"conditions {sorted(missing)} are not in the table")
    used = table[table["condition"].isin(list(weights))]
    # unstack, not pivot_table: only (model, layer, head, item) rows that exist, NaNs kept.
    wide = used.set_index([*_HEAD_KEYS, "item", "condition"])["attention"].unstack("condition")
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
        One row per head (and model, suite, regions, contrast): ``n_items,
        mean_difference, sd_difference, effect_size`` (mean / sd, Cohen's
        d_z), ``t``, ``p_value`` (two-sided paired t-test), ``q_value``
        (Benjamini–Hochberg over the heads of a model) and, with
        ``permutations``, ``p_permutation`` (two-sided, statistic: mean
        difference). Items with a NaN difference are left out head by head.
    """
    from scipy import stats

    keys = [*_HEAD_KEYS[:4], "contrast"]
    frames = []
    for group_key, group in contrasts.groupby(keys, sort=False):
        wide = group.set_index(["item", "layer", "head"])["difference"].unstack(["layer", "head"])
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
                **dict(zip(keys[:4], group_key[:4], strict=True)),
                "contrast": group_key[4],
                "layer": wide.columns.get_level_values("layer").to_numpy(),
                "head": wide.columns.get_level_values("head").to_numpy(),
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
