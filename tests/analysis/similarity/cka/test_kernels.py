"""In-memory CKA variants: plain O(n^2) HSIC references, hand cases, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trfviz.analysis import compute_cka, linear_cka
from trfviz.analysis.similarity.cka import center_gram, cka_from_grams, gram_rbf, prepare_features

VARIANTS = [
    (kernel, features, debiased)
    for kernel in ("linear", "rbf")
    for features in ("raw", "standardized", "trimmed", "clipped")
    for debiased in (False, True)
]
STREAMED = [("linear", f, False) for f in ("raw", "standardized", "trimmed")]
SAMPLED = [v for v in VARIANTS if v not in STREAMED]


# -- the reference, written plainly from the papers ---------------------------------------------


def ref_features(x: np.ndarray, features: str, trim_dims: int = 1, q: float = 0.01) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    if features == "standardized":
        sd = x.std(axis=0)
        x = (x[:, sd > 0] - x[:, sd > 0].mean(axis=0)) / sd[sd > 0]
    elif features == "trimmed":
        variances = x.var(axis=0)
        drop = sorted(range(x.shape[1]), key=lambda j: (-variances[j], j))[:trim_dims]
        x = x[:, [j for j in range(x.shape[1]) if j not in drop]]
    elif features == "clipped":
        for j in range(x.shape[1]):
            low, high = np.percentile(x[:, j], [100 * q, 100 * (1 - q)])
            x[:, j] = np.minimum(np.maximum(x[:, j], low), high)
    return x


def ref_gram(x: np.ndarray, kernel: str, sigma: float = 0.8) -> np.ndarray:
    n = len(x)
    if kernel == "linear":
        return np.array([[float(x[i] @ x[j]) for j in range(n)] for i in range(n)])
    d = np.array([[float(((x[i] - x[j]) ** 2).sum()) for j in range(n)] for i in range(n)])
    bandwidth = sigma**2 * np.median(d)  # Kornblith et al.: sigma as a fraction of the median
    return np.exp(-d / (2 * bandwidth))


def ref_hsic(k: np.ndarray, ell: np.ndarray, *, unbiased: bool) -> float:
    n = len(k)
    if not unbiased:  # Gretton et al. 2005: tr(K H L H) / (n - 1)^2
        h = np.eye(n) - np.ones((n, n)) / n
        return float(np.trace(k @ h @ ell @ h)) / (n - 1) ** 2
    # Song et al. 2012, eq. (5): K~, L~ are K, L with zero diagonals.
    kt, lt = k - np.diag(np.diag(k)), ell - np.diag(np.diag(ell))
    one = np.ones(n)
    value = (
        np.trace(kt @ lt)
        + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ kt @ lt @ one)
    )
    return float(value) / (n * (n - 3))


def ref_cka(x, y, kernel="linear", features="raw", debiased=False, **options) -> float:
    k = ref_gram(ref_features(x, features, **options), kernel)
    ell = ref_gram(ref_features(y, features, **options), kernel)
    hsic = ref_hsic(k, ell, unbiased=debiased)
    return hsic / np.sqrt(ref_hsic(k, k, unbiased=debiased) * ref_hsic(ell, ell, unbiased=debiased))


def related_pair(rng: np.random.Generator, n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(n, 5)) * np.array([3.0, 1.0, 1.0, 0.5, 0.2]) + 4.0
    y = np.column_stack([x[:, :3] @ rng.normal(size=(3, 3)), rng.normal(size=(n, 2))])
    return x, y


# -- against the reference ----------------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "features", "debiased"), VARIANTS)
def test_every_variant_matches_the_plain_hsic_reference(kernel, features, debiased) -> None:
    rng = np.random.default_rng(7)
    x, y = related_pair(rng)
    expected = ref_cka(x, y, kernel, features, debiased)
    got = compute_cka(x, y, kernel=kernel, features=features, debiased=debiased)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert 0.05 < abs(got) < 0.99  # a case where the variants have something to measure


def test_gram_helpers_match_the_reference() -> None:
    x = np.random.default_rng(1).normal(size=(9, 3))
    np.testing.assert_allclose(gram_rbf(x, sigma=0.5), ref_gram(x, "rbf", sigma=0.5), atol=1e-12)
    k, ell = ref_gram(x, "rbf"), ref_gram(x[:, :2], "linear")
    for unbiased in (False, True):
        centred_k = center_gram(k, unbiased=unbiased)
        centred_l = center_gram(ell, unbiased=unbiased)
        scale = 9 * 6 if unbiased else 8**2  # n (n - 3), or (n - 1)^2
        assert np.vdot(centred_k, centred_l) == pytest.approx(
            scale * ref_hsic(k, ell, unbiased=unbiased), rel=1e-9
        )
        assert cka_from_grams(k, ell, debiased=unbiased) == pytest.approx(
            ref_hsic(k, ell, unbiased=unbiased)
            / np.sqrt(ref_hsic(k, k, unbiased=unbiased) * ref_hsic(ell, ell, unbiased=unbiased))
        )


# -- hand-built cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kernel", "features", "debiased"), VARIANTS)
def test_cka_of_a_representation_with_itself_is_one(kernel, features, debiased) -> None:
    x = np.random.default_rng(0).normal(size=(25, 4))
    assert compute_cka(x, x, kernel=kernel, features=features, debiased=debiased) == pytest.approx(
        1.0
    )


def test_one_feature_linear_cka_is_the_squared_correlation() -> None:
    x, y = np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [3.0], [2.0]])
    assert linear_cka(x, y) == pytest.approx(0.25)  # r = 0.5


def test_linear_cka_of_x_and_a_rotated_scaled_shifted_x_is_one() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 6))
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    for debiased in (False, True):
        for kernel in ("linear", "rbf"):
            got = compute_cka(x, 5.0 * x @ q + 3.0, kernel=kernel, debiased=debiased)
            assert got == pytest.approx(1.0)


def test_one_massive_dimension_drives_linear_cka_to_zero_and_the_fixes_recover_it() -> None:
    # y is x plus one dimension of huge, unrelated variance: linear CKA sees only that dimension.
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 10))
    y = np.column_stack([x, 1000.0 * rng.normal(size=400)])
    assert compute_cka(x, y) < 0.02  # ~3 / n: what is left is the finite-sample bias
    assert compute_cka(x, y, features="standardized") == pytest.approx(np.sqrt(10 / 11), abs=0.02)
    widest = int(np.argmax(x.var(axis=0)))  # trimming also drops x's widest dimension
    assert compute_cka(x, y, features="trimmed") == pytest.approx(
        linear_cka(np.delete(x, widest, axis=1), x)
    )
    # Distances are dominated by the wide dimension as well: the RBF kernel does not help here.
    assert compute_cka(x, y, kernel="rbf") < 0.1


def test_a_few_massive_tokens_need_rbf_or_leaving_the_tokens_out() -> None:
    # SmolLM2's case: a few tokens are huge (in every dimension here). z-scoring keeps them
    # outliers; the RBF kernel isolates them and the rest of the geometry still counts.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 8))
    y = x @ np.linalg.qr(rng.normal(size=(8, 8)))[0]
    y[:6] += 3e4 * rng.normal(size=(6, 8))
    assert compute_cka(x, y) < 0.1
    assert compute_cka(x, y, features="standardized") < 0.2
    assert compute_cka(x, y, kernel="rbf") > 0.8
    assert compute_cka(x[6:], y[6:]) == pytest.approx(1.0)


def test_debiasing_removes_the_dimensionality_bias_of_unrelated_representations() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(50, 200)), rng.normal(size=(50, 200))
    assert compute_cka(x, y) > 0.7  # biased CKA of independent noise, dims >> examples
    assert abs(compute_cka(x, y, debiased=True)) < 0.05


def test_feature_transforms_hand_case() -> None:
    x = np.array([[0.0, 0.0, 1.0], [2.0, 100.0, 1.0], [4.0, 0.0, 1.0], [6.0, 0.0, 1.0]])
    np.testing.assert_allclose(prepare_features(x, "trimmed")[:, 0], [-3, -1, 1, 3])
    standardized = prepare_features(x, "standardized")
    assert standardized.shape == (4, 2)  # the constant column is dropped
    np.testing.assert_allclose(standardized.std(axis=0), 1.0)
    clipped = prepare_features(x, "clipped", clip_quantile=0.25)
    np.testing.assert_allclose(clipped[:, 0], np.array([1.5, 2, 4, 4.5]) - 3.0)


# -- properties ---------------------------------------------------------------------------------


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    """``[n, p]`` Gaussian data with per-column scales over six decades and a shifted mean."""
    n, p = draw(st.integers(6, 14)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scales = 10.0 ** np.array(draw(st.lists(st.floats(-3, 3), min_size=p, max_size=p)))
    return rng.normal(size=(n, p)) * scales + draw(st.floats(-100, 100))


def _spread(x: np.ndarray) -> bool:
    """Every column varies, the columns are independent and no two examples coincide."""
    return (
        bool((x.std(axis=0) > 1e-2).all())
        and np.linalg.matrix_rank(x - x.mean(0)) == x.shape[1]
        and len(np.unique(x, axis=0)) == len(x)
    )


@settings(max_examples=40, deadline=None)
@given(matrices(), st.integers(0, 2**32 - 1), st.sampled_from(VARIANTS))
def test_cka_is_symmetric_and_biased_cka_lies_in_unit_interval(x, seed, variant) -> None:
    kernel, features, debiased = variant
    y = np.random.default_rng(seed).normal(size=(len(x), 3))
    assume(_spread(x) and _spread(ref_features(x, features)))
    forward = compute_cka(x, y, kernel=kernel, features=features, debiased=debiased)
    backward = compute_cka(y, x, kernel=kernel, features=features, debiased=debiased)
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-12)
    if not debiased:
        assert -1e-12 <= forward <= 1 + 1e-9


@settings(max_examples=40, deadline=None)
@given(
    matrices(),
    st.integers(0, 2**32 - 1),
    st.floats(0.1, 100),
    st.booleans(),
    st.sampled_from(["linear", "rbf"]),
)
def test_cka_is_invariant_to_rotation_scale_and_shift(x, seed, scale, debiased, kernel) -> None:
    assume(_spread(x))
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(len(x), 3))
    q, _ = np.linalg.qr(rng.normal(size=(x.shape[1], x.shape[1])))
    moved = scale * x @ q + rng.normal(size=x.shape[1])
    base = compute_cka(x, y, kernel=kernel, debiased=debiased)
    assert compute_cka(moved, y, kernel=kernel, debiased=debiased) == pytest.approx(
        base, rel=1e-6, abs=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(matrices(), st.integers(0, 2**32 - 1))
def test_standardized_cka_is_invariant_to_per_dimension_scaling(x, seed) -> None:
    assume(_spread(x))
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(len(x), 3))
    stretched = x * rng.uniform(0.01, 100, size=x.shape[1])
    base = compute_cka(x, y, features="standardized")
    assert compute_cka(stretched, y, features="standardized") == pytest.approx(
        base, rel=1e-6, abs=1e-9
    )
