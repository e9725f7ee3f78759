"""Keeping and reloading extractions: exact round trips, corruption detected."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import struct
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import random_attention, synthetic_extraction, synthetic_sentence
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.storage import (
    CorruptExtractionError,
    ExtractionStore,
    UnsafeExtractionError,
    load_extraction,
    save_extraction,
)


def _synthetic(n_tokens: int = 3, seed: int = 0, text: str = "a bc d") -> Extraction:
    """One sentence of ``n_tokens`` words between [CLS] and [SEP], random arrays (2 x 3),
    with its wordpiece attention kept."""
    rng = np.random.default_rng(seed)
    sentence = synthetic_sentence(
        random_attention(rng, 2, 3, n_tokens + 2),
        rng.standard_normal((3, n_tokens, 4)),
        words=[f"t{i}" for i in range(n_tokens)],
        specials=("[CLS]", "[SEP]"),
    )
    sentence = replace(sentence, piece_attention=random_attention(rng, 2, 3, n_tokens + 2))
    return replace(
        synthetic_extraction([sentence], model="org/model"),
        revision="rev1",
        text=text,
        options=ExtractionOptions(piece_attention=True),
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
        np.testing.assert_array_equal(x.piece_attention, y.piece_attention)  # type: ignore[arg-type]


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
    assert ext.options.piece_attention
    without = ExtractionOptions()  # the same options, but no wordpiece attention kept
    assert store.get("org/model", "rev1", ext.text, without) is None


def test_store_keys_of_files_stored_before_piece_attention_are_kept(tmp_path: Path) -> None:
    """Options without the wordpiece attention hash as they did before the option existed."""
    before = {"attention": True, "states": True, "pooling": "weighted", "query_pooling": "mean"}
    before["special_tokens"] = "keep"
    key = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:8]
    path = ExtractionStore(tmp_path).path_for("m", "r", "text", ExtractionOptions())
    assert path.name.endswith(f"-{key}.trfviz")


# --- untrusted files: every damaged byte reported, crafted archives refused -----------


def _identical(a: Extraction, b: Extraction) -> bool:
    """Whether two extractions are bit-identical (arrays compared byte for byte, dtypes too)."""

    def same(x: np.ndarray | None, y: np.ndarray | None) -> bool:
        if x is None or y is None:
            return x is y
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()

    if (a.model, a.revision, a.text, a.options, a.n_layers, a.n_heads) != (
        b.model,
        b.revision,
        b.text,
        b.options,
        b.n_layers,
        b.n_heads,
    ) or len(a.sentences) != len(b.sentences):
        return False
    for x, y in zip(a.sentences, b.sentences, strict=True):
        if (x.start, x.tokens, x.pieces, x.special_labels, x.truncated) != (
            y.start,
            y.tokens,
            y.pieces,
            y.special_labels,
            y.truncated,
        ):
            return False
        p, q = x.alignment, y.alignment
        if (p.n_tokens, p.n_pieces) != (q.n_tokens, q.n_pieces):
            return False
        if not all(
            same(u, v)
            for u, v in [
                (p.pairs, q.pairs),
                (p.special, q.special),
                (p.orphan, q.orphan),
                (p.missing, q.missing),
                (x.attention, y.attention),
                (x.states, y.states),
                (x.piece_attention, y.piece_attention),
            ]
        ):
            return False
    return True


def _two_sentences() -> Extraction:
    first, second = _synthetic(3, 1).sentences[0], _synthetic(2, 2).sentences[0]
    extraction = synthetic_extraction(
        [first, replace(second, states=None, truncated=True, piece_attention=None)],
        model="org/model",
    )
    return replace(
        extraction,
        revision="rev1",
        text="a bc d é",
        options=ExtractionOptions(piece_attention=True),
    )


def _unread_zip_fields(data: bytes) -> set[int]:
    """Offsets of the ZIP fields no reader uses: versions, timestamps, attributes.

    Changing one of these bytes may leave the file loadable; any other byte must not.
    """
    offsets: set[int] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        position = archive.start_dir  # type: ignore[attr-defined]
    for info in infos:
        local = info.header_offset
        offsets |= {local + 4, local + 5, *range(local + 10, local + 14)}
        # version made by / needed, time and date, internal and external attributes
        offsets |= {*range(position + 4, position + 8), *range(position + 12, position + 16)}
        offsets |= set(range(position + 36, position + 42))
        name, extra, comment = struct.unpack_from("<3H", data, position + 28)
        position += 46 + name + extra + comment
    if data[position : position + 4] == b"PK\x06\x06":  # ZIP64 end record: its versions
        offsets |= set(range(position + 12, position + 16))
    return offsets


def _check_every_damage(path: Path, masks: tuple[int, ...] = (0xFF,)) -> None:
    """Flip each byte of ``path`` (with each mask), then truncate it at every length: each
    load must raise CorruptExtractionError, or (for a flip in a field nothing reads) give
    the original extraction bit for bit. Any other exception fails the test."""
    original = load_extraction(path)
    data = path.read_bytes()
    unread = _unread_zip_fields(data)
    wrongly_accepted = []
    with path.open("r+b") as handle:
        for offset in range(len(data)):
            for mask in masks:
                handle.seek(offset)
                handle.write(bytes([data[offset] ^ mask]))
                handle.flush()
                try:
                    loaded = load_extraction(path)
                except CorruptExtractionError:
                    continue
                finally:
                    handle.seek(offset)
                    handle.write(data[offset : offset + 1])
                    handle.flush()
                if offset not in unread or not _identical(loaded, original):
                    wrongly_accepted.append((offset, mask))
        assert not wrongly_accepted, f"altered bytes not reported: {wrongly_accepted[:20]}"
        for length in range(len(data) - 1, -1, -1):  # shorter and shorter: no rewriting
            handle.truncate(length)
            handle.flush()
            with pytest.raises(CorruptExtractionError):
                load_extraction(path)
    path.write_bytes(data + b"\0")
    with pytest.raises(CorruptExtractionError):
        load_extraction(path)


def test_every_flipped_or_cut_byte_is_reported(tmp_path: Path) -> None:
    """Every offset of a small two-sentence file, three bit patterns per byte."""
    path = save_extraction(_two_sentences(), tmp_path / "x.trfviz")
    assert _identical(load_extraction(path), _two_sentences())
    _check_every_damage(path, masks=(0x01, 0x80, 0xFF))


def test_zip64_files_are_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over 2 GiB use ZIP64 records; a lowered limit makes a small file use them too."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 64)
    path = save_extraction(_two_sentences(), tmp_path / "x.trfviz")
    data = path.read_bytes()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # ZIP64 end records written
    assert _identical(load_extraction(path), _two_sentences())
    _check_every_damage(path)


@pytest.mark.model
def test_every_damaged_byte_of_a_real_extraction_is_reported(tmp_path: Path) -> None:
    """MiniLM on a two-token Doc (about 27 KB): every offset flipped (all bits), and the
    file cut at every length, each must be reported (or, in unread ZIP fields, harmless)."""
    import trfviz
    from tests._shared import minilm, nlp

    extraction = trfviz.extract(nlp()("Hi."), minilm())
    path = save_extraction(extraction, tmp_path / "x.trfviz")
    assert 20_000 < path.stat().st_size < 40_000
    assert _identical(load_extraction(path), extraction)
    _check_every_damage(path)


def _entries(extraction: Extraction, tmp_path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the array members of a saved extraction, for crafting archives."""
    path = save_extraction(extraction, tmp_path / "source.trfviz")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(members.pop("manifest.json")), members


def _pack(
    path: Path,
    manifest: object,
    members: dict[str, bytes] | list[tuple[str, bytes]],
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    items = list(members.items()) if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names, on purpose
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
            archive.writestr("manifest.json", raw)
            for name, payload in items:
                archive.writestr(name, payload)
    return path


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_repacked_archive_with_the_same_contents_loads(tmp_path: Path) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    path = _pack(tmp_path / "x.trfviz", manifest, members)
    assert _identical(load_extraction(path), _synthetic())


@pytest.mark.parametrize(
    "name", ["../evil", "/abs", "s0\\pairs.npy", "C:/evil", "s0/../../evil", "s0//pairs.npy"]
)
def test_member_names_that_escape_are_refused(tmp_path: Path, name: str) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    members[name] = b"payload"
    path = _pack(tmp_path / "x.trfviz", manifest, members)
    with pytest.raises(UnsafeExtractionError, match="absolute path"):
        load_extraction(path)


def test_unexpected_missing_and_duplicate_members_are_refused(tmp_path: Path) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    path = _pack(tmp_path / "x.trfviz", manifest, {**members, "notes.txt": b"hi"})
    with pytest.raises(CorruptExtractionError, match=r"not manifest\.json or"):
        load_extraction(path)
    path = _pack(
        tmp_path / "x.trfviz", manifest, {**members, "s1/pairs.npy": members["s0/pairs.npy"]}
    )
    with pytest.raises(CorruptExtractionError, match="do not match its manifest"):
        load_extraction(path)
    del members["s0/states.npy"]
    path = _pack(tmp_path / "x.trfviz", manifest, members)
    with pytest.raises(CorruptExtractionError, match="do not match its manifest"):
        load_extraction(path)
    twice = [*members.items(), ("s0/pairs.npy", members["s0/pairs.npy"])]
    path = _pack(tmp_path / "x.trfviz", manifest, twice)
    with pytest.raises(CorruptExtractionError, match="twice"):
        load_extraction(path)


_UNPICKLED: list[str] = []


def _record_unpickling(what: str) -> str:
    _UNPICKLED.append(what)
    return what


class _Payload:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _record_unpickling, ("code ran",)


@pytest.mark.parametrize("declared", ["|O", "<f4"])
def test_pickled_object_arrays_are_never_unpickled(tmp_path: Path, declared: str) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    members["s0/states.npy"] = _npy(np.array([_Payload()], dtype=object), allow_pickle=True)
    manifest["sentences"][0]["arrays"]["states"]["dtype"] = declared
    path = _pack(tmp_path / "x.trfviz", manifest, members)
    _UNPICKLED.clear()
    with pytest.raises(CorruptExtractionError, match=r"dtype|header"):
        load_extraction(path)
    assert not _UNPICKLED
    if declared == "|O":
        with pytest.raises(UnsafeExtractionError, match="never objects"):
            load_extraction(path)


def test_arrays_of_the_wrong_kind_are_refused_on_saving_and_loading(tmp_path: Path) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    members["s0/missing.npy"] = _npy(np.zeros(3, np.int64))
    manifest["sentences"][0]["arrays"]["missing"]["dtype"] = "<i8"
    with pytest.raises(UnsafeExtractionError, match="'missing' has dtype '<i8'"):
        load_extraction(_pack(tmp_path / "x.trfviz", manifest, members))
    _, members = _entries(_synthetic(), tmp_path)
    manifest["sentences"][0]["arrays"]["missing"]["dtype"] = "|b1"
    manifest["sentences"][0]["arrays"]["states"]["dtype"] = "<f16"  # a float, not a listed one
    with pytest.raises(UnsafeExtractionError, match="'states' has dtype '<f16'"):
        load_extraction(_pack(tmp_path / "x.trfviz", manifest, members))
    sentence = _synthetic().sentences[0]
    texts = np.array(["a"] * sentence.states.shape[0])  # type: ignore[union-attr]
    bad = Extraction(
        model="m",
        revision="r",
        text="",
        sentences=(
            SentenceExtraction(
                start=0,
                tokens=sentence.tokens,
                pieces=sentence.pieces,
                alignment=sentence.alignment,
                attention=None,
                states=texts,
            ),
        ),
    )
    with pytest.raises(ValueError, match="'states' has dtype '<U1'"):
        save_extraction(bad, tmp_path / "bad.trfviz")
    assert not (tmp_path / "bad.trfviz").exists()


def test_huge_declared_shapes_are_refused_before_allocating(tmp_path: Path) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    huge = [10**6, 10**6, 10**6]
    manifest["sentences"][0]["arrays"]["states"]["shape"] = huge
    header = _npy(np.zeros(0, np.float32)).replace(b"(0,)", b"(1000000, 1000000, 1000000)")
    members["s0/states.npy"] = header  # a header that agrees, and no data
    with pytest.raises(CorruptExtractionError, match="declares <f4 \\[1000000, 1000000"):
        load_extraction(_pack(tmp_path / "x.trfviz", manifest, members))


@pytest.mark.parametrize(
    ("manifest", "match"),
    [
        ([1, 2, 3], "not a trfviz extraction"),
        ("text", "not a trfviz extraction"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"format": "trfviz-extraction", "version": 1' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_manifests_of_the_wrong_shape_are_refused(
    tmp_path: Path, manifest: object, match: str
) -> None:
    _, members = _entries(_synthetic(), tmp_path)
    with pytest.raises(CorruptExtractionError, match=match):
        load_extraction(_pack(tmp_path / "x.trfviz", manifest, members))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m["sentences"][0]["arrays"]["states"].update(shape=[-1]), "list of counts"),
        (lambda m: m["sentences"][0]["arrays"]["states"].update(shape=[True]), "list of counts"),
        (lambda m: m["sentences"][0]["arrays"]["states"].update(shape=3), "should be list"),
        (lambda m: m["sentences"][0]["arrays"]["states"].update(sha256=7), "should be str"),
        (lambda m: m["sentences"][0]["arrays"]["states"].update(sha256="ab"), "not a SHA-256"),
        (lambda m: m["sentences"][0]["arrays"].update(pickle={}), "no such array"),
        (lambda m: m["sentences"][0]["arrays"].pop("pairs"), "lacks the arrays"),
        (lambda m: m["sentences"][0].update(n_tokens="3"), "should be int"),
        (lambda m: m["sentences"][0].update(n_tokens=4), "impossible shape"),
        (
            lambda m: m["sentences"][0]["arrays"]["piece_attention"].update(shape=[2, 3, 4, 4]),
            "impossible shape",
        ),
        (lambda m: m["sentences"][0].update(start=-1), "negative"),
        (lambda m: m["sentences"][0].update(tokens=[1, 2, 3]), "should hold strings"),
        (lambda m: m["sentences"][0].update(truncated=1), "should be bool"),
        (lambda m: m["sentences"].append([]), "not an object"),
        (lambda m: m.update(sentences={}), "should be list"),
        (lambda m: m.pop("model"), "lacks 'model'"),
        (lambda m: m.update(n_heads=2.5), "should be int"),
        (lambda m: m.update(version=True), "format version"),
        (lambda m: m.update(version=2), "format version 2"),
        (lambda m: m.update(options={"pooling": "evil"}), "not allowed"),
        (lambda m: m.update(options={"attention": "yes"}), "not allowed"),
        (
            lambda m: m.update(options={"attention": False, "piece_attention": True}),
            "not allowed",
        ),
        (lambda m: m.update(options={"__class__": 1}), "unknown keys"),
        (lambda m: m.update(text="other"), "does not match its checksum"),
    ],
)
def test_malformed_manifest_fields_are_reported(tmp_path: Path, change: Any, match: str) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    change(manifest)
    with pytest.raises(CorruptExtractionError, match=match):
        load_extraction(_pack(tmp_path / "x.trfviz", manifest, members))


def test_alignment_pointing_past_the_tokens_is_refused(tmp_path: Path) -> None:
    manifest, members = _entries(_synthetic(), tmp_path)
    pairs = np.array([[0, 1], [1, 2], [9, 3]], np.int32)
    members["s0/pairs.npy"] = _npy(pairs)
    manifest["sentences"][0]["arrays"]["pairs"]["sha256"] = hashlib.sha256(
        pairs.tobytes()
    ).hexdigest()
    with pytest.raises(CorruptExtractionError, match="points past its tokens"):
        load_extraction(_pack(tmp_path / "x.trfviz", manifest, members))


def _json_values() -> st.SearchStrategy[Any]:
    scalars = (
        st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_manifest_value_replaced_is_loaded_or_reported(tmp_path_factory, data) -> None:  # type: ignore[no-untyped-def]
    """Any node of a real manifest replaced by any JSON value (or removed): the load
    succeeds or raises CorruptExtractionError, never KeyError, TypeError and the like."""
    tmp_path = tmp_path_factory.mktemp("manifest")
    manifest, members = _entries(_synthetic(), tmp_path)
    path = data.draw(st.sampled_from(_paths(manifest)[1:]))
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(_json_values())
    else:
        del parent[path[-1]]
    archive = _pack(tmp_path / "x.trfviz", manifest, members)
    with contextlib.suppress(CorruptExtractionError):
        load_extraction(archive)


def test_compressed_members_are_refused(tmp_path: Path) -> None:
    """A zip bomb: a few KB that would inflate to 50 MB. Refused without inflating."""
    manifest, members = _entries(_synthetic(), tmp_path)
    members["s0/states.npy"] = _npy(np.zeros(50 * 2**20, np.uint8))
    path = _pack(tmp_path / "x.trfviz", manifest, members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    with pytest.raises(UnsafeExtractionError, match="compressed"):
        load_extraction(path)


def test_oversized_manifests_and_member_counts_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trfviz.storage import archive, manifest

    path = save_extraction(_synthetic(), tmp_path / "x.trfviz")
    monkeypatch.setattr(manifest, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(CorruptExtractionError, match="at most 100 are read"):
        load_extraction(path)
    monkeypatch.undo()
    monkeypatch.setattr(archive, "MAX_MEMBERS", 7)
    with pytest.raises(CorruptExtractionError, match="declares 8 members"):
        load_extraction(path)


def test_data_before_or_after_the_archive_is_refused(tmp_path: Path) -> None:
    """A ZIP behind a script (self-extracting archives) or with a comment is not a trfviz file."""
    path = save_extraction(_synthetic(), tmp_path / "x.trfviz")
    data = path.read_bytes()
    path.write_bytes(b"#!/bin/sh\n" + data)
    with pytest.raises(CorruptExtractionError):
        load_extraction(path)
    with zipfile.ZipFile(path.with_name("c.trfviz"), "w") as archive:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            for info in source.infolist():
                archive.writestr(info, source.read(info))
        archive.comment = b"hello"
    with pytest.raises(CorruptExtractionError, match="no ZIP end record"):
        load_extraction(path.with_name("c.trfviz"))


def test_an_interrupted_save_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_extraction(_synthetic(), tmp_path / "x.trfviz")
    before = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        save_extraction(_synthetic(5, 3), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.trfviz"]  # no temporary file left


def test_store_raises_on_a_corrupt_file_and_keeps_paths_inside_its_root(tmp_path: Path) -> None:
    store = ExtractionStore(tmp_path / "store")
    ext = _synthetic()
    path = store.put(ext)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(CorruptExtractionError):
        store.get(ext.model, ext.revision, ext.text, ext.options)
    escaping = store.path_for("../../etc", "/abs/..", ext.text, ext.options)
    assert escaping.resolve().is_relative_to((tmp_path / "store").resolve())
