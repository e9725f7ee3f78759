"""The srsly msgpack codec of the trfviz data classes, so Docs keep their extractions.

Importing this module (``import trfviz`` does) registers a msgpack encoder and
decoder with srsly (as spacy-transformers does for its ``TransformerData``), so
:class:`~trfviz.extraction.Extraction`, :class:`~trfviz.extraction.SentenceExtraction`,
:class:`~trfviz.alignment.Alignment`, :class:`~trfviz.extraction.ExtractionOptions`
the measures (:class:`~trfviz.measures.MeasureExtraction`,
:class:`~trfviz.measures.SentenceMeasure`), the logit lens
(:class:`~trfviz.measures.LogitLens`) and the neuron view
(:class:`~trfviz.measures.NeuronExtraction`) survive spaCy's own serialization of
``Doc.user_data``: ``Doc.to_bytes`` / ``from_bytes``, ``to_disk`` / ``from_disk``,
``DocBin(store_user_data=True)`` and ``nlp.pipe(..., n_process=2)``. Each object
is written as a tagged map of plain fields, whatever fields the class has (so a
new field of a measure, or a new measure name, needs no change here); arrays go
through srsly's numpy codec, so a round trip is bit-exact, and nothing is pickled.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import srsly

from trfviz.alignment import Alignment
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.measures.logit_lens import LogitLens, SentenceLogitLens
from trfviz.measures.neuron import NeuronExtraction, SentenceNeurons
from trfviz.measures.results import MeasureExtraction, SentenceMeasure

__all__: list[str] = []


def _encode_msgpack(obj: Any, chain: Any = None) -> Any:
    """A tagged map of ``obj``'s fields if it is a trfviz data object, else ``chain``'s answer.

    The srsly msgpack encoder (registered as ``"trfviz"``): Extraction,
    SentenceExtraction, Alignment and ExtractionOptions become
    ``{"__trfviz__": class name, "version": 1, "fields": {...}}``; msgpack then
    encodes the fields, nested objects and numpy arrays included.
    """
    name = _NAMES.get(type(obj))
    if name is not None:
        values = {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
        return {_TAG: name, "version": _VERSION, "fields": values}
    return obj if chain is None else chain(obj)


def _decode_msgpack(obj: Any, chain: Any = None) -> Any:
    """The trfviz object in a map from :func:`_encode_msgpack`, else ``chain``'s answer.

    The srsly msgpack decoder (registered as ``"trfviz"``). Arrays are copied out
    of the message, so they are writable and own their memory.

    Raises:
        ValueError: the map is tagged as trfviz data but cannot be read (written
            by a newer trfviz, or altered).
    """
    if not (isinstance(obj, dict) and _TAG in obj):
        return obj if chain is None else chain(obj)
    name, version, values = obj[_TAG], obj.get("version"), obj.get("fields")
    cls = _SERIALIZABLE.get(name) if isinstance(name, str) else None
    if cls is None or version != _VERSION or not isinstance(values, dict):
        raise ValueError(
            f"cannot read serialized trfviz data {name!r} version {version!r}: this trfviz "
            f"reads version {_VERSION} of {sorted(_SERIALIZABLE)}; upgrade trfviz to read it"
        )
    try:
        return cls(**{key: _restored(value) for key, value in values.items()})
    except TypeError as error:
        raise ValueError(
            f"cannot read serialized trfviz {name}: {error}; was it written by another trfviz?"
        ) from error


_TAG = "__trfviz__"
_VERSION = 1
_SERIALIZABLE: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Extraction,
        SentenceExtraction,
        Alignment,
        ExtractionOptions,
        MeasureExtraction,
        SentenceMeasure,
        LogitLens,
        SentenceLogitLens,
        NeuronExtraction,
        SentenceNeurons,
    )
}
_NAMES = {cls: name for name, cls in _SERIALIZABLE.items()}


def _plain(value: Any) -> Any:
    # Plain Python scalars keep the message free of numpy scalar types.
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _restored(value: Any) -> Any:
    # msgpack gives sequences back as lists (or tuples); every sequence field is a tuple,
    # nested ones too (a measure's options are (name, value) pairs).
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list | tuple):
        return tuple(_restored(item) for item in value)
    return value


srsly.msgpack_encoders.register("trfviz", func=_encode_msgpack)
srsly.msgpack_decoders.register("trfviz", func=_decode_msgpack)
