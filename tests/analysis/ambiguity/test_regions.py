"""Attention under ambiguity: suites, region spans, region attention, contrasts and effects."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from trfviz.alignment import align_spans
from trfviz.analysis.ambiguity import (
    PP_ATTACHMENT_ITEMS,
    Stimulus,
    contrast_conditions,
    estimate_effects,
    find_region_tokens,
    join_regions,
    list_suites,
    load_pp_attachment,
    load_suite,
    measure_region_attention,
    parse_stimuli,
    token_spans,
)
from trfviz.datasets import syntaxgym_dir
from trfviz.extraction import Extraction, SentenceExtraction

# -- regions and text ---------------------------------------------------------------------------


def test_join_regions_follows_syntaxgym_and_records_spans() -> None:
    text, spans = join_regions(["As the criminal", "shot", "", " the woman", "yelled", "."])
    assert text == "As the criminal shot the woman yelled ."
    assert [text[s:e] for s, e in spans] == [
        "As the criminal",
        "shot",
        "",
        "the woman",
        "yelled",
        ".",
    ]
    assert spans[2] == (21, 21)  # the empty comma region sits where it would be
    assert join_regions(["", "a", ""]) == ("a", ((0, 0), (0, 1), (2, 2)))


words = st.text(alphabet="abcdefghij,.'", min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(words, min_size=0, max_size=3).map(" ".join).map(lambda s: f"  {s} "),
        min_size=1,
        max_size=6,
    )
)
def test_region_spans_give_back_each_stripped_region(contents: list[str]) -> None:
    text, spans = join_regions(contents)
    assert text == " ".join(c.strip() for c in contents if c.strip())
    assert [text[s:e] for s, e in spans] == [c.strip() for c in contents]
    starts = [s for s, _ in spans]
    assert starts == sorted(starts)


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


# -- suites -------------------------------------------------------------------------------------


def test_built_in_pp_attachment_pairs() -> None:
    suite = load_pp_attachment()
    assert len(suite.items) == len(PP_ATTACHMENT_ITEMS) >= 10
    assert suite.region_names == ("subject", "verb", "object", "preposition", "pp_noun")
    stimuli = suite.stimuli()
    assert len(stimuli) == 2 * len(suite.items)
    verb, noun = stimuli[0], stimuli[1]
    assert (verb.condition, noun.condition) == ("verb_attachment", "noun_attachment")
    assert verb.text == "I saw the man with the telescope"
    assert noun.text == "I saw the man with the hat"
    assert verb.region_text(5) == "the telescope" and noun.region_text("verb") == "saw"
    for item in suite.items:  # minimal pairs: only the PP noun differs
        first, second = item.contents
        assert first[:4] == second[:4] and first[4] != second[4]
    frame = suite.to_frame()
    assert len(frame) == len(suite.items) * 2 * 5
    assert frame.columns.tolist() == ["item", "condition", "region_number", "region", "content"]


def test_load_npz_ambig_suite() -> None:
    suite = load_suite("npz_ambig")
    assert suite.name == "npz_ambig"
    assert suite.region_names == (
        "Start",
        "Transitive Verb",
        "Comma",
        "NP/Z",
        "Verb",
        "Continuation",
    )
    assert suite.conditions == ("ambig_nocomma", "unambig_nocomma", "ambig_comma", "unambig_comma")
    assert len(suite.items) == 24
    first = suite.stimuli()[0]
    assert first.text == "As the criminal shot the woman yelled at the top of her lungs"
    assert first.region_text("NP/Z") == "the woman"
    assert first.region_text(5) == "yelled"
    assert first.region_text("Comma") == ""
    comma = suite.stimuli()[2]
    assert comma.condition == "ambig_comma"
    assert comma.text.startswith("As the criminal shot , the woman")
    assert suite.predictions and "ambig_nocomma" in suite.predictions[0]
    with pytest.raises(ValueError, match="no region"):
        first.span("Nope")
    with pytest.raises(ValueError, match="out of range"):
        first.span(7)


def test_every_shipped_suite_loads_with_exact_region_spans(tmp_path) -> None:
    names = list_suites()
    assert {"npz_ambig", "mvrr", "subordination"} <= set(names)
    directory = syntaxgym_dir()
    for name in names:
        suite = load_suite(name)
        raw = json.loads((directory / f"{name}.json").read_text())
        assert len(suite.items) == len(raw["items"])
        for stimulus in suite.stimuli()[:8]:
            item = next(i for i in raw["items"] if i["item_number"] == stimulus.item)
            condition = next(
                c for c in item["conditions"] if c["condition_name"] == stimulus.condition
            )
            for region in condition["regions"]:
                assert stimulus.region_text(region["region_number"]) == region["content"].strip()
    copy = tmp_path / "mine.json"
    copy.write_text((directory / "mvrr.json").read_text())
    assert load_suite(copy).name == "mine"
    with pytest.raises(FileNotFoundError):
        load_suite("no_such_suite")


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
    tokens = tuple(stimulus.text.split(" "))
    spans = token_spans(stimulus.text, tokens)
    pieces = [tuple(s) for s in spans] + [(0, 0)] * n_special
    special = [False] * len(tokens) + [True] * n_special
    sentence = SentenceExtraction(
        start=0,
        tokens=tokens,
        pieces=tuple("p" for _ in pieces),
        alignment=align_spans(spans, pieces, special),
        attention=attention.astype(np.float32),
        states=None,
        special_labels=tuple(f"[S{i}]" for i in range(n_special)),
    )
    return Extraction("toy", "r", stimulus.text, (sentence,), n_layers=1, n_heads=2)


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
