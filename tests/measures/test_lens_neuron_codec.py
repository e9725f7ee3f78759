"""The logit lens and the neuron view survive spaCy's serialization (srsly msgpack), bit for bit.

Built by hand (no model): every field of every class goes through
``srsly.msgpack_dumps`` / ``msgpack_loads`` as ``Doc.user_data`` does, and comes
back equal, arrays to the bit (NaN, -1 and -0.0 included).
"""

from __future__ import annotations

import numpy as np
import srsly

import trfviz  # noqa: F401  (registers the codec)
from tests.factories import assert_same_data
from trfviz.measures import LogitLens, NeuronExtraction, SentenceLogitLens, SentenceNeurons


def _round_trip(value: object) -> object:
    return srsly.msgpack_loads(srsly.msgpack_dumps({"x": value}))["x"]


def test_the_logit_lens_round_trips() -> None:
    rng = np.random.default_rng(0)
    layers, tokens, k = 3, 4, 2
    probs = rng.random((layers, tokens, k)).astype(np.float32)
    probs[:, -1] = np.nan  # a token past the limit
    next_prob = rng.random((layers, tokens)).astype(np.float32)
    next_prob[:, -1] = np.nan  # the last token has no next word
    sentence = SentenceLogitLens(
        start=2,
        tokens=("The", "horse", "raced", "."),
        layers=(0, 1, 2),
        top_ids=rng.integers(0, 100, (layers, tokens, k)).astype(np.int32),
        top_pieces=tuple(
            tuple(tuple(f" p{a}{b}{c}" for c in range(k)) for b in range(tokens))
            for a in range(layers)
        ),
        top_probs=probs,
        next_prob=next_prob,
        next_rank=np.full((layers, tokens), -1, dtype=np.int32),
        next_ids=np.array([5, 6, 7, -1], dtype=np.int32),
        next_pieces=(" horse", " raced", ".", ""),
        truncated=True,
    )
    lens = LogitLens(model="m", revision="r", text="x The horse raced.", sentences=(sentence,))
    assert_same_data(lens, _round_trip(lens))


def test_the_neuron_view_round_trips() -> None:
    rng = np.random.default_rng(1)
    shape = (2, 3, 5, 4)
    queries = rng.normal(size=shape).astype(np.float32)
    queries[0, 0, 0, 0] = -0.0
    sentence = SentenceNeurons(
        start=0,
        tokens=("a", "b", "c"),
        special_labels=("[CLS]", "[SEP]"),
        queries=queries,
        keys=rng.normal(size=shape).astype(np.float32),
        scale=0.5,
    )
    neurons = NeuronExtraction(model="m", revision="r", text="a b c", sentences=(sentence,))
    back = _round_trip(neurons)
    assert_same_data(neurons, back)
    assert isinstance(back, NeuronExtraction)
    np.testing.assert_array_equal(back.sentences[0].scores(1, 2, 3), sentence.scores(1, 2, 3))
