"""The seeded token sample of the CKA variants that need Gram matrices, and CKA over it.

Bottom-k sampling: each token's priority is drawn from a random generator
seeded by the seed and the sentence (its start and words), and the sample is
the ``max_tokens`` tokens of lowest priority. So the sample does not depend on
the order sentences arrive or on how a corpus was split and merged (identical
sentences at the same position of their Docs get the same priorities).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from trfviz.analysis.similarity.cka.kernels import normalised
from trfviz.extraction import SentenceExtraction

__all__ = ["keep_lowest", "sample_cka", "token_priorities"]


def token_priorities(sentence: SentenceExtraction, seed: int) -> np.ndarray:
    """Uniform ``[0, 1)`` priorities of a sentence's tokens, fixed by the seed and the sentence."""
    key = "\x1f".join((str(seed), str(sentence.start), *sentence.tokens)).encode("utf-8")
    digest = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return np.random.default_rng(digest).random(len(sentence.tokens))


def keep_lowest(
    priority: np.ndarray, sample_a: np.ndarray, sample_b: np.ndarray, max_tokens: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``max_tokens`` rows of lowest priority (ties: earlier rows), sorted by priority."""
    order = np.argsort(priority, kind="stable")[:max_tokens]
    return priority[order], sample_a[order], sample_b[order]


def sample_cka(
    sample_a: np.ndarray,
    sample_b: np.ndarray,
    dims: tuple[int, int],
    centred_gram: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``[layers_a, layers_b]`` CKA over the sampled rows, from centred Gram matrices.

    ``sample_a`` is ``[tokens, layers_a * dim_a]`` (likewise ``sample_b``);
    ``centred_gram`` turns one layer's ``[tokens, dim]`` states into its centred Gram.
    """
    dim_a, dim_b = dims
    states_a = sample_a.reshape(len(sample_a), -1, dim_a)
    states_b = sample_b.reshape(len(sample_b), -1, dim_b)
    swap = states_b.shape[1] < states_a.shape[1]  # hold the Grams of the fewer layers
    held, other = (states_b, states_a) if swap else (states_a, states_b)
    held_grams = [centred_gram(held[:, i]) for i in range(held.shape[1])]
    held_norms = [float(np.vdot(g, g)) for g in held_grams]
    values = np.empty((held.shape[1], other.shape[1]))
    for j in range(other.shape[1]):
        gram = centred_gram(other[:, j])
        norm = float(np.vdot(gram, gram))
        for i, held_gram in enumerate(held_grams):
            values[i, j] = normalised(float(np.vdot(held_gram, gram)), held_norms[i], norm)
    return values.T if swap else values
