"""Keeping extractions on disk and reading them back, with corruption detected.

File format (``.trfviz``, version 1): an uncompressed ZIP archive holding

- ``manifest.json``: ``{"format": "trfviz-extraction", "version": 1, "model",
  "revision", "text", "text_sha256", "options", "n_layers", "n_heads",
  "sentences": [{"start", "tokens", "pieces", "special_labels", "truncated",
  "n_tokens", "n_pieces", "arrays": {name: {"dtype", "shape", "sha256"}}}]}``;
- one ``.npy`` file per array, ``s{i}/{name}.npy``, where ``name`` is
  ``attention`` ``[layer, head, query, key]``, ``states`` ``[layer + 1, token, dim]``,
  ``pairs`` ``[n_pairs, 2]`` (the alignment), ``special``, ``orphan``, ``missing``.

Every array's SHA-256 is checked on reading, on top of the ZIP's own CRCs, so
a truncated or altered file raises :class:`CorruptExtractionError` instead of
giving wrong numbers. Files are written to a temporary name and renamed, so an
interrupted save never leaves a half-written file under the real name, and
entries carry a fixed timestamp, so saving the same extraction twice gives
the same bytes.

:class:`ExtractionStore` keeps many extractions in a directory keyed by model,
revision, text and options.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from trfviz.alignment import Alignment
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction

__all__ = [
    "CorruptExtractionError",
    "ExtractionStore",
    "load_extraction",
    "save_extraction",
]

FORMAT = "trfviz-extraction"
VERSION = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)


class CorruptExtractionError(ValueError):
    """A stored extraction is truncated, altered, or not an extraction file."""


def save_extraction(extraction: Extraction, path: str | os.PathLike[str]) -> Path:
    """Write ``extraction`` to ``path`` (see the module docs for the format); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
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
            meta[name] = {
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
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
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        _write(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False).encode())
        for name, array in arrays:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            _write(archive, name, buffer.getvalue())
    os.replace(partial, target)
    return target


def load_extraction(path: str | os.PathLike[str]) -> Extraction:
    """Read an extraction written by :func:`save_extraction`.

    Raises:
        CorruptExtractionError: the file is truncated, altered, or of another format.
        FileNotFoundError: there is no such file.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(source)
    try:
        with zipfile.ZipFile(source) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            _check_manifest(manifest, source)
            sentences = tuple(
                _read_sentence(archive, i, meta, source)
                for i, meta in enumerate(manifest["sentences"])
            )
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as error:
        if isinstance(error, CorruptExtractionError):
            raise
        raise CorruptExtractionError(
            f"{source} is not a readable trfviz extraction: {error}"
        ) from error
    return Extraction(
        model=manifest["model"],
        revision=manifest["revision"],
        text=manifest["text"],
        sentences=sentences,
        options=ExtractionOptions(**manifest["options"]),
        n_layers=manifest["n_layers"],
        n_heads=manifest["n_heads"],
    )


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


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _check_manifest(manifest: dict[str, Any], source: Path) -> None:
    if manifest.get("format") != FORMAT:
        raise CorruptExtractionError(f"{source} is not a trfviz extraction file")
    if manifest.get("version") != VERSION:
        raise CorruptExtractionError(
            f"{source} has format version {manifest.get('version')}; this trfviz reads {VERSION}"
        )
    if manifest.get("text_sha256") != _sha256(manifest.get("text", "")):
        raise CorruptExtractionError(f"{source}: the stored text does not match its checksum")


def _read_sentence(
    archive: zipfile.ZipFile, index: int, meta: dict[str, Any], source: Path
) -> SentenceExtraction:
    arrays = {}
    for name, info in meta["arrays"].items():
        array = np.load(io.BytesIO(archive.read(f"s{index}/{name}.npy")), allow_pickle=False)
        if (
            array.dtype.str != info["dtype"]
            or list(array.shape) != info["shape"]
            or hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() != info["sha256"]
        ):
            raise CorruptExtractionError(f"{source}: array s{index}/{name} fails its checksum")
        arrays[name] = array
    alignment = Alignment(
        pairs=arrays["pairs"],
        n_tokens=meta["n_tokens"],
        n_pieces=meta["n_pieces"],
        special=arrays["special"],
        orphan=arrays["orphan"],
        missing=arrays["missing"],
    )
    return SentenceExtraction(
        start=meta["start"],
        tokens=tuple(meta["tokens"]),
        pieces=tuple(meta["pieces"]),
        alignment=alignment,
        attention=arrays.get("attention"),
        states=arrays.get("states"),
        special_labels=tuple(meta["special_labels"]),
        truncated=meta["truncated"],
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "--", name).strip(".") or "_"
