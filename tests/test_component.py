"""The spaCy component: results on the Doc, doc.tensor, vector and similarity hooks."""

from __future__ import annotations

import numpy as np
import pytest
import spacy

import trfviz
from tests._shared import MINILM, SMOLLM, minilm, nlp

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def pipeline() -> spacy.language.Language:
    pipe = trfviz.load_pipeline("en_core_web_sm")
    pipe.add_pipe("trfviz", config={"model": MINILM, "key": "minilm"})
    pipe.add_pipe("trfviz", name="trfviz_smol", config={"model": SMOLLM, "set_vectors": False})
    return pipe


def test_results_for_several_models_are_kept_by_key(pipeline) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline("The old man the boat. I saw it.")
    assert set(doc._.trfviz) == {"minilm", SMOLLM}
    direct = trfviz.extract(nlp()(doc.text), minilm())
    stored = doc._.trfviz["minilm"]
    assert stored.n_tokens == len(doc) == doc._.trfviz[SMOLLM].n_tokens
    for a, b in zip(stored.sentences, direct.sentences, strict=True):
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)  # type: ignore[arg-type]


def test_tensor_and_vectors_come_from_the_last_layer(pipeline) -> None:  # type: ignore[no-untyped-def]
    doc = pipeline("The old man the boat.")
    last = doc._.trfviz["minilm"].token_states(-1)
    assert doc.tensor.shape == (len(doc), 384)
    np.testing.assert_allclose(doc.tensor, last)
    np.testing.assert_allclose(doc[2].vector, last[2])
    np.testing.assert_allclose(doc[1:3].vector, last[1:3].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(doc.vector, last.mean(axis=0), rtol=1e-6)
    assert doc[0].has_vector and doc.has_vector


def test_similarity_uses_the_transformer(pipeline) -> None:  # type: ignore[no-untyped-def]
    a = pipeline("The cat sat on the mat.")
    b = pipeline("A kitten was sitting on the rug.")
    c = pipeline("Quarterly revenue exceeded expectations.")
    assert a.similarity(a) == pytest.approx(1.0, abs=1e-5)
    assert a.similarity(b) > a.similarity(c)
    assert -1.0 <= a[1].similarity(b[1]) <= 1.0
    assert a[0:3].similarity(a[0:3]) == pytest.approx(1.0, abs=1e-5)


def test_pipe_streams_many_docs(pipeline) -> None:  # type: ignore[no-untyped-def]
    texts = [f"Sentence number {i} is here." for i in range(5)]
    docs = list(pipeline.pipe(texts, batch_size=2))
    assert [d.text for d in docs] == texts
    assert all(d._.trfviz["minilm"].n_tokens == len(d) for d in docs)


def test_component_validates_its_config() -> None:
    pipe = spacy.blank("en")
    with pytest.raises(ValueError, match="set_vectors"):
        pipe.add_pipe("trfviz", config={"states": False})
