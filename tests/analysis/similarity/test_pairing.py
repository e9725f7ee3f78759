"""The two-model reducers follow the corpus protocol: a mapping of models, or two extractions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.factories import random_attention, synthetic_extraction, synthetic_sentence
from trfviz.analysis.corpus import Reducer
from trfviz.analysis.similarity import HeadSimilarity, LayerCKA


def sentence_pairs(seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    pairs = []
    for n in (4, 6, 3):
        words = tuple(f"t{i}" for i in range(n))
        a = synthetic_sentence(
            random_attention(rng, 2, 2, n + 1),
            rng.normal(size=(3, n, 4)),
            words=words,
            specials=("[CLS]",),
        )
        b = synthetic_sentence(
            random_attention(rng, 1, 3, n), rng.normal(size=(2, n, 5)), words=words
        )
        pairs.append((a, b))
    return pairs


@pytest.mark.parametrize("kind", [HeadSimilarity, LayerCKA])
def test_a_mapping_of_models_gives_what_the_two_extractions_give(kind) -> None:
    pairs = sentence_pairs(0)
    direct = kind(model_a="A", model_b="B")
    by_name = kind(model_a="A", model_b="B")
    named_by_mapping = kind()
    assert isinstance(by_name, Reducer)
    for a, b in pairs:
        direct.update(a, b)
        # A third model in the mapping is ignored; the order of the mapping does not matter.
        by_name.update({"C": a, "B": b, "A": a}, None)
        named_by_mapping.update({"A": a, "B": b})
    pd.testing.assert_frame_equal(by_name.result(), direct.result())
    pd.testing.assert_frame_equal(named_by_mapping.result(), direct.result())
    assert by_name.n_sentences == len(pairs)


@pytest.mark.parametrize("kind", [HeadSimilarity, LayerCKA])
def test_whole_extractions_lend_their_model_names(kind) -> None:
    pairs = sentence_pairs(1)
    reducer = kind()
    reducer.update(
        synthetic_extraction([a for a, _ in pairs], model="m/a"),
        synthetic_extraction([b for _, b in pairs], model="m/b"),
    )
    table = reducer.result()
    assert (table.model_a.unique().tolist(), table.model_b.unique().tolist()) == (["m/a"], ["m/b"])


def test_a_mapping_without_the_named_models_is_refused() -> None:
    a, b = sentence_pairs(2)[0]
    with pytest.raises(
        ValueError,
        match=(
            r"model_a=None and model_b=None, but the sentence's models are \['x', 'y', 'z'\]; "
            r"make it as HeadSimilarity\(model_a="
        ),
    ):
        HeadSimilarity().update({"x": a, "y": b, "z": b}, None)
    with pytest.raises(
        ValueError, match=r"model_b='B', but the sentence's models are \['A', 'x'\]"
    ):
        LayerCKA(model_a="A", model_b="B").update({"A": a, "x": b}, None)
    with pytest.raises(TypeError, match="takes a mapping of model names"):
        HeadSimilarity().update(a, "not an extraction")  # type: ignore[arg-type]
