"""``.trfviz`` files of measures (norms, rollout, flow, ...): saved, and read back untrusted.

A :class:`~trfviz.measures.MeasureExtraction` is stored like an extraction (an
uncompressed ZIP written by :mod:`trfviz.storage.archive`, arrays as ``.npy``
members with their SHA-256 in the manifest, every CRC and digest checked on
load), with its own manifest, ``{"format": "trfviz-measure", "version": 1,
"measure", "model", "revision", "text", "text_sha256", "options": [[key,
value], ...], "sentences": [{"n_tokens", "n_pieces", "fields": {...},
"arrays": {name: {"dtype", "shape", "sha256"}}}]}``.

Sentences are stored **generically**, field by field of
:class:`~trfviz.measures.SentenceMeasure`: the alignment as its four arrays
(``pairs``, ``special``, ``orphan``, ``missing``), every numpy-array field
(``values``, ``piece_values``, ...) as a member ``s{i}/{field}.npy``, and every
other field (``start``, ``tokens``, ``truncated``, a ``float | None`` ...) as a
JSON value, checked on load against the field's annotation. So a new measure
(a name added to :data:`~trfviz.measures.MEASURE_AXES`) or a new field of
plain type round-trips without changes here. On load, ``values`` must have one
axis per name in ``MEASURE_AXES[measure]``, and its ``query``, ``key`` and
``label`` axes one entry per label (tokens, then special labels).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import types
import typing
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from trfviz.alignment import Alignment
from trfviz.atomic import atomic_writer
from trfviz.measures import results
from trfviz.storage.archive import Member, read_member, read_members, write_member
from trfviz.storage.errors import CorruptExtractionError, UnsafeExtractionError
from trfviz.storage.manifest import (
    MAX_MANIFEST_BYTES,
    ArraySpec,
    manifest_count,
    manifest_field,
    raw_bytes,
    sha256_text,
)
from trfviz.storage.store import read_array

__all__ = ["MEASURE_FORMAT", "load_measure", "save_measure"]

MEASURE_FORMAT = "trfviz-measure"
_VERSION = 1
_ALIGNMENT = ("pairs", "special", "orphan", "missing")
_ALIGNMENT_KINDS = {"pairs": "iu", "special": "b", "orphan": "b", "missing": "b"}
_LABEL_AXES = {"query", "key", "label", "token"}
_DTYPES = frozenset(
    ["|b1", "|i1", "|u1"]
    + [f"{o}{c}" for o in "<>" for c in ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8")]
)


def save_measure(measure: results.MeasureExtraction, path: str | os.PathLike[str]) -> Path:
    """Write ``measure`` to ``path`` (see the module docs for the format); returns the path.

    Raises:
        ValueError: a field holds something the format cannot store (an object
            array, or a value that is not a number, string, bool, None or a
            sequence of them), or an option value that is not one of those.
    """
    target = Path(path)
    sentences: list[dict[str, Any]] = []
    arrays: list[tuple[str, np.ndarray]] = []
    for i, sentence in enumerate(measure.sentences):
        meta, named = _sentence_meta(sentence, f"sentence {i}")
        sentences.append(meta)
        arrays.extend((f"s{i}/{name}.npy", array) for name, array in named.items())
    manifest = {
        "format": MEASURE_FORMAT,
        "version": _VERSION,
        "measure": measure.measure,
        "model": measure.model,
        "revision": measure.revision,
        "text": measure.text,
        "text_sha256": sha256_text(measure.text),
        "options": [[key, _json_value(value, f"option {key!r}")] for key, value in measure.options],
        "sentences": sentences,
    }
    with (
        atomic_writer(target) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        text = json.dumps(manifest, ensure_ascii=False, allow_nan=True)
        write_member(archive, "manifest.json", text.encode())
        for name, array in arrays:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            write_member(archive, name, buffer.getvalue())
    return target


def load_measure(path: str | os.PathLike[str]) -> results.MeasureExtraction:
    """Read a measure written by :func:`save_measure`, treating the file as untrusted.

    Raises:
        CorruptExtractionError: the file is truncated, altered, of another
            format, or of a measure or field this trfviz does not know.
        UnsafeExtractionError: unsafe member names or object arrays.
        FileNotFoundError: there is no such file.
    """
    source = Path(path)
    with open(source, "rb") as handle:
        try:
            return _load(handle, os.fstat(handle.fileno()).st_size)
        except CorruptExtractionError as error:
            raise type(error)(f"{source}: {error}") from None
        except OSError as error:
            raise CorruptExtractionError(f"{source} could not be read: {error}") from error


# -- saving -----------------------------------------------------------------------------------


def _sentence_meta(
    sentence: results.SentenceMeasure, where: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    alignment = sentence.alignment
    named = {name: np.ascontiguousarray(getattr(alignment, name)) for name in _ALIGNMENT}
    values: dict[str, Any] = {}
    for spec in fields(sentence):
        value = getattr(sentence, spec.name)
        if spec.name == "alignment":
            continue
        if isinstance(value, np.ndarray):
            named[spec.name] = np.ascontiguousarray(value)
        else:
            values[spec.name] = _json_value(value, f"{where}, field {spec.name!r}")
    meta = {}
    for name, array in named.items():
        if array.dtype.str not in _DTYPES:
            raise ValueError(
                f"{where}: array {name!r} has dtype {array.dtype.str!r}; a trfviz file holds "
                "only plain bool, integer and float arrays"
            )
        digest = hashlib.sha256(raw_bytes(array)).hexdigest()
        meta[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": digest}
    sentence_meta = {
        "n_tokens": alignment.n_tokens,
        "n_pieces": alignment.n_pieces,
        "fields": values,
        "arrays": meta,
    }
    return sentence_meta, named


def _json_value(value: object, where: str) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, np.bool_
    ):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, tuple | list):
        return [_json_value(item, where) for item in value]
    raise ValueError(
        f"{where} is a {type(value).__name__}; a trfviz measure file stores numbers, strings, "
        "bools, None, sequences of them and numpy arrays"
    )


# -- loading ----------------------------------------------------------------------------------


def _load(handle: BinaryIO, file_size: int) -> results.MeasureExtraction:
    members = read_members(handle, file_size)
    if "manifest.json" not in members:
        raise CorruptExtractionError("not a trfviz file (no manifest.json)")
    manifest = _read_manifest(handle, members["manifest.json"])
    measure = manifest_field(manifest, "measure", str, "manifest")
    axes = results.MEASURE_AXES.get(measure)
    if axes is None:
        raise CorruptExtractionError(
            f"it holds the measure {measure!r}, which this trfviz does not know "
            f"(it knows {sorted(results.MEASURE_AXES)}); upgrade trfviz to read it"
        )
    text = manifest_field(manifest, "text", str, "manifest")
    if manifest_field(manifest, "text_sha256", str, "manifest") != sha256_text(text):
        raise CorruptExtractionError("the stored text does not match its checksum")
    metas = manifest_field(manifest, "sentences", list, "manifest")
    declared = {"manifest.json"}
    for i, meta in enumerate(metas):
        arrays = (
            manifest_field(meta, "arrays", dict, f"sentence {i}") if isinstance(meta, dict) else {}
        )
        declared |= {f"s{i}/{name}.npy" for name in arrays}
    if declared != set(members):
        extra, absent = sorted(set(members) - declared), sorted(declared - set(members))
        raise CorruptExtractionError(
            f"its members do not match its manifest (unexpected: {extra[:5]}, "
            f"missing: {absent[:5]})"
        )
    sentences = tuple(
        _read_sentence(handle, members, i, meta, axes) for i, meta in enumerate(metas)
    )
    return results.MeasureExtraction(
        measure=measure,  # checked against MEASURE_AXES above
        model=manifest_field(manifest, "model", str, "manifest"),
        revision=manifest_field(manifest, "revision", str, "manifest"),
        text=text,
        sentences=sentences,
        options=_options(manifest_field(manifest, "options", list, "manifest")),
    )


def _read_manifest(handle: BinaryIO, member: Member) -> dict[str, Any]:
    if member.size > MAX_MANIFEST_BYTES:
        raise CorruptExtractionError(
            f"its manifest.json is {member.size} bytes (at most {MAX_MANIFEST_BYTES} are read)"
        )
    try:
        manifest = json.loads(read_member(handle, member).decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise CorruptExtractionError(f"its manifest.json is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MEASURE_FORMAT:
        hint = (
            "; it is an extraction: read it with trfviz.storage.load_extraction"
            if isinstance(manifest, dict) and manifest.get("format") == "trfviz-extraction"
            else ""
        )
        raise CorruptExtractionError(f"not a trfviz measure file (manifest format){hint}")
    if manifest.get("version") != _VERSION or isinstance(manifest.get("version"), bool):
        raise CorruptExtractionError(
            f"measure format version {manifest.get('version')!r}; this trfviz reads {_VERSION}"
        )
    return manifest


def _read_sentence(
    handle: BinaryIO,
    members: dict[str, Member],
    index: int,
    meta: object,
    axes: tuple[str, ...],
) -> results.SentenceMeasure:
    where = f"sentence {index}"
    if not isinstance(meta, dict):
        raise CorruptExtractionError(f"{where} in the manifest is not an object")
    n_tokens, n_pieces = (
        manifest_count(meta, "n_tokens", where),
        manifest_count(meta, "n_pieces", where),
    )
    stored = manifest_field(meta, "fields", dict, where)
    arrays_meta = manifest_field(meta, "arrays", dict, where)
    hints = typing.get_type_hints(results.SentenceMeasure)
    known = {f.name for f in fields(results.SentenceMeasure)} - {"alignment"}
    unknown = sorted((set(stored) | set(arrays_meta)) - known - set(_ALIGNMENT))
    if unknown:
        raise CorruptExtractionError(
            f"{where} has fields {unknown[:5]} that this trfviz's SentenceMeasure lacks; "
            "upgrade trfviz to read it"
        )
    arrays: dict[str, Any] = {}
    for name, spec in arrays_meta.items():
        array_spec = _array_spec(spec, f"{where}, array {name!r}")
        if name in _ALIGNMENT_KINDS:
            kinds = _ALIGNMENT_KINDS[name]
        else:
            kinds = "f" if _is_array_field(hints[name]) else ""
        if array_spec.dtype.kind not in kinds:
            raise UnsafeExtractionError(
                f"{where}: array {name!r} has dtype {array_spec.dtype.str!r}, not {kinds!r}"
            )
        arrays[name] = read_array(handle, members[f"s{index}/{name}.npy"], array_spec)
    absent = [name for name in _ALIGNMENT if name not in arrays]
    if absent:
        raise CorruptExtractionError(f"{where} lacks the arrays {absent}")
    pairs = arrays.pop("pairs")
    if pairs.ndim != 2 or pairs.shape[1:] != (2,):
        raise CorruptExtractionError(f"{where}: pairs has an impossible shape {pairs.shape}")
    if len(pairs) and (
        pairs.min() < 0 or pairs[:, 0].max() >= n_tokens or pairs[:, 1].max() >= n_pieces
    ):
        raise CorruptExtractionError(f"{where}: its alignment points past its tokens")
    flags = {name: arrays.pop(name) for name in _ALIGNMENT[1:]}
    for name, size in (("special", n_pieces), ("orphan", n_pieces), ("missing", n_tokens)):
        if flags[name].shape != (size,):
            raise CorruptExtractionError(f"{where}: {name} has an impossible shape")
    alignment = Alignment(pairs=pairs, n_tokens=n_tokens, n_pieces=n_pieces, **flags)
    values: dict[str, Any] = {
        name: _checked(value, hints[name], f"{where}, {name!r}") for name, value in stored.items()
    }
    sentence = results.SentenceMeasure(alignment=alignment, **values, **arrays)
    _check_shapes(sentence, axes, where)
    return sentence


def _check_shapes(sentence: results.SentenceMeasure, axes: tuple[str, ...], where: str) -> None:
    if len(sentence.tokens) != sentence.alignment.n_tokens:
        raise CorruptExtractionError(f"{where}: {len(sentence.tokens)} tokens but n_tokens differs")
    if len(sentence.pieces) != sentence.alignment.n_pieces:
        raise CorruptExtractionError(f"{where}: {len(sentence.pieces)} pieces but n_pieces differs")
    for name, size in (("values", len(sentence.labels)), ("piece_values", len(sentence.pieces))):
        array = getattr(sentence, name, None)
        if array is None:
            continue
        if array.ndim != len(axes) or any(
            extent != size
            for axis, extent in zip(axes, array.shape, strict=True)
            if axis in _LABEL_AXES
        ):
            raise CorruptExtractionError(
                f"{where}: {name} has shape {array.shape}, impossible for axes {axes} over "
                f"{size} labels"
            )


def _is_array_field(hint: object) -> bool:
    return hint is np.ndarray or np.ndarray in typing.get_args(hint)


def _checked(value: Any, hint: object, where: str) -> Any:
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
            return tuple(_checked(v, item, where) for v in value)
        if _is_array_field(option) and value is None:
            return None
    raise CorruptExtractionError(f"{where} in the manifest should be {hint}, not {value!r}")


def _is_union(hint: object) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _options(raw: list[Any]) -> tuple[tuple[str, object], ...]:
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
    if dtype not in _DTYPES:
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
