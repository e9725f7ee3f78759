"""SyntaxGym suites: regions joined as SyntaxGym does, the built-in PP pairs, the shipped suites."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trfviz.datasets import syntaxgym_dir
from trfviz.datasets.syntaxgym import (
    PP_ATTACHMENT_ITEMS,
    join_regions,
    list_suites,
    load_pp_attachment,
    load_suite,
)


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
