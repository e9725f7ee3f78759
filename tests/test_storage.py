"""Keeping and reloading extractions: exact round trips, corruption detected."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trfviz.alignment import align_spans
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.storage import (
    CorruptExtractionError,
    ExtractionStore,
    load_extraction,
    save_extraction,
)


def _synthetic(n_tokens: int = 3, seed: int = 0, text: str = "a bc d") -> Extraction:
    rng = np.random.default_rng(seed)
    spans = [(i * 2, i * 2 + 1) for i in range(n_tokens)]
    pieces = [(0, 0), *spans, (0, 0)]
    alignment = align_spans(spans, pieces, [True] + [False] * n_tokens + [True])
    attention = rng.random((2, 3, n_tokens + 2, n_tokens + 2)).astype(np.float32)
    states = rng.standard_normal((3, n_tokens, 4)).astype(np.float32)
    sentence = SentenceExtraction(
        start=0,
        tokens=tuple(f"t{i}" for i in range(n_tokens)),
        pieces=("[CLS]", *(f"p{i}" for i in range(n_tokens)), "[SEP]"),
        alignment=alignment,
        attention=attention,
        states=states,
        special_labels=("[CLS]", "[SEP]"),
    )
    return Extraction(
        model="org/model",
        revision="rev1",
        text=text,
        sentences=(sentence,),
        options=ExtractionOptions(),
        n_layers=2,
        n_heads=3,
    )


def _assert_same(a: Extraction, b: Extraction) -> None:
    assert (a.model, a.revision, a.text, a.options) == (b.model, b.revision, b.text, b.options)
    assert (a.n_layers, a.n_heads) == (b.n_layers, b.n_heads)
    for x, y in zip(a.sentences, b.sentences, strict=True):
        assert (x.start, x.tokens, x.pieces, x.special_labels, x.truncated) == (
            y.start,
            y.tokens,
            y.pieces,
            y.special_labels,
            y.truncated,
        )
        np.testing.assert_array_equal(x.alignment.pairs, y.alignment.pairs)
        np.testing.assert_array_equal(x.alignment.missing, y.alignment.missing)
        np.testing.assert_array_equal(x.attention, y.attention)  # type: ignore[arg-type]
        np.testing.assert_array_equal(x.states, y.states)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(n_tokens=st.integers(1, 6), seed=st.integers(0, 1000), text=st.text(max_size=30))
def test_round_trip_is_exact(tmp_path_factory, n_tokens: int, seed: int, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("store") / "x.trfviz"
    original = _synthetic(n_tokens, seed, text)
    save_extraction(original, path)
    _assert_same(original, load_extraction(path))


def test_saving_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    ext = _synthetic()
    a = save_extraction(ext, tmp_path / "a.trfviz").read_bytes()
    b = save_extraction(ext, tmp_path / "b.trfviz").read_bytes()
    assert a == b


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    path = save_extraction(_synthetic(), tmp_path / "x.trfviz")
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptExtractionError):
            load_extraction(path)


def test_altered_numbers_are_reported(tmp_path: Path) -> None:
    path = save_extraction(_synthetic(), tmp_path / "x.trfviz")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("s0/attention.npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(path.read_bytes())
    data[offset + info.file_size - 3] ^= 0xFF  # one byte of the last float
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptExtractionError):
        load_extraction(path)


def test_altered_array_with_a_valid_zip_fails_its_checksum(tmp_path: Path) -> None:
    path = save_extraction(_synthetic(), tmp_path / "x.trfviz")
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 3, 5, 5), np.float32))
    entries["s0/attention.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    with pytest.raises(CorruptExtractionError, match="checksum"):
        load_extraction(path)


def test_other_files_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.trfviz"
    path.write_text("not a zip")
    with pytest.raises(CorruptExtractionError):
        load_extraction(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", '{"format": "other"}')
    with pytest.raises(CorruptExtractionError, match="not a trfviz"):
        load_extraction(path)
    with pytest.raises(FileNotFoundError):
        load_extraction(tmp_path / "missing.trfviz")


def test_store_is_keyed_by_model_revision_text_and_options(tmp_path: Path) -> None:
    store = ExtractionStore(tmp_path)
    ext = _synthetic()
    path = store.put(ext)
    assert path.is_relative_to(tmp_path / "org--model" / "rev1")
    _assert_same(ext, store.get("org/model", "rev1", ext.text, ext.options))  # type: ignore[arg-type]
    assert store.get("org/model", "rev2", ext.text, ext.options) is None
    assert store.get("org/model", "rev1", "other text", ext.options) is None
    other = ExtractionOptions(special_tokens="drop")
    assert store.get("org/model", "rev1", ext.text, other) is None
