"""``.trfviz`` files of measures (norms, rollout, flow, ...): saved, and read back untrusted.

A :class:`~trfviz.measures.MeasureExtraction` is stored like an extraction (an
uncompressed ZIP written by :mod:`trfviz.storage.archive`, arrays as ``.npy``
members with their SHA-256 in the manifest, every CRC and digest checked on
load), with its own manifest, ``{"format": "trfviz-measure", "version": 1,
"model", "revision", "text", "text_sha256", "options": [[key, value], ...],
"sentences": [{"n_tokens", "n_pieces", "fields": {...}, "arrays": {name:
{"dtype", "shape", "sha256"}}}], "measure"}``.

Sentences are stored **generically**, field by field of
:class:`~trfviz.measures.SentenceMeasure` (:mod:`trfviz.storage.fields`): the
alignment as its four arrays (``pairs``, ``special``, ``orphan``, ``missing``),
every numpy-array field (``values``, ``piece_values``, ...) as a member
``s{i}/{field}.npy``, and every other field (``start``, ``tokens``,
``truncated``, a ``float | None`` ...) as a JSON value, checked on load against
the field's annotation. So a new measure (a name added to
:data:`~trfviz.measures.MEASURE_AXES`) or a new field of plain type round-trips
without changes here. On load, ``values`` must have one axis per name in
``MEASURE_AXES[measure]``, and its ``query``, ``key`` and ``label`` axes one
entry per label (tokens, then special labels).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from trfviz.alignment import Alignment
from trfviz.measures import results
from trfviz.storage.archive import Member, read_file, write_file
from trfviz.storage.errors import CorruptExtractionError
from trfviz.storage.fields import (
    array_fields,
    array_metas,
    build,
    read_arrays,
    read_options,
    read_values,
    refuse_unknown,
    result_manifest,
    sentence_metas,
    split_fields,
)
from trfviz.storage.manifest import manifest_count, manifest_field, manifest_text, read_manifest

__all__ = ["MEASURE_FORMAT", "load_measure", "save_measure"]

MEASURE_FORMAT = "trfviz-measure"
_VERSION = 1
_ALIGNMENT = ("pairs", "special", "orphan", "missing")
_ALIGNMENT_KINDS = {"pairs": "iu", "special": "b", "orphan": "b", "missing": "b"}
_LABEL_AXES = {"query", "key", "label", "token"}


def save_measure(measure: results.MeasureExtraction, path: str | os.PathLike[str]) -> Path:
    """Write ``measure`` to ``path`` (see the module docs for the format); returns the path.

    Raises:
        ValueError: a field holds something the format cannot store (an object
            array, or a value that is not a number, string, bool, None or a
            sequence of them), or an option value that is not one of those.
    """
    sentences: list[dict[str, Any]] = []
    arrays: list[tuple[str, np.ndarray]] = []
    for i, sentence in enumerate(measure.sentences):
        where = f"sentence {i}"
        alignment = sentence.alignment
        values, named = split_fields(sentence, where, skip=("alignment",))
        named = {
            **{name: np.ascontiguousarray(getattr(alignment, name)) for name in _ALIGNMENT},
            **named,
        }
        sentences.append(
            {
                "n_tokens": alignment.n_tokens,
                "n_pieces": alignment.n_pieces,
                "fields": values,
                "arrays": array_metas(named, where),
            }
        )
        arrays.extend((f"s{i}/{name}.npy", array) for name, array in named.items())
    manifest = result_manifest(MEASURE_FORMAT, _VERSION, measure, sentences)
    manifest["measure"] = measure.measure
    return write_file(path, manifest, arrays)


def load_measure(path: str | os.PathLike[str]) -> results.MeasureExtraction:
    """Read a measure written by :func:`save_measure`, treating the file as untrusted.

    Raises:
        CorruptExtractionError: the file is truncated, altered, of another
            format, or of a measure or field this trfviz does not know.
        UnsafeExtractionError: unsafe member names or object arrays.
        FileNotFoundError: there is no such file.
    """
    return read_file(path, _load)


def _load(handle: BinaryIO, members: dict[str, Member]) -> results.MeasureExtraction:
    manifest = read_manifest(handle, members["manifest.json"], MEASURE_FORMAT, _VERSION)
    measure = manifest_field(manifest, "measure", str, "manifest")
    axes = results.MEASURE_AXES.get(measure)
    if axes is None:
        raise CorruptExtractionError(
            f"it holds the measure {measure!r}, which this trfviz does not know "
            f"(it knows {sorted(results.MEASURE_AXES)}); upgrade trfviz to read it"
        )
    text = manifest_text(manifest)
    sentences = tuple(
        _read_sentence(handle, members, i, meta, stored, arrays, axes)
        for i, (meta, stored, arrays) in enumerate(sentence_metas(manifest, members))
    )
    return results.MeasureExtraction(
        measure=measure,  # checked against MEASURE_AXES above
        model=manifest_field(manifest, "model", str, "manifest"),
        revision=manifest_field(manifest, "revision", str, "manifest"),
        text=text,
        sentences=sentences,
        options=read_options(manifest_field(manifest, "options", list, "manifest")),
    )


def _read_sentence(
    handle: BinaryIO,
    members: dict[str, Member],
    index: int,
    meta: dict[str, Any],
    stored: dict[str, Any],
    arrays_meta: dict[str, Any],
    axes: tuple[str, ...],
) -> results.SentenceMeasure:
    where = f"sentence {index}"
    n_tokens, n_pieces = (
        manifest_count(meta, "n_tokens", where),
        manifest_count(meta, "n_pieces", where),
    )
    cls = results.SentenceMeasure  # looked up now: a module may have extended it
    refuse_unknown(cls, [*stored, *arrays_meta], where, also=_ALIGNMENT)
    kinds = {**{name: "f" for name in array_fields(cls)}, **_ALIGNMENT_KINDS}
    arrays = read_arrays(handle, members, index, arrays_meta, kinds, required=_ALIGNMENT)
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
    values = read_values(stored, cls, where)
    sentence = build(cls, where, {"alignment": alignment, **values, **arrays})
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
