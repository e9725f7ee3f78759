"""The manifest of a ``.trfviz`` file: built on save, and type-checked field by field on load.

``manifest.json`` holds ``{"format": "trfviz-extraction", "version": 1, "model",
"revision", "text", "text_sha256", "options", "n_layers", "n_heads",
"sentences": [{"start", "tokens", "pieces", "special_labels", "truncated",
"n_tokens", "n_pieces", "arrays": {name: {"dtype", "shape", "sha256"}}}]}``.
Reading it (:func:`extraction_manifest`, through :func:`read_manifest`, which
reads the manifest of every kind of file in :data:`FORMATS`) refuses anything larger than
:data:`MAX_MANIFEST_BYTES`, any field of the wrong type, any array of a dtype
that is not a plain number type of the right kind (never objects, so never
pickles), and any shape impossible for its array.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, BinaryIO

import numpy as np

from trfviz.extraction import Extraction, ExtractionOptions
from trfviz.storage.archive import Member, read_member
from trfviz.storage.errors import CorruptExtractionError, UnsafeExtractionError

__all__ = [
    "FORMAT",
    "FORMATS",
    "MAX_MANIFEST_BYTES",
    "VERSION",
    "ArraySpec",
    "Manifest",
    "SentenceSpec",
    "build_manifest",
    "extraction_manifest",
    "manifest_count",
    "manifest_field",
    "manifest_text",
    "raw_bytes",
    "read_manifest",
    "sha256_text",
]

FORMAT = "trfviz-extraction"
VERSION = 1

#: Largest ``manifest.json`` read (bytes). A manifest grows with the text and its
#: tokens, about 60 bytes per token; this allows documents of about a million tokens.
MAX_MANIFEST_BYTES = 64 * 2**20

# Array name -> the dtype kinds it may have ("b" bool, "i"/"u" integers, "f" floats).
_ARRAY_KINDS = {
    "pairs": "iu",
    "special": "b",
    "orphan": "b",
    "missing": "b",
    "attention": "f",
    "states": "f",
    "piece_attention": "f",
}
_REQUIRED_ARRAYS = ("pairs", "special", "orphan", "missing")
# Plain numbers only: no object, structured, string or datetime dtypes.
_ALLOWED_DTYPES = frozenset(
    ["|b1", "|i1", "|u1"]
    + [f"{order}{code}" for order in "<>" for code in ("i2", "i4", "i8", "u2", "u4", "u8")]
    + [f"{order}{code}" for order in "<>" for code in ("f2", "f4", "f8")]
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def build_manifest(extraction: Extraction) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """The manifest of ``extraction``, and its arrays as ``(member name, array)`` pairs.

    Raises:
        ValueError: an array has a dtype the format does not store.
    """
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
        if sentence.piece_attention is not None:
            named["piece_attention"] = sentence.piece_attention
        meta: dict[str, Any] = {}
        for name, array in named.items():
            array = np.ascontiguousarray(array)
            _check_dtype(name, array.dtype.str, f"sentence {i}", error=ValueError)
            meta[name] = {
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "sha256": hashlib.sha256(raw_bytes(array)).hexdigest(),
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
        "text_sha256": sha256_text(extraction.text),
        "options": asdict(extraction.options),
        "n_layers": extraction.n_layers,
        "n_heads": extraction.n_heads,
        "sentences": sentences,
    }
    return manifest, arrays


@dataclass(frozen=True)
class ArraySpec:
    """One array as the manifest declares it."""

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
class SentenceSpec:
    """One sentence as the manifest declares it."""

    start: int
    tokens: tuple[str, ...]
    pieces: tuple[str, ...]
    special_labels: tuple[str, ...]
    truncated: bool
    n_tokens: int
    n_pieces: int
    arrays: dict[str, ArraySpec]


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: everything but the arrays' contents."""

    model: str
    revision: str
    text: str
    options: ExtractionOptions
    n_layers: int
    n_heads: int
    sentences: tuple[SentenceSpec, ...]


#: Each kind of ``.trfviz`` file: its manifest's ``format``, what it holds, and its loader
#: (the hint when a file is given to the wrong one).
FORMATS: dict[str, tuple[str, str]] = {
    FORMAT: ("an extraction", "load_extraction"),
    "trfviz-measure": ("a measure", "load_measure"),
    "trfviz-logit-lens": ("a logit lens", "load_logit_lens"),
    "trfviz-neurons": ("a neuron view", "load_neurons"),
}


def read_manifest(handle: BinaryIO, member: Member, format: str, version: int) -> dict[str, Any]:
    """The JSON object in ``member``, refused unless of ``format`` at ``version``.

    Serves every kind of file (:data:`FORMATS`); a file of another kind is
    refused with the name of the loader that reads it.

    Raises:
        CorruptExtractionError: too large, not JSON, or of another format or version.
    """
    if member.size > MAX_MANIFEST_BYTES:
        raise CorruptExtractionError(
            f"its manifest.json is {member.size} bytes (at most {MAX_MANIFEST_BYTES} are read)"
        )
    try:
        manifest = json.loads(read_member(handle, member).decode("utf-8"))
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, or absurd nesting
        raise CorruptExtractionError(f"its manifest.json is not valid JSON: {error}") from None
    kind = FORMATS[format][0].split(" ", 1)[1]
    if not isinstance(manifest, dict) or manifest.get("format") != format:
        stored = manifest.get("format") if isinstance(manifest, dict) else None
        found = FORMATS.get(stored) if isinstance(stored, str) else None
        hint = f"; it holds {found[0]}: read it with trfviz.storage.{found[1]}" if found else ""
        raise CorruptExtractionError(f"not a trfviz {kind} file (manifest format){hint}")
    if manifest.get("version") != version or isinstance(manifest.get("version"), bool):
        raise CorruptExtractionError(
            f"{kind} format version {manifest.get('version')!r}; this trfviz reads {version}"
        )
    return manifest


def extraction_manifest(handle: BinaryIO, member: Member) -> Manifest:
    """The manifest of an extraction file in ``member``, every field type-checked."""
    manifest = read_manifest(handle, member, FORMAT, VERSION)
    text = manifest_text(manifest)
    sentences = manifest_field(manifest, "sentences", list, "manifest")
    return Manifest(
        model=manifest_field(manifest, "model", str, "manifest"),
        revision=manifest_field(manifest, "revision", str, "manifest"),
        text=text,
        options=_options(manifest_field(manifest, "options", dict, "manifest")),
        n_layers=manifest_count(manifest, "n_layers", "manifest"),
        n_heads=manifest_count(manifest, "n_heads", "manifest"),
        sentences=tuple(_sentence_spec(meta, i) for i, meta in enumerate(sentences)),
    )


def _options(raw: dict[str, Any]) -> ExtractionOptions:
    """The stored options, checked by :class:`ExtractionOptions` itself (the one place)."""
    unknown = sorted(set(raw) - {f.name for f in fields(ExtractionOptions)})
    if unknown:
        raise CorruptExtractionError(f"manifest options has unknown keys {unknown[:5]}")
    try:
        return ExtractionOptions(**raw)
    except (TypeError, ValueError) as error:
        raise CorruptExtractionError(f"manifest options are not allowed: {error}") from None


def _sentence_spec(meta: object, index: int) -> SentenceSpec:
    where = f"sentence {index}"
    if not isinstance(meta, dict):
        raise CorruptExtractionError(f"{where} in the manifest is not an object")
    n_tokens, n_pieces = (
        manifest_count(meta, "n_tokens", where),
        manifest_count(meta, "n_pieces", where),
    )
    arrays_meta = manifest_field(meta, "arrays", dict, where)
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
        "piece_attention": lambda s: len(s) == 4 and s[2] == s[3] == n_pieces,
    }
    for name, spec in arrays.items():
        if not expected[name](spec.shape):
            raise CorruptExtractionError(f"{where}: {name} has an impossible shape {spec.shape}")
    return SentenceSpec(
        start=manifest_count(meta, "start", where),
        tokens=_strings(meta, "tokens", where),
        pieces=_strings(meta, "pieces", where),
        special_labels=_strings(meta, "special_labels", where),
        truncated=manifest_field(meta, "truncated", bool, where),
        n_tokens=n_tokens,
        n_pieces=n_pieces,
        arrays=arrays,
    )


def _array_spec(spec: object, name: str, where: str) -> ArraySpec:
    where = f"{where}, array {name!r}"
    if name not in _ARRAY_KINDS:
        raise CorruptExtractionError(f"{where}: no such array in the format")
    if not isinstance(spec, dict):
        raise CorruptExtractionError(f"{where} is not an object")
    dtype = _check_dtype(name, manifest_field(spec, "dtype", str, where), where)
    shape = manifest_field(spec, "shape", list, where)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise CorruptExtractionError(f"{where}: shape {shape!r} is not a list of counts")
    digest = manifest_field(spec, "sha256", str, where)
    if not _SHA256.fullmatch(digest):
        raise CorruptExtractionError(f"{where}: sha256 {digest!r} is not a SHA-256 digest")
    return ArraySpec(dtype, tuple(shape), digest)


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


def manifest_field(mapping: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``mapping[key]``, refused unless present and of type ``kind`` (a bool is no int).

    Raises:
        CorruptExtractionError: saying ``where`` in the manifest the field is wrong.
    """
    if key not in mapping:
        raise CorruptExtractionError(f"{where} in the manifest lacks {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CorruptExtractionError(
            f"{where} in the manifest: {key!r} should be {kind.__name__}, "
            f"not {type(value).__name__}"
        )
    return value


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest's ``text``, refused unless it matches its ``text_sha256``."""
    text: str = manifest_field(manifest, "text", str, "manifest")
    if manifest_field(manifest, "text_sha256", str, "manifest") != sha256_text(text):
        raise CorruptExtractionError("the stored text does not match its checksum")
    return text


def manifest_count(mapping: dict[str, Any], key: str, where: str) -> int:
    """``mapping[key]`` as a count: an int, not negative (else CorruptExtractionError)."""
    value: int = manifest_field(mapping, key, int, where)
    if value < 0:
        raise CorruptExtractionError(f"{where} in the manifest: {key!r} is negative ({value})")
    return value


def _strings(mapping: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = manifest_field(mapping, key, list, where)
    if not all(isinstance(value, str) for value in values):
        raise CorruptExtractionError(f"{where} in the manifest: {key!r} should hold strings")
    return tuple(values)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def raw_bytes(array: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array, without a copy."""
    return array.reshape(-1).view(np.uint8).data
