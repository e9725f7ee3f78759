"""Synthetic probe data with known answers: planted trees and linearly decodable labels."""

from __future__ import annotations

import numpy as np

from trfviz.analysis.probes import GoldSentence, ProbeData, split_sentences


def random_heads(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random tree over ``n`` words: a random root, each other word attached to an earlier one
    in a random order."""
    order = rng.permutation(n)
    heads = np.full(n, -1, dtype=np.int64)
    for position in range(1, n):
        heads[order[position]] = order[rng.integers(position)]
    return heads


def planted_states(heads: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """float ``[n, dim]``: states whose squared distances under a linear map (a left inverse
    of ``lift``) are the tree's path distances, and whose squared norms are the depths.

    Word ``v`` sits at ``Σ e_w`` over ``v`` and its ancestors below the root (one
    orthonormal direction per word), so ``‖x_u - x_v‖²`` counts the edges on the
    path; the states are that code, padded with noise dimensions, mapped by ``lift``.
    """
    n = heads.size
    code = np.zeros((n, lift.shape[1]))
    for v in range(n):
        node = v
        while heads[node] != -1:
            code[v, node] = 1.0
            node = int(heads[node])
    return code @ lift.T


def planted_data(
    n_sentences: int, *, seed: int = 0, code_dim: int = 24, noise_dim: int = 8
) -> ProbeData:
    """A one-layer ProbeData of random trees whose structure a linear map recovers exactly."""
    rng = np.random.default_rng(seed)
    dim = code_dim + noise_dim
    lift = rng.normal(size=(dim, dim))
    states, gold = [], []
    for index in range(n_sentences):
        n = int(rng.integers(6, code_dim + 1))
        heads = random_heads(n, rng)
        x = planted_states(heads, lift[:, :code_dim])
        x = x + 0.1 * rng.normal(size=(n, noise_dim)) @ lift[:, code_dim:].T
        # Layer 0 is pure noise, layer 1 holds the planted tree.
        noise = rng.normal(size=x.shape)
        states.append(np.stack([noise, x]).astype(np.float32))
        words = tuple(f"s{index}w{i}" for i in range(n))
        gold.append(GoldSentence(words, heads, ("NOUN",) * n, ("dep",) * n))
    return ProbeData("planted", tuple(states), tuple(gold), split_sentences(n_sentences, seed=seed))
