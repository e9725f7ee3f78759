"""A data class's fields in a ``.trfviz`` file: arrays as ``.npy`` members, the rest as JSON.

Measures, the logit lens and the neuron view are stored **field by field** of
their sentence classes: every numpy-array field as a member ``s{i}/{field}.npy``
whose dtype, shape and SHA-256 the manifest declares (:func:`array_metas`), every
other field (``start``, ``tokens``, ``truncated``, a ``float | None``, nested
tuples of strings ...) as a JSON value (:func:`json_value`), checked on load
against the field's annotation (:func:`checked`). So a new field of plain type
round-trips without changes here.

:func:`read_array` reads one array untrusted: its declared size must fill its
member exactly, which is checked before anything is allocated, and its CRC-32
and SHA-256 are checked after.
"""

from __future__ import annotations

import hashlib
import struct
import types
import typing
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from typing import Any, BinaryIO, TypeVar

import numpy as np

from trfviz.storage.archive import Member, check_members, read_at
from trfviz.storage.errors import CorruptExtractionError, UnsafeExtractionError
from trfviz.storage.manifest import ArraySpec, manifest_field, raw_bytes, sha256_text

__all__ = [
    "DTYPES",
    "array_fields",
    "array_metas",
    "build",
    "checked",
    "is_array_field",
    "json_value",
    "read_array",
    "read_arrays",
    "read_options",
    "read_values",
    "refuse_unknown",
    "result_manifest",
    "sentence_metas",
    "split_fields",
]

R = TypeVar("R")

#: Plain number dtypes: no object, structured, string or datetime dtypes.
DTYPES = frozenset(
    ["|b1", "|i1", "|u1"]
    + [f"{o}{c}" for o in "<>" for c in ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8")]
)
#: Largest ``.npy`` header read (numpy's own default limit).
_MAX_NPY_HEADER = 10_000


# -- saving -----------------------------------------------------------------------------------


def split_fields(
    obj: object, where: str, skip: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The fields of data class ``obj`` but ``skip``: JSON values, and C-contiguous arrays.

    Raises:
        ValueError: a field holds something the format cannot store.
    """
    values: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    skipped = set(skip)
    for spec in fields(obj):  # type: ignore[arg-type]
        if spec.name in skipped:
            continue
        value = getattr(obj, spec.name)
        if isinstance(value, np.ndarray):
            arrays[spec.name] = np.ascontiguousarray(value)
        else:
            values[spec.name] = json_value(value, f"{where}, field {spec.name!r}")
    return values, arrays


def result_manifest(
    format: str, version: int, result: Any, sentences: list[dict[str, Any]]
) -> dict[str, Any]:
    """The manifest of a result of one model on one text (a measure, logit lens, neuron view).

    ``{"format", "version", "model", "revision", "text", "text_sha256", "options":
    [[name, value], ...], "sentences"}``, from ``result``'s fields of those names.
    """
    return {
        "format": format,
        "version": version,
        "model": result.model,
        "revision": result.revision,
        "text": result.text,
        "text_sha256": sha256_text(result.text),
        "options": [[key, json_value(value, f"option {key!r}")] for key, value in result.options],
        "sentences": sentences,
    }


def array_metas(arrays: Mapping[str, np.ndarray], where: str) -> dict[str, dict[str, Any]]:
    """Each array's ``{"dtype", "shape", "sha256"}`` for the manifest.

    Raises:
        ValueError: an array is not of a plain number dtype (:data:`DTYPES`).
    """
    meta = {}
    for name, array in arrays.items():
        if array.dtype.str not in DTYPES:
            raise ValueError(
                f"{where}: array {name!r} has dtype {array.dtype.str!r}; a trfviz file holds "
                "only plain bool, integer and float arrays"
            )
        digest = hashlib.sha256(raw_bytes(array)).hexdigest()
        meta[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": digest}
    return meta


def json_value(value: object, where: str) -> Any:
    """``value`` as JSON: numbers, strings, bools, None, and (nested) sequences of them.

    Raises:
        ValueError: anything else.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, tuple | list):
        return [json_value(item, where) for item in value]
    raise ValueError(
        f"{where} is a {type(value).__name__}; a trfviz file stores numbers, strings, "
        "bools, None, sequences of them and numpy arrays"
    )


# -- loading ----------------------------------------------------------------------------------


def sentence_metas(
    manifest: dict[str, Any], members: Mapping[str, Member]
) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Each sentence's ``(meta, fields, arrays)`` in the manifest, after checking that the
    archive holds exactly the arrays they declare (``s{i}/{name}.npy``).

    Raises:
        CorruptExtractionError: a sentence is not an object with ``fields`` and
            ``arrays`` objects, or the members differ from those declared.
    """
    found = []
    for i, meta in enumerate(manifest_field(manifest, "sentences", list, "manifest")):
        where = f"sentence {i}"
        if not isinstance(meta, dict):
            raise CorruptExtractionError(f"{where} in the manifest is not an object")
        stored = manifest_field(meta, "fields", dict, where)
        arrays = manifest_field(meta, "arrays", dict, where)
        if set(stored) & set(arrays):
            raise CorruptExtractionError(
                f"{where} stores {sorted(set(stored) & set(arrays))[:5]} both as values and arrays"
            )
        found.append((meta, stored, arrays))
    check_members(members, (f"s{i}/{name}.npy" for i, (*_, a) in enumerate(found) for name in a))
    return found


def read_values(stored: Mapping[str, Any], cls: type, where: str) -> dict[str, Any]:
    """The JSON values ``stored`` as the fields of ``cls`` they name want them."""
    hints = typing.get_type_hints(cls)
    return {
        name: checked(value, hints[name], f"{where}, {name!r}") for name, value in stored.items()
    }


def refuse_unknown(cls: type, names: Iterable[str], where: str, also: Iterable[str] = ()) -> None:
    """Refuse stored ``names`` that are neither fields of data class ``cls`` nor ``also``."""
    unknown = sorted(set(names) - {spec.name for spec in fields(cls)} - set(also))
    if unknown:
        raise CorruptExtractionError(
            f"{where} has fields {unknown[:5]} that this trfviz's {cls.__name__} lacks; "
            "upgrade trfviz to read it"
        )


def build(cls: type[R], where: str, values: Mapping[str, Any]) -> R:
    """``cls(**values)``, refused unless every field without a default is given."""
    absent = [
        spec.name
        for spec in fields(cls)  # type: ignore[arg-type]
        if spec.name not in values and spec.default is MISSING and spec.default_factory is MISSING
    ]
    if absent:
        raise CorruptExtractionError(f"{where} lacks the fields {absent[:5]}")
    return cls(**values)


def read_arrays(
    handle: BinaryIO,
    members: Mapping[str, Member],
    index: int,
    metas: Mapping[str, object],
    kinds: Mapping[str, str],
    required: Iterable[str],
) -> dict[str, np.ndarray]:
    """Sentence ``index``'s arrays, each of the dtype kinds ``kinds`` allows for its name,
    the ``required`` ones present.

    Raises:
        UnsafeExtractionError: an array of a dtype that is not a plain number type
            of its kind.
        CorruptExtractionError: a malformed spec, or a member that fails its checks.
    """
    where = f"sentence {index}"
    absent = [name for name in required if name not in metas]
    if absent:
        raise CorruptExtractionError(f"{where} lacks the arrays {absent}")
    arrays = {}
    for name, spec in metas.items():
        array_spec = _array_spec(spec, f"{where}, array {name!r}")
        if array_spec.dtype.kind not in kinds.get(name, ""):
            raise UnsafeExtractionError(
                f"{where}: array {name!r} has dtype {array_spec.dtype.str!r}, "
                f"not {kinds.get(name, '')!r}"
            )
        arrays[name] = read_array(handle, members[f"s{index}/{name}.npy"], array_spec)
    return arrays


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


def array_fields(cls: type) -> list[str]:
    """The names of the fields of data class ``cls`` annotated as numpy arrays."""
    hints = typing.get_type_hints(cls)
    return [spec.name for spec in fields(cls) if is_array_field(hints[spec.name])]


def is_array_field(hint: object) -> bool:
    """Whether the annotation ``hint`` is ``np.ndarray`` (or a union holding it)."""
    return hint is np.ndarray or np.ndarray in typing.get_args(hint)


def checked(value: Any, hint: object, where: str) -> Any:
    """``value`` from JSON as the annotation ``hint`` wants it, or CorruptExtractionError."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if typing.get_origin(option) is tuple and isinstance(value, list):
            item = typing.get_args(option)[0]
            return tuple(checked(v, item, where) for v in value)
        if is_array_field(option) and value is None:
            return None
    raise CorruptExtractionError(f"{where} in the manifest should be {hint}, not {value!r}")


def _is_union(hint: object) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def read_options(raw: list[Any]) -> tuple[tuple[str, object], ...]:
    """Stored ``[[name, value], ...]`` options as ``((name, value), ...)``, lists as tuples."""
    options = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise CorruptExtractionError(f"option {pair!r} is not a [name, value] pair")
        options.append((pair[0], _tupled(pair[1])))
    return tuple(options)


def _tupled(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    if isinstance(value, dict):
        raise CorruptExtractionError("an option value is an object; options are plain values")
    return value


def _array_spec(spec: object, where: str) -> ArraySpec:
    if not isinstance(spec, dict):
        raise CorruptExtractionError(f"{where} is not an object")
    dtype = manifest_field(spec, "dtype", str, where)
    if dtype not in DTYPES:
        raise UnsafeExtractionError(
            f"{where} has dtype {dtype!r}; a trfviz file holds only plain number arrays"
        )
    shape = manifest_field(spec, "shape", list, where)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise CorruptExtractionError(f"{where}: shape {shape!r} is not a list of counts")
    digest = manifest_field(spec, "sha256", str, where)
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise CorruptExtractionError(f"{where}: {digest!r} is not a SHA-256 digest")
    return ArraySpec(np.dtype(dtype), tuple(shape), digest)
