"""The plain data the attention explorer sends to the browser, packed small.

Everything here is pure numpy/Python and testable without a browser. Only the
current layer crosses to the browser: its ``[head, query, key]`` weights and
their head mean for each panel, quantised to 16-bit codes with an offset and a
scale (``value ≈ lo + code * scale``; every weight >= 1e-4 stays non-zero and
weights >= 0.01 are within 0.1 %) and sent as raw little-endian bytes, which
ipywidgets/anywidget ship as binary buffers next to the JSON message instead of
inside it. The browser picks the head itself, so a head switch needs no round
trip. Whole ``[layer, head, query, key]`` tensors never cross; the head grid
sends small downsampled thumbnails only while it is shown.

Example
-------
>>> import numpy as np
>>> packed = pack_matrix(np.array([[0.25, 0.75], [1.0, 0.0]], dtype=np.float32))
>>> packed.shape, len(packed.data), packed.bits
((2, 2), 8, 16)
>>> bool(np.allclose(packed.unpack(), [[0.25, 0.75], [1.0, 0.0]], atol=packed.scale / 2))
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.widget.compare import (
    attention_to_specials,
    head_entropy,
    js_distance_to_other,
    pair_divergences,
)

__all__ = [
    "HeadChoice",
    "LayerChoice",
    "PackedMatrix",
    "count_message_bytes",
    "downsample_matrix",
    "head_scores",
    "layers_key",
    "map_layer",
    "pack_difference",
    "pack_grid",
    "pack_layers",
    "pack_matrix",
    "pack_sentence",
    "select_attention",
]

LayerChoice = int | Literal["mean"]
HeadChoice = int | Literal["mean", "all"]

#: Largest side of a head-grid thumbnail; bigger matrices are block-averaged down.
THUMBNAIL_SIDE = 16


@dataclass(frozen=True)
class PackedMatrix:
    """A float array quantised to 8- or 16-bit codes: ``value ≈ lo + code * scale``.

    ``bits=32`` sends the values themselves as float32 (``lo`` 0, ``scale`` 1):
    for the few numbers that must match others to the digit (the wordpiece table).

    Attributes:
        data: the codes in C order, little-endian ``uint8``, ``uint16`` or
            ``float32`` (``prod(shape) * bits / 8`` bytes).
        shape: the array's shape (``[query, key]`` or ``[head, query, key]``...).
        lo: the value of code 0.
        scale: the value step of one code (the rounding error is at most half of it).
    """

    data: bytes
    shape: tuple[int, ...]
    lo: float
    scale: float
    bits: int = 8

    def unpack(self) -> np.ndarray:
        """float32 array of ``shape``: the dequantised values."""
        codes = np.frombuffer(self.data, dtype=_CODE_TYPES[self.bits]).reshape(self.shape)
        return (self.lo + codes.astype(np.float32) * np.float32(self.scale)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict whose ``data`` stays bytes (sent as a binary buffer)."""
        return {
            "data": self.data,
            "shape": list(self.shape),
            "lo": self.lo,
            "scale": self.scale,
            "bits": self.bits,
        }


#: Code dtype per bit width (explicitly little-endian: the browser reads them so).
_CODE_TYPES: dict[int, np.dtype[Any]] = {
    8: np.dtype(np.uint8),
    16: np.dtype("<u2"),
    32: np.dtype("<f4"),
}


def pack_matrix(values: np.ndarray, *, bits: int = 16) -> PackedMatrix:
    """The array quantised to ``bits``-bit codes between ``min(0, values.min())`` and its max.

    Attention (non-negative) gets ``lo = 0`` so a zero weight is exactly code 0;
    signed differences keep their minimum. NaNs are packed as ``lo``. With 16
    bits the step is ``max / 65535``: a weight of 1e-4 under a maximum of 1 is
    code 7, and weights >= 0.01 are within 0.08 %; 8 bits (thumbnails) step by
    ``max / 255``; 32 bits sends float32 values unquantised.
    """
    if bits not in _CODE_TYPES:
        raise ValueError(f"bits must be 8, 16 or 32, got {bits!r}")
    array = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    if bits == 32:
        data = array.astype(_CODE_TYPES[32]).tobytes()
        return PackedMatrix(data, tuple(int(n) for n in array.shape), 0.0, 1.0, bits)
    if array.size == 0:
        return PackedMatrix(b"", tuple(array.shape), 0.0, 1.0, bits)
    lo = min(0.0, float(array.min()))
    hi = float(array.max())
    top = 2**bits - 1
    scale = (hi - lo) / top if hi > lo else 1.0
    codes = np.clip(np.rint((array - lo) / scale), 0, top).astype(_CODE_TYPES[bits])
    return PackedMatrix(codes.tobytes(), tuple(int(n) for n in array.shape), lo, scale, bits)


def select_attention(attention: np.ndarray, layer: LayerChoice, head: HeadChoice) -> np.ndarray:
    """float32 ``[query, key]`` for one layer and head, or ``[head, query, key]`` for ``"all"``.

    Args:
        attention: float ``[layer, head, query, key]``.
        layer: a layer index, or ``"mean"`` for the mean over layers.
        head: a head index, ``"mean"`` for the mean over the layer's heads, or
            ``"all"`` for every head of the layer.
    """
    if attention.ndim != 4:
        raise ValueError(f"attention must be [layer, head, query, key], got {attention.shape}")
    n_layers, n_heads = attention.shape[:2]
    if layer == "mean":
        per_head = attention.mean(axis=0)
    elif isinstance(layer, int) and 0 <= layer < n_layers:
        per_head = attention[layer]
    else:
        raise ValueError(f"layer must be 0..{n_layers - 1} or 'mean', got {layer!r}")
    if head == "all":
        return np.asarray(per_head, dtype=np.float32)
    if head == "mean":
        return np.asarray(per_head.mean(axis=0), dtype=np.float32)
    if isinstance(head, int) and 0 <= head < n_heads:
        return np.asarray(per_head[head], dtype=np.float32)
    raise ValueError(f"head must be 0..{n_heads - 1}, 'mean' or 'all', got {head!r}")


def map_layer(layer: LayerChoice, n_from: int, n_to: int) -> LayerChoice:
    """The layer at the same relative depth in a model with ``n_to`` layers.

    >>> map_layer(5, 6, 30), map_layer(0, 6, 30), map_layer(2, 6, 6), map_layer("mean", 6, 30)
    (29, 0, 2, 'mean')
    """
    if layer == "mean" or n_from == n_to:
        return layer
    if n_from <= 1:
        return n_to - 1
    return round(int(layer) * (n_to - 1) / (n_from - 1))


def downsample_matrix(matrix: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """The last two axes block-averaged down to at most ``side`` each (unchanged if smaller)."""
    out: np.ndarray = np.asarray(matrix, dtype=np.float32)
    for axis in (-2, -1):
        n = out.shape[axis]
        if n <= side:
            continue
        # Bin i of the output covers rows edges[i]:edges[i + 1] (never empty since n > side).
        edges = np.linspace(0, n, side + 1).round().astype(int)
        out = np.add.reduceat(out, edges[:-1], axis=axis) / np.diff(edges).reshape(
            [-1] + [1] * (-axis - 1)
        )
    return out.astype(np.float32)


def pack_sentence(
    index: int,
    parse: SentenceParse,
    extractions: Mapping[str, SentenceExtraction],
    shapes: Mapping[str, tuple[int, int]],
) -> dict[str, Any]:
    """What the browser needs of one sentence: tokens, parse, per model its labels and pieces.

    Sent once per sentence (and when the models shown change), not per head.

    Args:
        index: the sentence's index in the document.
        parse: its words, tags, arcs and entities.
        extractions: the sentence's extraction for each model shown, by model key.
        shapes: ``(n_layers, n_heads)`` for each model key.
    """
    models = {}
    for key, sentence in extractions.items():
        alignment = sentence.alignment
        pieces = [
            [sentence.pieces[p] for p in alignment.pieces_of(t).tolist()]
            for t in range(sentence.n_tokens)
        ]
        n_layers, n_heads = shapes[key]
        models[key] = {
            "name": short_model_name(key),
            "labels": list(sentence.labels),
            "n_special": len(sentence.special_labels),
            "pieces": pieces,
            "truncated": bool(sentence.truncated),
            "missing": [int(i) for i in np.flatnonzero(sentence.missing)],
            "n_layers": int(n_layers),
            "n_heads": int(n_heads),
        }
    return {"index": int(index), "tokens": list(parse.words), **parse.to_dict(), "models": models}


def layers_key(sentence: int, layers: Mapping[str, LayerChoice], *, variant: str = "") -> str:
    """What a :func:`pack_layers` payload holds, as text: the sentence and each model's layer.

    ``variant`` names what else the values depend on (a measure, dropped specials).

    >>> layers_key(2, {"MiniLM": 3, "SmolLM2": "mean"})
    's2;MiniLM/3;SmolLM2/mean'
    >>> layers_key(2, {"MiniLM": 3}, variant="norms")
    's2;norms;MiniLM/3'
    """
    head = [f"s{int(sentence)}", *([variant] if variant else [])]
    return ";".join([*head, *(f"{key}/{layer}" for key, layer in layers.items())])


def pack_layers(
    attention: Mapping[str, np.ndarray],
    layers: Mapping[str, LayerChoice],
    *,
    sentence: int,
    variant: str = "",
) -> dict[str, Any]:
    """Every head of the current layer of each model shown, and the layer's head mean.

    The browser composes the view from this and the ``head``/``mode`` traits, so a
    head switch (or side-by-side ↔ difference) is drawn there without a round trip to
    the kernel; only a change of layer, model or sentence sends a new payload. Never
    more than one layer per model crosses.

    Args:
        attention: ``[layer, head, query, key]`` per model key, in panel order
            (the first is the main model, a second one the comparison).
        layers: the layer shown for each model key (an index or ``"mean"``, the
            mean over layers).
        sentence: the index of the sentence the attention belongs to (the browser
            draws a payload only over its own sentence).
        variant: see :func:`layers_key` (a measure drawn instead of attention).

    Returns:
        ``{"key", "sentence", "panels": [...]}`` with ``key`` from :func:`layers_key`;
        a panel holds ``model``, ``layer``, ``heads`` (a :meth:`PackedMatrix.to_dict`
        of ``[head, query, key]``, 16 bits per value) and ``mean`` (``[query, key]``,
        the mean over the heads, packed on its own so it is not a mean of rounded
        values).
    """
    panels = []
    for key, layer in layers.items():
        heads = select_attention(attention[key], layer, "all")
        panels.append(
            {
                "model": key,
                "layer": layer,
                "heads": pack_matrix(heads).to_dict(),
                "mean": pack_matrix(heads.mean(axis=0)).to_dict(),
            }
        )
    key = layers_key(sentence, layers, variant=variant)
    return {"key": key, "sentence": int(sentence), "panels": panels}


def pack_difference(
    attention: Mapping[str, np.ndarray],
    layers: Mapping[str, LayerChoice],
    *,
    sentence: int,
    n_tokens: int,
    exclude_sink: bool,
    variant: str = "",
) -> dict[str, Any]:
    """The JS divergence per query word for every head pair of two models' current layers.

    What the difference view's read-out shows beside the two renormalised weights
    (see :mod:`trfviz.widget.compare`); every head pair is sent so a head switch
    needs no round trip, index ``n_heads`` being the head mean.

    Returns:
        ``{"key", "exclude_sink", "n_tokens", "js"}``: ``key`` is :func:`layers_key`
        plus the sink choice, ``js`` a 16-bit :meth:`PackedMatrix.to_dict` of
        ``[head_a + 1, head_b + 1, word]`` (NaN, a row with no mass left, as -1).
    """
    if len(layers) != 2:
        raise ValueError(f"a difference needs two models' layers, got {list(layers)}")
    (key_a, layer_a), (key_b, layer_b) = layers.items()
    js = pair_divergences(
        select_attention(attention[key_a], layer_a, "all"),
        select_attention(attention[key_b], layer_b, "all"),
        n_tokens,
        exclude_sink=exclude_sink,
    )
    return {
        "key": f"{layers_key(sentence, layers, variant=variant)};sink={int(exclude_sink)}",
        "exclude_sink": bool(exclude_sink),
        "n_tokens": int(n_tokens),
        "js": pack_matrix(np.where(np.isnan(js), -1.0, js)).to_dict(),
    }


def head_scores(
    attention: np.ndarray,
    n_tokens: int,
    *,
    given: np.ndarray | None = None,
    given_name: str = "relation accuracy",
    other: tuple[str, np.ndarray] | None = None,
    exclude_sink: bool = True,
) -> dict[str, np.ndarray]:
    """The head grid's scores by name, each float ``[layer, head]``.

    Always ``"entropy (bits)"`` and ``"attention to specials"``; the caller's
    ``given`` scores under ``given_name`` first when given; with ``other`` (a
    name and its ``[layer, head, query, key]``), ``"JS distance to <name>"``
    (:func:`trfviz.widget.compare.js_distance_to_other`).
    """
    scores: dict[str, np.ndarray] = {}
    if given is not None:
        scores[given_name] = np.asarray(given, dtype=np.float64)
    scores["entropy (bits)"] = head_entropy(attention, n_tokens)
    scores["attention to specials"] = attention_to_specials(attention, n_tokens)
    if other is not None:
        name, other_attention = other
        scores[f"JS distance to {name}"] = js_distance_to_other(
            attention, other_attention, n_tokens, exclude_sink=exclude_sink
        )
    return scores


def pack_grid(
    attention: np.ndarray,
    *,
    scores: np.ndarray | Mapping[str, np.ndarray] | None = None,
    side: int = THUMBNAIL_SIDE,
) -> dict[str, Any]:
    """Thumbnails of every head on one shared scale, and per-head scores by name.

    Args:
        attention: float ``[layer, head, query, key]`` of one sentence.
        scores: float ``[layer, head]`` scores by name (an array alone is named
            ``"head score"``); NaN for none.
        side: the largest thumbnail side in values.

    Returns:
        ``{"shape": [layer, head], "thumbs": packed [layer, head, q', k'] (8-bit,
        one scale for every thumbnail), "scores": {name: [[...]]},
        "score_ranges": {name: [lo, hi] or None}}``.
    """
    thumbs = downsample_matrix(attention, side)
    out: dict[str, Any] = {
        "shape": [int(attention.shape[0]), int(attention.shape[1])],
        "thumbs": pack_matrix(thumbs, bits=8).to_dict(),
        "scores": {},
        "score_ranges": {},
    }
    named = {"head score": scores} if isinstance(scores, np.ndarray) else dict(scores or {})
    for name, value in named.items():
        values = np.asarray(value, dtype=np.float64)
        if values.shape != attention.shape[:2]:
            raise ValueError(
                f"head scores {name!r} must be [layer, head] = {attention.shape[:2]}, "
                f"got {values.shape}"
            )
        finite = values[np.isfinite(values)]
        out["scores"][name] = [
            [None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in values
        ]
        out["score_ranges"][name] = (
            [float(finite.min()), float(finite.max())] if finite.size else None
        )
    return out


def count_message_bytes(state: Mapping[str, Any]) -> dict[str, int]:
    """Bytes a widget state takes on the wire: ``{"json", "buffers", "total"}``.

    Binary values (``bytes``, ``memoryview``, numpy arrays) anywhere in the
    state are counted as buffers, the way ipywidgets splits them out of the
    JSON message; the rest is counted as compact JSON.
    """
    buffers = 0

    def strip(value: Any) -> Any:
        nonlocal buffers
        if isinstance(value, bytes | bytearray | memoryview):
            buffers += memoryview(value).nbytes
            return None
        if isinstance(value, np.ndarray):
            buffers += value.nbytes
            return None
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, Sequence) and not isinstance(value, str):
            return [strip(v) for v in value]
        return value

    text = json.dumps(strip(state), separators=(",", ":"), ensure_ascii=False)
    n_json = len(text.encode("utf-8"))
    return {"json": n_json, "buffers": buffers, "total": n_json + buffers}
