"""Keeping extractions on disk and reading them back, safely, with corruption detected.

File format (``.trfviz``, version 1): an uncompressed ZIP archive holding

- ``manifest.json``: ``{"format": "trfviz-extraction", "version": 1, "model",
  "revision", "text", "text_sha256", "options", "n_layers", "n_heads",
  "sentences": [{"start", "tokens", "pieces", "special_labels", "truncated",
  "n_tokens", "n_pieces", "arrays": {name: {"dtype", "shape", "sha256"}}}]}``;
- one ``.npy`` file per array, ``s{i}/{name}.npy``, where ``name`` is
  ``attention`` ``[layer, head, query, key]``, ``states`` ``[layer + 1, token, dim]``,
  ``pairs`` ``[n_pairs, 2]`` (the alignment), ``special``, ``orphan``, ``missing``.

Files are written through :func:`trfviz.atomic.atomic_writer` (temporary file,
fsync, rename), so an interrupted save never leaves a half-written file under
the real name, and entries carry a fixed timestamp, so saving the same
extraction twice gives the same bytes.

Reading treats the file as untrusted (it may come from someone else) and never
runs code or allocates more than the file holds:

- the ZIP structure is parsed strictly by this module: no compression, no
  comments, no unknown extra fields, every byte of the file accounted for
  (local headers and data back to back, then the central directory, then the
  end records), every local header agreeing with its central entry;
- member names must be ``manifest.json`` or ``s{i}/{name}.npy``: absolute
  paths, ``..``, backslashes and duplicates are refused;
- ``manifest.json`` is at most :data:`MAX_MANIFEST_BYTES` and its fields are
  type-checked; arrays must have an allowed dtype (booleans, integers, floats:
  never objects, so never pickles) and their declared shape must fill their
  member exactly, which is checked before anything is allocated;
- every member's CRC-32 and every array's SHA-256 is checked, so a truncated
  or altered file raises :class:`CorruptExtractionError` instead of giving
  wrong numbers. The only bytes not checked are ZIP fields that nothing reads
  (version numbers, timestamps, file attributes); changing them changes nothing.

:class:`ExtractionStore` keeps many extractions in a directory keyed by model,
revision, text and options.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import struct
import typing
import zipfile
import zlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from trfviz.alignment import Alignment
from trfviz.atomic import atomic_writer
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MAX_MEMBERS",
    "CorruptExtractionError",
    "ExtractionStore",
    "UnsafeExtractionError",
    "load_extraction",
    "save_extraction",
]

FORMAT = "trfviz-extraction"
VERSION = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)

#: Largest ``manifest.json`` read (bytes). A manifest grows with the text and its
#: tokens, about 60 bytes per token; this allows documents of about a million tokens.
MAX_MANIFEST_BYTES = 64 * 2**20
#: Most members an archive may have (one manifest, at most six arrays per sentence).
MAX_MEMBERS = 1_000_000
#: Largest ``.npy`` header read (numpy's own default limit).
_MAX_NPY_HEADER = 10_000

# Array name -> the dtype kinds it may have ("b" bool, "i"/"u" integers, "f" floats).
_ARRAY_KINDS = {
    "pairs": "iu",
    "special": "b",
    "orphan": "b",
    "missing": "b",
    "attention": "f",
    "states": "f",
}
_REQUIRED_ARRAYS = ("pairs", "special", "orphan", "missing")
# Plain numbers only: no object, structured, string or datetime dtypes.
_ALLOWED_DTYPES = frozenset(
    ["|b1", "|i1", "|u1"]
    + [f"{order}{code}" for order in "<>" for code in ("i2", "i4", "i8", "u2", "u4", "u8")]
    + [f"{order}{code}" for order in "<>" for code in ("f2", "f4", "f8")]
)
_MEMBER_NAME = re.compile(
    r"s(0|[1-9][0-9]{0,8})/(pairs|special|orphan|missing|attention|states)\.npy"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")

# ZIP records (APPNOTE.TXT 4.3): local header, central entry, end records.
_LOCAL = struct.Struct("<4s2B4H3L2H")
_CENTRAL = struct.Struct("<4s4B4H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EXTRA = 0x0001
_U16, _U32 = 0xFFFF, 0xFFFFFFFF


class CorruptExtractionError(ValueError):
    """A stored extraction is truncated, altered, or not an extraction file."""


class UnsafeExtractionError(CorruptExtractionError):
    """A stored extraction holds what a safe reader must refuse.

    Path traversal in member names, compressed members (zip bombs), or arrays
    of object dtype (pickles): signs of a crafted file rather than of damage.
    """


def save_extraction(extraction: Extraction, path: str | os.PathLike[str]) -> Path:
    """Write ``extraction`` to ``path`` (see the module docs for the format); returns the path.

    Raises:
        ValueError: an array has a dtype the format does not store (see the module docs).
    """
    target = Path(path)
    sentences = []
    arrays: list[tuple[str, np.ndarray]] = []
    for i, sentence in enumerate(extraction.sentences):
        named = {
            "pairs": sentence.alignment.pairs,
            "special": sentence.alignment.special,
            "orphan": sentence.alignment.orphan,
            "missing": sentence.alignment.missing,
        }
        if sentence.attention is not None:
            named["attention"] = sentence.attention
        if sentence.states is not None:
            named["states"] = sentence.states
        meta: dict[str, Any] = {}
        for name, array in named.items():
            array = np.ascontiguousarray(array)
            _check_dtype(name, array.dtype.str, f"sentence {i}", error=ValueError)
            meta[name] = {
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "sha256": hashlib.sha256(_raw(array)).hexdigest(),
            }
            arrays.append((f"s{i}/{name}.npy", array))
        sentences.append(
            {
                "start": sentence.start,
                "tokens": list(sentence.tokens),
                "pieces": list(sentence.pieces),
                "special_labels": list(sentence.special_labels),
                "truncated": sentence.truncated,
                "n_tokens": sentence.alignment.n_tokens,
                "n_pieces": sentence.alignment.n_pieces,
                "arrays": meta,
            }
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "model": extraction.model,
        "revision": extraction.revision,
        "text": extraction.text,
        "text_sha256": _sha256(extraction.text),
        "options": asdict(extraction.options),
        "n_layers": extraction.n_layers,
        "n_heads": extraction.n_heads,
        "sentences": sentences,
    }
    with (
        atomic_writer(target) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        _write(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False).encode())
        for name, array in arrays:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            _write(archive, name, buffer.getvalue())
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
    """A directory of stored extractions keyed by model, revision, text and options.

    Layout: ``root/<model>/<revision>/<sha256(text)[:24]>-<sha256(options)[:8]>.trfviz``,
    with ``/`` and other unsafe characters of names replaced by ``--``.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, model: str, revision: str, text: str, options: ExtractionOptions) -> Path:
        """Where the extraction of ``text`` by ``model`` at ``revision`` is kept."""
        options_key = _sha256(json.dumps(asdict(options), sort_keys=True))[:8]
        name = f"{_sha256(text)[:24]}-{options_key}.trfviz"
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


# --- writing -------------------------------------------------------------------------


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _raw(array: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return array.reshape(-1).view(np.uint8).data


# --- reading the ZIP structure -------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    name: str
    data_offset: int
    size: int
    crc: int


def _load(handle: BinaryIO, file_size: int) -> Extraction:
    members = _read_members(handle, file_size)
    if "manifest.json" not in members:
        raise CorruptExtractionError("not a trfviz extraction (no manifest.json)")
    manifest = _read_manifest(handle, members["manifest.json"])
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


def _read_members(handle: BinaryIO, file_size: int) -> dict[str, _Member]:
    """The archive's members by name, after checking that its records tile the whole file."""
    if file_size < _END.size:
        raise CorruptExtractionError(f"not a trfviz extraction ({file_size} bytes, too short)")
    end = _END.unpack(_read_at(handle, file_size - _END.size, _END.size))
    signature, disk, directory_disk, count_here, count, directory_size, directory_offset = end[:7]
    if signature != b"PK\x05\x06" or end[7] != 0:
        raise CorruptExtractionError(
            "not a trfviz extraction (no ZIP end record at the end of the file: truncated, "
            "appended to, or another format)"
        )
    if disk != 0 or directory_disk != 0 or count_here != count:
        raise CorruptExtractionError("its ZIP end record is damaged (split-archive fields)")
    records_end = file_size - _END.size
    locator_at = records_end - _END64_LOCATOR.size
    if locator_at >= 0 and _read_at(handle, locator_at, 4) == b"PK\x06\x07":
        # ZIP64: the real counts and offsets are in the ZIP64 end record before the locator.
        _, disk, end64_at, n_disks = _END64_LOCATOR.unpack(
            _read_at(handle, locator_at, _END64_LOCATOR.size)
        )
        if disk != 0 or n_disks != 1 or end64_at != locator_at - _END64.size:
            raise CorruptExtractionError("its ZIP64 end locator is damaged")
        record = _END64.unpack(_read_at(handle, end64_at, _END64.size))
        signature, record_size, _, _, disk, directory_disk, count_here, count64 = record[:8]
        size64, offset64 = record[8:]
        if (
            signature != b"PK\x06\x06"
            or record_size != _END64.size - 12
            or (disk, directory_disk) != (0, 0)
            or count_here != count64
            or count != min(count64, _U16)
            or directory_size != min(size64, _U32)
            or directory_offset != min(offset64, _U32)
        ):
            raise CorruptExtractionError("its ZIP64 end record is damaged")
        count, directory_size, directory_offset = count64, size64, offset64
        records_end = end64_at
    if count > MAX_MEMBERS:
        raise CorruptExtractionError(
            f"it declares {count} members (at most {MAX_MEMBERS} are read)"
        )
    if directory_offset + directory_size != records_end:
        raise CorruptExtractionError(
            "its ZIP central directory does not end where the end record starts "
            "(truncated, or bytes inserted)"
        )
    directory = _read_at(handle, directory_offset, directory_size)
    members: dict[str, _Member] = {}
    expected_offset = 0  # members are stored back to back from the first byte
    position = 0
    for _ in range(count):
        name, header_offset, size, crc, position = _central_entry(directory, position)
        if name in members:
            raise CorruptExtractionError(f"member {name!r} appears twice")
        if header_offset != expected_offset:
            raise CorruptExtractionError(
                f"member {name!r} does not start where the previous one ends (bytes inserted, "
                "removed, or an altered offset)"
            )
        data_offset = _check_local_header(handle, name, header_offset, size, crc)
        members[name] = _Member(name, data_offset, size, crc)
        expected_offset = data_offset + size
    if position != directory_size:
        raise CorruptExtractionError("its ZIP central directory has bytes after its last entry")
    if expected_offset != directory_offset:
        raise CorruptExtractionError(
            "its last member does not end where the central directory starts"
        )
    return members


def _central_entry(directory: bytes, position: int) -> tuple[str, int, int, int, int]:
    """Name, local header offset, size, CRC and the next entry's position of one central entry."""
    if position + _CENTRAL.size > len(directory):
        raise CorruptExtractionError("its ZIP central directory is cut short")
    fields_ = _CENTRAL.unpack_from(directory, position)
    signature, flags, method, crc = fields_[0], fields_[5], fields_[6], fields_[9]
    compressed, size, name_length, extra_length, comment_length, disk = fields_[10:16]
    header_offset = fields_[18]
    if signature != b"PK\x01\x02":
        raise CorruptExtractionError("its ZIP central directory has a damaged entry")
    start = position + _CENTRAL.size
    end = start + name_length + extra_length + comment_length
    if end > len(directory):
        raise CorruptExtractionError("its ZIP central directory is cut short")
    name = _member_name(directory[start : start + name_length])
    if method != zipfile.ZIP_STORED:
        raise UnsafeExtractionError(
            f"member {name!r} is compressed (method {method}); trfviz writes uncompressed "
            "archives and refuses compressed members (zip bombs)"
        )
    if flags != 0 or comment_length != 0 or disk != 0:
        raise CorruptExtractionError(f"member {name!r} has flags, a comment, or a disk number")
    extra = directory[start + name_length : start + name_length + extra_length]
    size, compressed, header_offset = _zip64_values(extra, (size, compressed, header_offset), name)
    if compressed != size:
        raise CorruptExtractionError(f"member {name!r} has two different sizes")
    return name, header_offset, size, crc, end


def _check_local_header(handle: BinaryIO, name: str, offset: int, size: int, crc: int) -> int:
    """Where the member's data starts, after checking its local header against its central entry."""
    local = _LOCAL.unpack(_read_at(handle, offset, _LOCAL.size))
    signature, flags, method, local_crc = local[0], local[3], local[4], local[7]
    compressed, local_size, name_length, extra_length = local[8:]
    encoded = name.encode("ascii")
    tail = _read_at(handle, offset + _LOCAL.size, name_length + extra_length)
    if (
        signature != b"PK\x03\x04"
        or flags != 0
        or method != zipfile.ZIP_STORED
        or local_crc != crc
        or tail[:name_length] != encoded
    ):
        raise CorruptExtractionError(f"the local ZIP header of member {name!r} is damaged")
    local_size, compressed, _ = _zip64_values(tail[name_length:], (local_size, compressed, 0), name)
    if local_size != size or compressed != size:
        raise CorruptExtractionError(f"the local ZIP header of member {name!r} is damaged")
    return offset + _LOCAL.size + name_length + extra_length


def _zip64_values(extra: bytes, values: tuple[int, int, int], name: str) -> tuple[int, int, int]:
    """``values`` with each 0xFFFFFFFF replaced from the ZIP64 extra field, which must hold
    exactly those (the only extra field trfviz writes)."""
    wanted = sum(value == _U32 for value in values)
    if not wanted:
        if extra:
            raise CorruptExtractionError(f"member {name!r} has an unexpected ZIP extra field")
        return values
    if len(extra) != 4 + 8 * wanted or struct.unpack_from("<2H", extra) != (
        _ZIP64_EXTRA,
        8 * wanted,
    ):
        raise CorruptExtractionError(f"member {name!r} has a damaged ZIP64 extra field")
    large = iter(struct.unpack_from(f"<{wanted}Q", extra, 4))
    first, second, third = (next(large) if value == _U32 else value for value in values)
    return first, second, third


def _member_name(raw: bytes) -> str:
    """A member's name, refused if it is not one a trfviz file can hold."""
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptExtractionError(f"member name {raw!r} is not ASCII") from None
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or ":" in name or ".." in parts or "" in parts:
        raise UnsafeExtractionError(
            f"member name {name!r} is an absolute path, climbs out with '..', or has "
            "backslashes or drive letters; a trfviz file never does"
        )
    if name != "manifest.json" and not _MEMBER_NAME.fullmatch(name):
        raise CorruptExtractionError(
            f"member {name!r} is not manifest.json or s<i>/<array>.npy: not a trfviz extraction"
        )
    return name


def _read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise CorruptExtractionError("it ends early (truncated)")
    return data


def _read_member(handle: BinaryIO, member: _Member) -> bytes:
    data = _read_at(handle, member.data_offset, member.size)
    if zlib.crc32(data) != member.crc:
        raise CorruptExtractionError(f"member {member.name!r} fails its CRC check (damaged)")
    return data


# --- the manifest --------------------------------------------------------------------


@dataclass(frozen=True)
class _ArraySpec:
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    sha256: str

    @property
    def nbytes(self) -> int:
        count = 1
        for extent in self.shape:
            count *= extent
        return count * self.dtype.itemsize


@dataclass(frozen=True)
class _SentenceSpec:
    start: int
    tokens: tuple[str, ...]
    pieces: tuple[str, ...]
    special_labels: tuple[str, ...]
    truncated: bool
    n_tokens: int
    n_pieces: int
    arrays: dict[str, _ArraySpec]


@dataclass(frozen=True)
class _Manifest:
    model: str
    revision: str
    text: str
    options: ExtractionOptions
    n_layers: int
    n_heads: int
    sentences: tuple[_SentenceSpec, ...]


def _read_manifest(handle: BinaryIO, member: _Member) -> _Manifest:
    if member.size > MAX_MANIFEST_BYTES:
        raise CorruptExtractionError(
            f"its manifest.json is {member.size} bytes (at most {MAX_MANIFEST_BYTES} are read)"
        )
    data = _read_member(handle, member)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, or absurd nesting
        raise CorruptExtractionError(f"its manifest.json is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorruptExtractionError("not a trfviz extraction file (manifest format)")
    if manifest.get("version") != VERSION or isinstance(manifest.get("version"), bool):
        raise CorruptExtractionError(
            f"format version {manifest.get('version')!r}; this trfviz reads {VERSION}"
        )
    text = _field(manifest, "text", str, "manifest")
    if _field(manifest, "text_sha256", str, "manifest") != _sha256(text):
        raise CorruptExtractionError("the stored text does not match its checksum")
    sentences = _field(manifest, "sentences", list, "manifest")
    return _Manifest(
        model=_field(manifest, "model", str, "manifest"),
        revision=_field(manifest, "revision", str, "manifest"),
        text=text,
        options=_options(_field(manifest, "options", dict, "manifest")),
        n_layers=_count(manifest, "n_layers", "manifest"),
        n_heads=_count(manifest, "n_heads", "manifest"),
        sentences=tuple(_sentence_spec(meta, i) for i, meta in enumerate(sentences)),
    )


@functools.cache
def _option_types() -> dict[str, Any]:
    return typing.get_type_hints(ExtractionOptions)


def _options(raw: dict[str, Any]) -> ExtractionOptions:
    hints = _option_types()
    known = {f.name for f in fields(ExtractionOptions)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise CorruptExtractionError(f"manifest options has unknown keys {unknown[:5]}")
    for key, value in raw.items():
        allowed = typing.get_args(hints[key])  # the choices of a Literal, else ()
        if not (
            isinstance(value, str) and value in allowed
            if allowed
            else isinstance(value, hints[key])
        ):
            raise CorruptExtractionError(f"manifest options: {key}={value!r} is not allowed")
    return ExtractionOptions(**raw)


def _sentence_spec(meta: object, index: int) -> _SentenceSpec:
    where = f"sentence {index}"
    if not isinstance(meta, dict):
        raise CorruptExtractionError(f"{where} in the manifest is not an object")
    n_tokens, n_pieces = _count(meta, "n_tokens", where), _count(meta, "n_pieces", where)
    arrays_meta = _field(meta, "arrays", dict, where)
    absent = [name for name in _REQUIRED_ARRAYS if name not in arrays_meta]
    if absent:
        raise CorruptExtractionError(f"{where} lacks the arrays {absent}")
    arrays = {name: _array_spec(spec, name, where) for name, spec in arrays_meta.items()}
    expected = {
        "pairs": lambda s: len(s) == 2 and s[1] == 2,
        "special": lambda s: s == (n_pieces,),
        "orphan": lambda s: s == (n_pieces,),
        "missing": lambda s: s == (n_tokens,),
        "attention": lambda s: len(s) == 4 and s[2] == s[3],
        "states": lambda s: len(s) == 3,
    }
    for name, spec in arrays.items():
        if not expected[name](spec.shape):
            raise CorruptExtractionError(f"{where}: {name} has an impossible shape {spec.shape}")
    return _SentenceSpec(
        start=_count(meta, "start", where),
        tokens=_strings(meta, "tokens", where),
        pieces=_strings(meta, "pieces", where),
        special_labels=_strings(meta, "special_labels", where),
        truncated=_field(meta, "truncated", bool, where),
        n_tokens=n_tokens,
        n_pieces=n_pieces,
        arrays=arrays,
    )


def _array_spec(spec: object, name: str, where: str) -> _ArraySpec:
    where = f"{where}, array {name!r}"
    if name not in _ARRAY_KINDS:
        raise CorruptExtractionError(f"{where}: no such array in the format")
    if not isinstance(spec, dict):
        raise CorruptExtractionError(f"{where} is not an object")
    dtype = _check_dtype(name, _field(spec, "dtype", str, where), where)
    shape = _field(spec, "shape", list, where)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise CorruptExtractionError(f"{where}: shape {shape!r} is not a list of counts")
    digest = _field(spec, "sha256", str, where)
    if not _SHA256.fullmatch(digest):
        raise CorruptExtractionError(f"{where}: sha256 {digest!r} is not a SHA-256 digest")
    return _ArraySpec(dtype, tuple(shape), digest)


def _check_dtype(
    name: str, dtype: str, where: str, error: type[ValueError] = UnsafeExtractionError
) -> np.dtype[Any]:
    """The dtype of array ``name``, refused if it is not a plain number type of the right kind."""
    if dtype not in _ALLOWED_DTYPES or np.dtype(dtype).kind not in _ARRAY_KINDS[name]:
        raise error(
            f"{where}: array {name!r} has dtype {dtype!r}; a trfviz file holds only "
            f"{'/'.join(_ARRAY_KINDS[name])} number arrays (never objects or pickles)"
        )
    return np.dtype(dtype)


def _field(mapping: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in mapping:
        raise CorruptExtractionError(f"{where} in the manifest lacks {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CorruptExtractionError(
            f"{where} in the manifest: {key!r} should be {kind.__name__}, "
            f"not {type(value).__name__}"
        )
    return value


def _count(mapping: dict[str, Any], key: str, where: str) -> int:
    value: int = _field(mapping, key, int, where)
    if value < 0:
        raise CorruptExtractionError(f"{where} in the manifest: {key!r} is negative ({value})")
    return value


def _strings(mapping: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _field(mapping, key, list, where)
    if not all(isinstance(value, str) for value in values):
        raise CorruptExtractionError(f"{where} in the manifest: {key!r} should hold strings")
    return tuple(values)


# --- arrays --------------------------------------------------------------------------


def _read_sentence(
    handle: BinaryIO, members: dict[str, _Member], index: int, spec: _SentenceSpec
) -> SentenceExtraction:
    arrays = {
        name: _read_array(handle, members[f"s{index}/{name}.npy"], array)
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
    )


def _read_array(handle: BinaryIO, member: _Member, spec: _ArraySpec) -> np.ndarray:
    """One array, its size checked against its member before it is allocated."""
    where = f"member {member.name!r}"
    nbytes = spec.nbytes
    if nbytes + 10 > member.size:
        raise CorruptExtractionError(
            f"{where}: the manifest declares {spec.dtype.str} {list(spec.shape)} ({nbytes} bytes) "
            f"but the member holds only {member.size} bytes"
        )
    prefix = _read_at(handle, member.data_offset, 10)
    if prefix[:6] != b"\x93NUMPY" or prefix[6:8] not in (b"\x01\x00", b"\x02\x00"):
        raise CorruptExtractionError(f"{where} is not a .npy file (version 1 or 2)")
    length_size = 2 if prefix[6] == 1 else 4
    prefix += _read_at(handle, member.data_offset + 10, length_size - 2)
    (header_length,) = struct.unpack_from("<H" if length_size == 2 else "<L", prefix, 8)
    if header_length > _MAX_NPY_HEADER or len(prefix) + header_length + nbytes != member.size:
        raise CorruptExtractionError(
            f"{where}: its .npy header and the declared {spec.dtype.str} {list(spec.shape)} "
            f"do not fill its {member.size} bytes"
        )
    header = _read_at(handle, member.data_offset + len(prefix), header_length)
    # The header is compared with the one np.save writes for the declared dtype and
    # shape (a dict's repr, padded with spaces), never evaluated.
    expected = f"{{'descr': '{spec.dtype.str}', 'fortran_order': False, 'shape': {spec.shape!r}, }}"
    if not header.endswith(b"\n") or header[:-1].rstrip(b" ") != expected.encode("ascii"):
        raise CorruptExtractionError(
            f"{where}: its .npy header is not the one np.save writes for the declared "
            f"{spec.dtype.str} {list(spec.shape)}"
        )
    array = np.empty(spec.shape, spec.dtype)
    raw = _raw(array)
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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "--", name).strip(".") or "_"
