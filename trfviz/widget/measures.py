"""Measures beside attention in the explorer: matched to models, checked, laid out like attention.

The explorer draws any :class:`~trfviz.measures.MeasureExtraction` where it draws
attention (the ``measure`` trait, :attr:`trfviz.view.ViewSpec.measure`). This
module matches the measures a caller gives to the explorer's models (by
:attr:`MeasureExtraction.model`), checks they cover the same sentences and labels
as the attention extractions, and lays each sentence's values out as
``[layer, head, query, key]`` (:func:`as_attention`) so every view (arcs,
heatmap, grid, export) draws them unchanged: rollout gets one "head", flow one
layer and one head, and a per-word measure (attributions, ``("token",)``) one
query row per word, each the same vector, so whatever word is focused the
shading is the attribution.

Plain numpy; nothing here imports :mod:`trfviz.measures` at run time (the view
layer takes the results as plain data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.measures.results import MEASURE_AXES
from trfviz.naming import short_model_name
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS, MEASURE_LABELS, MEASURES, SIGNED, WORD_MEASURES

if TYPE_CHECKING:
    from trfviz.measures.results import MeasureExtraction

__all__ = [
    "MeasureInput",
    "as_attention",
    "as_extraction",
    "match_by_model",
    "match_measures",
    "measure_axes",
    "measure_notes",
    "measures_payload",
    "without_specials",
]

#: What the explorer's ``measures=`` takes: one extraction, a sequence (matched to the
#: models by their ``model`` name), or per model key one extraction or a sequence.
MeasureInput = Any

#: Each measure's name beside a colour bar.
_SHORT = {"norms": "norm", "rollout": "rollout", "flow": "flow", "attributions": "attribution"}


def measure_axes(extraction: Any) -> tuple[str, ...]:
    """The axes of ``extraction``'s per-sentence values (:data:`trfviz.measures.MEASURE_AXES`).

    Raises:
        ValueError: a measure this trfviz does not know.
    """
    if extraction.measure not in MEASURE_AXES:
        raise ValueError(
            f"the explorer does not know the measure {extraction.measure!r}; it draws "
            f"{', '.join(sorted(MEASURE_AXES))}"
        )
    return MEASURE_AXES[extraction.measure]


def as_attention(values: np.ndarray, axes: Sequence[str]) -> np.ndarray:
    """float32 ``[layer, head, query, key]`` of one sentence's measure ``values``.

    >>> as_attention(np.ones((3, 4, 4)), ("layer", "query", "key")).shape
    (3, 1, 4, 4)
    >>> as_attention(np.array([1.0, -2.0]), ("token",))[0, 0].tolist()
    [[1.0, -2.0], [1.0, -2.0]]
    """
    array = np.asarray(values, dtype=np.float32)
    axes = tuple(axes)
    if axes == ("token",):
        if array.ndim != 1:
            raise ValueError(f"a per-word measure must be [label], got shape {array.shape}")
        return np.ascontiguousarray(np.broadcast_to(array, (1, 1, array.size, array.size)))
    if axes not in _LAYOUTS:
        raise ValueError(f"the explorer cannot lay out a measure over axes {axes}")
    if array.ndim != len(axes) or array.shape[-1] != array.shape[-2]:
        raise ValueError(f"values over {axes} must be square on query/key, got {array.shape}")
    return array[_LAYOUTS[axes]]


#: How values over each supported axes gain the missing layer and head axes.
_LAYOUTS: dict[tuple[str, ...], Any] = {
    ("layer", "head", "query", "key"): (...,),
    ("layer", "query", "key"): (slice(None), None),
    ("query", "key"): (None, None),
}


def match_by_model(
    items: Any, keys: Sequence[str], model_names: Mapping[str, str], what: str
) -> dict[str, list[Any]]:
    """Per model key the items (with a ``model`` attribute) given for it.

    ``items`` is one item, a sequence (each matched to the key whose model name,
    or its short name, equals the item's ``model``), or a mapping of model key to
    one item or a sequence.
    """
    matched: dict[str, list[Any]] = {key: [] for key in keys}
    if isinstance(items, Mapping):
        for key, value in items.items():
            if key not in matched:
                raise ValueError(f"{what} for unknown model {key!r}; models are {list(keys)}")
            matched[key].extend(value if isinstance(value, list | tuple) else [value])
        return matched
    for item in items if isinstance(items, list | tuple) else [items]:
        name = str(getattr(item, "model", ""))
        hits = [
            key
            for key in keys
            if name in (key, model_names.get(key, key))
            or short_model_name(name) in (key, short_model_name(model_names.get(key, key)))
        ]
        if len(hits) != 1:
            found = "no model" if not hits else f"several models ({hits})"
            raise ValueError(
                f"{what} of model {name!r} matches {found} of the explorer's {list(keys)}; "
                f"give them keyed by model: {what}={{'{keys[0]}': ...}}"
            )
        matched[hits[0]].append(item)
    return matched


def match_measures(
    measures: MeasureInput,
    parses: Sequence[SentenceParse],
    extractions: Mapping[str, Sequence[SentenceExtraction]],
    model_names: Mapping[str, str],
) -> dict[str, dict[str, tuple[np.ndarray, ...]]]:
    """Per measure name, per model key, one ``[layer, head, query, key]`` array per sentence.

    Each measure must cover the explorer's sentences with the same tokens and
    labels (special tokens kept or dropped as in the attention extraction).

    Raises:
        ValueError: a measure of an unknown model or kind, given twice for one
            model, or over other sentences, tokens or labels.
    """
    keys = list(extractions)
    out: dict[str, dict[str, tuple[np.ndarray, ...]]] = {}
    for key, items in match_by_model(measures, keys, model_names, "measures").items():
        for item in items:
            name = getattr(item, "measure", None)
            if name not in MEASURES or name == "attention":
                raise ValueError(
                    f"measures must be trfviz.measures results (norms, rollout, flow, "
                    f"attributions); got {type(item).__name__} with measure {name!r}"
                )
            if key in out.get(name, {}):
                raise ValueError(f"two {name} extractions for model {key!r}; give one")
            out.setdefault(name, {})[key] = _checked(item, key, parses, extractions[key])
    return out


def _checked(
    item: MeasureExtraction,
    key: str,
    parses: Sequence[SentenceParse],
    sentences: Sequence[SentenceExtraction],
) -> tuple[np.ndarray, ...]:
    if len(item.sentences) != len(parses):
        raise ValueError(
            f"{item.measure} of {key}: {len(item.sentences)} sentences for {len(parses)}; "
            "compute it on the same Doc as the attention"
        )
    axes = measure_axes(item)
    arrays = []
    for i, (parse, measured, extracted) in enumerate(
        zip(parses, item.sentences, sentences, strict=True)
    ):
        if tuple(measured.tokens) != tuple(parse.words):
            raise ValueError(f"{item.measure} of {key}: sentence {i} has other tokens")
        if tuple(measured.labels) != tuple(extracted.labels):
            raise ValueError(
                f"{item.measure} of {key}: sentence {i} has labels {measured.labels[-3:]}... "
                f"but the attention has {extracted.labels[-3:]}...; compute both with the "
                "same special_tokens choice"
            )
        array = as_attention(measured.values, axes)
        if array.shape[-1] != len(extracted.labels):
            raise ValueError(f"{item.measure} of {key}: sentence {i} values do not match labels")
        arrays.append(array)
    return tuple(arrays)


def as_extraction(sentence: SentenceExtraction, values: np.ndarray) -> SentenceExtraction:
    """``sentence`` with ``values`` (``[layer, head, query, key]``) in place of its attention.

    What the export draws for a measure: the figure code reads ``attention``.
    """
    return dataclasses.replace(sentence, attention=values, piece_attention=None)


def measures_payload(
    available: Mapping[str, Mapping[str, Any]], notes: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """The explorer's ``_measures`` (sent once): per measure, how to draw it and for which models.

    ``{name: {"label", "short" (beside a colour bar), "distribution", "signed",
    "words", "models": [keys], "notes": {key: text}}}``; empty without measures
    (nothing grows the first view).
    """
    return {
        name: {
            "label": MEASURE_LABELS[name],
            "short": _SHORT[name],
            "distribution": name in DISTRIBUTIONS,
            "signed": name in SIGNED,
            "words": name in WORD_MEASURES,
            "models": list(by_key),
            "notes": dict(notes.get(name, {})),
        }
        for name, by_key in available.items()
    }


def measure_notes(measures: MeasureInput, keys: Sequence[str], names: Mapping[str, str]) -> Any:
    """Per measure, per model key, a note for the read-out (integrated gradients' delta)."""
    notes: dict[str, dict[str, str]] = {}
    for key, items in match_by_model(measures, keys, names, "measures").items():
        for item in items:
            deltas = [getattr(s, "convergence_delta", None) for s in item.sentences]
            finite = [abs(float(d)) for d in deltas if d is not None]
            if finite:
                notes.setdefault(item.measure, {})[key] = (
                    f"{short_model_name(key)}: largest convergence delta {max(finite):.3g}"
                )
    return notes


def without_specials(values: np.ndarray, n_words: int, *, renormalise: bool) -> np.ndarray:
    """``[..., query, key]`` cut to the ``n_words`` words; rows renormalised if ``renormalise``.

    What ``special_tokens="drop"`` shows: a distribution's rows over the words
    alone sum to 1 again (as :func:`trfviz.widget.compose.shown_matrix` exports
    them); other measures are only cut.

    >>> without_specials(np.array([[0.5, 0.25, 0.25]] * 3), 2, renormalise=True).tolist()
    [[0.6666666865348816, 0.3333333432674408], [0.6666666865348816, 0.3333333432674408]]
    """
    words = np.asarray(values, dtype=np.float32)[..., :n_words, :n_words]
    if not renormalise:
        return np.ascontiguousarray(words)
    total = words.sum(axis=-1, keepdims=True)
    return np.divide(words, total, out=np.zeros_like(words), where=total > 0)
