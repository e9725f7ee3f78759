"""Reading a head-similarity table: each head's best match in the other model, model-level scores.

Both take the table of :func:`~trfviz.analysis.similarity.heads.compare_heads`
(or :meth:`HeadSimilarity.result`). The best match by ``correlation`` is the
max-correlation analysis of Wu et al. (2020, "Similarity analysis of contextual
word representation models"), here over attention weights.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["HEAD_METRICS", "best_matching_heads", "summarize_head_similarity"]

HEAD_METRICS: tuple[str, ...] = ("js_divergence", "argmax_agreement", "topk_overlap", "correlation")
#: Metrics where smaller means more similar.
_LOWER_IS_CLOSER = frozenset({"js_divergence"})


def best_matching_heads(table: pd.DataFrame, *, by: str = "correlation") -> pd.DataFrame:
    """For every head of each model, its best-matching head in the other model.

    Args:
        table: a head-pair table from :func:`compare_heads` / :meth:`HeadSimilarity.result`.
        by: the metric that decides the match: ``"correlation"`` (default, the
            max-correlation of Wu et al. 2020), ``"argmax_agreement"``,
            ``"topk_overlap"`` (largest wins) or ``"js_divergence"`` (smallest wins).

    Returns:
        One row per head of A (``direction="a_to_b"``) and per head of B
        (``"b_to_a"``): ``direction, model, layer, head, matched_model,
        matched_layer, matched_head, by`` and the four metrics of the matched pair.
    """
    if by not in HEAD_METRICS:
        raise ValueError(f"by must be one of {', '.join(HEAD_METRICS)}; got {by!r}")
    ascending = by in _LOWER_IS_CLOSER
    parts = []
    for direction, own, other in (("a_to_b", "a", "b"), ("b_to_a", "b", "a")):
        ranked = table.dropna(subset=[by]).sort_values(
            [f"layer_{own}", f"head_{own}", by], ascending=[True, True, ascending], kind="stable"
        )
        best = ranked.groupby([f"layer_{own}", f"head_{own}"], sort=True).head(1)
        parts.append(
            pd.DataFrame(
                {
                    "direction": direction,
                    "model": best[f"model_{own}"].to_numpy(),
                    "layer": best[f"layer_{own}"].to_numpy(),
                    "head": best[f"head_{own}"].to_numpy(),
                    "matched_model": best[f"model_{other}"].to_numpy(),
                    "matched_layer": best[f"layer_{other}"].to_numpy(),
                    "matched_head": best[f"head_{other}"].to_numpy(),
                    "by": by,
                    **{metric: best[metric].to_numpy() for metric in HEAD_METRICS},
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def summarize_head_similarity(table: pd.DataFrame) -> pd.DataFrame:
    """Model-level similarity: per direction, head-wise best scores averaged over heads.

    For each model and each metric, every head's best score against the other
    model (max, or min for JS) is averaged over the model's heads; with
    ``correlation`` this is the model-level max-correlation of Wu et al. (2020).
    The mean over all head pairs is given beside it for ``js_divergence``.

    Returns:
        Two rows (``direction`` ``"a_to_b"`` and ``"b_to_a"``): ``direction,
        model, other_model, n_heads, mean_js_divergence`` and ``best_<metric>``
        for each metric.
    """
    rows = []
    for direction, own, other in (("a_to_b", "a", "b"), ("b_to_a", "b", "a")):
        grouped = table.groupby([f"layer_{own}", f"head_{own}"])
        row: dict[str, object] = {
            "direction": direction,
            "model": table[f"model_{own}"].iloc[0],
            "other_model": table[f"model_{other}"].iloc[0],
            "n_heads": grouped.ngroups,
            "mean_js_divergence": float(table["js_divergence"].mean()),
        }
        for metric in HEAD_METRICS:
            best = grouped[metric].min() if metric in _LOWER_IS_CLOSER else grouped[metric].max()
            row[f"best_{metric}"] = float(best.mean())
        rows.append(row)
    return pd.DataFrame(rows)
