"""Checkpoints: how often they are saved, atomic writes, kills and Ctrl-C, resuming the same run."""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

import trfviz.analysis.corpus.checkpoint as checkpoint
import trfviz.analysis.corpus.run as corpus_run
from tests.analysis.corpus.corpus_helper import (
    FAKES,
    KILL_RUN,
    Interrupted,
    assert_identical,
    checkpoint_docs,
    every_reducer,
    fake_extract_docs,
    fresh_reducers,
    interrupted_after,
    synthetic_docs,
)
from trfviz.analysis.corpus import run_corpus
from trfviz.analysis.syntax import AttentionPatterns

HELPER = Path(__file__).with_name("corpus_helper.py")


def saves_of(monkeypatch) -> list[int]:
    """The number of documents each checkpoint of the coming runs holds, as they are saved."""
    saved: list[int] = []
    save = checkpoint.State.save

    def recording(self, *args, **kwargs):
        save(self, *args, **kwargs)
        saved.append(self.n_docs)

    monkeypatch.setattr(checkpoint.State, "save", recording)
    return saved


def test_by_default_a_checkpoint_comes_within_a_hundred_documents(monkeypatch, tmp_path) -> None:
    saved = saves_of(monkeypatch)
    monkeypatch.setattr(corpus_run, "_monotonic", lambda: 0.0)  # no time passes
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
    monkeypatch.setattr(corpus_run, "_monotonic", lambda: now[0])

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


def test_a_failed_write_leaves_the_previous_checkpoint(monkeypatch, gold_docs, tmp_path) -> None:
    path = tmp_path / "c.pkl"
    writes = []

    def dies_halfway(payload, handle, protocol=None) -> None:
        data = pickle.dumps(payload, protocol=protocol)
        if writes:
            handle.write(data[: len(data) // 2])
            raise OSError("no space left on device")
        writes.append(handle.write(data))

    monkeypatch.setattr(checkpoint.pickle, "dump", dies_halfway)
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
    root = Path(__file__).resolve().parents[3]
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


def test_a_checkpoint_of_another_trfviz_version_is_refused_clearly(gold_docs, tmp_path) -> None:
    # A checkpoint written before the analysis modules moved names a module that is gone.
    path = tmp_path / "old.pkl"
    path.write_bytes(b"ctrfviz.analysis.cka\nLayerCKA\n.")
    with pytest.raises(ValueError, match="written by another version: delete it"):
        run_corpus(gold_docs[:3], fresh_reducers(), checkpoint=path, **FAKES)
    payload = {"format": checkpoint.CHECKPOINT_FORMAT, "version": 2}
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(
        ValueError, match=r"another version of trfviz \(format 2, this one reads 3\)"
    ):
        run_corpus(gold_docs[:3], fresh_reducers(), checkpoint=path, **FAKES)


@pytest.mark.model
def test_minilm_interrupted_and_resumed_gives_the_uninterrupted_result(tmp_path) -> None:
    from tests._shared import MINILM

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
