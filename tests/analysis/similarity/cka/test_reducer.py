"""Streaming layer CKA (LayerCKA): against the plain reference, merges, samples, layers, pickles."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analysis.similarity.cka.test_kernels import (
    STREAMED,
    VARIANTS,
    ref_cka,
)
from tests.factories import synthetic_sentence
from trfviz.analysis import LayerCKA, compare_layers_cka, compute_cka, linear_cka

# -- against the reference ----------------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "features", "debiased"), VARIANTS)
def test_layer_cka_matches_the_reference_for_every_variant(kernel, features, debiased) -> None:
    rng = np.random.default_rng(3)
    lengths = [5, 7, 4, 6]
    states_a = [rng.normal(size=(2, n, 4)).astype(np.float32) for n in lengths]
    states_b = [
        np.concatenate([s[:, :, :3] * 2 + rng.normal(size=(2, len(s[0]), 3)), s[:, :, :3]], -1)
        for s in states_a
    ]
    states_b = [s.astype(np.float32) for s in states_b]
    sentences_a = [synthetic_sentence(states=s) for s in states_a]
    sentences_b = [synthetic_sentence(states=s) for s in states_b]
    table = compare_layers_cka(
        sentences_a, sentences_b, kernel=kernel, features=features, debiased=debiased
    )
    x = np.concatenate(states_a, axis=1).astype(np.float64)
    y = np.concatenate(states_b, axis=1).astype(np.float64)
    assert len(table) == 4
    for row in table.itertuples():
        expected = ref_cka(x[row.layer_a], y[row.layer_b], kernel, features, debiased)
        assert row.cka == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert set(table["n_examples"]) == set(table["n_tokens"]) == {sum(lengths)}
    assert (table["kernel"] == kernel).all() and (table["features"] == features).all()
    assert (table["debiased"] == debiased).all()


# -- streaming and sampling ---------------------------------------------------------------------


def corpus(seed: int, n_sentences: int = 10) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    a, b = [], []
    for i in range(n_sentences):
        n = int(rng.integers(2, 7))
        words = tuple(f"s{i}w{j}" for j in range(n))
        x = rng.normal(size=(3, n, 4)).astype(np.float32)
        y = np.concatenate([x[:2] @ rng.normal(size=(4, 5)), rng.normal(size=(1, n, 5))])
        a.append(synthetic_sentence(states=x, words=words))
        b.append(synthetic_sentence(states=y.astype(np.float32), words=words))
    return a, b


def run(pairs, **options) -> LayerCKA:
    reducer = LayerCKA(chunk_tokens=3, **options)
    for sa, sb in pairs:
        reducer.update(sa, sb)
    return reducer


@pytest.mark.parametrize(("kernel", "features", "debiased"), VARIANTS)
@pytest.mark.parametrize("max_tokens", [1000, 12])
def test_merging_two_halves_equals_one_pass(kernel, features, debiased, max_tokens) -> None:
    a, b = corpus(11)
    pairs = list(zip(a, b, strict=True))
    options = {"kernel": kernel, "features": features, "debiased": debiased}
    options["max_tokens"] = max_tokens
    whole = run(pairs, **options).result()
    left, right = run(pairs[:4], **options), run(pairs[4:], **options)
    merged = pickle.loads(pickle.dumps(right)).merge(left).result()  # other order, pickled
    np.testing.assert_allclose(merged["cka"], whole["cka"], rtol=1e-9, atol=1e-12)
    assert merged["n_tokens"].iloc[0] == whole["n_tokens"].iloc[0]
    streamed = (kernel, features, debiased) in STREAMED
    assert whole["n_examples"].iloc[0] == (
        whole["n_tokens"].iloc[0] if streamed else min(max_tokens, whole["n_tokens"].iloc[0])
    )


def test_the_sample_is_seeded_and_independent_of_sentence_order() -> None:
    a, b = corpus(12, n_sentences=12)
    pairs = list(zip(a, b, strict=True))
    forward = run(pairs, kernel="rbf", max_tokens=15).result()
    backward = run(pairs[::-1], kernel="rbf", max_tokens=15).result()
    other_seed = run(pairs, kernel="rbf", max_tokens=15, seed=1).result()
    np.testing.assert_allclose(forward["cka"], backward["cka"], rtol=1e-9)
    assert not np.allclose(forward["cka"], other_seed["cka"])
    assert forward["n_examples"].iloc[0] == 15 < forward["n_tokens"].iloc[0]


@pytest.mark.parametrize("features", ["standardized", "trimmed"])
def test_streamed_feature_transforms_equal_the_in_memory_ones(features) -> None:
    a, b = corpus(13)
    table = compare_layers_cka(a, b, features=features, trim_dims=2)
    x = np.concatenate([s.states for s in a], axis=1)
    y = np.concatenate([s.states for s in b], axis=1)
    for row in table.itertuples():
        expected = ref_cka(x[row.layer_a], y[row.layer_b], "linear", features, trim_dims=2)
        assert row.cka == pytest.approx(expected, rel=1e-6)


def test_reducers_pickled_before_the_variants_still_load() -> None:
    a, b = corpus(14)
    reducer = run(zip(a, b, strict=True))
    state = reducer.__getstate__()
    for name in ("kernel", "features", "debiased", "sigma", "trim_dims", "clip_quantile"):
        del state[name]
    for name in ("max_tokens", "seed", "streams", "_priority", "_sample_a", "_sample_b"):
        del state[name]
    old = LayerCKA.__new__(LayerCKA)
    old.__setstate__(state)
    np.testing.assert_allclose(old.result()["cka"], reducer.result()["cka"])


def test_bad_options_are_refused_clearly() -> None:
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="kernel must be one of"):
        compute_cka(x, x, kernel="cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="features must be one of"):
        LayerCKA(features="whitened")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trim_dims"):
        LayerCKA(features="trimmed", trim_dims=-1)
    with pytest.raises(ValueError, match="clip_quantile"):
        LayerCKA(clip_quantile=0.5)
    with pytest.raises(ValueError, match="sigma"):
        LayerCKA(kernel="rbf", sigma=0)
    with pytest.raises(TypeError, match="debiased"):
        LayerCKA(debiased="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tokens"):
        LayerCKA(debiased=True, max_tokens=3)
    with pytest.raises(ValueError, match="at least 4 examples"):
        compute_cka(np.eye(3), np.eye(3), debiased=True)
    with pytest.raises(ValueError, match="median squared distance"):
        compute_cka(np.zeros((5, 2)), np.eye(5), kernel="rbf")
    with pytest.raises(ValueError, match="different settings"):
        LayerCKA(kernel="rbf").merge(LayerCKA())
    with pytest.raises(ValueError, match="at least 4 tokens"):
        a, b = corpus(1, n_sentences=1)
        compare_layers_cka(a[:1], b[:1], debiased=True, skip_initial=10)


# -- linear CKA ---------------------------------------------------------------------------------


def test_linear_cka_hand_case() -> None:
    # x = (1, 2, 3), y = (1, 3, 2) as one-feature columns: CKA is their squared correlation.
    x = np.array([[1.0], [2.0], [3.0]])
    y = np.array([[1.0], [3.0], [2.0]])
    assert linear_cka(x, y) == pytest.approx(np.corrcoef(x[:, 0], y[:, 0])[0, 1] ** 2)
    assert linear_cka(x, x) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(6, 30),
    p=st.integers(1, 6),
    scale=st.floats(0.01, 100.0),
    shift=st.floats(-50.0, 50.0),
)
def test_cka_is_one_with_itself_and_invariant_to_rotation_and_scale(
    seed: int, n: int, p: int, scale: float, shift: float
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    y = rng.normal(size=(n, p + 1)) + x.sum(1, keepdims=True)
    rotation, _ = np.linalg.qr(rng.normal(size=(p, p)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, scale * x @ rotation + shift) == pytest.approx(1.0)
    base = linear_cka(x, y)
    assert 0.0 <= base <= 1.0 + 1e-12
    assert linear_cka(scale * x @ rotation + shift, y) == pytest.approx(base, rel=1e-6, abs=1e-12)
    assert linear_cka(y, x) == pytest.approx(base)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    lengths=st.lists(st.integers(1, 6), min_size=2, max_size=6),
    chunk=st.integers(1, 12),
    split=st.integers(0, 6),
)
def test_streaming_cka_equals_cka_of_all_tokens(
    seed: int, lengths: list[int], chunk: int, split: int
) -> None:
    rng = np.random.default_rng(seed)
    # Large, uneven means: the centred updates must not lose precision to them.
    offset = np.array([1e4, -3e3, 5.0, 0.0])
    sa = [
        synthetic_sentence(None, (rng.normal(size=(3, n, 4)) + offset).astype(np.float32))
        for n in lengths
    ]
    sb = [synthetic_sentence(None, rng.normal(size=(2, n, 5)).astype(np.float32)) for n in lengths]
    x = np.concatenate([s.states for s in sa], axis=1).astype(np.float64)
    y = np.concatenate([s.states for s in sb], axis=1).astype(np.float64)
    expected = np.array([[linear_cka(x[i], y[j]) for j in range(2)] for i in range(3)])
    split = min(split, len(lengths))
    left, right = LayerCKA(chunk_tokens=chunk), LayerCKA(chunk_tokens=chunk)
    for a, b in zip(sa[:split], sb[:split], strict=True):
        left.update(a, b)
    for a, b in zip(sa[split:], sb[split:], strict=True):
        right.update(a, b)
    merged = pickle.loads(pickle.dumps(left)).merge(right)
    got = merged.result()
    assert got["n_tokens"].iloc[0] == sum(lengths)
    np.testing.assert_allclose(got["cka"].to_numpy().reshape(3, 2), expected, rtol=1e-6, atol=1e-9)


def test_cka_skips_missing_tokens_and_selects_layers() -> None:
    rng = np.random.default_rng(12)
    states_a = rng.normal(size=(3, 6, 4)).astype(np.float32)
    states_b = rng.normal(size=(4, 6, 3)).astype(np.float32)
    states_b[:, 1] = 0.0
    a = synthetic_sentence(None, states_a)
    b = synthetic_sentence(None, states_b, missing=(1,))
    table = compare_layers_cka([a], [b], layers_a=[0, -1], layers_b=[2])
    assert table["layer_a"].tolist() == [0, 2]
    assert table["layer_b"].tolist() == [2, 2]
    assert (table["n_tokens"] == 5).all()
    keep = [0, 2, 3, 4, 5]
    for row in table.itertuples():
        expected = linear_cka(states_a[row.layer_a][keep], states_b[row.layer_b][keep])
        assert row.cka == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        compare_layers_cka([a], [b], layers_a=[3])


def test_bad_layer_indices_get_one_error_naming_them() -> None:
    rng = np.random.default_rng(13)
    a = synthetic_sentence(None, rng.normal(size=(3, 5, 4)).astype(np.float32))
    b = synthetic_sentence(None, rng.normal(size=(4, 5, 3)).astype(np.float32))
    message = r"layers_a: \[3, -4\] out of range for 3 hidden-state layers \(0 = embeddings \.\. 2"
    with pytest.raises(ValueError, match=message):
        compare_layers_cka([a], [b], layers_a=[0, 3, -4, 1])
    with pytest.raises(ValueError, match=r"layers_b: \[4\] out of range for 4"):
        compare_layers_cka([a], [b], layers_b=[4])
    with pytest.raises(ValueError, match="layers_b names a layer twice"):
        compare_layers_cka([a], [b], layers_b=[3, -1])
    with pytest.raises(ValueError, match="layers_a is empty"):
        compare_layers_cka([a], [b], layers_a=[])
    with pytest.raises(TypeError, match="integer layer indices"):
        LayerCKA(layers_a=[1.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="sequence of layer indices"):
        LayerCKA(layers_b=3)  # type: ignore[arg-type]
    assert compare_layers_cka([a], [b], layers_a=[np.int64(-1)])["layer_a"].tolist() == [2] * 4


def test_cka_can_leave_out_each_sentences_first_tokens() -> None:
    rng = np.random.default_rng(15)
    sa = [
        synthetic_sentence(None, rng.normal(size=(2, n, 3)).astype(np.float32)) for n in (4, 1, 6)
    ]
    sb = [
        synthetic_sentence(None, rng.normal(size=(2, n, 5)).astype(np.float32)) for n in (4, 1, 6)
    ]
    for s in sa:  # a massive first-position activation, as in causal language models
        s.states[:, 0] += 1e3
    table = compare_layers_cka(sa, sb, skip_initial=1)
    assert (table["n_tokens"] == 3 + 0 + 5).all()
    x = np.concatenate([s.states[:, 1:] for s in sa], axis=1)
    y = np.concatenate([s.states[:, 1:] for s in sb], axis=1)
    for row in table.itertuples():
        assert row.cka == pytest.approx(linear_cka(x[row.layer_a], y[row.layer_b]), rel=1e-6)
    with pytest.raises(ValueError, match="skip_initial"):
        LayerCKA(skip_initial=1).merge(LayerCKA())


def test_cka_merge_is_in_place_and_leaves_the_other_alone() -> None:
    rng = np.random.default_rng(16)
    a = synthetic_sentence(None, rng.normal(size=(2, 5, 3)).astype(np.float32))
    b = synthetic_sentence(None, rng.normal(size=(2, 5, 4)).astype(np.float32))
    empty, full = LayerCKA(model_a="A"), LayerCKA(chunk_tokens=100)
    full.update(a, b)  # still buffered
    reference = LayerCKA()
    reference.update(a, b)
    before = reference.result()
    assert empty.merge(full) is empty
    assert empty.model_a == "A" and full.model_a is None
    assert empty.result()["cka"].tolist() == pytest.approx(before["cka"].tolist())
    empty.merge(full)  # the same tokens twice: CKA is unchanged, the count doubles
    twice = empty.result()
    assert twice["cka"].tolist() == pytest.approx(before["cka"].tolist())
    assert (twice["n_tokens"] == 10).all()
    pd.testing.assert_frame_equal(full.result(), before)


def test_cka_of_a_model_with_itself_has_a_unit_diagonal() -> None:
    rng = np.random.default_rng(13)
    sentences = [
        synthetic_sentence(None, rng.normal(size=(4, n, 3)).astype(np.float32)) for n in (5, 7)
    ]
    table = compare_layers_cka(sentences, sentences)
    diagonal = table[table["layer_a"] == table["layer_b"]]["cka"]
    np.testing.assert_allclose(diagonal, 1.0, rtol=1e-9)
    assert table["cka"].between(0, 1 + 1e-9).all()
