"""The explorer's neuron panel (bertviz's neuron view): why a head attends where it does.

For the focused word and the current layer and head of each model shown, the
panel shows the word's query vector, every word's key vector, their element-wise
product and the score each product sums to (scaled), as heat strips, so a user
sees which dimensions of the head drive its attention. The data are a
``NeuronExtraction`` per model (``trfviz.measures.neuron``: per sentence a
``SentenceNeurons`` with ``queries`` and ``keys`` ``[layer, head, label, d_head]``,
``products(layer, head, query)`` and ``scores(layer, head, query)``), given as
plain data: the view never runs a model. Only the current layer, head and word
cross to the browser, on demand (:func:`neurons_payload`), as for the wordpieces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from trfviz.parse import SentenceParse
from trfviz.widget.measures import match_by_model
from trfviz.widget.payload import LayerChoice, pack_matrix

__all__ = ["NeuronSentence", "match_neurons", "neurons_payload", "pack_neurons"]


class NeuronSentence(Protocol):
    """What the panel reads of one sentence's ``SentenceNeurons``."""

    tokens: tuple[str, ...]
    queries: np.ndarray
    keys: np.ndarray
    scale: float

    @property
    def labels(self) -> tuple[str, ...]: ...

    def products(self, layer: int, head: int, query: int) -> np.ndarray: ...

    def scores(self, layer: int, head: int, query: int) -> np.ndarray: ...


def match_neurons(
    neurons: Any,
    parses: Sequence[SentenceParse],
    keys: Sequence[str],
    model_names: Mapping[str, str],
) -> dict[str, tuple[NeuronSentence, ...]]:
    """Per model key its ``SentenceNeurons``, one per sentence, after checking their tokens.

    ``neurons`` is one ``NeuronExtraction``, a sequence of them (matched to the
    models by ``model``) or a mapping of model key to one.
    """
    out: dict[str, tuple[NeuronSentence, ...]] = {}
    for key, items in match_by_model(neurons, keys, model_names, "neurons").items():
        if len(items) > 1:
            raise ValueError(f"neurons: {len(items)} NeuronExtractions for {key!r}; give one")
        if not items:
            continue
        sentences = tuple(items[0].sentences)
        if len(sentences) != len(parses):
            raise ValueError(f"neurons of {key}: {len(sentences)} sentences for {len(parses)}")
        for i, (parse, sentence) in enumerate(zip(parses, sentences, strict=True)):
            if tuple(sentence.tokens) != tuple(parse.words):
                raise ValueError(f"neurons of {key}: sentence {i} has other tokens")
            n = len(sentence.labels)
            for name in ("queries", "keys"):
                shape = np.shape(getattr(sentence, name))
                if len(shape) != 4 or shape[2] != n:
                    raise ValueError(
                        f"neurons of {key}: sentence {i} {name} must be "
                        f"[layer, head, {n}, d_head], got {shape}"
                    )
        out[key] = sentences
    return out


def pack_neurons(
    sentence: NeuronSentence,
    layer: int,
    head: int,
    word: int,
    *,
    model: str = "",
    drop_specials: bool = False,
) -> dict[str, Any]:
    """The neuron view of one head for ``word``: query, keys, products and scores.

    With ``drop_specials`` (the explorer's "Drop specials") only the words'
    keys are shown and the softmax is taken over the words alone, as the
    attention view renormalises its rows over the words.

    Returns:
        ``{"model", "layer", "head", "word", "labels", "query" ([d_head] floats),
        "keys" and "products" (16-bit packed ``[label, d_head]``, signed), "scores"
        ([label] floats), "softmax" ([label]: the scores' softmax over the labels
        shown), "scale"}``.
    """
    n_layers, n_heads = np.shape(sentence.queries)[:2]
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise ValueError(f"layer/head must be within {n_layers}×{n_heads}, got {layer}, {head}")
    shown = len(sentence.tokens) if drop_specials else len(sentence.labels)
    query = np.asarray(sentence.queries[layer, head, word], dtype=np.float64)
    keys = np.asarray(sentence.keys[layer, head, :shown], dtype=np.float32)
    products = np.asarray(sentence.products(layer, head, word)[:shown], dtype=np.float32)
    scores = np.asarray(sentence.scores(layer, head, word)[:shown], dtype=np.float64)
    weights = np.exp(scores - scores.max())
    return {
        "model": model,
        "layer": int(layer),
        "head": int(head),
        "word": int(word),
        "labels": list(sentence.labels[:shown]),
        "query": [round(float(v), 5) for v in query],
        "keys": pack_matrix(keys).to_dict(),
        "products": pack_matrix(products).to_dict(),
        "scores": [round(float(v), 5) for v in scores],
        "softmax": [round(float(v), 6) for v in weights / weights.sum()],
        "scale": float(sentence.scale),
    }


def neurons_payload(
    sentence: int,
    word: int,
    shown: Mapping[str, tuple[NeuronSentence, LayerChoice, Any]],
    available: Sequence[str],
    *,
    drop_specials: bool = False,
) -> dict[str, Any]:
    """The explorer's ``_neurons``: which models have neurons and, for ``word``, each panel.

    Args:
        sentence: the sentence's index.
        word: the selected word, or -1 (then only ``available`` is sent).
        shown: per model key shown that has neurons, its sentence, layer and head.
        available: every model key with neurons.
        drop_specials: leave the special tokens' keys out (see :func:`pack_neurons`).

    A panel is :func:`pack_neurons`, or ``{"model", "reason"}`` while the layer or
    head is a mean (a neuron view is of one head).
    """
    panels: list[dict[str, Any]] = []
    for key, (neurons, layer, head) in shown.items():
        if not 0 <= word < len(neurons.tokens):
            continue
        if not isinstance(layer, int) or not isinstance(head, int):
            panels.append({"model": key, "reason": "choose one layer and one head"})
        else:
            panels.append(
                pack_neurons(neurons, layer, head, word, model=key, drop_specials=drop_specials)
            )
    return {
        "sentence": int(sentence),
        "word": int(word),
        "available": list(available),
        "panels": panels,
    }
