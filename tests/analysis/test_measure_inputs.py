"""Head analyses on measures: norms, rollout and flow read where attention is read.

Known answers on synthetic values (a head whose norms peak at the gold head; norms
that are attention scaled per row, which the similarity compares as identical),
and one run on MiniLM's real norms beside its weights.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analysis.syntax.test_relations import make_parse, random_tree, rows
from tests.factories import random_attention, synthetic_extraction, synthetic_sentence
from trfviz.analysis import as_attention, compare_heads, score_dependency_heads
from trfviz.analysis.similarity import HeadSimilarity
from trfviz.measures import MEASURE_AXES, MeasureExtraction, SentenceMeasure

DH, HD = "dependent->head", "head->dependent"
SPECIALS = ("[CLS]", "[SEP]")


def _measure(kind: str, values: list[np.ndarray], n_words: list[int]) -> MeasureExtraction:
    sentences, start = [], 0
    for array, n in zip(values, n_words, strict=True):
        base = synthetic_sentence(n_tokens=n, specials=SPECIALS, start=start)
        sentences.append(
            SentenceMeasure(
                start=start,
                tokens=base.tokens,
                pieces=base.pieces,
                alignment=base.alignment,
                values=np.asarray(array, dtype=np.float32),
                special_labels=SPECIALS,
            )
        )
        start += n
    return MeasureExtraction(
        measure=kind,  # type: ignore[arg-type]
        model="toy",
        revision="r",
        text=" ".join(t for s in sentences for t in s.tokens),
        sentences=tuple(sentences),
        options=(("query_pooling", "first"), ("special_tokens", "keep")),
    )


@pytest.mark.parametrize(
    ("kind", "shape", "expected"),
    [
        ("norms", (2, 3, 5, 5), (2, 3, 5, 5)),
        ("rollout", (2, 5, 5), (2, 1, 5, 5)),
        ("flow", (5, 5), (1, 1, 5, 5)),
    ],
)
def test_each_measure_reads_as_layer_head_query_key(
    kind: str, shape: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    extraction = as_attention(_measure(kind, [values], [3]))
    attention = extraction.sentences[0].attention
    assert attention is not None and attention.shape == expected
    np.testing.assert_array_equal(attention.reshape(shape), values)  # the same numbers
    assert (extraction.n_layers, extraction.n_heads) == expected[:2]
    assert extraction.options.query_pooling == "first" and not extraction.options.states
    assert extraction.sentences[0].labels == ("w0", "w1", "w2", *SPECIALS)


def test_attributions_are_refused_with_where_they_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MEASURE_AXES, "attributions", ("label",))
    with pytest.raises(ValueError, match="measure_region_attribution"):
        as_attention(_measure("attributions", [np.zeros(5)], [3]))
    with pytest.raises(TypeError, match="MeasureExtraction"):
        as_attention("norms")  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 10))
def test_a_head_whose_norms_peak_at_the_gold_head_scores_one(seed: int, n: int) -> None:
    """Norms are not distributions: rows of any size, yet layer 1 head 2 names every gold head."""
    rng = np.random.default_rng(seed)
    heads = random_tree(rng, n)
    labels = [str(rng.choice(["nsubj", "obj", "det"])) for _ in range(n)]
    norms = rng.uniform(0.0, 1.0, size=(2, 3, n + 2, n + 2))
    for dependent, head in enumerate(heads):
        if head >= 0:
            norms[1, 2, dependent, head] = 1.5
    scale = rng.uniform(0.1, 50.0, size=(2, 3, n + 2, 1))  # per-row output size
    measure = _measure("norms", [norms * scale], [n])
    parse = make_parse(heads, labels)
    table = score_dependency_heads([measure], [[parse]])
    best = rows(table, relation="all", direction=DH, layer=1, head=2)
    assert best["accuracy"].item() == 1.0
    # Dependent->head predictions read each row's argmax: no row scale changes them.
    unscaled = score_dependency_heads([_measure("norms", [norms], [n])], [[parse]])
    dh = table.direction == DH
    np.testing.assert_array_equal(table[dh].correct, unscaled[unscaled.direction == DH].correct)


def test_norms_and_weights_give_separate_tables_from_one_parse() -> None:
    rng = np.random.default_rng(3)
    heads, labels = [1, -1, 1, 2], ["det", "root", "obj", "det"]
    weights = random_attention(rng, 2, 3, 6)
    norms = np.zeros((2, 3, 6, 6))
    norms[..., [0, 2, 3], [1, 1, 2]] = 1.0  # every head of the norms names the gold heads
    extraction = synthetic_extraction(
        [synthetic_sentence(weights, n_tokens=4, specials=SPECIALS)], model="toy"
    )
    by_norms = score_dependency_heads(
        [_measure("norms", [norms], [4])], [[make_parse(heads, labels)]]
    )
    by_weights = score_dependency_heads([extraction], [[make_parse(heads, labels)]])
    assert (rows(by_norms, relation="all", direction=DH).accuracy == 1.0).all()
    assert not (rows(by_weights, relation="all", direction=DH).accuracy == 1.0).all()
    assert by_norms.shape == by_weights.shape


def test_norms_that_are_weights_scaled_per_row_compare_as_identical() -> None:
    """Similarity renormalises rows, so per-row scaled weights are the weights: JS 0, all agree."""
    rng = np.random.default_rng(0)
    sizes = [5, 7]
    weights = [random_attention(rng, 2, 2, n + 2) for n in sizes]
    norms = [w * rng.uniform(0.5, 20.0, size=(2, 2, w.shape[-1], 1)) for w in weights]
    for array in norms:
        array[..., -2:] = rng.uniform(0, 100, size=array[..., -2:].shape)  # specials: ignored
    extraction = synthetic_extraction(
        [
            synthetic_sentence(w, n_tokens=n, specials=SPECIALS)
            for w, n in zip(weights, sizes, strict=True)
        ],
        model="toy",
    )
    table = compare_heads(_measure("norms", norms, sizes), extraction, model_a="norms")
    same = table[(table.layer_a == table.layer_b) & (table.head_a == table.head_b)]
    assert len(same) == 4 and (table.model_a == "norms").all() and (table.model_b == "toy").all()
    np.testing.assert_allclose(same.js_divergence, 0.0, atol=1e-6)
    np.testing.assert_allclose(same[["argmax_agreement", "topk_overlap"]], 1.0)
    np.testing.assert_allclose(same.correlation, 1.0, atol=1e-5)
    # The streaming reducer takes measures too, and gives the same table.
    reducer = HeadSimilarity(model_a="norms")
    reducer.update(_measure("norms", norms, sizes), extraction)
    np.testing.assert_allclose(reducer.result().js_divergence, table.js_divergence)


@pytest.mark.model
def test_minilm_norms_and_weights_on_a_real_parse() -> None:
    import trfviz
    from tests._shared import minilm, nlp
    from trfviz.measures import attention_norms

    doc = nlp()("The old man the boat. The dog that chased the cat barked at the mailman.")
    weights = trfviz.extract(doc, minilm(), states=False)
    norms = attention_norms(doc, minilm())
    by_weights = score_dependency_heads([weights], [doc])
    by_norms = score_dependency_heads([norms], [doc])
    assert by_norms.shape == by_weights.shape
    assert set(by_norms.layer) == set(range(6)) and set(by_norms["head"]) == set(range(12))
    assert by_norms.accuracy.between(0, 1).all()
    assert (by_norms.n == by_weights.n).all()  # the same arcs scored
    similarity = compare_heads(norms, weights, model_a="norms", model_b="weights")
    assert len(similarity) == 72 * 72
    itself = compare_heads(norms, norms)
    same = itself[(itself.layer_a == itself.layer_b) & (itself.head_a == itself.head_b)]
    np.testing.assert_allclose(same.js_divergence, 0.0, atol=1e-6)
    matched = similarity[
        (similarity.layer_a == similarity.layer_b) & (similarity.head_a == similarity.head_b)
    ]
    assert matched.js_divergence.between(0, np.log(2)).all()
