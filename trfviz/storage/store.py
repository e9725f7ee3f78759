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

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from trfviz.alignment import Alignment
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.measures import LogitLens, MeasureExtraction, NeuronExtraction
from trfviz.storage.archive import Member, check_members, read_file, write_file
from trfviz.storage.errors import CorruptExtractionError
from trfviz.storage.fields import read_array
from trfviz.storage.manifest import SentenceSpec, build_manifest, extraction_manifest, sha256_text
from trfviz.storage.measure_files import load_measure, save_measure
from trfviz.storage.result_files import load_logit_lens, load_neurons, save_logit_lens, save_neurons

__all__ = ["ExtractionStore", "load_extraction", "save_extraction"]

# The store's names of the results that are not measures (beside a measure's own name).
_LOGIT_LENS, _NEURONS = "logit-lens", "neurons"


class _Result(Protocol):
    @property
    def text(self) -> str: ...


_R = TypeVar("_R", bound=_Result)


def save_extraction(extraction: Extraction, path: str | os.PathLike[str]) -> Path:
    """Write ``extraction`` to ``path`` (see the module docs for the format); returns the path.

    Raises:
        ValueError: an array has a dtype the format does not store (see the module docs).
    """
    manifest, arrays = build_manifest(extraction)
    return write_file(path, manifest, arrays)


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
    return read_file(path, _load)


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
        return save_measure(measure, self._result_path(measure.measure, measure))

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
        return self._get(load_measure, model, revision, text, measure, options)

    def put_logit_lens(self, lens: LogitLens) -> Path:
        """Store a :class:`~trfviz.measures.LogitLens`, keyed by its options; returns its path."""
        return save_logit_lens(lens, self._result_path(_LOGIT_LENS, lens))

    def get_logit_lens(
        self,
        model: str,
        revision: str,
        text: str,
        options: Iterable[tuple[str, object]] | Mapping[str, object],
    ) -> LogitLens | None:
        """The stored logit lens, or None if there is none (corrupt files raise).

        ``options`` as the lens's ``options``: ``{"top_k": 5, "layers": None}``.
        """
        return self._get(load_logit_lens, model, revision, text, _LOGIT_LENS, options)

    def put_neurons(self, neurons: NeuronExtraction) -> Path:
        """Store a :class:`~trfviz.measures.NeuronExtraction`, keyed by its options."""
        return save_neurons(neurons, self._result_path(_NEURONS, neurons))

    def get_neurons(
        self,
        model: str,
        revision: str,
        text: str,
        options: Iterable[tuple[str, object]] | Mapping[str, object],
    ) -> NeuronExtraction | None:
        """The stored neuron view, or None if there is none (corrupt files raise).

        ``options`` as its ``options``: ``{"special_tokens": "keep"}``.
        """
        return self._get(load_neurons, model, revision, text, _NEURONS, options)

    def _result_path(
        self, name: str, result: MeasureExtraction | LogitLens | NeuronExtraction
    ) -> Path:
        return self.measure_path_for(
            result.model, result.revision, result.text, name, result.options
        )

    def _get(
        self,
        load: Callable[[Path], _R],
        model: str,
        revision: str,
        text: str,
        name: str,
        options: Iterable[tuple[str, object]] | Mapping[str, object],
    ) -> _R | None:
        pairs = options.items() if isinstance(options, Mapping) else options
        path = self.measure_path_for(model, revision, text, name, tuple(pairs))
        if not path.exists():
            return None
        stored = load(path)
        return stored if stored.text == text else None  # a hash-prefix collision


def _load(handle: BinaryIO, members: dict[str, Member]) -> Extraction:
    manifest = extraction_manifest(handle, members["manifest.json"])
    check_members(
        members,
        (
            f"s{i}/{name}.npy"
            for i, sentence in enumerate(manifest.sentences)
            for name in sentence.arrays
        ),
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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "--", name).strip(".") or "_"
