"""attention_rollout and attention_flow on a real model, and their option checks."""

from __future__ import annotations

import numpy as np
import pytest

from tests._shared import minilm, nlp
from trfviz.measures import attention_flow, attention_rollout, flow, rollout
from trfviz.pooling import pool_attention

SHORT = "The old man the boat."


@pytest.mark.model
def test_rollout_and_flow_over_pieces_on_minilm() -> None:
    doc = nlp()(SHORT)
    rolled = attention_rollout(doc, minilm(), keep_pieces=True)
    flowed = attention_flow(doc, minilm(), keep_pieces=True)
    (r,) = rolled.sentences
    (f,) = flowed.sentences
    assert rolled.axes == ("layer", "query", "key") and flowed.axes == ("query", "key")
    assert r.values.shape == (6, 8, 8) and f.values.shape == (8, 8)
    np.testing.assert_allclose(r.values.sum(axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(f.values.sum(axis=-1), 1.0, rtol=1e-5)
    # Computed over pieces, then pooled like attention.
    assert r.piece_values is not None and f.piece_values is not None
    np.testing.assert_allclose(
        r.values, pool_attention(r.piece_values, r.alignment), rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        f.values, pool_attention(f.piece_values, f.alignment), rtol=1e-6, atol=1e-7
    )
    assert dict(rolled.options)["over"] == "pieces"


@pytest.mark.model
def test_over_tokens_rolls_out_the_pooled_attention() -> None:
    import trfviz

    doc = nlp()("Tokenization helps.")
    pooled = trfviz.extract(doc, minilm(), states=False).sentences[0].attention
    assert pooled is not None
    result = attention_rollout(doc, minilm(), over="tokens").sentences[0]
    np.testing.assert_allclose(result.values, rollout(pooled), rtol=1e-5, atol=1e-7)
    by_pieces = attention_rollout(doc, minilm()).sentences[0]
    np.testing.assert_allclose(by_pieces.values.sum(axis=-1), 1.0, rtol=1e-5)
    # A split word makes the two orders differ.
    assert not np.allclose(result.values, by_pieces.values, atol=1e-4)
    flowed = attention_flow(doc, minilm(), over="tokens").sentences[0]
    np.testing.assert_allclose(flowed.values, flow(pooled), rtol=1e-4, atol=1e-6)


@pytest.mark.model
def test_flow_size_guard_names_the_limit_before_running() -> None:
    doc = nlp()(SHORT)  # 8 pieces x 6 layers = 48 nodes
    with pytest.raises(ValueError, match=r"max_nodes=40.*rollout"):
        attention_flow(doc, minilm(), max_nodes=40)


@pytest.mark.model
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"over": "words"}, ValueError),
        ({"heads": "median"}, ValueError),
        ({"query_pooling": "last"}, ValueError),
        ({"keep_pieces": "yes"}, TypeError),
    ],
)
def test_bad_options(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        attention_rollout(nlp()(SHORT), minilm(), **kwargs)  # type: ignore[arg-type]


def test_bad_doc_and_model() -> None:
    from trfviz.measures import attention_norms

    with pytest.raises(TypeError):
        attention_norms("not a doc", "x")  # type: ignore[arg-type]
    import spacy

    with pytest.raises(TypeError, match="model must be"):
        attention_norms(spacy.blank("en")("Hi"), 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        attention_norms(spacy.blank("en")(" "), "x")


@pytest.mark.model
def test_long_sentences_are_truncated_with_a_warning() -> None:
    from trfviz.measures import attention_norms

    doc = nlp()(SHORT)
    with pytest.warns(UserWarning, match="truncated"):
        norms = attention_norms(doc, minilm(), max_length=4).sentences[0]
    assert norms.truncated and norms.alignment.missing.tolist() == [0, 0, 1, 1, 1, 1]
    assert norms.values.shape == (6, 12, 8, 8)
    assert not norms.values[..., 2:6, :].any() and not norms.values[..., 2:6].any()
    with pytest.warns(UserWarning, match="truncated") as caught:
        rolled = attention_rollout(doc, minilm(), over="tokens", max_length=4).sentences[0]
    assert len(caught) == 1  # once, not again from the extraction underneath
    np.testing.assert_allclose(rolled.values[:, :2].sum(axis=-1), 1.0, rtol=1e-5)
