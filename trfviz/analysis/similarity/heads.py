"""Do two models attend to the same words? Head-to-head attention similarity, streamed.

Two models with different wordpiece schemes are compared on what they share:
the spaCy tokens of the same sentences. For every sentence pair (the same
sentence as seen by model A and by model B):

- only the spaCy-token block of attention is used, ``attention[..., :n, :n]``;
  the special pseudo-tokens (``[CLS]``, ``[SEP]``, ...) appended after the
  tokens are dropped and every row is renormalised to sum to 1 over the
  tokens, so the two models are compared on the same support;
- tokens that either model does not cover (:attr:`SentenceExtraction.missing`:
  dropped characters, truncation) are removed from both rows and columns;
- with ``keys="preceding"`` each row is further restricted to the keys at or
  before its query (and renormalised), which puts a bidirectional model on the
  support a causal model has;
- a query row enters the averages only when it has at least ``min_keys``
  keys (a row over one key says nothing about where a head looks).

Per pair of heads (one head of A, one of B) this gives, averaged over the
query rows of all sentences:

- ``js_divergence``: Jensen–Shannon divergence (natural log, so in
  ``[0, ln 2]``) between the two rows, after the smoothing of Clark et al.
  (2019, §6; :mod:`trfviz.analysis.similarity.divergence`): each row is mixed
  with the uniform distribution over its keys, ``(1 - ε) p + ε / n_keys``
  with ``ε = 0.001``. Clark et al. sum over tokens; the mean per row is
  reported here so corpora of different sizes compare;
- ``argmax_agreement``: share of rows whose most-attended key is the same;
- ``topk_overlap``: mean of ``|top_k(A) ∩ top_k(B)| / k`` over rows (``k`` is
  capped by the row's number of keys);
- ``correlation``: Pearson correlation of the two heads' attention weights
  over every (query, key) cell of every sentence, the attention version of the
  max-correlation analysis of Wu et al. (2020, "Similarity analysis of
  contextual word representation models"): :func:`best_matching_heads` pairs
  each head with the head of the other model it correlates with most, in
  both directions, and :func:`summarize_head_similarity` averages that over
  heads for a model-level score.

Value-weighted norms, rollout and flow (:class:`~trfviz.measures.MeasureExtraction`)
are accepted in place of attention (:mod:`trfviz.analysis.measure_inputs`); since
rows are renormalised as above, norms are compared as each row's share of its
norm mass.

It is computed as a streaming reduction: :class:`HeadSimilarity` keeps only
sums over rows, takes one sentence pair at a time with ``update`` (a corpus
reducer, :class:`trfviz.analysis.corpus.Reducer`), combines in place with
``merge`` and gives the tidy table with ``result``; it pickles.
:func:`compare_heads` runs it over in-memory extractions, and
:mod:`trfviz.analysis.similarity.matching` reads the table (best matches,
model-level scores). In head tables ``layer`` indexes the attention's layer
axis (0 is the first transformer layer).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trfviz.analysis.similarity.divergence import CLARK_EPSILON, smooth_rows, sum_xlogx
from trfviz.analysis.similarity.pairing import Extractions, PairReducer, name_of, pair_sentences
from trfviz.extraction import SentenceExtraction

__all__ = ["HeadSimilarity", "KeySupport", "compare_heads"]

KeySupport = Literal["all", "preceding"]

# Elements of the [heads_a, heads_b, rows, keys] block computed at once (float32).
_BLOCK_ELEMENTS = 1 << 21


class HeadSimilarity(PairReducer):
    """Streaming head-by-head attention similarity of two models (see the module docs).

    Feed it sentence pairs with :meth:`update` (a mapping of each model's
    extraction by name, as the corpus runner gives them, or model A's and model
    B's SentenceExtraction or Extraction), combine partial results with :meth:`merge`,
    and read the tidy table with :meth:`result`. Memory is
    ``O(heads_a * heads_b)`` whatever the corpus size.

    Args:
        model_a, model_b: names for the table (default: taken from the first
            :class:`Extraction` given to :meth:`update`, else ``"a"``/``"b"``).
        top_k: size of the top-k sets compared.
        epsilon: smoothing weight for the Jensen–Shannon divergence.
        keys: ``"all"`` keys, or only the ``"preceding"`` keys (at or before
            the query) in every row.
        min_keys: rows with fewer keys than this are skipped.

    Example:
        >>> sim = HeadSimilarity(model_a="m", model_b="m")
        >>> att = np.full((1, 2, 3, 3), 1 / 3, dtype=np.float32)   # 1 layer, 2 heads
        >>> sentence = _toy_sentence(att)
        >>> sim.update(sentence, sentence)
        >>> table = sim.result()
        >>> len(table), round(float(table["js_divergence"].max()), 9)
        (4, 0.0)
        >>> float(table["argmax_agreement"].min()), float(table["topk_overlap"].min())
        (1.0, 1.0)
    """

    #: What the corpus runner must extract for this reducer.
    needs_attention = True
    needs_states = False

    def __init__(
        self,
        *,
        model_a: str | None = None,
        model_b: str | None = None,
        top_k: int = 3,
        epsilon: float = CLARK_EPSILON,
        keys: KeySupport = "all",
        min_keys: int = 2,
    ) -> None:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        if not 0.0 <= epsilon < 1.0:
            raise ValueError("epsilon must be in [0, 1)")
        if keys not in ("all", "preceding"):
            raise ValueError(f"keys must be 'all' or 'preceding'; got {keys!r}")
        if min_keys < 1:
            raise ValueError("min_keys must be at least 1")
        self.model_a = model_a
        self.model_b = model_b
        self.top_k = top_k
        self.epsilon = epsilon
        self.keys: KeySupport = keys
        self.min_keys = min_keys
        self.shape_a: tuple[int, int] | None = None  # (layers, heads)
        self.shape_b: tuple[int, int] | None = None
        self.n_sentences = 0
        self.n_rows = 0
        self.n_cells = 0
        self._js = np.zeros((0, 0))
        self._argmax = np.zeros((0, 0))
        self._topk = np.zeros((0, 0))
        self._sum_a = np.zeros(0)
        self._sum_b = np.zeros(0)
        self._sq_a = np.zeros(0)
        self._sq_b = np.zeros(0)
        self._cross = np.zeros((0, 0))

    # -- accumulation -------------------------------------------------------------------------

    def add_pair(self, a: SentenceExtraction, b: SentenceExtraction) -> None:
        """Add one sentence as seen by the two models (see :meth:`PairReducer.update`)."""
        block = _shared_rows(a, b, keys=self.keys, min_keys=self.min_keys)
        self._ensure_shape(a, b)
        self.n_sentences += 1
        if block is None:
            return
        att_a, att_b, support = block
        n_a, n_b = att_a.shape[0], att_b.shape[0]
        n_rows, n_keys = support.shape
        self.n_rows += n_rows

        # Jensen-Shannon: the entropy terms are per head; only sum(m log m) needs the pair.
        smooth_a = smooth_rows(att_a, support, epsilon=self.epsilon)
        smooth_b = smooth_rows(att_b, support, epsilon=self.epsilon)
        positive = self.epsilon > 0
        if positive:
            # Keys off the support hold 1, not 0: 1 log 1 = 0 as 0 log 0 is, and every
            # entry is then positive, so the logs below need no masking.
            smooth_a[:, ~support] = 1.0
            smooth_b[:, ~support] = 1.0
        self_a = sum_xlogx(smooth_a, positive=positive)  # [n_a, rows]
        self_b = sum_xlogx(smooth_b, positive=positive)
        step = max(1, min(n_rows, _BLOCK_ELEMENTS // max(1, n_a * n_b * n_keys)))
        mix_buffer = np.empty((n_a, n_b, step, n_keys), np.float32)
        log_buffer = np.empty_like(mix_buffer)
        for start in range(0, n_rows, step):
            rows = slice(start, min(start + step, n_rows))
            mix = mix_buffer[:, :, : rows.stop - start]
            np.add(smooth_a[:, None, rows], smooth_b[None, :, rows], out=mix)
            mix *= 0.5
            cross = sum_xlogx(mix, positive=positive, out=log_buffer)  # [n_a, n_b, r]
            js = 0.5 * (self_a[:, None, rows] + self_b[None, :, rows]) - cross
            self._js += np.maximum(js, 0.0).sum(-1)

        # Argmax agreement and top-k overlap are inner products of 0/1 indicator matrices
        # (exact counts in float32); top-k counts are divided by each row's k.
        flat = n_rows * n_keys
        one_a = _argmax_indicator(att_a, support).reshape(n_a, flat)
        one_b = _argmax_indicator(att_b, support).reshape(n_b, flat)
        self._argmax += one_a @ one_b.T
        top_a = _topk_indicator(att_a, support, self.top_k)
        top_b = _topk_indicator(att_b, support, self.top_k)
        k_rows = np.minimum(self.top_k, support.sum(-1))  # [rows]
        for k in np.unique(k_rows):
            sel = k_rows == k
            width = int(sel.sum()) * n_keys
            counts = top_a[:, sel].reshape(n_a, width) @ top_b[:, sel].reshape(n_b, width).T
            self._topk += counts / float(k)

        # Pearson correlation over all supported (query, key) cells.
        cells = support.reshape(-1)
        vals_a = att_a.reshape(n_a, flat)[:, cells].astype(np.float64)
        vals_b = att_b.reshape(n_b, flat)[:, cells].astype(np.float64)
        self.n_cells += int(cells.sum())
        self._sum_a += vals_a.sum(-1)
        self._sum_b += vals_b.sum(-1)
        self._sq_a += np.einsum("ij,ij->i", vals_a, vals_a)
        self._sq_b += np.einsum("ij,ij->i", vals_b, vals_b)
        self._cross += vals_a @ vals_b.T

    def merge(self, other: HeadSimilarity) -> HeadSimilarity:
        """Fold ``other``'s sentences into this reducer, in place; returns ``self``.

        ``other`` is left unchanged. Merging partial reducers in any grouping
        gives the result of one pass (up to float rounding).
        """
        if not isinstance(other, HeadSimilarity):
            raise TypeError(f"cannot merge HeadSimilarity with {type(other).__name__}")
        for name in ("top_k", "epsilon", "keys", "min_keys"):
            if getattr(self, name) != getattr(other, name):
                raise ValueError(f"cannot merge reducers with different {name}")
        self.model_a = self.model_a or other.model_a
        self.model_b = self.model_b or other.model_b
        if other.shape_a is None:
            self.n_sentences += other.n_sentences
            return self
        if self.shape_a is None:
            self.shape_a, self.shape_b = other.shape_a, other.shape_b
            for name in _HEAD_SUMS:
                setattr(self, name, np.zeros_like(getattr(other, name)))
        elif (self.shape_a, self.shape_b) != (other.shape_a, other.shape_b):
            raise ValueError(
                f"cannot merge heads {self.shape_a}x{self.shape_b} with "
                f"{other.shape_a}x{other.shape_b}"
            )
        for name in ("n_sentences", "n_rows", "n_cells"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _HEAD_SUMS:
            total = getattr(self, name)
            total += getattr(other, name)
        return self

    # -- results ------------------------------------------------------------------------------

    def result(self) -> pd.DataFrame:
        """The tidy table: one row per (head of A, head of B) pair.

        Columns: ``model_a, layer_a, head_a, model_b, layer_b, head_b,
        js_divergence, argmax_agreement, topk_overlap, correlation, n_rows``.
        ``correlation`` is NaN for a head whose weights never vary.

        Raises:
            ValueError: no query row was compared (no sentences, or all too short).
        """
        if self.shape_a is None or self.shape_b is None or self.n_rows == 0:
            raise ValueError("no attention rows were compared; give longer or more sentences")
        (layers_a, heads_a), (layers_b, heads_b) = self.shape_a, self.shape_b
        n = self.n_cells
        mean_a, mean_b = self._sum_a / n, self._sum_b / n
        cov = self._cross / n - np.outer(mean_a, mean_b)
        sd_a = np.sqrt(np.maximum(self._sq_a / n - mean_a**2, 0.0))
        sd_b = np.sqrt(np.maximum(self._sq_b / n - mean_b**2, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = cov / np.outer(sd_a, sd_b)
        corr[~np.isfinite(corr)] = np.nan
        index_a = np.arange(layers_a * heads_a)
        index_b = np.arange(layers_b * heads_b)
        mesh_a, mesh_b = np.meshgrid(index_a, index_b, indexing="ij")
        grid_a, grid_b = mesh_a.ravel(), mesh_b.ravel()
        return pd.DataFrame(
            {
                "model_a": self.model_a or "a",
                "layer_a": grid_a // heads_a,
                "head_a": grid_a % heads_a,
                "model_b": self.model_b or "b",
                "layer_b": grid_b // heads_b,
                "head_b": grid_b % heads_b,
                "js_divergence": (self._js / self.n_rows).ravel(),
                "argmax_agreement": (self._argmax / self.n_rows).ravel(),
                "topk_overlap": (self._topk / self.n_rows).ravel(),
                "correlation": np.clip(corr, -1.0, 1.0).ravel(),
                "n_rows": self.n_rows,
            }
        )

    # -- helpers ------------------------------------------------------------------------------

    def _ensure_shape(self, a: SentenceExtraction, b: SentenceExtraction) -> None:
        shape_a, shape_b = _head_shape(a), _head_shape(b)
        if self.shape_a is None:
            self.shape_a, self.shape_b = shape_a, shape_b
            n_a, n_b = shape_a[0] * shape_a[1], shape_b[0] * shape_b[1]
            self._js = np.zeros((n_a, n_b))
            self._argmax = np.zeros((n_a, n_b))
            self._topk = np.zeros((n_a, n_b))
            self._sum_a, self._sq_a = np.zeros(n_a), np.zeros(n_a)
            self._sum_b, self._sq_b = np.zeros(n_b), np.zeros(n_b)
            self._cross = np.zeros((n_a, n_b))
        elif (shape_a, shape_b) != (self.shape_a, self.shape_b):
            raise ValueError(
                f"attention shape changed: expected {self.shape_a} and {self.shape_b} "
                f"(layers, heads), got {shape_a} and {shape_b}"
            )


_HEAD_SUMS = ("_js", "_argmax", "_topk", "_sum_a", "_sum_b", "_sq_a", "_sq_b", "_cross")


def _head_shape(sentence: SentenceExtraction) -> tuple[int, int]:
    if sentence.attention is None:
        raise ValueError("the extraction kept no attention (attention=False)")
    return int(sentence.attention.shape[0]), int(sentence.attention.shape[1])


def _shared_rows(
    a: SentenceExtraction, b: SentenceExtraction, *, keys: KeySupport, min_keys: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Both models' renormalised token-block rows on the shared tokens, heads flattened.

    Returns ``(att_a [heads_a, rows, keys], att_b [heads_b, rows, keys],
    support bool [rows, keys])`` as float32 with every kept row summing to 1 over
    its support in every head, or None when no row is left.
    """
    if a.tokens != b.tokens:
        raise ValueError(
            f"the two extractions tokenize the sentence at token {a.start} differently "
            f"({a.tokens[:5]}... vs {b.tokens[:5]}...); compare extractions of the same Docs"
        )
    if a.attention is None or b.attention is None:
        raise ValueError("the extraction kept no attention (attention=False)")
    keep = np.flatnonzero(~(np.asarray(a.missing) | np.asarray(b.missing)))
    if len(keep) == 0:
        return None
    block_a = _token_block(a.attention, keep)
    block_b = _token_block(b.attention, keep)
    support = np.ones((len(keep), len(keep)), dtype=bool)
    if keys == "preceding":
        support = np.tril(support)
        block_a *= support
        block_b *= support
    sums_a, sums_b = block_a.sum(-1), block_b.sum(-1)
    rows = (support.sum(-1) >= min_keys) & (sums_a > 0).all(0) & (sums_b > 0).all(0)
    if not rows.any():
        return None
    block_a = block_a[:, rows] / sums_a[:, rows, None]
    block_b = block_b[:, rows] / sums_b[:, rows, None]
    return block_a, block_b, support[rows]


def _token_block(attention: np.ndarray, keep: np.ndarray) -> np.ndarray:
    layers, heads = attention.shape[:2]
    block = attention[:, :, keep[:, None], keep[None, :]]
    return np.ascontiguousarray(block, dtype=np.float32).reshape(layers * heads, len(keep), -1)


def _argmax_indicator(att: np.ndarray, support: np.ndarray) -> np.ndarray:
    masked = np.where(support, att, -np.inf)
    hot = np.zeros(att.shape, np.float32)
    np.put_along_axis(hot, masked.argmax(-1)[..., None], 1.0, axis=-1)
    return hot


def _topk_indicator(att: np.ndarray, support: np.ndarray, top_k: int) -> np.ndarray:
    n_keys = att.shape[-1]
    hot = np.zeros(att.shape, np.float32)
    if top_k >= n_keys:
        hot[...] = support
        return hot
    masked = np.where(support, att, -np.inf)
    top = np.argpartition(-masked, top_k - 1, axis=-1)[..., :top_k]
    np.put_along_axis(hot, top, 1.0, axis=-1)
    hot *= support  # a short row's picks past its support are not keys
    return hot


# -- one-call functions ---------------------------------------------------------------------------


def compare_heads(
    a: Extractions,
    b: Extractions,
    *,
    model_a: str | None = None,
    model_b: str | None = None,
    top_k: int = 3,
    epsilon: float = CLARK_EPSILON,
    keys: KeySupport = "all",
    min_keys: int = 2,
) -> pd.DataFrame:
    """Head-by-head attention similarity of two models on the same sentences.

    Args:
        a, b: the two models' extractions of the same Docs, in the same order:
            an :class:`Extraction`, or a sequence of Extractions and/or
            :class:`SentenceExtraction` objects. Sentences are paired in order.
            A :class:`~trfviz.measures.MeasureExtraction` (value-weighted norms,
            rollout, flow) stands in for attention; its rows are renormalised
            like attention rows, so norms compare as each row's share of its
            norm mass (:mod:`trfviz.analysis.measure_inputs`).
        model_a, model_b, top_k, epsilon, keys, min_keys: see :class:`HeadSimilarity`.

    Returns:
        One row per head pair (see :meth:`HeadSimilarity.result`).
    """
    names = (model_a or name_of(a), model_b or name_of(b))
    reducer = HeadSimilarity(
        model_a=names[0],
        model_b=names[1],
        top_k=top_k,
        epsilon=epsilon,
        keys=keys,
        min_keys=min_keys,
    )
    for sa, sb in pair_sentences(a, b):
        reducer.add_pair(sa, sb)
    return reducer.result()


# -- input handling ---------------------------------------------------------------------------


def _toy_sentence(attention: np.ndarray) -> SentenceExtraction:
    """A SentenceExtraction around a synthetic ``[layer, head, n, n]`` array (for examples)."""
    from trfviz.alignment import align_spans

    n = attention.shape[-1]
    spans = [(2 * i, 2 * i + 1) for i in range(n)]
    return SentenceExtraction(
        start=0,
        tokens=tuple("t" for _ in range(n)),
        pieces=tuple("t" for _ in range(n)),
        alignment=align_spans(spans, spans),
        attention=attention,
        states=None,
    )
