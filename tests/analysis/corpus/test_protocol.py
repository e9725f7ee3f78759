"""The one reducer protocol: halves of a corpus merge into the whole; ModelPair for update(a, b)."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest
from spacy.tokens import Doc

from tests.analysis.corpus.corpus_helper import (
    FAKE_MODELS,
    FAKES,
    every_reducer,
    fake_extract_docs,
    fed_by_hand,
    synthetic_docs,
)
from trfviz.analysis.corpus import ModelPair, Reducer, run_corpus
from trfviz.extraction import SentenceExtraction


@pytest.mark.parametrize("kind", range(len(every_reducer())))
def test_merging_two_halves_gives_the_run_over_the_whole(kind: int) -> None:
    docs = synthetic_docs(24, seed=3)

    def run(part: list[Doc]):
        reducer = every_reducer()[kind]
        assert isinstance(reducer, Reducer)
        (result,) = run_corpus(part, [reducer], chunk_size=4, **FAKES).reducers
        return result

    # The halves travel as a pickle, as chunks and checkpoints do.
    merged = pickle.loads(pickle.dumps(run(docs[:12])))
    assert merged.merge(run(docs[12:])) is merged
    # The whole is fed by hand, so a merge that drops or doubles a part cannot hide in it.
    (whole,) = fed_by_hand(docs, [every_reducer()[kind]], chunk_size=4)
    assert merged.n_sentences == whole.n_sentences == 24
    # The same chunks are extracted (the halves split at a chunk end): only the grouping of
    # sums differs, so the tables agree to rounding.
    pd.testing.assert_frame_equal(merged.result(), whole.result(), rtol=1e-9)


class PairCounter:
    """A two-model reducer with update(a, b), like the cross-model similarity reducers."""

    needs_attention = True
    needs_states = False

    def __init__(self) -> None:
        self.model_a: str | None = None
        self.model_b: str | None = None
        self.n_sentences = 0
        self.tokens = 0

    def update(self, a: SentenceExtraction, b: SentenceExtraction) -> None:
        assert a.tokens == b.tokens
        assert a.attention.shape[:2] == FAKE_MODELS["fake-a"]
        assert b.attention.shape[:2] == FAKE_MODELS["fake-b"]
        self.n_sentences += 1
        self.tokens += a.n_tokens

    def merge(self, other: PairCounter) -> PairCounter:
        self.n_sentences += other.n_sentences
        self.tokens += other.tokens
        return self

    def result(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"model_a": [self.model_a], "model_b": [self.model_b], "tokens": [self.tokens]}
        )


def test_two_model_reducers_fit_through_model_pair(gold_docs) -> None:
    run = run_corpus(
        gold_docs,
        [ModelPair(PairCounter(), "fake-a", "fake-b")],
        models=["fake-a", "fake-b"],
        extractor=fake_extract_docs,
        chunk_size=6,
        progress=False,
    )
    table = run.reducers[0].result()
    assert table.to_dict("records") == [
        {"model_a": "fake-a", "model_b": "fake-b", "tokens": sum(len(d) for d in gold_docs)}
    ]
