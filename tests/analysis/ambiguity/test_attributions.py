"""Region attributions under ambiguity: NP/Z garden paths against their controls.

Synthetic attribution MeasureExtractions (the attributions module lands from another
branch; its results are MeasureExtractions of measure "attributions", values [label])
are built over the real NP/Z suite's stimuli with a planted effect on the
disambiguating region, and the contrast and effect sizes must find exactly it.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import spacy

from trfviz.alignment import align_spans
from trfviz.analysis.ambiguity import (
    contrast_conditions,
    estimate_effects,
    load_suite,
    measure_region_attribution,
    token_spans,
)
from trfviz.measures import MEASURE_AXES, MeasureExtraction, SentenceMeasure

NPZ = {"ambig_nocomma": 1, "ambig_comma": -1, "unambig_nocomma": -1, "unambig_comma": 1}


@functools.lru_cache(maxsize=1)
def _blank() -> spacy.language.Language:
    return spacy.blank("en")


@pytest.fixture(autouse=True)
def attributions_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MEASURE_AXES, "attributions", ("label",))


def _attributions(text: str, values_of: object, *, model: str = "toy") -> MeasureExtraction:
    """One sentence over blank-English tokens, [CLS] and [SEP] labels after them."""
    tokens = tuple(t.text for t in _blank().make_doc(text))
    spans = token_spans(text, tokens)
    pieces_spans = np.concatenate([[[0, 0]], spans, [[0, 0]]])
    special = np.array([True] + [False] * len(tokens) + [True])
    values = np.append(values_of(tokens, spans), [7.0, -7.0]).astype(np.float32)  # type: ignore[operator]
    sentence = SentenceMeasure(
        start=0,
        tokens=tokens,
        pieces=("[CLS]", *tokens, "[SEP]"),
        alignment=align_spans(spans, pieces_spans, special),
        values=values,
        special_labels=("[CLS]", "[SEP]"),
    )
    return MeasureExtraction(
        measure="attributions",  # type: ignore[arg-type]
        model=model,
        revision="r",
        text=text,
        sentences=(sentence,),
        options=(("target", "log p(next word)"), ("method", "integrated_gradients")),
    )


def test_a_planted_effect_on_the_disambiguating_verb_is_found() -> None:
    suite = load_suite("npz_ambig")
    stimuli = suite.stimuli()
    rng = np.random.default_rng(0)
    planted = {
        "ambig_nocomma": 0.8,
        "ambig_comma": 0.1,
        "unambig_nocomma": 0.2,
        "unambig_comma": 0.1,
    }
    expected = {}
    measures = []
    for stimulus in stimuli:
        verb = stimulus.span("Verb")
        noise = rng.normal(scale=0.01)

        def values(
            tokens: tuple[str, ...], spans: np.ndarray, s=stimulus, e=noise, v=verb
        ) -> np.ndarray:
            inside = (spans[:, 0] < v[1]) & (spans[:, 1] > v[0])
            out = rng.normal(scale=0.3, size=len(tokens))
            out[inside] = (planted[s.condition] + e) / inside.sum()
            return out

        measures.append(_attributions(stimulus.text, values))
        expected[stimulus.item, stimulus.condition] = planted[stimulus.condition] + noise
    table = measure_region_attribution(stimuli, measures, region="Verb")
    assert table.columns.tolist() == [
        "model",
        "suite",
        "item",
        "condition",
        "region",
        "target",
        "attribution",
        "n_region",
    ]
    assert (table.region == "Verb").all() and (table.target == "log p(next word)").all()
    got = table.set_index(["item", "condition"]).attribution
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-5)  # summed over the region, float32
    contrasts = contrast_conditions(table, NPZ)
    assert len(contrasts) == len(suite.items)
    np.testing.assert_allclose(contrasts.difference, 0.8 - 0.1 - 0.2 + 0.1 + 0.0, atol=0.1)
    effects = estimate_effects(contrasts, permutations=500, seed=0)
    assert len(effects) == 1 and "layer" not in effects.columns
    row = effects.iloc[0]
    assert (row.model, row.region, row.target) == ("toy", "Verb", "log p(next word)")
    assert row.mean_difference == pytest.approx(contrasts.difference.mean())
    assert row.effect_size > 5 and row.p_value < 1e-6 and row.p_permutation < 0.01


def test_mean_and_normalised_attributions() -> None:
    stimulus = load_suite("npz_ambig").stimuli()[0]  # "As the criminal shot the woman yelled ..."

    def values(tokens: tuple[str, ...], spans: np.ndarray) -> np.ndarray:
        return np.arange(len(tokens), dtype=np.float64) - 3.0

    measure = _attributions(stimulus.text, values)
    tokens = measure.sentences[0].tokens
    region = [4, 5]  # the "NP/Z" region
    assert tokens[4:6] == ("the", "woman")
    by_sum = measure_region_attribution([stimulus], [measure], region="NP/Z")
    by_mean = measure_region_attribution([stimulus], [measure], region="NP/Z", aggregate="mean")
    share = measure_region_attribution([stimulus], [measure], region="NP/Z", normalize=True)
    own = np.arange(len(tokens)) - 3.0
    assert by_sum.attribution.item() == own[region].sum() and by_sum.n_region.item() == 2
    assert by_mean.attribution.item() == own[region].mean()
    assert share.attribution.item() == pytest.approx(own[region].sum() / np.abs(own).sum())
    empty = measure_region_attribution([stimulus], [measure], region="Comma")  # no characters
    assert np.isnan(empty.attribution.item()) and empty.n_region.item() == 0


def test_bad_inputs_say_what_is_wrong() -> None:
    stimuli = load_suite("npz_ambig").stimuli()[:2]
    good = [_attributions(s.text, lambda tokens, spans: np.zeros(len(tokens))) for s in stimuli]
    with pytest.raises(ValueError, match="2 stimuli but 1 measures"):
        measure_region_attribution(stimuli, good[:1], region="Verb")
    with pytest.raises(ValueError, match="order of the stimuli"):
        measure_region_attribution(stimuli, good[::-1], region="Verb")
    norms = MeasureExtraction("norms", "m", "r", stimuli[0].text, good[0].sentences)
    with pytest.raises(ValueError, match="reads attributions"):
        measure_region_attribution(stimuli[:1], [norms], region="Verb")
    with pytest.raises(ValueError, match="aggregate"):
        measure_region_attribution(stimuli, good, region="Verb", aggregate="max")  # type: ignore[arg-type]
