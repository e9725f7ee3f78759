"""Rollout and flow: the documented matrices multiplied by hand, and a flow worked out by hand."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trfviz.measures import attention_graph, flow, rollout


@st.composite
def attentions(draw: st.DrawFn) -> np.ndarray:
    """Random row-stochastic attention ``[layer, head, n, n]``."""
    layers = draw(st.integers(1, 4))
    heads = draw(st.integers(1, 3))
    n = draw(st.integers(1, 5))
    raw = draw(arrays(np.float64, (layers, heads, n, n), elements=st.floats(0.01, 1.0)))
    return raw / raw.sum(axis=-1, keepdims=True)


@given(attentions(), st.floats(0.0, 1.0))
def test_rollout_is_the_product_of_the_documented_matrices(
    attention: np.ndarray, residual: float
) -> None:
    n = attention.shape[-1]
    matrices = [(1 - residual) * layer.mean(axis=0) + residual * np.eye(n) for layer in attention]
    result = rollout(attention, residual=residual)
    assert result.shape == (attention.shape[0], n, n)
    assert result.dtype == np.float32
    for layer in range(attention.shape[0]):
        # R_l = Â_l · Â_(l-1) ⋯ Â_1: later layers multiply from the left.
        expected = reduce(lambda acc, m: m @ acc, matrices[: layer + 1], np.eye(n))
        np.testing.assert_allclose(result[layer], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.sum(axis=-1), 1.0, rtol=1e-5)


@given(attentions())
def test_rows_sum_to_one_with_other_head_reductions(attention: np.ndarray) -> None:
    for heads in ("max", "min"):
        result = rollout(attention, heads=heads)
        np.testing.assert_allclose(result.sum(axis=-1), 1.0, rtol=1e-5)


def test_rollout_default_is_half_attention_half_identity() -> None:
    attention = np.array([[[[0.0, 1.0], [1.0, 0.0]]]])  # one layer, one head
    np.testing.assert_allclose(rollout(attention)[0], [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(rollout(attention, residual=0.0)[0], [[0, 1], [1, 0]])


def test_zero_rows_keep_the_identity() -> None:
    attention = np.zeros((2, 1, 2, 2))
    attention[:, :, 0] = [0.5, 0.5]
    result = rollout(attention)
    np.testing.assert_allclose(result[-1, 1], [0.0, 1.0])


# Three layers over two positions; M_l[i, j] is the capacity from (l-1, j) to (l, i).
HAND_GRAPH = np.array(
    [
        [[0.5, 0.5], [0.1, 0.9]],
        [[0.2, 0.8], [0.3, 0.7]],
        [[0.1, 0.9], [0.5, 0.5]],
    ]
)


def test_flow_on_a_hand_built_graph() -> None:
    raw = flow(HAND_GRAPH, residual=0.0, normalize=False)
    # (0,0) → (3,0): the cut {(0,0)→(1,1): 0.1, (1,0)→(2,1): 0.3, (2,0)→(3,0): 0.1} = 0.5,
    # met by the paths (0,0)→(1,0)→(2,1)→(3,0) 0.3, (0,0)→(1,1)→(2,1)→(3,0) 0.1,
    # (0,0)→(1,0)→(2,0)→(3,0) 0.1.
    assert raw[0, 0] == pytest.approx(0.5, abs=1e-6)
    # (0,1) → (3,0): limited by the sink's in-capacity 0.1 + 0.9 = 1.0, and reached.
    assert raw[0, 1] == pytest.approx(1.0, abs=1e-6)
    normalized = flow(HAND_GRAPH, residual=0.0)
    np.testing.assert_allclose(normalized[0], [1 / 3, 2 / 3], rtol=1e-6)
    np.testing.assert_allclose(normalized.sum(axis=-1), 1.0, rtol=1e-6)


def test_flow_of_one_layer_is_its_matrix() -> None:
    matrix = np.array([[[0.25, 0.75], [0.6, 0.4]]])
    np.testing.assert_allclose(flow(matrix, residual=0.0, normalize=False), matrix[0], rtol=1e-6)


def test_flow_refuses_large_graphs_and_points_to_rollout() -> None:
    attention = np.full((3, 1, 5, 5), 0.2)
    with pytest.raises(ValueError, match=r"max_nodes=14.*rollout"):
        flow(attention, max_nodes=14)
    assert flow(attention, max_nodes=15).shape == (5, 5)


@pytest.mark.parametrize("residual", [-0.1, 1.5])
def test_bad_residual(residual: float) -> None:
    with pytest.raises(ValueError, match="residual must be in"):
        attention_graph(np.full((1, 1, 2, 2), 0.5), residual=residual)


def test_bad_shapes_and_heads() -> None:
    with pytest.raises(ValueError, match="query == key"):
        attention_graph(np.zeros((1, 1, 2, 3)))
    with pytest.raises(ValueError, match="heads"):
        attention_graph(np.zeros((1, 1, 2, 2)), heads="median")  # type: ignore[arg-type]
