"""Centred kernel alignment (CKA) between the layers of two models, and variants robust to outliers.

CKA (Kornblith et al. 2019, "Similarity of neural network representations
revisited") compares two representations of the same ``n`` examples (here:
spaCy tokens) through their ``n x n`` Gram matrices ``K`` and ``L``:
``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with
``HSIC(K, L) = tr(H K H L)`` (``H`` the centring matrix; the ``1/(n-1)^2`` cancels).

The variants, all options of :func:`compute_cka`, :class:`LayerCKA` and
:func:`compare_layers_cka`:

``kernel="linear"`` (default)
    ``K = X X^T``; then ``CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``
    with column-centred ``Xc``, ``Yc``. It weighs directions by their variance,
    so a few dimensions with huge values on a few tokens decide it.
``kernel="rbf"``
    ``K_ij = exp(-||x_i - x_j||^2 / (2 s^2))`` with
    ``s = sigma * sqrt(median_ij ||x_i - x_j||^2)``, the median taken over all
    ``n^2`` pairs including ``i = j`` (as in Kornblith et al.'s code); ``sigma``
    defaults to 0.8, a value from their experiments. Tokens far from all
    others get a row of ~0 instead of dominating.
``features=``
    what the kernel sees, per layer, computed from the same tokens:
    ``"raw"`` the states; ``"standardized"`` every dimension z-scored
    (centred, divided by its standard deviation; constant dimensions are
    dropped); ``"trimmed"`` the ``trim_dims`` dimensions of largest variance
    removed; ``"clipped"`` every dimension clipped to its own
    ``[clip_quantile, 1 - clip_quantile]`` quantiles (numpy's default linear
    interpolation), i.e. winsorised.
``debiased=True``
    HSIC replaced by its unbiased estimator (Song et al. 2012, as used for
    CKA by Nguyen et al. 2021 and Davari et al. 2022): the diagonals of
    ``K`` and ``L`` are dropped and the estimate corrected for the number of
    examples, so CKA of unrelated representations is ~0 instead of growing
    with ``dim / n``. It can be slightly negative; it needs ``n >= 4``.

Streaming. Linear, not debiased, with ``features`` ``"raw"``,
``"standardized"`` or ``"trimmed"`` is computed exactly from sufficient
statistics (means and centred second moments, which also give every
dimension's variance), whatever the corpus size; updates and merges are
exact. The others need the ``n x n`` Gram matrices (or per-dimension
quantiles), so :class:`LayerCKA` keeps a *sample* of at most ``max_tokens``
tokens: bottom-k sampling, each token's priority drawn from a random
generator seeded by ``seed`` and the sentence (its start and words), so the
sample does not depend on the order sentences arrive or on how a corpus was
split and merged (identical sentences at the same position of their Docs get
the same priorities). Below ``max_tokens`` tokens every token is kept.

Why the variants: SmolLM2's residual stream has "massive activations" (Sun et
al. 2024): from layer 12 on, dimension 507 alone holds ~98 % of the variance,
with values near 30,000 on each sentence's first token against a median
absolute value near 2. Linear CKA against MiniLM is then ~0.06 for every such
layer. Dimension-wise fixes do not recover it (the same tokens are huge in
several dimensions); leaving the first token out (``skip_initial=1``) or the
RBF kernel do (see ``notebooks/same_words.ipynb``). Davari et al. (2022,
"Reliability of CKA as a similarity measure") show this sensitivity of linear
CKA to a few outlying points in general.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from trfviz.analysis._pairing import Extractions, name_of, pair_sentences
from trfviz.extraction import Extraction, SentenceExtraction

__all__ = [
    "FEATURES",
    "KERNELS",
    "LayerCKA",
    "center_gram",
    "cka_from_grams",
    "compare_layers_cka",
    "compute_cka",
    "gram_linear",
    "gram_rbf",
    "linear_cka",
    "prepare_features",
]

Kernel = Literal["linear", "rbf"]
Features = Literal["raw", "standardized", "trimmed", "clipped"]
KERNELS: tuple[str, ...] = ("linear", "rbf")
FEATURES: tuple[str, ...] = ("raw", "standardized", "trimmed", "clipped")
#: Feature transforms linear CKA can stream from second moments.
_MOMENT_FEATURES = frozenset({"raw", "standardized", "trimmed"})


# -- in-memory computations -----------------------------------------------------------------------


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two representations of the same ``n`` examples (Kornblith et al. 2019).

    Args:
        x: ``[n, p]``; y: ``[n, q]``. Rows are examples (tokens).

    Returns:
        ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with column-centred
        ``Xc``, ``Yc``: 1 for representations equal up to rotation and scale.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 4))
    >>> round(linear_cka(x, 3 * x), 12)
    1.0
    """
    return compute_cka(x, y)


def prepare_features(
    x: np.ndarray,
    features: Features = "raw",
    *,
    trim_dims: int = 1,
    clip_quantile: float = 0.01,
) -> np.ndarray:
    """Column-centred float64 ``[n, dim']`` features of ``x`` after the ``features`` transform.

    See the module docs for the transforms. ``"standardized"`` and
    ``"trimmed"`` may return fewer columns (constant / removed dimensions).

    >>> x = np.array([[0.0, 0.0], [1.0, 100.0], [2.0, 0.0]])
    >>> prepare_features(x, "trimmed").tolist()  # the high-variance column is gone
    [[-1.0], [0.0], [1.0]]
    """
    _check_features(features, trim_dims, clip_quantile)
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be [examples, dims]; got shape {x.shape}")
    if features == "clipped":
        low, high = np.quantile(x, [clip_quantile, 1.0 - clip_quantile], axis=0)
        x = np.clip(x, low, high)
    xc = x - x.mean(axis=0)
    if features == "standardized":
        sd = np.sqrt((xc * xc).mean(axis=0))
        keep = sd > 0
        return xc[:, keep] / sd[keep]
    if features == "trimmed":
        return xc[:, _kept_dims((xc * xc).sum(axis=0), trim_dims)]
    return xc


def gram_linear(x: np.ndarray) -> np.ndarray:
    """``[n, n]`` linear-kernel Gram matrix ``x x^T`` (float64)."""
    x = np.asarray(x, np.float64)
    return x @ x.T


def gram_rbf(x: np.ndarray, *, sigma: float = 0.8) -> np.ndarray:
    """``[n, n]`` RBF Gram matrix, bandwidth ``sigma`` times the median pairwise distance.

    ``K_ij = exp(-d_ij / (2 sigma^2 median(d)))`` with ``d`` the squared
    Euclidean distances, the median over all ``n^2`` entries (diagonal
    included), as in Kornblith et al.'s code.

    Raises:
        ValueError: the median squared distance is 0 (most examples coincide).
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=0)  # distances are unchanged; the products below lose less
    norms = np.einsum("ij,ij->i", x, x)
    distances = norms[:, None] + norms[None, :] - 2.0 * (x @ x.T)
    np.maximum(distances, 0.0, out=distances)
    np.fill_diagonal(distances, 0.0)
    median = float(np.median(distances))
    if median <= 0:
        raise ValueError(
            "the median squared distance between examples is 0 (most examples coincide); "
            "the RBF bandwidth is undefined"
        )
    distances *= -1.0 / (2.0 * sigma**2 * median)
    return np.exp(distances, out=distances)


def center_gram(gram: np.ndarray, *, unbiased: bool = False) -> np.ndarray:
    """The centred copy of a symmetric ``[n, n]`` Gram matrix: ``H K H``, or its unbiased form.

    With ``unbiased=True`` this is the matrix whose inner product with
    another one gives ``n (n - 3)`` times the unbiased HSIC estimator of Song
    et al. (2012): the diagonal is zeroed, rows and columns are centred with
    ``n - 2`` in place of ``n`` and the diagonal zeroed again (the form of
    Kornblith et al.'s code).
    """
    gram = np.array(gram, dtype=np.float64)
    n = len(gram)
    if unbiased:
        if n < 4:
            raise ValueError(f"debiased CKA needs at least 4 examples; got {n}")
        np.fill_diagonal(gram, 0.0)
        means = gram.sum(axis=0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram -= means[:, None]
        gram -= means[None, :]
        np.fill_diagonal(gram, 0.0)
    else:
        means = gram.mean(axis=0)
        means -= means.mean() / 2
        gram -= means[:, None]
        gram -= means[None, :]
    return gram


def cka_from_grams(gram_x: np.ndarray, gram_y: np.ndarray, *, debiased: bool = False) -> float:
    """CKA of two ``[n, n]`` Gram matrices over the same examples (NaN if one is constant)."""
    if gram_x.shape != gram_y.shape or gram_x.shape[0] != gram_x.shape[-1]:
        raise ValueError(
            f"Gram matrices must be square and alike; got {gram_x.shape}, {gram_y.shape}"
        )
    kx = center_gram(gram_x, unbiased=debiased)
    ky = center_gram(gram_y, unbiased=debiased)
    return _normalised(float(np.vdot(kx, ky)), float(np.vdot(kx, kx)), float(np.vdot(ky, ky)))


def compute_cka(
    x: np.ndarray,
    y: np.ndarray,
    *,
    kernel: Kernel = "linear",
    features: Features = "raw",
    debiased: bool = False,
    sigma: float = 0.8,
    trim_dims: int = 1,
    clip_quantile: float = 0.01,
) -> float:
    """CKA of two representations ``x [n, p]`` and ``y [n, q]`` of the same ``n`` examples.

    The variants are described in the module docs. Linear CKA is computed in
    feature space (``O(n p q)``, the debiased form by Kornblith et al.'s
    identity), RBF CKA from the ``n x n`` Gram matrices.

    Returns:
        The CKA, in ``[0, 1]`` unless ``debiased`` (then it may dip below 0);
        NaN when a representation is constant.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3))
    >>> round(compute_cka(x, 2 * x + 1, kernel="rbf", features="standardized"), 12)
    1.0
    """
    _check_kernel(kernel, debiased, sigma)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples and y {len(y)}")
    if len(x) < 2:
        raise ValueError("CKA needs at least two examples")
    xc = prepare_features(x, features, trim_dims=trim_dims, clip_quantile=clip_quantile)
    yc = prepare_features(y, features, trim_dims=trim_dims, clip_quantile=clip_quantile)
    if kernel == "rbf":
        return cka_from_grams(
            gram_rbf(xc, sigma=sigma), gram_rbf(yc, sigma=sigma), debiased=debiased
        )
    cross = float(np.linalg.norm(yc.T @ xc) ** 2)
    self_x = float(np.linalg.norm(xc.T @ xc) ** 2)
    self_y = float(np.linalg.norm(yc.T @ yc) ** 2)
    if debiased:
        n = len(xc)
        if n < 4:
            raise ValueError(f"debiased CKA needs at least 4 examples; got {n}")
        rows_x, rows_y = np.einsum("ij,ij->i", xc, xc), np.einsum("ij,ij->i", yc, yc)
        cross = _debias(cross, rows_x, rows_y, n)
        self_x = _debias(self_x, rows_x, rows_x, n)
        self_y = _debias(self_y, rows_y, rows_y, n)
    return _normalised(cross, self_x, self_y)


def _debias(product: float, rows_x: np.ndarray, rows_y: np.ndarray, n: int) -> float:
    """``n (n - 3)`` x unbiased HSIC of linear kernels from feature-space terms.

    For centred features, ``tr(K~ L~)`` and the row sums of the zero-diagonal
    Grams are expressed through ``||Y^T X||^2`` and the squared row norms
    (Kornblith et al.'s ``_debiased_dot_product_similarity_helper``).
    """
    return float(
        product
        - n / (n - 2.0) * float(rows_x @ rows_y)
        + float(rows_x.sum()) * float(rows_y.sum()) / ((n - 1.0) * (n - 2.0))
    )


def _normalised(cross: float, self_x: float, self_y: float) -> float:
    if not (self_x > 0 and self_y > 0):
        return float("nan")
    return cross / float(np.sqrt(self_x) * np.sqrt(self_y))


def _kept_dims(variances: np.ndarray, trim_dims: int) -> np.ndarray:
    """Bool mask without the ``trim_dims`` largest ``variances`` (ties: lower index goes first)."""
    keep = np.ones(len(variances), dtype=bool)
    if trim_dims:
        order = np.argsort(-variances, kind="stable")
        keep[order[:trim_dims]] = False
    return keep


def _check_kernel(kernel: str, debiased: object, sigma: float) -> None:
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}; got {kernel!r}")
    if not isinstance(debiased, bool | np.bool_):
        raise TypeError(f"debiased must be True or False; got {debiased!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")


def _check_features(features: str, trim_dims: int, clip_quantile: float) -> None:
    if features not in FEATURES:
        raise ValueError(f"features must be one of {', '.join(FEATURES)}; got {features!r}")
    if int(trim_dims) != trim_dims or trim_dims < 0:
        raise ValueError(f"trim_dims must be a non-negative integer; got {trim_dims!r}")
    if not 0.0 <= clip_quantile < 0.5:
        raise ValueError(f"clip_quantile must be in [0, 0.5); got {clip_quantile}")


# -- streaming over a corpus ----------------------------------------------------------------------


class LayerCKA:
    """Streaming CKA (any variant of the module docs) between all hidden-state layers of two models.

    Linear, non-debiased CKA on ``"raw"``, ``"standardized"`` or ``"trimmed"``
    features streams exactly: per model the token count, the running mean of
    every layer's states and their centred second moments (``Xc^T Xc`` per
    layer), and the centred cross-moment ``Xc^T Yc`` of every layer pair,
    combined by the pairwise update of Chan et al. (accurate where hidden
    states have large means). Memory is about
    ``8 * (layers_a * dim_a) * (layers_b * dim_b)`` bytes: 384 MB for all of
    MiniLM (7 x 384) against all of SmolLM2 (31 x 576); pass ``layers_a`` /
    ``layers_b`` to keep fewer.

    The other variants (``kernel="rbf"``, ``debiased=True``,
    ``features="clipped"``) keep a seeded bottom-k sample of at most
    ``max_tokens`` tokens (see the module docs) and compute ``n x n`` Gram
    matrices at :meth:`result`: memory ``4 * max_tokens * (layers_a * dim_a
    + layers_b * dim_b)`` bytes for the sample, plus ``8 * max_tokens^2`` per
    layer of the model with fewer layers while the result is computed.

    Tokens missing in either model are skipped. States are buffered and folded
    in ``chunk_tokens`` at a time, so the big products run as few large BLAS calls.

    Linear CKA weighs directions by their variance, so a few outlying tokens
    can dominate it: causal language models put "massive activations" on the
    first position of a sequence (Sun et al. 2024), thousands of times the
    typical size, which swamp every layer of SmolLM2 from layer 12 on.
    ``skip_initial=1`` leaves each sentence's first token out.

    Args:
        model_a, model_b: names for the table (default from the Extractions).
        layers_a, layers_b: hidden-state indices to keep (0 = embeddings;
            negative indices count from the end); default all.
        skip_initial: leave out the first ``skip_initial`` tokens of every sentence.
        kernel, features, debiased, sigma, trim_dims, clip_quantile: the CKA
            variant; see the module docs and :func:`compute_cka`.
        max_tokens: sample size for the variants that cannot stream.
        seed: seed of the sample.
        chunk_tokens: tokens buffered before they are folded in.
    """

    #: What the corpus runner must extract for this reducer.
    needs_attention = False
    needs_states = True

    def __init__(
        self,
        *,
        model_a: str | None = None,
        model_b: str | None = None,
        layers_a: Sequence[int] | None = None,
        layers_b: Sequence[int] | None = None,
        skip_initial: int = 0,
        kernel: Kernel = "linear",
        features: Features = "raw",
        debiased: bool = False,
        sigma: float = 0.8,
        trim_dims: int = 1,
        clip_quantile: float = 0.01,
        max_tokens: int = 2000,
        seed: int = 0,
        chunk_tokens: int = 1024,
    ) -> None:
        if skip_initial < 0:
            raise ValueError("skip_initial must not be negative")
        _check_kernel(kernel, debiased, sigma)
        _check_features(features, trim_dims, clip_quantile)
        min_tokens = 4 if debiased else 2
        if max_tokens < min_tokens:
            raise ValueError(f"max_tokens must be at least {min_tokens}; got {max_tokens}")
        self.skip_initial = int(skip_initial)
        self.model_a = model_a
        self.model_b = model_b
        self.layers_a = _layer_list(layers_a, "layers_a")
        self.layers_b = _layer_list(layers_b, "layers_b")
        self.kernel: Kernel = kernel
        self.features: Features = features
        self.debiased = bool(debiased)
        self.sigma = float(sigma)
        self.trim_dims = int(trim_dims)
        self.clip_quantile = float(clip_quantile)
        self.max_tokens = int(max_tokens)
        self.seed = int(seed)
        self.chunk_tokens = max(1, int(chunk_tokens))
        #: Whether this variant streams from moments (else it keeps a token sample).
        self.streams = kernel == "linear" and not debiased and features in _MOMENT_FEATURES
        self.n = 0
        self.n_sentences = 0
        self._index_a: np.ndarray | None = None  # resolved layer indices
        self._index_b: np.ndarray | None = None
        self._dims: tuple[int, int] | None = None
        self._mean_a = np.zeros(0)
        self._mean_b = np.zeros(0)
        self._self_a = np.zeros((0, 0, 0))
        self._self_b = np.zeros((0, 0, 0))
        self._cross = np.zeros((0, 0))
        # The sample, sorted by priority (sampled variants only).
        self._priority = np.zeros(0)
        self._sample_a = np.zeros((0, 0), np.float32)
        self._sample_b = np.zeros((0, 0), np.float32)
        self._buffer_priority: list[np.ndarray] = []
        self._buffer_a: list[np.ndarray] = []
        self._buffer_b: list[np.ndarray] = []
        self._buffered = 0

    @property
    def _settings(self) -> tuple[object, ...]:
        return (
            self.skip_initial,
            self.kernel,
            self.features,
            self.debiased,
            self.sigma,
            self.trim_dims,
            self.clip_quantile,
            self.max_tokens,
            self.seed,
        )

    def update(
        self, a: SentenceExtraction | Extraction, b: SentenceExtraction | Extraction
    ) -> None:
        """Add the tokens of one sentence (or of every sentence of a Doc) as seen by both models."""
        if isinstance(a, Extraction) or isinstance(b, Extraction):
            if self.model_a is None and isinstance(a, Extraction):
                self.model_a = a.model
            if self.model_b is None and isinstance(b, Extraction):
                self.model_b = b.model
            for sa, sb in pair_sentences(a, b):
                self.update(sa, sb)
            return
        if a.tokens != b.tokens:
            raise ValueError(
                f"the two extractions tokenize the sentence at token {a.start} differently"
            )
        if a.states is None or b.states is None:
            raise ValueError("the extraction kept no hidden states (states=False)")
        self._resolve(a.states, b.states)
        assert self._index_a is not None and self._index_b is not None
        keep = np.flatnonzero(~(np.asarray(a.missing) | np.asarray(b.missing)))
        keep = keep[keep >= self.skip_initial]
        self.n_sentences += 1
        if len(keep) == 0:
            return
        # [tokens, layers * dim]: each token's states of all kept layers side by side.
        rows_a = a.states[self._index_a][:, keep].transpose(1, 0, 2).reshape(len(keep), -1)
        rows_b = b.states[self._index_b][:, keep].transpose(1, 0, 2).reshape(len(keep), -1)
        if self.streams:
            self._buffer_a.append(rows_a.astype(np.float64))
            self._buffer_b.append(rows_b.astype(np.float64))
        else:
            self._buffer_priority.append(_token_priorities(a, self.seed)[keep])
            self._buffer_a.append(rows_a.astype(np.float32))
            self._buffer_b.append(rows_b.astype(np.float32))
        self._buffered += len(keep)
        if self._buffered >= max(self.chunk_tokens, self.max_tokens if not self.streams else 0):
            self._flush()

    def merge(self, other: LayerCKA) -> LayerCKA:
        """Fold ``other``'s tokens into this reducer, in place; returns ``self``.

        ``other`` is left unchanged (its moments are read, not copied, unless it
        still buffers states). Streaming variants merge exactly; sampled ones
        keep the sample one pass over all sentences would have kept.
        """
        if not isinstance(other, LayerCKA):
            raise TypeError(f"cannot merge LayerCKA with {type(other).__name__}")
        if self._settings != other._settings:
            raise ValueError(
                "cannot merge CKA reducers with different settings (skip_initial, kernel, "
                "features, debiased, sigma, trim_dims, clip_quantile, max_tokens, seed)"
            )
        if other._buffered:
            other = copy.deepcopy(other)
            other._flush()
        self._flush()
        self.model_a = self.model_a or other.model_a
        self.model_b = self.model_b or other.model_b
        self.n_sentences += other.n_sentences
        if other.n == 0:
            return self
        if self.n == 0:
            self._index_a, self._index_b, self._dims = other._index_a, other._index_b, other._dims
            for name in _STATE_ARRAYS:
                setattr(self, name, getattr(other, name).copy())
            self.n = other.n
            return self
        assert self._index_a is not None and other._index_a is not None
        assert self._index_b is not None and other._index_b is not None
        if not (
            np.array_equal(self._index_a, other._index_a)
            and np.array_equal(self._index_b, other._index_b)
            and self._dims == other._dims
        ):
            raise ValueError("cannot merge CKA reducers over different layers or dimensions")
        if self.streams:
            self._combine(
                other.n, other._mean_a, other._mean_b, other._self_a, other._self_b, other._cross
            )
        else:
            self._buffer_priority.append(other._priority)
            self._buffer_a.append(other._sample_a)
            self._buffer_b.append(other._sample_b)
            self._buffered = len(other._priority)
            self.n += other.n - len(other._priority)  # _flush counts the sample's tokens
            self._flush()
        return self

    def result(self) -> pd.DataFrame:
        """The tidy table: one row per (layer of A, layer of B) pair.

        Columns: ``model_a, layer_a, model_b, layer_b, cka, n_tokens, n_examples,
        kernel, features, debiased``; layers index the hidden states (0 =
        embedding output). ``n_tokens`` counts the tokens seen, ``n_examples``
        those CKA was computed on (fewer when a sampled variant saw more than
        ``max_tokens``).

        Raises:
            ValueError: fewer than two tokens (four for ``debiased``) were seen.
        """
        self._flush()
        minimum = 4 if self.debiased else 2
        if self.n < minimum or self._dims is None:
            raise ValueError(f"this CKA needs at least {minimum} tokens; got {self.n}")
        assert self._index_a is not None and self._index_b is not None
        if self.streams:
            values, examples = self._moment_cka(), self.n
        else:
            values, examples = self._sample_cka(), len(self._priority)
        grid_a, grid_b = np.meshgrid(self._index_a, self._index_b, indexing="ij")
        return pd.DataFrame(
            {
                "model_a": self.model_a or "a",
                "layer_a": grid_a.ravel(),
                "model_b": self.model_b or "b",
                "layer_b": grid_b.ravel(),
                "cka": values.ravel(),
                "n_tokens": self.n,
                "n_examples": examples,
                "kernel": self.kernel,
                "features": self.features,
                "debiased": self.debiased,
            }
        )

    def __getstate__(self) -> dict[str, object]:
        self._flush()  # pickles hold moments or the sample, not raw buffers
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, object]) -> None:
        # Reducers pickled before the variants existed (corpus checkpoints) were linear and raw:
        # the defaults fill in what they lack.
        self.__dict__.update(LayerCKA().__dict__)
        self.__dict__.update(state)

    # -- internals ----------------------------------------------------------------------------

    def _moment_cka(self) -> np.ndarray:
        """``[layers_a, layers_b]`` linear CKA from the moments, features weighted per dimension."""
        assert self._index_a is not None and self._index_b is not None and self._dims
        dim_a, dim_b = self._dims
        n_a, n_b = len(self._index_a), len(self._index_b)
        # Standardising scales dimension p by 1/sd_p and trimming by 0 or 1: both act on the
        # moments as per-dimension weights w, so CKA needs only the weighted Frobenius norms.
        weights_a = self._weights(np.einsum("app->ap", self._self_a))
        weights_b = self._weights(np.einsum("app->ap", self._self_b))
        blocks = self._cross.reshape(n_a, dim_a, n_b, dim_b)
        if self.features == "raw":
            cross = np.einsum("apbq,apbq->ab", blocks, blocks)
        else:
            cross = np.einsum(
                "ap,apbq,bq->ab", weights_a**2, blocks**2, weights_b**2, optimize=True
            )
        scaled_a = self._self_a * weights_a[:, :, None] * weights_a[:, None, :]
        scaled_b = self._self_b * weights_b[:, :, None] * weights_b[:, None, :]
        norm_a = np.sqrt(np.einsum("apq,apq->a", scaled_a, scaled_a))
        norm_b = np.sqrt(np.einsum("apq,apq->a", scaled_b, scaled_b))
        with np.errstate(divide="ignore", invalid="ignore"):
            values = cross / np.outer(norm_a, norm_b)
        values[~np.isfinite(values)] = np.nan
        return values

    def _weights(self, variances: np.ndarray) -> np.ndarray:
        """``[layers, dim]`` per-dimension weights of the feature transform (from variances)."""
        if self.features == "standardized":
            sd = np.sqrt(np.maximum(variances, 0.0))
            return np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 0)
        if self.features == "trimmed":
            return np.stack([_kept_dims(v, self.trim_dims) for v in variances]).astype(float)
        return np.ones_like(variances)

    def _sample_cka(self) -> np.ndarray:
        """``[layers_a, layers_b]`` CKA over the sample, from centred Gram matrices."""
        assert self._index_a is not None and self._index_b is not None and self._dims
        dim_a, dim_b = self._dims
        sample_a = self._sample_a.reshape(len(self._priority), -1, dim_a)
        sample_b = self._sample_b.reshape(len(self._priority), -1, dim_b)
        swap = sample_b.shape[1] < sample_a.shape[1]  # hold the Grams of the fewer layers
        held, other = (sample_b, sample_a) if swap else (sample_a, sample_b)
        held_grams = [self._centred_gram(held[:, i]) for i in range(held.shape[1])]
        held_norms = [float(np.vdot(g, g)) for g in held_grams]
        values = np.empty((held.shape[1], other.shape[1]))
        for j in range(other.shape[1]):
            gram = self._centred_gram(other[:, j])
            norm = float(np.vdot(gram, gram))
            for i, held_gram in enumerate(held_grams):
                values[i, j] = _normalised(float(np.vdot(held_gram, gram)), held_norms[i], norm)
        return values.T if swap else values

    def _centred_gram(self, states: np.ndarray) -> np.ndarray:
        x = prepare_features(
            states, self.features, trim_dims=self.trim_dims, clip_quantile=self.clip_quantile
        )
        gram = gram_rbf(x, sigma=self.sigma) if self.kernel == "rbf" else gram_linear(x)
        return center_gram(gram, unbiased=self.debiased)

    def _resolve(self, states_a: np.ndarray, states_b: np.ndarray) -> None:
        dims = (int(states_a.shape[-1]), int(states_b.shape[-1]))
        if self._dims is None:
            self._index_a = _layer_index(self.layers_a, states_a.shape[0], "layers_a")
            self._index_b = _layer_index(self.layers_b, states_b.shape[0], "layers_b")
            self._dims = dims
            width_a, width_b = len(self._index_a) * dims[0], len(self._index_b) * dims[1]
            if self.streams:
                self._mean_a, self._mean_b = np.zeros(width_a), np.zeros(width_b)
                self._self_a = np.zeros((len(self._index_a), dims[0], dims[0]))
                self._self_b = np.zeros((len(self._index_b), dims[1], dims[1]))
                self._cross = np.zeros((width_a, width_b))
            else:
                self._sample_a = np.zeros((0, width_a), np.float32)
                self._sample_b = np.zeros((0, width_b), np.float32)
        elif dims != self._dims:
            raise ValueError(f"hidden size changed from {self._dims} to {dims}")

    def _flush(self) -> None:
        if not self._buffered:
            return
        if not self.streams:
            self._flush_sample()
            return
        x = np.concatenate(self._buffer_a)
        y = np.concatenate(self._buffer_b)
        self._buffer_a, self._buffer_b, self._buffered = [], [], 0
        m = len(x)
        total = self.n + m
        # Welford-style batch update: M += (x - mean_old)^T (y - mean_new) is exactly the
        # pairwise combination of the old moments with the batch's, in one product.
        new_mean_a = self._mean_a + (x.sum(0) - m * self._mean_a) / total
        new_mean_b = self._mean_b + (y.sum(0) - m * self._mean_b) / total
        xo, xn = x - self._mean_a, x - new_mean_a
        yo, yn = y - self._mean_b, y - new_mean_b
        self._cross += xo.T @ yn
        dim_a, dim_b = self._dims or (0, 0)
        xo3, xn3 = xo.reshape(m, -1, dim_a), xn.reshape(m, -1, dim_a)
        yo3, yn3 = yo.reshape(m, -1, dim_b), yn.reshape(m, -1, dim_b)
        for layer in range(xo3.shape[1]):
            self._self_a[layer] += xo3[:, layer].T @ xn3[:, layer]
        for layer in range(yo3.shape[1]):
            self._self_b[layer] += yo3[:, layer].T @ yn3[:, layer]
        self._mean_a, self._mean_b, self.n = new_mean_a, new_mean_b, total

    def _flush_sample(self) -> None:
        """Fold the buffered tokens into the sample: the ``max_tokens`` lowest priorities."""
        priority = np.concatenate([self._priority, *self._buffer_priority])
        sample_a = np.concatenate([self._sample_a, *self._buffer_a])
        sample_b = np.concatenate([self._sample_b, *self._buffer_b])
        self.n += self._buffered
        self._buffer_priority, self._buffer_a, self._buffer_b, self._buffered = [], [], [], 0
        order = np.argsort(priority, kind="stable")[: self.max_tokens]
        self._priority, self._sample_a, self._sample_b = (
            priority[order],
            sample_a[order],
            sample_b[order],
        )

    def _combine(
        self,
        n: int,
        mean_a: np.ndarray,
        mean_b: np.ndarray,
        self_a: np.ndarray,
        self_b: np.ndarray,
        cross: np.ndarray,
    ) -> None:
        total = self.n + n
        weight = self.n * n / total
        delta_a, delta_b = mean_a - self._mean_a, mean_b - self._mean_b
        dim_a, dim_b = self._dims or (0, 0)
        da, db = delta_a.reshape(-1, dim_a), delta_b.reshape(-1, dim_b)
        self._cross += cross
        self._cross += weight * np.outer(delta_a, delta_b)
        self._self_a += self_a + weight * da[:, :, None] * da[:, None, :]
        self._self_b += self_b + weight * db[:, :, None] * db[:, None, :]
        self._mean_a = self._mean_a + delta_a * (n / total)
        self._mean_b = self._mean_b + delta_b * (n / total)
        self.n = total


_STATE_ARRAYS = (
    "_mean_a",
    "_mean_b",
    "_self_a",
    "_self_b",
    "_cross",
    "_priority",
    "_sample_a",
    "_sample_b",
)


def _token_priorities(sentence: SentenceExtraction, seed: int) -> np.ndarray:
    """Uniform ``[0, 1)`` priorities of a sentence's tokens, fixed by the seed and the sentence."""
    key = "\x1f".join((str(seed), str(sentence.start), *sentence.tokens)).encode("utf-8")
    digest = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return np.random.default_rng(digest).random(len(sentence.tokens))


def _layer_list(layers: Sequence[int] | None, name: str) -> tuple[int, ...] | None:
    """The layer selection as a tuple of ints; TypeError for anything but integers."""
    if layers is None:
        return None
    if isinstance(layers, str | bytes) or not isinstance(layers, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a sequence of layer indices; got {layers!r}")
    bad = [i for i in layers if isinstance(i, bool) or not isinstance(i, int | np.integer)]
    if bad:
        raise TypeError(f"{name} must hold integer layer indices; got {bad}")
    return tuple(int(i) for i in layers)


def _layer_index(layers: tuple[int, ...] | None, n_layers: int, name: str) -> np.ndarray:
    """Resolved hidden-state indices; one ValueError naming every index out of range."""
    if layers is None:
        return np.arange(n_layers)
    if len(layers) == 0:
        raise ValueError(f"{name} is empty; give at least one layer index or None for all")
    bad = [i for i in layers if not -n_layers <= i < n_layers]
    if bad:
        raise ValueError(
            f"{name}: {bad} out of range for {n_layers} hidden-state layers "
            f"(0 = embeddings .. {n_layers - 1}, or -{n_layers} .. -1 from the end)"
        )
    index = np.array([i + n_layers if i < 0 else i for i in layers], dtype=int)
    if len(set(index.tolist())) != len(index):
        raise ValueError(f"{name} names a layer twice: {list(layers)}")
    return index


# -- one-call function ----------------------------------------------------------------------------


def compare_layers_cka(
    a: Extractions,
    b: Extractions,
    *,
    model_a: str | None = None,
    model_b: str | None = None,
    layers_a: Sequence[int] | None = None,
    layers_b: Sequence[int] | None = None,
    skip_initial: int = 0,
    kernel: Kernel = "linear",
    features: Features = "raw",
    debiased: bool = False,
    sigma: float = 0.8,
    trim_dims: int = 1,
    clip_quantile: float = 0.01,
    max_tokens: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """CKA between the hidden states of every layer pair of two models (linear by default).

    Tokens (of all sentences) are the examples; tokens missing in either
    model are skipped. ``a`` and ``b`` are the two models' extractions of the
    same Docs, in the same order (an :class:`Extraction`, or a sequence of
    Extractions and/or :class:`SentenceExtraction` objects); the other
    arguments are those of :class:`LayerCKA` (the variants: module docs).

    Returns:
        One row per layer pair (see :meth:`LayerCKA.result`).
    """
    reducer = LayerCKA(
        model_a=model_a or name_of(a),
        model_b=model_b or name_of(b),
        layers_a=layers_a,
        layers_b=layers_b,
        skip_initial=skip_initial,
        kernel=kernel,
        features=features,
        debiased=debiased,
        sigma=sigma,
        trim_dims=trim_dims,
        clip_quantile=clip_quantile,
        max_tokens=max_tokens,
        seed=seed,
    )
    for sa, sb in pair_sentences(a, b):
        reducer.update(sa, sb)
    return reducer.result()
