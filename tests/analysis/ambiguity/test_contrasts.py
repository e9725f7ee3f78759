"""Contrasts between conditions and their paired effect sizes across items (t-test, sign flips)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trfviz.analysis.ambiguity import contrast_conditions, estimate_effects


def region_table(values: dict[str, np.ndarray]) -> pd.DataFrame:
    """A measure_region_attention-like table: ``values[condition]`` is ``[item, head]``."""
    rows = []
    for condition, matrix in values.items():
        for item, per_head in enumerate(matrix, start=1):
            for head, value in enumerate(per_head):
                rows.append(
                    {
                        "model": "toy",
                        "suite": "s",
                        "item": item,
                        "condition": condition,
                        "source": "pp_noun",
                        "target": "verb",
                        "layer": 0,
                        "head": head,
                        "attention": value,
                    }
                )
    return pd.DataFrame(rows)


def test_effect_sign_and_size_on_synthetic_attention() -> None:
    rng = np.random.default_rng(0)
    n_items = 12
    base = rng.uniform(0.2, 0.4, size=(n_items, 3))
    shift = np.array([0.1, -0.1, 0.0])  # head 0 up, head 1 down, head 2 no effect
    noise = rng.normal(scale=0.02, size=(n_items, 3))
    table = region_table({"verb_attachment": base + shift + noise, "noun_attachment": base})
    contrasts = contrast_conditions(table, ("verb_attachment", "noun_attachment"))
    assert contrasts["contrast"].unique().tolist() == ["verb_attachment - noun_attachment"]
    assert len(contrasts) == n_items * 3
    effects = estimate_effects(contrasts, permutations=2000, seed=1).set_index("head")
    diffs = shift + noise
    for head in range(3):
        d = diffs[:, head]
        assert effects.loc[head, "mean_difference"] == pytest.approx(d.mean())
        assert effects.loc[head, "effect_size"] == pytest.approx(d.mean() / d.std(ddof=1))
        paired = stats.ttest_rel(base[:, head] + d, base[:, head])
        assert effects.loc[head, "t"] == pytest.approx(paired.statistic)
        assert effects.loc[head, "p_value"] == pytest.approx(paired.pvalue)
    assert effects.loc[0, "effect_size"] > 2 and effects.loc[1, "effect_size"] < -2
    assert effects.loc[0, "p_permutation"] < 0.01 and effects.loc[1, "p_permutation"] < 0.01
    assert effects.loc[2, "p_value"] > 0.01
    assert (effects["q_value"] >= effects["p_value"] - 1e-12).all()
    assert (effects["n_items"] == n_items).all()


def test_exact_sign_flip_p_value_hand_case() -> None:
    # Five items, every difference positive: of the 2**5 sign patterns only "all +" and
    # "all -" reach |mean| as large as observed, so the exact two-sided p is 2/32.
    diffs = np.array([[0.1], [0.2], [0.3], [0.15], [0.25]])
    table = region_table({"a": diffs, "b": np.zeros_like(diffs)})
    effects = estimate_effects(contrast_conditions(table, ("a", "b")), permutations=10_000)
    assert effects["p_permutation"].iloc[0] == pytest.approx(2 / 32)


def test_weighted_contrast_gives_the_interaction() -> None:
    values = {
        c: np.full((3, 1), v)
        for c, v in {
            "ambig_nocomma": 0.5,
            "ambig_comma": 0.2,
            "unambig_nocomma": 0.3,
            "unambig_comma": 0.25,
        }.items()
    }
    table = region_table(values)
    weights = {"ambig_nocomma": 1, "ambig_comma": -1, "unambig_nocomma": -1, "unambig_comma": 1}
    contrasts = contrast_conditions(table, weights)
    np.testing.assert_allclose(contrasts["difference"], (0.5 - 0.2) - (0.3 - 0.25))
    assert contrasts["contrast"].iloc[0] == (
        "ambig_nocomma - ambig_comma - unambig_nocomma + unambig_comma"
    )
    with pytest.raises(ValueError, match="not in the table"):
        contrast_conditions(table, ("ambig_nocomma", "nope"))


def test_models_of_different_sizes_share_one_table() -> None:
    small = region_table({"a": np.full((3, 2), 0.5), "b": np.full((3, 2), 0.25)})
    large = region_table({"a": np.full((3, 5), 0.1), "b": np.full((3, 5), 0.4)})
    large["model"] = "large"
    contrasts = contrast_conditions(pd.concat([small, large]), ("a", "b"))
    assert len(contrasts) == 3 * (2 + 5)  # no rows for heads a model does not have
    effects = estimate_effects(contrasts)
    assert effects.groupby("model").size().to_dict() == {"large": 5, "toy": 2}
    by_model = effects.groupby("model")["mean_difference"].mean()
    assert by_model["toy"] == pytest.approx(0.25) and by_model["large"] == pytest.approx(-0.3)


def test_items_with_nan_are_dropped_head_by_head() -> None:
    a = np.array([[0.3, 0.3], [0.5, np.nan], [0.4, 0.6], [0.6, 0.5]])
    table = region_table({"a": a, "b": np.full_like(a, 0.2)})
    effects = estimate_effects(contrast_conditions(table, ("a", "b"))).set_index("head")
    assert effects.loc[0, "n_items"] == 4 and effects.loc[1, "n_items"] == 3
    assert effects.loc[1, "mean_difference"] == pytest.approx(np.mean([0.1, 0.4, 0.3]))


# -- figures ------------------------------------------------------------------------------------


def test_ambiguity_figures() -> None:
    import matplotlib.pyplot as plt

    from trfviz.figures.ambiguity import plot_condition_values, plot_effect_sizes

    rng = np.random.default_rng(2)
    base = rng.uniform(0.2, 0.4, size=(8, 3))
    shift = [0.2, 0.0, -0.2] + rng.normal(scale=0.02, size=(8, 3)) * [1, 0, 1]
    table = region_table({"x": base + shift, "y": base})
    effects = estimate_effects(contrast_conditions(table, ("x", "y")))
    assert np.isnan(effects["effect_size"].iloc[1])  # head 1: no difference at all
    fig, ax = plot_effect_sizes(effects)
    image = ax.get_images()[0]
    assert image.get_array().shape == (1, 3)  # the NaN head keeps its cell
    low, high = image.get_clim()
    assert low == -high  # centred on zero
    assert len(ax.collections[0].get_offsets()) == 2  # heads 0 and 2 are significant
    plt.close(fig)

    fig, ax = plot_condition_values(table, layer=0, head=0, conditions=["y", "x"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["y", "x"]
    assert len(ax.lines) >= 8  # one grey line per item, then the means
    plt.close(fig)
    with pytest.raises(ValueError, match="no rows"):
        plot_condition_values(table, layer=3, head=0)
