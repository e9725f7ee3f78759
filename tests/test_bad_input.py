"""Bad input gets one clear error: the right type and a message that says what to do.

One table row per case: a call and the error (type and a phrase of its message) it
must raise. Synthetic extractions stand in for models wherever the check comes
before the model runs; the rows and tests that need a real model are marked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

import trfviz
from tests._shared import MINILM, minilm, nlp
from trfviz.alignment import align_spans
from trfviz.analysis.ambiguity import measure_region_attention
from trfviz.analysis.syntax import HeadRelationAccuracy, score_dependency_heads
from trfviz.cli import main
from trfviz.datasets.conllu import ConlluFormatError, parse_conllu, read_conllu
from trfviz.datasets.syntaxgym import suite_from_dict
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.parse import Arc, SentenceParse
from trfviz.validation import IndexOutOfRangeError

WORDS = ("The", "dog", "barks")


def synthetic(words: tuple[str, ...] = WORDS, *, text: str | None = None) -> Extraction:
    """An Extraction of ``words`` (2 layers, 3 heads, [CLS] and [SEP]) with random values."""
    rng = np.random.default_rng(0)
    n = len(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    spans = [(int(s), int(s) + len(w)) for s, w in zip(starts, words, strict=True)]
    alignment = align_spans(spans, [(0, 0), *spans, (0, 0)], [True] + [False] * n + [True])
    attention = rng.random((2, 3, n + 2, n + 2)).astype(np.float32)
    attention /= attention.sum(-1, keepdims=True)
    sentence = SentenceExtraction(
        start=0,
        tokens=words,
        pieces=("[CLS]", *words, "[SEP]"),
        alignment=alignment,
        attention=attention,
        states=rng.standard_normal((3, n, 4)).astype(np.float32),
        special_labels=("[CLS]", "[SEP]"),
    )
    return Extraction(
        model="org/model",
        revision="r",
        text=" ".join(words) if text is None else text,
        sentences=(sentence,),
        n_layers=2,
        n_heads=3,
    )


def doc_of(words: tuple[str, ...] = WORDS, *, sentences: bool = True) -> Doc:
    """A hand-built Doc of ``words`` (one sentence, a flat parse: every word under the last)."""
    n = len(words)
    kwargs: dict[str, Any] = {"sent_starts": [i == 0 for i in range(n)]} if sentences else {}
    spaces = [i < n - 1 for i in range(n)]
    return Doc(Vocab(), words=list(words), spaces=spaces, **kwargs)


PARSE = SentenceParse(words=WORDS, tags=("", "", ""), arcs=(Arc(2, 1, "nsubj"),), entities=())


def explorer(**traits: Any) -> Any:
    from trfviz.widget import explore

    return explore(doc_of(), {"m": synthetic()}, **traits)


def region_attention(**kwargs: Any) -> Any:
    suite = suite_from_dict(SUITE)
    (stimulus,) = [s for s in suite.stimuli() if s.condition == "a"]
    ext = synthetic((*stimulus.text.rstrip(".").split(), "."), text=stimulus.text)
    return measure_region_attention([stimulus], [ext], **kwargs)


def figure(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    def draw() -> Any:
        import matplotlib.pyplot as plt

        try:
            return call(*args, **kwargs)
        finally:
            plt.close("all")

    return draw


def _figures() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from trfviz import figures

    return figures


SUITE: dict[str, Any] = {
    "meta": {"name": "toy"},
    "region_meta": {"1": "Subject", "2": "Verb"},
    "items": [
        {
            "item_number": 1,
            "conditions": [
                {
                    "condition_name": "a",
                    "regions": [
                        {"region_number": 1, "content": "The dog"},
                        {"region_number": 2, "content": "barks ."},
                    ],
                },
                {
                    "condition_name": "b",
                    "regions": [
                        {"region_number": 1, "content": "The dogs"},
                        {"region_number": 2, "content": "bark ."},
                    ],
                },
            ],
        }
    ],
}


def suite_with(change: Callable[[dict[str, Any]], None]) -> Callable[[], Any]:
    def build() -> Any:
        data = json.loads(json.dumps(SUITE))
        change(data)
        return suite_from_dict(data)

    return build


def _drop_region(data: dict[str, Any]) -> None:
    del data["items"][0]["conditions"][1]["regions"][1]


def _drop_condition(data: dict[str, Any]) -> None:
    item = json.loads(json.dumps(data["items"][0]))
    item["item_number"] = 2
    del item["conditions"][1]
    data["items"].append(item)


def _unknown_region(data: dict[str, Any]) -> None:
    data["items"][0]["conditions"][0]["regions"][0]["region_number"] = 7


def _no_regions_key(data: dict[str, Any]) -> None:
    del data["items"][0]["conditions"][0]["regions"]


def _no_condition_name(data: dict[str, Any]) -> None:
    del data["items"][0]["conditions"][0]["condition_name"]


def _second_item_other_conditions(data: dict[str, Any]) -> None:
    item = json.loads(json.dumps(data["items"][0]))
    item["item_number"] = 2
    item["conditions"][1]["condition_name"] = "c"
    data["items"].append(item)


def _options(**kwargs: Any) -> Callable[[], Any]:
    # Options are checked when extract_docs is called, before any Doc is read or model loaded.
    return lambda: trfviz.extract_docs([doc_of()], MINILM, **kwargs)


# Every row: (call, error type, phrase of the message).
CASES = [
    # -- extract: the Doc and the model ------------------------------------------------------
    pytest.param(
        lambda: trfviz.extract("The dog barks.", MINILM),
        TypeError,
        "parse the text first",
        id="extract-str-not-doc",
    ),
    pytest.param(
        lambda: trfviz.extract([doc_of()], MINILM),
        TypeError,
        "extract_docs",
        id="extract-list-not-doc",
    ),
    pytest.param(
        lambda: trfviz.extract(Doc(Vocab(), words=[]), MINILM),
        ValueError,
        "empty or only",
        id="extract-empty-doc",
    ),
    pytest.param(
        lambda: trfviz.extract(Doc(Vocab(), words=["  \n "], spaces=[False]), MINILM),
        ValueError,
        "only whitespace",
        id="extract-whitespace-doc",
    ),
    pytest.param(
        lambda: trfviz.extract(doc_of(sentences=False), MINILM),
        ValueError,
        "sentencizer",
        id="extract-doc-without-sentences",
    ),
    pytest.param(
        lambda: trfviz.extract(doc_of(), 123),
        TypeError,
        "hub id",
        id="extract-model-int",
    ),
    pytest.param(
        lambda: trfviz.extract(doc_of(), " "),
        ValueError,
        "hub id",
        id="extract-model-empty",
    ),
    pytest.param(
        lambda: trfviz.extract_docs("The dog barks.", MINILM),
        TypeError,
        "iterable of spaCy",
        id="extract-docs-str",
    ),
    pytest.param(
        lambda: trfviz.extract_docs(doc_of(), MINILM),
        TypeError,
        "use trfviz.extract",
        id="extract-docs-one-doc",
    ),
    # -- extract: numeric and choice options ---------------------------------------------------
    pytest.param(_options(batch_size=0), ValueError, "batch_size must be at least 1", id="batch-0"),
    pytest.param(
        _options(batch_size=-3), ValueError, "batch_size must be at least 1", id="batch-neg"
    ),
    pytest.param(
        _options(batch_size=2.5), TypeError, "batch_size must be an integer", id="batch-float"
    ),
    pytest.param(
        _options(batch_size=True), TypeError, "batch_size must be an integer", id="batch-bool"
    ),
    pytest.param(
        _options(batch_size="8"), TypeError, "batch_size must be an integer", id="batch-str"
    ),
    pytest.param(_options(max_batch_pieces=0), ValueError, "max_batch_pieces", id="pieces-0"),
    pytest.param(_options(buffer_sentences=0), ValueError, "buffer_sentences", id="buffer-0"),
    pytest.param(
        _options(max_length=0), ValueError, "max_length must be at least 1", id="max-length-0"
    ),
    pytest.param(
        _options(max_length=1.5), TypeError, "max_length must be an integer", id="max-length-float"
    ),
    pytest.param(_options(pooling="median"), ValueError, "pooling must be one of", id="pooling"),
    pytest.param(_options(pooling=1), TypeError, "pooling must be one of", id="pooling-int"),
    pytest.param(_options(query_pooling="sum"), ValueError, "query_pooling", id="query-pooling"),
    pytest.param(_options(special_tokens="hide"), ValueError, "special_tokens", id="special"),
    pytest.param(
        _options(attention="no"), TypeError, "attention must be True or False", id="attention-str"
    ),
    pytest.param(_options(states=1), TypeError, "states must be True or False", id="states-int"),
    pytest.param(_options(progress="yes"), TypeError, "progress", id="progress-str"),
    pytest.param(
        lambda: ExtractionOptions(special_tokens="hide"),
        ValueError,
        "'keep', 'drop'",  # type: ignore[arg-type]
        id="options-special",
    ),
    pytest.param(
        lambda: ExtractionOptions(attention=None),
        TypeError,
        "True or False",  # type: ignore[arg-type]
        id="options-attention-none",
    ),
    # -- extraction accessors ------------------------------------------------------------------
    pytest.param(
        lambda: synthetic().token_states(3),
        IndexOutOfRangeError,
        "0..2 (or -3..-1",
        id="token-states-layer",
    ),
    pytest.param(
        lambda: synthetic().token_states(-4),
        IndexError,
        "layer -4 is out of range",
        id="token-states-negative",
    ),
    pytest.param(
        lambda: synthetic().token_states("last"),
        TypeError,
        "integer index",  # type: ignore[arg-type]
        id="token-states-str",
    ),
    pytest.param(
        lambda: synthetic().sentence_of(3),
        ValueError,
        "token 3 is out of range: valid are 0..2",
        id="sentence-of",
    ),
    pytest.param(lambda: trfviz.parse_doc("text"), TypeError, "spaCy Doc", id="parse-doc-str"),
    pytest.param(
        lambda: trfviz.parse_sentence(["The"]),
        TypeError,
        "Span",
        id="parse-sentence-list",
    ),
    # -- figures --------------------------------------------------------------------------------
    pytest.param(
        lambda: figure(_figures().plot_attention_arcs, PARSE, np.eye(3), source=3)(),
        IndexOutOfRangeError,
        "source 3 is out of range: valid are 0..2",
        id="arcs-source",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_arcs, PARSE, np.eye(3), source="dog")(),
        TypeError,
        "integer index",
        id="arcs-source-str",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_arcs, list(WORDS), np.eye(3))(),
        TypeError,
        "SentenceParse",
        id="arcs-parse-list",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_arcs, PARSE, np.eye(3), threshold=2)(),
        ValueError,
        "between 0 and 1",
        id="arcs-threshold",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_arcs, PARSE, np.eye(3), top_k=0)(),
        ValueError,
        "top_k must be at least 1",
        id="arcs-top-k",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_arcs, PARSE, np.eye(2))(),
        ValueError,
        "the parse has 3 words",
        id="arcs-shape",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_heatmap, np.eye(3), WORDS, n_special=4)(),
        ValueError,
        "n_special 4",
        id="heatmap-n-special",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_heatmap, np.eye(3), "abc")(),
        TypeError,
        "not one string",
        id="heatmap-labels-str",
    ),
    pytest.param(
        lambda: figure(_figures().plot_attention_heatmap, np.eye(3), WORDS, window=(1, 9))(),
        ValueError,
        "outside the 3 tokens",
        id="heatmap-window",
    ),
    pytest.param(
        lambda: figure(_figures().plot_head_grid, np.eye(3), WORDS)(),
        ValueError,
        "[layer, head, 3, 3]",
        id="grid-2d",
    ),
    pytest.param(
        lambda: figure(_figures().plot_model_comparison, np.eye(3), np.eye(2), WORDS)(),
        ValueError,
        "attention_b has shape (2, 2)",
        id="comparison-shapes",
    ),
    pytest.param(
        lambda: figure(_figures().plot_model_comparison, np.eye(3), np.eye(3), WORDS, mode="x")(),
        ValueError,
        "mode must be one of",
        id="comparison-mode",
    ),
    pytest.param(
        lambda: figure(_figures().plot_aligned_tokenization, WORDS, {"m": [["a"], ["b"]]})(),
        TypeError,
        "(pieces, trfviz.Alignment)",
        id="tokenization-models",
    ),
    pytest.param(
        lambda: figure(
            __import__("trfviz.figures.ambiguity").figures.ambiguity.plot_condition_values,
            __import__("pandas").DataFrame(
                {
                    "model": "m",
                    "layer": 0,
                    "head": 0,
                    "item": [1, 1],
                    "condition": ["a", "b"],
                    "attention": [0.1, 0.2],
                }
            ),
            layer=5,
            head=0,
        )(),
        ValueError,
        "the table has layers 0..0",
        id="condition-values-layer",
    ),
    # -- widget ---------------------------------------------------------------------------------
    pytest.param(lambda: explorer(layer=2), ValueError, "layer must be 0..1", id="widget-layer"),
    pytest.param(lambda: explorer(head=3), ValueError, "head must be 0..2", id="widget-head"),
    pytest.param(
        lambda: explorer(sentence=1), ValueError, "sentence must be 0..0", id="widget-sentence"
    ),
    pytest.param(
        lambda: explorer(selected=3), ValueError, "selected must be -1", id="widget-selected"
    ),
    pytest.param(
        lambda: explorer(model="x"), ValueError, "model must be one of", id="widget-model"
    ),
    pytest.param(
        lambda: explorer(colour="red"), TypeError, "unexpected option", id="widget-option"
    ),
    pytest.param(
        lambda: __import__("trfviz.widget").widget.explore(doc_of(), {"m": synthetic(text="x")}),
        ValueError,
        "another text",
        id="widget-other-text",
    ),
    pytest.param(
        lambda: __import__("trfviz.widget").widget.explore(doc_of(), {"m": "org/model"}),
        TypeError,
        "trfviz.Extraction",
        id="widget-extraction-str",
    ),
    pytest.param(
        lambda: __import__("trfviz.widget").widget.explore("The dog barks", synthetic()),
        TypeError,
        "spaCy Doc",
        id="widget-doc-str",
    ),
    pytest.param(
        lambda: __import__("trfviz.widget.payload").widget.payload.select_attention(
            np.zeros((2, 3, 4, 4)), 2, 0
        ),
        ValueError,
        "layer must be 0..1",
        id="payload-layer",
    ),
    # -- analyses -------------------------------------------------------------------------------
    pytest.param(
        lambda: score_dependency_heads([synthetic()], []),
        ValueError,
        "only 0 Doc",
        id="syntax-fewer-parses",
    ),
    pytest.param(
        lambda: score_dependency_heads([synthetic()], [doc_of(("A", "cat", "sat"))]),
        ValueError,
        "not the text of extraction 0",
        id="syntax-other-doc",
    ),
    pytest.param(
        lambda: score_dependency_heads([synthetic()], [[PARSE, PARSE]]),
        ValueError,
        "1 sentence(s) but 2 parse(s)",
        id="syntax-parse-count",
    ),
    pytest.param(
        lambda: score_dependency_heads([synthetic().sentences[0]], [[PARSE]]),
        TypeError,
        "must be a trfviz.Extraction",
        id="syntax-sentence-not-extraction",
    ),
    pytest.param(
        lambda: score_dependency_heads([synthetic()], [["The dog barks"]]),
        TypeError,
        "SentenceParse",
        id="syntax-parse-str",
    ),
    pytest.param(
        lambda: HeadRelationAccuracy(max_offset=0),
        ValueError,
        "max_offset must be at least 1",
        id="syntax-max-offset",
    ),
    pytest.param(
        lambda: HeadRelationAccuracy(models=["x"]).update({"m": synthetic().sentences[0]}, PARSE),
        ValueError,
        "no extraction for model 'x'",
        id="syntax-unknown-model",
    ),
    pytest.param(
        lambda: region_attention(source=3, target="Verb"),
        ValueError,
        "out of range 1..2",
        id="ambiguity-region-number",
    ),
    pytest.param(
        lambda: region_attention(source="Object", target="Verb"),
        ValueError,
        "regions are ['Subject', 'Verb']",
        id="ambiguity-region-name",
    ),
    pytest.param(
        suite_with(_drop_region),
        ValueError,
        "item 1, condition 'b' lacks region(s) 2 (Verb)",
        id="suite-missing-region",
    ),
    pytest.param(
        suite_with(_drop_condition),
        ValueError,
        "item 2 has conditions ['a']; the first item has ['a', 'b']",
        id="suite-missing-condition",
    ),
    pytest.param(
        suite_with(_second_item_other_conditions),
        ValueError,
        "item 2 has conditions ['a', 'c']",
        id="suite-inconsistent-items",
    ),
    pytest.param(
        suite_with(_unknown_region),
        ValueError,
        "item 1, condition 'a': region 7 is not in",
        id="suite-unknown-region",
    ),
    pytest.param(
        suite_with(_no_regions_key),
        ValueError,
        "item 1, condition 'a' has no regions",
        id="suite-no-regions",
    ),
    pytest.param(
        suite_with(_no_condition_name),
        ValueError,
        "item 1 has a condition without",
        id="suite-no-condition-name",
    ),
    pytest.param(
        suite_with(lambda d: d.pop("region_meta")),
        ValueError,
        "no region_meta",
        id="suite-no-region-meta",
    ),
    pytest.param(lambda: suite_from_dict([]), TypeError, "mapping", id="suite-list"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "error", "phrase"), CASES)
def test_bad_input_raises_one_clear_error(
    call: Callable[[], Any], error: type[Exception], phrase: str
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert phrase in str(caught.value)
    # The error is ours, raised where the input is checked, not deep inside a library.
    origin = caught.traceback[-1].path
    assert "site-packages" not in str(origin), f"raised inside a library: {origin}"


def test_out_of_range_indices_are_index_and_value_errors() -> None:
    with pytest.raises(IndexError):
        synthetic().token_states(9)
    with pytest.raises(ValueError):
        synthetic().token_states(9)


def test_negative_indices_count_from_the_end() -> None:
    ext = synthetic()
    np.testing.assert_array_equal(ext.token_states(-1), ext.token_states(2))
    assert ext.sentence_of(-1) is ext.sentences[0]


# -- CoNLL-U: the file and line of a broken line ---------------------------------------------------

GOOD = "1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n2\tsleep\tsleep\tVERB\tVBP\t_\t0\troot\t_\t_\n"
FIRST = "# text = I sleep\n" + GOOD + "\n"  # lines 1-3, blank line 4; the bad sentence from line 5


def _bad(*lines: str) -> str:
    return FIRST + "# text = bad\n" + "".join(line + "\n" for line in lines)


CONLLU_CASES = [
    pytest.param(
        _bad("1\tI\tI\tPRON", "2\tsleep\tsleep\tVERB\tVBP\t_\t0\troot\t_\t_"),
        6,
        "4 column(s)",
        id="columns",
    ),
    pytest.param(
        _bad("1 I I PRON PRP _ 2 nsubj _ _"), 6, "separated by tabs", id="spaces-not-tabs"
    ),
    pytest.param(
        _bad("one\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_"),
        6,
        "token id 'one' is not a whole number",
        id="id",
    ),
    pytest.param(
        _bad("1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_", "3\tsleep\tsleep\tVERB\tVBP\t_\t1\tx\t_\t_"),
        7,
        "found 3 after 1",
        id="id-gap",
    ),
    pytest.param(
        _bad("1\tI\tI\tPRON\tPRP\t_\ttwo\tnsubj\t_\t_"), 6, "HEAD 'two'", id="head-not-int"
    ),
    pytest.param(
        _bad(
            "1\tI\tI\tPRON\tPRP\t_\t5\tnsubj\t_\t_", "2\tsleep\tsleep\tVERB\tVBP\t_\t0\troot\t_\t_"
        ),
        6,
        "HEAD 5 points outside the sentence's 2 word(s)",
        id="head-outside",
    ),
    pytest.param(
        _bad("2-1\tIsl\t_\t_\t_\t_\t_\t_\t_\t_", "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_"),
        6,
        "multiword token id '2-1'",
        id="multiword-reversed",
    ),
    pytest.param(
        _bad("1-3\tIsl\t_\t_\t_\t_\t_\t_\t_\t_", "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_"),
        6,
        "multiword token 1-3 goes past the sentence's 1 word(s)",
        id="multiword-past-end",
    ),
    pytest.param(
        _bad("1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_", "1.x\tI\tI\tPRON\tPRP\t_\t_\t_\t_\t_"),
        7,
        "empty node id '1.x'",
        id="empty-node-id",
    ),
]


@pytest.mark.parametrize(("text", "line", "phrase"), CONLLU_CASES)
def test_broken_conllu_names_file_and_line(
    tmp_path: Path, text: str, line: int, phrase: str
) -> None:
    path = tmp_path / "broken.conllu"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConlluFormatError) as caught:
        read_conllu(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}: ") and phrase in message
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ConlluFormatError, match=f"CoNLL-U text, line {line}: "):
        parse_conllu(text)


def test_the_good_sentence_before_a_broken_one_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.conllu"
    path.write_text(FIRST, encoding="utf-8")
    (doc,) = read_conllu(path)
    assert [t.head.text for t in doc] == ["sleep", "sleep"]


# -- accepted input that must come out right, not silently wrong ----------------------------------


@pytest.mark.model
def test_control_characters_are_accepted_and_aligned() -> None:
    doc = nlp()("a\x00b c\x07d e\x1bf.")
    (sentence,) = trfviz.extract(doc, minilm()).sentences
    assert sentence.tokens == ("a\x00b", "c\x07d", "e\x1bf", ".")
    assert not sentence.missing.any()  # the tokenizer drops the controls; the rest aligns
    for t, text in enumerate(("ab", "cd", "ef")):
        pieces = "".join(
            sentence.pieces[p].removeprefix("##") for p in sentence.alignment.pieces_of(t)
        )
        assert pieces == text


@pytest.mark.model
def test_docs_of_different_vocabularies_extract_alike() -> None:
    import spacy

    other = spacy.blank("en")
    other.add_pipe("sentencizer")
    texts = ["The dog barks.", "A cat sleeps."]
    mixed = [nlp()(texts[0]), other(texts[1])]
    together = list(trfviz.extract_docs(mixed, minilm(), states=False))
    for doc, ext in zip(mixed, together, strict=True):
        alone = trfviz.extract(doc, minilm(), states=False)
        np.testing.assert_allclose(ext.attention[0], alone.attention[0], atol=1e-5)  # type: ignore[arg-type]


class _NoOffsets:
    """A tokenizer without character offsets (transformers' Python tokenizers)."""

    is_fast = False

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __call__(self, texts: Any, **kwargs: Any) -> Any:
        assert not kwargs.get("return_offsets_mapping")
        return self._inner(texts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.model
def test_a_tokenizer_without_offsets_aligns_or_warns() -> None:
    import dataclasses

    fast = minilm()
    slow = dataclasses.replace(fast, tokenizer=_NoOffsets(fast.tokenizer))
    same = nlp()("Caf\u00e9 isn't\x00 open.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything matched: no warning
        (by_text,) = trfviz.extract(same, slow, states=False).sentences
    (by_offsets,) = trfviz.extract(same, fast, states=False).sentences
    np.testing.assert_array_equal(by_text.alignment.pairs, by_offsets.alignment.pairs)
    # NFKC turns the Roman numeral into letters the text matcher cannot find: a warning
    # that names the token, not zero rows in silence.
    with pytest.warns(UserWarning, match="could not be matched \\('\u216b'\\)"):
        (lossy,) = trfviz.extract(nlp()("Chapter \u216b ends."), slow, states=False).sentences
    assert lossy.missing.tolist() == [False, True, False, False]


# -- the command line: one line on stderr, exit status 2, no traceback ----------------------------

CLI_CASES = [
    pytest.param([], "required: command", id="no-command"),
    pytest.param(["bogus"], "invalid choice: 'bogus'", id="unknown-command"),
    pytest.param(["--nope", "demo"], "unrecognized arguments: --nope", id="unknown-option"),
    pytest.param(["align"], "required: text", id="align-no-text"),
    pytest.param(["align", ""], "TEXT is empty", id="align-empty"),
    pytest.param(["align", " \t\n"], "only whitespace", id="align-whitespace"),
    pytest.param(["align", "Hi.", "--model", ""], "--model name is empty", id="align-model-empty"),
    pytest.param(["align", "Hi.", "--bogus"], "unrecognized arguments", id="align-bad-option"),
    pytest.param(["demo", "--text", ""], "--text is empty", id="demo-empty"),
    pytest.param(["demo", "--model", " "], "hub id", id="demo-model-empty"),
    pytest.param(["demo", "--notebooks", "/no/such/dir"], "no such folder", id="demo-notebooks"),
    pytest.param(["demo", "-o", "{file}"], "is a file", id="demo-out-is-file"),
    pytest.param(["demo", "--out"], "expected one argument", id="demo-out-missing"),
    pytest.param(["figure", "Hi."], "required: -o/--out", id="figure-no-out"),
    pytest.param(["figure", "", "-o", "f.pdf"], "TEXT is empty", id="figure-empty"),
    pytest.param(["figure", "Hi.", "-o", "f.doc"], "use one of .pdf", id="figure-suffix"),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--kind", "pie"], "invalid choice: 'pie'", id="figure-kind"
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--layer", "x"],
        "invalid int value",
        id="figure-layer-type",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--head", "1.5"],
        "invalid int value",
        id="figure-head-type",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--sentence", "-1"],
        "--sentence must be at least 0",
        id="figure-sentence-neg",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--threshold", "3"],
        "between 0 and 1",
        id="figure-threshold",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--threshold", "x"],
        "invalid float value",
        id="figure-threshold-type",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--preset", "poster"],
        "unknown preset 'poster'",
        id="figure-preset",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--kind", "comparison"],
        "needs two --model",
        id="figure-comparison-one-model",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--model", ""],
        "--model name is empty",
        id="figure-model-empty",
    ),
    pytest.param(
        ["figure", "Hi.", "-o", "f.pdf", "--pipeline", "no_such_pipeline"],
        "not installed",
        id="figure-pipeline",
    ),
]


def _run_cli(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    argv = [arg.replace("{file}", str(a_file)) for arg in argv]
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.err


def _assert_one_line(status: int, err: str, phrase: str) -> None:
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("trfviz: error: ") and phrase in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "phrase"), CLI_CASES)
def test_cli_errors_are_one_line(
    argv: list[str],
    phrase: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    status, err = _run_cli(argv, tmp_path, capsys)
    _assert_one_line(status, err, phrase)
    assert not (tmp_path / "f.pdf").exists() and not (tmp_path / "trfviz-output").exists()


MODEL_CLI_CASES = [
    pytest.param(["--layer", "6"], "--layer 6 is out of range: valid are 0..5", id="layer"),
    pytest.param(["--head", "12"], "--head 12 is out of range: valid are 0..11", id="head"),
    pytest.param(["--sentence", "1"], "0..0 are valid", id="sentence"),
    pytest.param(["--source", "cat"], "'cat' is not a token", id="source-word"),
    pytest.param(["--source", "9"], "--source 9", id="source-index"),
    pytest.param(["--model", "no-such-org/no-such-model-xyz"], "cannot load model", id="model"),
]


@pytest.mark.model
@pytest.mark.parametrize(("extra", "phrase"), MODEL_CLI_CASES)
def test_figure_errors_found_after_loading_are_one_line(
    extra: list[str],
    phrase: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["figure", "The dog barks.", "-o", "f.pdf", *extra]
    if "--model" not in extra:
        argv += ["--model", MINILM]
    status, err = _run_cli(argv, tmp_path, capsys)
    _assert_one_line(status, err, phrase)


def test_an_unexpected_error_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trfviz.cli import align as align_command

    def broken(args: Any) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(align_command, "run_align_command", broken)
    monkeypatch.delenv("TRFVIZ_DEBUG", raising=False)
    status = main(["align", "Hi."])
    _assert_one_line(status, capsys.readouterr().err, "unexpected ZeroDivisionError")
    monkeypatch.setenv("TRFVIZ_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["align", "Hi."])


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["align", ""], id="align"),
        pytest.param(["figure", "Hi.", "-o", "f.doc"], id="figure"),
        pytest.param(["demo", "--bogus"], id="demo"),
    ],
)
def test_the_installed_command_prints_no_traceback(argv: list[str], tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("TRFVIZ_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from trfviz.cli import main; sys.exit(main())", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("trfviz: error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and done.stdout == ""
