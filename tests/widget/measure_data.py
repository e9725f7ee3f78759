"""Synthetic measures and neurons for the explorer's tests: no model.

:func:`synthetic_measures` builds :class:`~trfviz.measures.MeasureExtraction`
values over the same sentences (tokens and labels) as the widget's synthetic
extractions (:func:`tests.browser.widget_data.make_document`), shaped per
measure as :data:`trfviz.measures.MEASURE_AXES` says; attributions have one signed
value per label and a convergence delta. :func:`synthetic_neurons` builds the real
:class:`~trfviz.measures.neuron.NeuronExtraction` from random queries and keys, and
:func:`synthetic_lens` a :class:`~trfviz.measures.logit_lens.LogitLens` of random guesses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from trfviz.extraction import SentenceExtraction
from trfviz.measures.logit_lens import LogitLens, SentenceLogitLens
from trfviz.measures.neuron import NeuronExtraction, SentenceNeurons
from trfviz.measures.results import MeasureExtraction, SentenceMeasure


def measure_values(
    measure: str, sentence: SentenceExtraction, rng: np.random.Generator
) -> np.ndarray:
    """Random float32 values of ``measure`` over ``sentence``'s labels."""
    assert sentence.attention is not None
    n_layers, n_heads, n, _ = sentence.attention.shape
    if measure == "norms":  # not a distribution: positive, rows of any sum
        return (rng.gamma(2.0, 1.5, size=(n_layers, n_heads, n, n))).astype(np.float32)
    rows = rng.random((n_layers, n, n)) + 1e-3
    rows /= rows.sum(axis=-1, keepdims=True)
    if measure == "rollout":
        return rows.astype(np.float32)
    if measure == "flow":
        return (rows[-1] * 3.0).astype(np.float32)
    if measure == "attributions":
        return rng.normal(size=n).astype(np.float32)
    raise ValueError(measure)


def synthetic_measures(
    extractions: Mapping[str, Sequence[SentenceExtraction]],
    measure: str,
    *,
    models: Mapping[str, str] | None = None,
    seed: int = 0,
) -> list[MeasureExtraction]:
    """One ``measure`` extraction per model key (its ``model`` from ``models``, else the key)."""
    rng = np.random.default_rng(seed)
    out = []
    for key, sentences in extractions.items():
        measured = []
        for sentence in sentences:
            fields = {
                "start": sentence.start,
                "tokens": sentence.tokens,
                "pieces": sentence.pieces,
                "alignment": sentence.alignment,
                "values": measure_values(measure, sentence, rng),
                "special_labels": sentence.special_labels,
            }
            delta = 0.004 if measure == "attributions" else None
            measured.append(SentenceMeasure(**fields, convergence_delta=delta))
        out.append(
            MeasureExtraction(
                measure=measure,  # type: ignore[arg-type]
                model=(models or {}).get(key, key),
                revision="synthetic",
                text="",
                sentences=tuple(measured),
            )
        )
    return out


def synthetic_neurons(
    key: str, sentences: Sequence[SentenceExtraction], *, d_head: int = 8, seed: int = 0
) -> NeuronExtraction:
    """Random queries and keys over each sentence's labels, shaped like its attention."""
    rng = np.random.default_rng(seed)
    out = []
    for sentence in sentences:
        assert sentence.attention is not None
        n_layers, n_heads, n, _ = sentence.attention.shape
        shape = (n_layers, n_heads, n, d_head)
        out.append(
            SentenceNeurons(
                start=sentence.start,
                tokens=sentence.tokens,
                special_labels=sentence.special_labels,
                queries=rng.normal(size=shape).astype(np.float32),
                keys=rng.normal(size=shape).astype(np.float32),
                scale=float(d_head**-0.5),
            )
        )
    return NeuronExtraction(model=key, revision="synthetic", text="", sentences=tuple(out))


#: The synthetic lens's vocabulary: spaces, a newline and markup that must stay text.
GUESSES = (" the", ",", " in", "\n", " ", "<b>", "ing", " telescope")


def synthetic_lens(
    key: str,
    sentences: Sequence[SentenceExtraction],
    *,
    n_layers: int = 4,
    k: int = 3,
    seed: int = 0,
) -> LogitLens:
    """Random guesses over each sentence's tokens: layers 0..n_layers, ids index GUESSES.

    The last token has no next word (NaN, rank -1), as a real lens's has none.
    """
    rng = np.random.default_rng(seed)
    out = []
    for sentence in sentences:
        n, layers = len(sentence.tokens), tuple(range(n_layers + 1))
        top_ids = rng.integers(0, len(GUESSES), size=(len(layers), n, k)).astype(np.int32)
        top_probs = np.sort(rng.random((len(layers), n, k)), axis=-1)[..., ::-1]
        next_ids = rng.integers(0, len(GUESSES), size=n).astype(np.int32)
        next_ids[-1] = -1
        next_prob = rng.random((len(layers), n)).astype(np.float32)
        next_prob[:, -1] = np.nan
        out.append(
            SentenceLogitLens(
                start=sentence.start,
                tokens=sentence.tokens,
                layers=layers,
                top_ids=top_ids,
                top_pieces=tuple(
                    tuple(tuple(GUESSES[i] for i in row) for row in layer) for layer in top_ids
                ),
                top_probs=top_probs.astype(np.float32),
                next_prob=next_prob,
                next_rank=np.where(
                    np.isnan(next_prob), -1, rng.integers(1, 50, size=next_prob.shape)
                ).astype(np.int32),
                next_ids=next_ids,
                next_pieces=tuple(GUESSES[i] if i >= 0 else "" for i in next_ids),
            )
        )
    return LogitLens(model=key, revision="synthetic", text="", sentences=tuple(out))
