"""``.trfviz`` files of the logit lens and the neuron view: saved, and read back untrusted.

A :class:`~trfviz.measures.LogitLens` or :class:`~trfviz.measures.NeuronExtraction`
is stored like a measure (:mod:`trfviz.storage.measure_files`): an uncompressed
ZIP written atomically by :mod:`trfviz.storage.archive`, arrays as ``.npy``
members with their SHA-256 in the manifest, every CRC and digest checked on
load, with the manifest ``{"format": "trfviz-logit-lens" | "trfviz-neurons",
"version": 1, "model", "revision", "text", "text_sha256", "options": [[key,
value], ...], "sentences": [{"fields": {...}, "arrays": {name: {"dtype",
"shape", "sha256"}}}]}``.

Sentences are stored field by field (:mod:`trfviz.storage.fields`): the arrays
(the lens's ``top_ids``, ``top_probs``, ``next_prob``, ``next_rank``,
``next_ids``; the neurons' ``queries``, ``keys``) as members ``s{i}/{field}.npy``,
bit for bit, and the rest (``start``, ``tokens``, the decoded ``top_pieces``
``[layer][token][k]`` and ``next_pieces``, ``special_labels``, ``scale`` ...) as
JSON values checked against the fields' annotations. On load every array must be
of its kind (integers or floats) and of the shape its sentence implies: a lens's
``[layer, token, k]`` over its ``layers`` and ``tokens`` (its pieces too), the
neurons' ``[layer, head, label, d_head]`` over its labels.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

import numpy as np

from trfviz.measures.logit_lens import LogitLens, SentenceLogitLens
from trfviz.measures.neuron import NeuronExtraction, SentenceNeurons
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
from trfviz.storage.manifest import manifest_field, manifest_text, read_manifest

__all__ = [
    "LOGIT_LENS_FORMAT",
    "NEURONS_FORMAT",
    "load_logit_lens",
    "load_neurons",
    "save_logit_lens",
    "save_neurons",
]

LOGIT_LENS_FORMAT = "trfviz-logit-lens"
NEURONS_FORMAT = "trfviz-neurons"
_VERSION = 1

R = TypeVar("R")


@dataclass(frozen=True)
class _Kind(Generic[R]):
    """One kind of result file: its format, classes, arrays' dtype kinds and shape check."""

    format: str
    result: type[R]
    sentence: type
    kinds: dict[str, str]
    check: Callable[[Any, str], None]


def save_logit_lens(lens: LogitLens, path: str | os.PathLike[str]) -> Path:
    """Write ``lens`` to ``path`` (see the module docs for the format); returns the path.

    Raises:
        ValueError: an array of a dtype the format does not store, or an option
            value that is not a number, string, bool, None or a sequence of them.
    """
    return _save(_LENS, lens, path)


def load_logit_lens(path: str | os.PathLike[str]) -> LogitLens:
    """Read a logit lens written by :func:`save_logit_lens`, treating the file as untrusted.

    Raises:
        CorruptExtractionError: the file is truncated, altered, of another
            format (the message names its loader), or of a field this trfviz does not know.
        UnsafeExtractionError: unsafe member names or object arrays.
        FileNotFoundError: there is no such file.
    """
    return read_file(path, partial(_load, _LENS))


def save_neurons(neurons: NeuronExtraction, path: str | os.PathLike[str]) -> Path:
    """Write the neuron view ``neurons`` to ``path`` (see the module docs); returns the path.

    Raises:
        ValueError: as :func:`save_logit_lens`.
    """
    return _save(_NEURONS, neurons, path)


def load_neurons(path: str | os.PathLike[str]) -> NeuronExtraction:
    """Read a neuron view written by :func:`save_neurons`, treating the file as untrusted.

    Raises:
        CorruptExtractionError, UnsafeExtractionError, FileNotFoundError: as
            :func:`load_logit_lens`.
    """
    return read_file(path, partial(_load, _NEURONS))


def _save(kind: _Kind[R], result: Any, path: str | os.PathLike[str]) -> Path:
    sentences: list[dict[str, Any]] = []
    arrays: list[tuple[str, np.ndarray]] = []
    for i, sentence in enumerate(result.sentences):
        values, named = split_fields(sentence, f"sentence {i}")
        sentences.append({"fields": values, "arrays": array_metas(named, f"sentence {i}")})
        arrays.extend((f"s{i}/{name}.npy", array) for name, array in named.items())
    return write_file(path, result_manifest(kind.format, _VERSION, result, sentences), arrays)


def _load(kind: _Kind[R], handle: BinaryIO, members: dict[str, Member]) -> R:
    manifest = read_manifest(handle, members["manifest.json"], kind.format, _VERSION)
    text = manifest_text(manifest)
    sentences = []
    for i, (_, stored, arrays_meta) in enumerate(sentence_metas(manifest, members)):
        where = f"sentence {i}"
        refuse_unknown(kind.sentence, [*stored, *arrays_meta], where)
        arrays = read_arrays(handle, members, i, arrays_meta, kind.kinds, required=kind.kinds)
        values = read_values(stored, kind.sentence, where)
        sentence: Any = build(kind.sentence, where, {**values, **arrays})
        kind.check(sentence, where)
        sentences.append(sentence)
    return build(
        kind.result,
        "the manifest",
        {
            "model": manifest_field(manifest, "model", str, "manifest"),
            "revision": manifest_field(manifest, "revision", str, "manifest"),
            "text": text,
            "sentences": tuple(sentences),
            "options": read_options(manifest_field(manifest, "options", list, "manifest")),
        },
    )


def _check_lens(sentence: SentenceLogitLens, where: str) -> None:
    grid = (len(sentence.layers), len(sentence.tokens))
    top = sentence.top_ids.shape
    expected = {
        "top_ids": (*grid, top[-1] if len(top) == 3 else -1),
        "top_probs": top,
        "next_prob": grid,
        "next_rank": grid,
        "next_ids": grid[1:],
    }
    for name, shape in expected.items():
        if getattr(sentence, name).shape != shape:
            raise CorruptExtractionError(
                f"{where}: {name} has shape {getattr(sentence, name).shape}, impossible over "
                f"{grid[0]} layers and {grid[1]} tokens"
            )
    pieces, k = sentence.top_pieces, top[-1]
    if len(pieces) != grid[0] or any(
        len(row) != grid[1] or any(len(guesses) != k for guesses in row) for row in pieces
    ):
        raise CorruptExtractionError(f"{where}: top_pieces is not [layer][token][k] like top_ids")
    if len(sentence.next_pieces) != grid[1]:
        raise CorruptExtractionError(f"{where}: next_pieces is not one piece per token")


def _check_neurons(sentence: SentenceNeurons, where: str) -> None:
    queries, keys = sentence.queries.shape, sentence.keys.shape
    if len(queries) != 4 or queries[2] != len(sentence.labels) or keys != queries:
        raise CorruptExtractionError(
            f"{where}: queries {queries} and keys {keys} are not both "
            f"[layer, head, label, d_head] over {len(sentence.labels)} labels"
        )


_LENS = _Kind(
    LOGIT_LENS_FORMAT,
    LogitLens,
    SentenceLogitLens,
    dict.fromkeys(array_fields(SentenceLogitLens), "i") | {"top_probs": "f", "next_prob": "f"},
    _check_lens,
)
_NEURONS = _Kind(
    NEURONS_FORMAT,
    NeuronExtraction,
    SentenceNeurons,
    dict.fromkeys(array_fields(SentenceNeurons), "f"),
    _check_neurons,
)
