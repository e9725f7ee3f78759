"""Attention under ambiguity: suites, region spans, region attention, contrasts and effects."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import synthetic_extraction, synthetic_sentence
from trfviz.analysis.ambiguity import (
    Stimulus,
    contrast_conditions,
    estimate_effects,
    find_region_tokens,
    load_pp_attachment,
    measure_region_attention,
    parse_stimuli,
    token_spans,
)
from trfviz.extraction import Extraction

# -- regions and text ---------------------------------------------------------------------------


def test_find_region_tokens_by_character_overlap() -> None:
    spans = [(0, 2), (3, 6), (6, 7), (8, 12)]  # "As the, cats": As | the | , | cats
    assert find_region_tokens(spans, (3, 7)).tolist() == [1, 2]
    assert find_region_tokens(spans, (8, 12)).tolist() == [3]
    assert find_region_tokens(spans, (4, 5)).tolist() == [1]  # partial overlap counts
    assert find_region_tokens(spans, (2, 3)).tolist() == []  # only the space
    assert find_region_tokens(spans, (7, 7)).tolist() == []


def test_token_spans_recover_offsets_in_order() -> None:
    assert token_spans("the  man , ok", ["the", " ", "man", ",", "ok"]).tolist() == [
        [0, 3],
        [4, 5],
        [5, 8],
        [9, 10],
        [11, 13],
    ]
    with pytest.raises(ValueError, match="not found"):
        token_spans("abc", ["abc", "d"])


def test_token_spans_agree_with_spacy_on_odd_whitespace(blank_nlp) -> None:
    for text in ["the  man , ok", "  lead", "a \n\n b  c", "tab\there", "end  "]:
        doc = blank_nlp(text)
        spans = token_spans(text, [t.text for t in doc])
        assert spans.tolist() == [[t.idx, t.idx + len(t.text)] for t in doc], text


def test_regions_map_exactly_onto_spacy_tokens(blank_nlp) -> None:
    for stimulus in load_pp_attachment().stimuli():
        doc = blank_nlp(stimulus.text)
        spans = token_spans(doc.text, [t.text for t in doc])
        np.testing.assert_array_equal(spans[:, 0], [t.idx for t in doc])
        owners = np.concatenate([find_region_tokens(spans, s) for s in stimulus.region_spans])
        assert sorted(owners.tolist()) == list(range(len(doc)))  # each token in one region
        pp = find_region_tokens(spans, stimulus.span("pp_noun"))
        assert " ".join(doc[i].text for i in pp) == stimulus.region_text("pp_noun")


def test_parse_stimuli_keeps_each_stimulus_one_sentence() -> None:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    stimulus = Stimulus("s", 1, "c", "The doctor left . The nurse came .", ("all",), ((0, 34),))
    assert len(list(nlp(stimulus.text).sents)) == 2
    (doc,) = parse_stimuli(nlp, [stimulus])
    assert len(list(doc.sents)) == 1
    assert doc.text == stimulus.text


# -- region attention on hand-built extractions -------------------------------------------------


def extraction_of(stimulus: Stimulus, attention: np.ndarray, n_special: int = 0) -> Extraction:
    """An Extraction of ``stimulus`` split on spaces, with the given attention."""
    specials = tuple(f"[S{i}]" for i in range(n_special))
    words = tuple(stimulus.text.split(" "))
    sentence = synthetic_sentence(attention, words=words, specials=specials, specials_first=0)
    extraction = synthetic_extraction([sentence], model="toy")
    assert extraction.text == stimulus.text
    return extraction


def test_region_attention_sums_over_keys_and_averages_over_queries() -> None:
    stimulus = load_pp_attachment().stimuli()[0]  # I saw the man with the telescope
    n = 7
    att = np.zeros((1, 2, n + 1, n + 1))
    att[..., :, :] = 1 / (n + 1)
    # Head 0: "the" (5) gives 0.5 to "saw" (1), "telescope" (6) gives 0.2; each row puts 0.2
    # on the special pseudo-token; the rest of the row is spread over the other tokens.
    for query, to_verb in ((5, 0.5), (6, 0.2)):
        row = np.full(n + 1, (1 - 0.2 - to_verb) / (n - 1))
        row[1], row[n] = to_verb, 0.2
        att[0, 0, query] = row
    ext = extraction_of(stimulus, att, n_special=1)
    table = measure_region_attention([stimulus], [ext], source="pp_noun", target="verb")
    assert table.columns.tolist() == [
        "model",
        "suite",
        "item",
        "condition",
        "source",
        "target",
        "layer",
        "head",
        "attention",
        "n_source",
        "n_target",
    ]
    head0 = table[table["head"] == 0].iloc[0]
    # Renormalised over the tokens (the 0.2 on the special is dropped): mean(0.5, 0.2) / 0.8.
    assert head0["attention"] == pytest.approx((0.5 / 0.8 + 0.2 / 0.8) / 2)
    assert (head0["n_source"], head0["n_target"]) == (2, 1)
    raw = measure_region_attention([stimulus], [ext], source=5, target=2, exclude_special=False)
    assert raw[raw["head"] == 0]["attention"].iloc[0] == pytest.approx((0.5 + 0.2) / 2)
    # Head 1 is uniform over 8 labels: two key tokens ("the man") get 2/7 once renormalised.
    uniform = measure_region_attention([stimulus], [ext], source="pp_noun", target="object")
    assert uniform[uniform["head"] == 1]["attention"].iloc[0] == pytest.approx(2 / 7)


def test_region_attention_is_nan_for_an_empty_region_and_checks_order() -> None:
    suite = load_pp_attachment()
    stimulus = suite.stimuli()[0]
    empty = Stimulus(
        stimulus.suite,
        1,
        "c",
        stimulus.text,
        (*stimulus.region_names, "gap"),
        (*stimulus.region_spans, (len(stimulus.text), len(stimulus.text))),
    )
    att = np.full((1, 2, 7, 7), 1 / 7)
    ext = extraction_of(stimulus, att)
    table = measure_region_attention([empty], [ext], source="gap", target="verb")
    assert table["attention"].isna().all()
    other = extraction_of(suite.stimuli()[1], att)
    with pytest.raises(ValueError, match="order of the stimuli"):
        measure_region_attention([stimulus], [other], source="verb", target="object")


# -- contrasts and effect sizes -----------------------------------------------------------------


# -- real models --------------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.filterwarnings("ignore:.*GGUF")
@pytest.mark.parametrize(
    "model", ["sentence-transformers/all-MiniLM-L6-v2", "HuggingFaceTB/SmolLM2-135M-Instruct"]
)
def test_pp_attachment_with_real_models(model: str) -> None:
    import trfviz

    nlp = trfviz.load_pipeline("en_core_web_sm")
    stimuli = load_pp_attachment().stimuli()[:8]
    docs = parse_stimuli(nlp, stimuli)
    assert all(len(list(doc.sents)) == 1 for doc in docs)
    extractions = list(trfviz.extract_docs(docs, model))
    table = measure_region_attention(stimuli, extractions, source="pp_noun", target="verb")
    loaded = trfviz.load_model(model)
    assert len(table) == len(stimuli) * loaded.n_layers * loaded.n_heads
    assert table["attention"].between(0, 1 + 1e-6).all()
    effects = estimate_effects(contrast_conditions(table, ("verb_attachment", "noun_attachment")))
    assert len(effects) == loaded.n_layers * loaded.n_heads
    assert (effects["n_items"] == 4).all()
