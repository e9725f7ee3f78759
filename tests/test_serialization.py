"""trfviz results on a Doc survive spaCy's serialization: bytes, disk, DocBin, pickle, n_process."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import spacy
import srsly
from spacy.tokens import Doc, DocBin

from tests._shared import MINILM, SMOLLM
from trfviz.alignment import align_spans
from trfviz.component import PRESENT_KEY, VECTORS_KEY, restore_doc
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction

TEXTS = ("The old man the boat. I saw it.", "Naïve café-goers in Zürich don't queue.")


def assert_identical(a: Any, b: Any, where: str = "value") -> None:
    """Fail unless ``b`` is ``a`` rebuilt: same types, same fields, arrays equal bit for bit."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} became {type(b).__name__}"
    if is_dataclass(a):
        for f in fields(a):
            assert_identical(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert a.tobytes() == b.tobytes(), f"{where}: the values changed"
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    else:
        assert a == b, f"{where}: {a!r} became {b!r}"


def assert_same_trfviz(original: Doc, restored: Doc) -> None:
    """Fail unless ``restored`` carries ``original``'s trfviz results and vector data exactly."""
    assert restored.text == original.text
    assert_identical(original._.trfviz, restored._.trfviz, "doc._.trfviz")
    for key in (VECTORS_KEY, PRESENT_KEY):
        if key in original.user_data:
            assert_identical(original.user_data[key], restored.user_data[key], key)


def assert_same_vectors(original: Doc, restored: Doc) -> None:
    """Fail unless the tensor, vectors and similarities of ``restored`` are ``original``'s."""
    assert_identical(original.tensor, restored.tensor, "doc.tensor")
    for a, b in [(original, restored), (original[1:4], restored[1:4])] + [
        (original[i], restored[i]) for i in range(len(original))
    ]:
        assert_identical(a.vector, b.vector, f"vector of {a.text!r}")
        assert a.has_vector == b.has_vector
        # (spaCy's Span.vector_norm calls the span "vector" hook: an array, not a float)
        assert_identical(a.vector_norm, b.vector_norm, f"vector_norm of {a.text!r}")
    assert restored.similarity(original) == original.similarity(original)
    assert restored[0].similarity(restored[1]) == original[0].similarity(original[1])


# -- the msgpack codec on hand-made extractions (no model) ------------------------------------


def _sentence(start: int, *, attention: bool = True) -> SentenceExtraction:
    alignment = align_spans(
        np.array([[0, 2], [2, 5]]),
        np.array([[0, 0], [0, 3], [3, 5], [0, 0]]),
        np.array([True, False, False, True]),
    )
    rng = np.random.default_rng(start)
    return SentenceExtraction(
        start=start,
        tokens=("is", "n't"),
        pieces=("[CLS]", "isn", "'t", "[SEP]"),
        alignment=alignment,
        attention=rng.random((2, 3, 4, 4), dtype=np.float32) if attention else None,
        states=rng.standard_normal((3, 2, 5)).astype(np.float32),
        special_labels=("[CLS]", "[SEP]"),
        truncated=start > 0,
        piece_attention=rng.random((2, 3, 4, 4), dtype=np.float32) if attention else None,
    )


def _extraction() -> Extraction:
    return Extraction(
        model="tiny",
        revision="abc123",
        text="isn't isn't",
        sentences=(_sentence(0), _sentence(2, attention=False)),
        options=ExtractionOptions(pooling="first", special_tokens="keep", piece_attention=True),
        n_layers=2,
        n_heads=3,
    )


@pytest.mark.parametrize("use_list", [True, False])
def test_msgpack_round_trip_rebuilds_every_field(use_list: bool) -> None:
    extraction = _extraction()
    data = srsly.msgpack_dumps({"x": extraction, "nested": [extraction.sentences[1]]})
    loaded = srsly.msgpack_loads(data, use_list=use_list)
    assert_identical(extraction, loaded["x"], "extraction")
    assert_identical(extraction.sentences[1], loaded["nested"][0], "sentence")


def test_decoded_arrays_are_writable_and_own_their_memory() -> None:
    loaded = srsly.msgpack_loads(srsly.msgpack_dumps(_extraction()))
    states = loaded.sentences[0].states
    assert states.flags.writeable and states.flags.owndata


def test_empty_and_numpy_scalar_fields_round_trip() -> None:
    sentence = _sentence(0)
    empty = align_spans(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, dtype=bool))
    odd = SentenceExtraction(
        start=np.int64(3),  # type: ignore[arg-type]
        tokens=(),
        pieces=(),
        alignment=empty,
        attention=None,
        states=None,
    )
    extraction = Extraction(model="m", revision="r", text="", sentences=(odd, sentence))
    loaded = srsly.msgpack_loads(srsly.msgpack_dumps(extraction))
    assert loaded.sentences[0].start == 3 and type(loaded.sentences[0].start) is int
    assert_identical(extraction.sentences[1], loaded.sentences[1], "sentence")
    assert loaded.sentences[0].alignment.pairs.shape == (0, 2)
    empty_doc = Extraction(model="m", revision="r", text="", sentences=())
    assert_identical(empty_doc, srsly.msgpack_loads(srsly.msgpack_dumps(empty_doc)))


def test_other_maps_are_left_to_the_other_decoders() -> None:
    value = {"__trfviz": 1, "array": np.arange(3, dtype=np.int16), "text": "x"}
    loaded = srsly.msgpack_loads(srsly.msgpack_dumps(value))
    assert_identical(value, loaded)


@pytest.mark.parametrize(
    "payload, problem",
    [
        ({"__trfviz__": "Extraction", "version": 99, "fields": {}}, "version 99"),
        ({"__trfviz__": "os.system", "version": 1, "fields": {}}, "'os.system'"),
        ({"__trfviz__": "ExtractionOptions", "version": 1, "fields": {"colour": 1}}, "colour"),
    ],
)
def test_unreadable_trfviz_maps_raise_a_clear_error(payload: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        srsly.msgpack_loads(srsly.msgpack_dumps(payload))


def test_restore_doc_leaves_a_doc_without_trfviz_vectors_alone(blank_nlp) -> None:  # type: ignore[no-untyped-def]
    doc = blank_nlp("Nothing here.")
    assert restore_doc(doc) is doc
    assert doc._.trfviz is None and not doc.user_hooks and doc.tensor.size == 0


def test_restore_doc_says_what_is_missing(blank_nlp) -> None:  # type: ignore[no-untyped-def]
    doc = blank_nlp("isn't isn't")
    doc.user_data[VECTORS_KEY] = "tiny"
    with pytest.raises(ValueError, match="store_user_data"):
        restore_doc(doc)
    doc._.trfviz = {"tiny": _extraction()}  # 4 tokens; spaCy made 4 of "isn't isn't"
    restore_doc(doc)
    doc = blank_nlp("isn't")
    doc.user_data[VECTORS_KEY] = "tiny"
    doc._.trfviz = {"tiny": _extraction()}
    with pytest.raises(ValueError, match="covers 4 tokens but the Doc has 2"):
        restore_doc(doc)


# -- real models through spaCy's serialization ------------------------------------------------


@pytest.fixture(scope="module")
def pipeline() -> spacy.language.Language:
    pipe = spacy.blank("en")
    pipe.add_pipe("sentencizer")
    pipe.add_pipe("trfviz", config={"model": MINILM, "key": "minilm"})
    pipe.add_pipe("trfviz", name="trfviz_smol", config={"model": SMOLLM, "set_vectors": False})
    return pipe


@pytest.fixture(scope="module")
def docs(pipeline) -> list[Doc]:  # type: ignore[no-untyped-def]
    return list(pipeline.pipe(TEXTS))


@pytest.mark.model
def test_to_bytes_round_trip_is_bit_exact(pipeline, docs) -> None:  # type: ignore[no-untyped-def]
    for doc in docs:
        with pytest.warns(UserWarning, match="W109"):  # spaCy's own: hooks are not saved
            data = doc.to_bytes()
        restored = Doc(pipeline.vocab).from_bytes(data)
        assert set(restored._.trfviz) == {"minilm", SMOLLM}
        assert_same_trfviz(doc, restored)
        assert_identical(doc.tensor, restored.tensor, "doc.tensor")
        assert not restored.user_hooks
        assert_same_vectors(doc, restore_doc(restored))


@pytest.mark.model
def test_to_disk_round_trip_is_bit_exact(pipeline, docs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "doc.spacy"
    with pytest.warns(UserWarning, match="W109"):
        docs[1].to_disk(path)
    restored = restore_doc(Doc(pipeline.vocab).from_disk(path))
    assert_same_trfviz(docs[1], restored)
    assert_same_vectors(docs[1], restored)


@pytest.mark.model
def test_docbin_round_trip_is_bit_exact_and_restores_the_tensor(pipeline, docs) -> None:  # type: ignore[no-untyped-def]
    empty = pipeline("")
    originals = [*docs, empty]
    stored = DocBin(store_user_data=True, docs=originals).to_bytes()
    restored = list(DocBin().from_bytes(stored).get_docs(pipeline.vocab))
    for doc, back in zip(originals, restored, strict=True):
        assert_same_trfviz(doc, back)
    assert restored[0].tensor.size == 0  # DocBin never stores doc.tensor
    for doc, back in zip(originals, restored, strict=True):
        restore_doc(back)
        if len(doc):
            assert_same_vectors(doc, back)
    assert restored[-1]._.trfviz["minilm"].sentences == ()


def digest(doc: Doc) -> str:
    """A checksum of every array and field of ``doc._.trfviz`` and of ``doc.tensor``."""
    hasher = hashlib.sha256()

    def walk(value: Any) -> None:
        if is_dataclass(value):
            hasher.update(type(value).__name__.encode())
            for f in fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, np.ndarray):
            hasher.update(f"{value.dtype.str}{value.shape}".encode() + value.tobytes())
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)
        else:
            hasher.update(repr(value).encode())

    for key in sorted(doc._.trfviz):
        walk((key, doc._.trfviz[key]))
    walk(doc.tensor)
    return hasher.hexdigest()


_READ_IN_A_NEW_PROCESS = """
import sys, spacy
from spacy.tokens import DocBin
import trfviz.component
from tests.test_serialization import digest
docs = DocBin().from_disk(sys.argv[1]).get_docs(spacy.blank("en").vocab)
for doc in docs:
    doc = trfviz.component.restore_doc(doc)
    print(digest(doc), doc[0].has_vector, round(doc.similarity(doc), 4))
"""


@pytest.mark.model
def test_a_docbin_file_reads_back_in_a_new_process(docs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "docs.spacy"
    DocBin(store_user_data=True, docs=docs).to_disk(path)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_NEW_PROCESS, str(path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == [f"{digest(doc)} True 1.0" for doc in docs]


@pytest.mark.model
def test_pickle_keeps_results_and_hooks(docs) -> None:  # type: ignore[no-untyped-def]
    restored = pickle.loads(pickle.dumps(docs[0]))
    assert_same_trfviz(docs[0], restored)
    assert_same_vectors(docs[0], restored)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging when the block runs past ``seconds`` (stops its workers)."""

    def expire(signum: int, frame: object) -> None:
        for child in multiprocessing.active_children():
            child.terminate()
        raise TimeoutError(f"still running after {seconds} s: the worker processes hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.model
def test_pipe_with_two_processes_after_a_run_in_the_parent() -> None:
    pipe = spacy.blank("en")
    pipe.add_pipe("sentencizer")
    pipe.add_pipe("trfviz", config={"model": MINILM, "key": "minilm"})
    texts = [*TEXTS, "Short one."]
    # The parent has run torch before forking: the case that used to hang the workers.
    here = list(pipe.pipe(texts))
    with _deadline(240):
        there = list(pipe.pipe(texts, n_process=2, batch_size=1))
    assert [doc.text for doc in there] == texts
    for a, b in zip(here, there, strict=True):
        ea, eb = a._.trfviz["minilm"], b._.trfviz["minilm"]
        assert type(eb) is Extraction
        assert (ea.text, ea.model, ea.revision, ea.options) == (
            eb.text,
            eb.model,
            eb.revision,
            eb.options,
        )
        for sa, sb in zip(ea.sentences, eb.sentences, strict=True):
            assert (sa.tokens, sa.pieces, sa.start) == (sb.tokens, sb.pieces, sb.start)
            assert_identical(sa.alignment, sb.alignment, "alignment")
            # one torch thread per worker may sum in another order: close, not identical
            np.testing.assert_allclose(sa.attention, sb.attention, atol=1e-5)  # type: ignore[arg-type]
            np.testing.assert_allclose(sa.states, sb.states, atol=1e-4)  # type: ignore[arg-type]
        np.testing.assert_allclose(b.tensor, a.tensor, atol=1e-4)
        restore_doc(b)
        assert b.similarity(a) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(b[0].vector, a[0].vector, atol=1e-4)
