"""The corpus runner: reducers fed every sentence of every model, texts parsed, bad arguments."""

from __future__ import annotations

import pandas as pd
import pytest
import spacy

from tests.analysis.corpus.corpus_helper import (
    FAKES,
    assert_identical,
    fake_extract_docs,
    fed_by_hand,
    fresh_reducers,
)
from trfviz.analysis.corpus import run_corpus
from trfviz.analysis.syntax import AttentionPatterns, HeadRelationAccuracy


def test_runner_matches_feeding_the_reducers_by_hand(gold_docs) -> None:
    run = run_corpus(gold_docs, fresh_reducers(), chunk_size=5, **FAKES)
    assert (run.n_docs, run.n_sentences, run.resumed_docs) == (23, 23, 0)
    expected = [r.result() for r in fed_by_hand(gold_docs, fresh_reducers(), chunk_size=5)]
    got = run.results()
    assert set(got[0].model) == set(FAKES["models"])
    # Counts are exact; float sums differ only by the order of chunk merges.
    assert_identical(got[:1], expected[:1])
    pd.testing.assert_frame_equal(got[1], expected[1], rtol=1e-9)


def test_texts_are_parsed_with_the_pipeline() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    texts = ["The dog barks. It is loud!", "Hello.", "A cat, a hat."]
    run = run_corpus(
        texts,
        [AttentionPatterns()],
        models="fake-a",
        pipeline=nlp,
        extractor=fake_extract_docs,
        chunk_size=2,
        progress=False,
    )
    assert (run.n_docs, run.n_sentences) == (3, 4)
    table = run.reducers[0].result()
    tokens = sum(len(s) for t in texts for s in nlp(t).sents)
    assert (table[table.measure == "entropy"].n == tokens).all()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"checkpoint_every": 0}, ValueError, "checkpoint_every must be positive; got 0"),
        ({"checkpoint_every": -5}, ValueError, "checkpoint_every must be positive"),
        ({"checkpoint_every": 2.5}, TypeError, "checkpoint_every must be an int; got float"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be positive"),
        ({"chunk_size": "64"}, TypeError, "chunk_size must be an int; got str"),
        ({"batch_size": 0}, ValueError, "batch_size must be positive"),
        ({"batch_size": True}, TypeError, "batch_size must be an int; got bool"),
        ({"checkpoint_seconds": 0}, ValueError, "checkpoint_seconds must be positive; got 0"),
        ({"checkpoint_seconds": "60"}, TypeError, "checkpoint_seconds must be a number"),
        ({"total": -1}, ValueError, "total must be at least 0"),
        ({"checkpoint": 3}, TypeError, "checkpoint must be a file path"),
        ({"models": 3}, TypeError, "models must be a model name"),
        ({"models": ["fake-a", None]}, TypeError, "each model must be a name"),
        ({"models": []}, ValueError, "at least one model"),
        ({"reducers": [object()]}, TypeError, "object is not a reducer"),
        ({"reducers": []}, ValueError, "at least one reducer"),
        ({"documents": "one text"}, TypeError, "documents must be an iterable"),
    ],
)
def test_bad_arguments_are_refused_with_one_clear_error(gold_docs, options, error, match) -> None:
    arguments = {"documents": gold_docs[:3], "reducers": fresh_reducers(), **FAKES, **options}
    with pytest.raises(error, match=match):
        run_corpus(**arguments)


def test_used_reducers_are_refused(gold_docs) -> None:
    used = HeadRelationAccuracy()
    run_corpus(gold_docs[:2], [used], models="fake-a", extractor=fake_extract_docs, progress=False)
    assert used.n_sentences == 2  # the caller's reducer holds the result
    with pytest.raises(ValueError, match="fresh reducers"):
        run_corpus(gold_docs[:2], [used], models="fake-a", extractor=fake_extract_docs)


@pytest.mark.model
def test_texts_through_spacy_and_minilm() -> None:
    texts = ["The quick brown fox jumps over the lazy dog.", "She gave him a book. He read it."]
    run = run_corpus(
        texts,
        [HeadRelationAccuracy(), AttentionPatterns()],
        models="sentence-transformers/all-MiniLM-L6-v2",
        progress=False,
    )
    assert (run.n_docs, run.n_sentences) == (2, 3)
    scores, patterns = run.results()
    assert {"det", "nsubj"} <= set(scores.relation)  # spaCy's own labels
    assert set(scores.layer) == set(range(6)) and set(scores["head"]) == set(range(12))
    special = patterns[patterns.measure == "special"]["mean"]
    assert ((special >= 0) & (special <= 1 + 1e-6)).all()
