"""Saving and loading one extraction file, and a directory of them (:class:`ExtractionStore`).

Files are written through :func:`trfviz.atomic.atomic_writer` (temporary file,
fsync, rename), so an interrupted save never leaves a half-written file under
the real name, and entries carry a fixed timestamp, so saving the same
extraction twice gives the same bytes. The format is described in
:mod:`trfviz.storage`.

Reading treats the file as untrusted (it may come from someone else) and never
runs code or allocates more than the file holds: the ZIP structure is parsed
strictly (:mod:`trfviz.storage.archive`), the manifest is type-checked
(:mod:`trfviz.storage.manifest`), each ``.npy`` member's declared shape must
fill it exactly, which is checked before anything is allocated, and every
member's CRC-32 and every array's SHA-256 is checked, so a truncated or altered
file raises :class:`~trfviz.storage.CorruptExtractionError` instead of giving
wrong numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from trfviz.alignment import Alignment
from trfviz.atomic import atomic_writer
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.storage.archive import Member, read_at, read_members, write_member
from trfviz.storage.errors import CorruptExtractionError
from trfviz.storage.manifest import (
    ArraySpec,
    SentenceSpec,
    build_manifest,
    raw_bytes,
    read_manifest,
    sha256_text,
)

if TYPE_CHECKING:
    from trfviz.measures import MeasureExtraction

__all__ = ["ExtractionStore", "load_extraction", "read_array", "save_extraction"]

#: Largest ``.npy`` header read (numpy's own default limit).
_MAX_NPY_HEADER = 10_000


def save_extraction(extraction: Extraction, path: str | os.PathLike[str]) -> Path:
    """Write ``extraction`` to ``path`` (see the module docs for the format); returns the path.

    Raises:
        ValueError: an array has a dtype the format does not store (see the module docs).
    """
    target = Path(path)
    manifest, arrays = build_manifest(extraction)
    with (
        atomic_writer(target) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        write_member(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False).encode())
        for name, array in arrays:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            write_member(archive, name, buffer.getvalue())
    return target


def load_extraction(path: str | os.PathLike[str]) -> Extraction:
    """Read an extraction written by :func:`save_extraction`, treating the file as untrusted.

    Nothing in the file is executed (no pickles) and nothing is allocated beyond
    what the file itself holds; see the module docs for what is checked.

    Raises:
        CorruptExtractionError: the file is truncated, altered, or of another format.
        UnsafeExtractionError: (a CorruptExtractionError) the file holds unsafe
            member names, compressed members, or object arrays.
        FileNotFoundError: there is no such file (other OSErrors opening it pass through).
    """
    source = Path(path)
    with open(source, "rb") as handle:
        try:
            return _load(handle, os.fstat(handle.fileno()).st_size)
        except CorruptExtractionError as error:
            raise type(error)(f"{source}: {error}") from None
        except OSError as error:  # a read failing half-way: the file is unusable
            raise CorruptExtractionError(f"{source} could not be read: {error}") from error


class ExtractionStore:
    """A directory of stored extractions (and measures) keyed by model, revision, text and options.

    Layout: ``root/<model>/<revision>/<sha256(text)[:24]>-<sha256(options)[:8]>.trfviz``
    (a measure: ``...-<measure>-<sha256(options)[:8]>.trfviz``), with ``/`` and
    other unsafe characters of names replaced by ``--``.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, model: str, revision: str, text: str, options: ExtractionOptions) -> Path:
        """Where the extraction of ``text`` by ``model`` at ``revision`` is kept."""
        fields = asdict(options)
        if not fields["piece_attention"]:
            del fields["piece_attention"]  # keeps the keys of files stored before the option
        options_key = sha256_text(json.dumps(fields, sort_keys=True))[:8]
        name = f"{sha256_text(text)[:24]}-{options_key}.trfviz"
        return self.root / _safe(model) / _safe(revision) / name

    def put(self, extraction: Extraction) -> Path:
        """Store ``extraction``; returns its path."""
        path = self.path_for(
            extraction.model, extraction.revision, extraction.text, extraction.options
        )
        return save_extraction(extraction, path)

    def get(
        self, model: str, revision: str, text: str, options: ExtractionOptions
    ) -> Extraction | None:
        """The stored extraction, or None if there is none (corrupt files raise)."""
        path = self.path_for(model, revision, text, options)
        if not path.exists():
            return None
        extraction = load_extraction(path)
        if extraction.text != text:  # a hash-prefix collision, however unlikely
            return None
        return extraction

    def measure_path_for(
        self,
        model: str,
        revision: str,
        text: str,
        measure: str,
        options: Iterable[tuple[str, object]],
    ) -> Path:
        """Where ``measure`` of ``text`` by ``model`` at ``revision`` with ``options`` is kept."""
        ordered = sorted(options, key=lambda pair: pair[0])
        options_key = sha256_text(json.dumps(ordered, default=str))[:8]
        name = f"{sha256_text(text)[:24]}-{_safe(measure)}-{options_key}.trfviz"
        return self.root / _safe(model) / _safe(revision) / name

    def put_measure(self, measure: MeasureExtraction) -> Path:
        """Store a :class:`~trfviz.measures.MeasureExtraction`; returns its path."""
        from trfviz.storage.measure_files import save_measure  # it reads arrays through here

        path = self.measure_path_for(
            measure.model, measure.revision, measure.text, measure.measure, measure.options
        )
        return save_measure(measure, path)

    def get_measure(
        self,
        model: str,
        revision: str,
        text: str,
        measure: str,
        options: Iterable[tuple[str, object]] | Mapping[str, object],
    ) -> MeasureExtraction | None:
        """The stored measure, or None if there is none (corrupt files raise).

        ``options`` as the measure's ``options`` (pairs, or a mapping).
        """
        from trfviz.storage.measure_files import load_measure

        pairs = options.items() if isinstance(options, Mapping) else options
        path = self.measure_path_for(model, revision, text, measure, tuple(pairs))
        if not path.exists():
            return None
        stored = load_measure(path)
        return stored if stored.text == text else None


def _load(handle: BinaryIO, file_size: int) -> Extraction:
    members = read_members(handle, file_size)
    if "manifest.json" not in members:
        raise CorruptExtractionError("not a trfviz extraction (no manifest.json)")
    manifest = read_manifest(handle, members["manifest.json"])
    declared = {"manifest.json"} | {
        f"s{i}/{name}.npy"
        for i, sentence in enumerate(manifest.sentences)
        for name in sentence.arrays
    }
    if declared != set(members):
        extra, absent = sorted(set(members) - declared), sorted(declared - set(members))
        raise CorruptExtractionError(
            "its members do not match its manifest "
            f"(unexpected: {extra[:5]}, missing: {absent[:5]})"
        )
    sentences = tuple(
        _read_sentence(handle, members, i, sentence)
        for i, sentence in enumerate(manifest.sentences)
    )
    return Extraction(
        model=manifest.model,
        revision=manifest.revision,
        text=manifest.text,
        sentences=sentences,
        options=manifest.options,
        n_layers=manifest.n_layers,
        n_heads=manifest.n_heads,
    )


def _read_sentence(
    handle: BinaryIO, members: dict[str, Member], index: int, spec: SentenceSpec
) -> SentenceExtraction:
    arrays = {
        name: read_array(handle, members[f"s{index}/{name}.npy"], array)
        for name, array in spec.arrays.items()
    }
    pairs = arrays["pairs"]
    if len(pairs) and (
        pairs.min() < 0 or pairs[:, 0].max() >= spec.n_tokens or pairs[:, 1].max() >= spec.n_pieces
    ):
        raise CorruptExtractionError(f"sentence {index}: its alignment points past its tokens")
    alignment = Alignment(
        pairs=pairs,
        n_tokens=spec.n_tokens,
        n_pieces=spec.n_pieces,
        special=arrays["special"],
        orphan=arrays["orphan"],
        missing=arrays["missing"],
    )
    return SentenceExtraction(
        start=spec.start,
        tokens=spec.tokens,
        pieces=spec.pieces,
        alignment=alignment,
        attention=arrays.get("attention"),
        states=arrays.get("states"),
        special_labels=spec.special_labels,
        truncated=spec.truncated,
        piece_attention=arrays.get("piece_attention"),
    )


def read_array(handle: BinaryIO, member: Member, spec: ArraySpec) -> np.ndarray:
    """One array, its size checked against its member before it is allocated."""
    where = f"member {member.name!r}"
    nbytes = spec.nbytes
    if nbytes + 10 > member.size:
        raise CorruptExtractionError(
            f"{where}: the manifest declares {spec.dtype.str} {list(spec.shape)} ({nbytes} bytes) "
            f"but the member holds only {member.size} bytes"
        )
    prefix = read_at(handle, member.data_offset, 10)
    if prefix[:6] != b"\x93NUMPY" or prefix[6:8] not in (b"\x01\x00", b"\x02\x00"):
        raise CorruptExtractionError(f"{where} is not a .npy file (version 1 or 2)")
    length_size = 2 if prefix[6] == 1 else 4
    prefix += read_at(handle, member.data_offset + 10, length_size - 2)
    (header_length,) = struct.unpack_from("<H" if length_size == 2 else "<L", prefix, 8)
    if header_length > _MAX_NPY_HEADER or len(prefix) + header_length + nbytes != member.size:
        raise CorruptExtractionError(
            f"{where}: its .npy header and the declared {spec.dtype.str} {list(spec.shape)} "
            f"do not fill its {member.size} bytes"
        )
    header = read_at(handle, member.data_offset + len(prefix), header_length)
    # The header is compared with the one np.save writes for the declared dtype and
    # shape (a dict's repr, padded with spaces), never evaluated.
    expected = f"{{'descr': '{spec.dtype.str}', 'fortran_order': False, 'shape': {spec.shape!r}, }}"
    if not header.endswith(b"\n") or header[:-1].rstrip(b" ") != expected.encode("ascii"):
        raise CorruptExtractionError(
            f"{where}: its .npy header is not the one np.save writes for the declared "
            f"{spec.dtype.str} {list(spec.shape)}"
        )
    array = np.empty(spec.shape, spec.dtype)
    raw = raw_bytes(array)
    read = 0
    while read < nbytes:
        chunk = handle.readinto(raw[read:])  # type: ignore[attr-defined]
        if not chunk:
            raise CorruptExtractionError(f"{where} ends early (truncated)")
        read += chunk
    if zlib.crc32(raw, zlib.crc32(prefix + header)) != member.crc:
        raise CorruptExtractionError(f"{where} fails its CRC check (damaged)")
    if hashlib.sha256(raw).hexdigest() != spec.sha256:
        raise CorruptExtractionError(f"{where} fails its checksum")
    return array


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "--", name).strip(".") or "_"
