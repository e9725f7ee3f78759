"""Streaming CKA between every hidden-state layer of two models, over a corpus.

:class:`LayerCKA` is a corpus reducer (:class:`trfviz.analysis.corpus.Reducer`)
computing any variant of :mod:`trfviz.analysis.similarity.cka.kernels`, tokens
as examples; :func:`compare_layers_cka` runs it over in-memory extractions. In
its tables ``layer`` indexes the hidden-state axis: 0 is the embedding output
and ``l`` the output of layer ``l``.

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

The moments are :mod:`~trfviz.analysis.similarity.cka.moments`, the sample
:mod:`~trfviz.analysis.similarity.cka.sample`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd

from trfviz.analysis.similarity.cka.kernels import (
    Features,
    Kernel,
    center_gram,
    check_features,
    check_kernel,
    gram_linear,
    gram_rbf,
    prepare_features,
)
from trfviz.analysis.similarity.cka.layers import layer_index, layer_list
from trfviz.analysis.similarity.cka.moments import (
    MOMENT_FEATURES,
    combine_moments,
    fold_rows,
    moment_cka,
)
from trfviz.analysis.similarity.cka.sample import keep_lowest, sample_cka, token_priorities
from trfviz.analysis.similarity.pairing import Extractions, PairReducer, name_of, pair_sentences
from trfviz.extraction import SentenceExtraction

__all__ = ["LayerCKA", "compare_layers_cka"]


class LayerCKA(PairReducer):
    """Streaming CKA (any variant of the kernels module) between all layers of two models.

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
    ``max_tokens`` tokens (see :mod:`~trfviz.analysis.similarity.cka.sample`) and
    compute ``n x n`` Gram matrices at :meth:`result`: memory ``4 * max_tokens * (layers_a * dim_a
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
            variant; see :mod:`~trfviz.analysis.similarity.cka.kernels`.
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
        check_kernel(kernel, debiased, sigma)
        check_features(features, trim_dims, clip_quantile)
        min_tokens = 4 if debiased else 2
        if max_tokens < min_tokens:
            raise ValueError(f"max_tokens must be at least {min_tokens}; got {max_tokens}")
        self.skip_initial = int(skip_initial)
        self.model_a = model_a
        self.model_b = model_b
        self.layers_a = layer_list(layers_a, "layers_a")
        self.layers_b = layer_list(layers_b, "layers_b")
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
        self.streams = kernel == "linear" and not debiased and features in MOMENT_FEATURES
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

    def add_pair(self, a: SentenceExtraction, b: SentenceExtraction) -> None:
        """Add the tokens of one sentence as seen by both models (see ``PairReducer.update``)."""
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
            self._buffer_priority.append(token_priorities(a, self.seed)[keep])
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
            self.n, self._mean_a, self._mean_b = combine_moments(
                self.n,
                (self._mean_a, self._mean_b),
                self._self_a,
                self._self_b,
                self._cross,
                (other.n, other._mean_a, other._mean_b, other._self_a, other._self_b, other._cross),
                self._dims or (0, 0),
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
            values = moment_cka(
                self._self_a,
                self._self_b,
                self._cross,
                features=self.features,
                trim_dims=self.trim_dims,
            )
            examples = self.n
        else:
            values = sample_cka(self._sample_a, self._sample_b, self._dims, self._centred_gram)
            examples = len(self._priority)
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

    def _centred_gram(self, states: np.ndarray) -> np.ndarray:
        x = prepare_features(
            states, self.features, trim_dims=self.trim_dims, clip_quantile=self.clip_quantile
        )
        gram = gram_rbf(x, sigma=self.sigma) if self.kernel == "rbf" else gram_linear(x)
        return center_gram(gram, unbiased=self.debiased)

    def _resolve(self, states_a: np.ndarray, states_b: np.ndarray) -> None:
        dims = (int(states_a.shape[-1]), int(states_b.shape[-1]))
        if self._dims is None:
            self._index_a = layer_index(self.layers_a, states_a.shape[0], "layers_a")
            self._index_b = layer_index(self.layers_b, states_b.shape[0], "layers_b")
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
        assert self._dims is not None
        self.n, self._mean_a, self._mean_b = fold_rows(
            self.n,
            (self._mean_a, self._mean_b),
            self._self_a,
            self._self_b,
            self._cross,
            x,
            y,
            self._dims,
        )

    def _flush_sample(self) -> None:
        """Fold the buffered tokens into the sample: the ``max_tokens`` lowest priorities."""
        priority = np.concatenate([self._priority, *self._buffer_priority])
        sample_a = np.concatenate([self._sample_a, *self._buffer_a])
        sample_b = np.concatenate([self._sample_b, *self._buffer_b])
        self.n += self._buffered
        self._buffer_priority, self._buffer_a, self._buffer_b, self._buffered = [], [], [], 0
        self._priority, self._sample_a, self._sample_b = keep_lowest(
            priority, sample_a, sample_b, self.max_tokens
        )


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
    arguments are those of :class:`LayerCKA` (the variants:
    :mod:`~trfviz.analysis.similarity.cka.kernels`).

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
        reducer.add_pair(sa, sb)
    return reducer.result()
