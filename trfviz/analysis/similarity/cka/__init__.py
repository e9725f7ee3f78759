"""Centred kernel alignment of two models' hidden states: in memory, and streamed over a corpus.

- :mod:`~trfviz.analysis.similarity.cka.kernels`: CKA of two representations
  (Gram matrices, centring, HSIC, the variants robust to outliers);
- :mod:`~trfviz.analysis.similarity.cka.reducer`: :class:`LayerCKA`, every
  layer pair of two models streamed over a corpus, and :func:`compare_layers_cka`;
- :mod:`~trfviz.analysis.similarity.cka.moments` and
  :mod:`~trfviz.analysis.similarity.cka.sample`: how it streams (exact moments,
  or a seeded token sample); :mod:`~trfviz.analysis.similarity.cka.layers`:
  which layers it keeps.
"""

# This file only re-exports the public names of the CKA modules.

from trfviz.analysis.similarity.cka.kernels import (
    FEATURES,
    KERNELS,
    Features,
    Kernel,
    center_gram,
    cka_from_grams,
    compute_cka,
    gram_linear,
    gram_rbf,
    linear_cka,
    prepare_features,
)
from trfviz.analysis.similarity.cka.reducer import LayerCKA, compare_layers_cka

__all__ = [
    "FEATURES",
    "KERNELS",
    "Features",
    "Kernel",
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
