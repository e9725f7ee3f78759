"""What the attention explorer sends to the browser: packing, selection, sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.browser.widget_data import TELESCOPE, make_extraction, make_parse
from trfviz.naming import short_model_name
from trfviz.widget.payload import (
    count_message_bytes,
    downsample_matrix,
    layers_key,
    map_layer,
    pack_grid,
    pack_layers,
    pack_matrix,
    pack_sentence,
    select_attention,
)

FINITE = st.floats(-4, 4, allow_nan=False, width=32)


@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=7), elements=FINITE)
)
@settings(max_examples=80, deadline=None)
def test_pack_matrix_round_trips_within_half_a_step(values: np.ndarray) -> None:
    packed = pack_matrix(values)
    assert len(packed.data) == 2 * values.size
    assert packed.shape == values.shape
    restored = packed.unpack()
    assert restored.dtype == np.float32
    np.testing.assert_allclose(restored, values, atol=packed.scale / 2 + 1e-6)


@given(hnp.arrays(np.float32, (5, 5), elements=st.floats(0, 1, width=32)))
@settings(max_examples=40, deadline=None)
def test_pack_matrix_keeps_zero_exact_for_weights(values: np.ndarray) -> None:
    packed = pack_matrix(values)
    assert packed.lo == 0.0
    codes = np.frombuffer(packed.data, dtype="<u2").reshape(5, 5)
    assert np.all(codes[values == 0] == 0)
    if values.max() > 0:
        assert codes.max() == 65535


def test_pack_matrix_hand_worked() -> None:
    packed = pack_matrix(np.array([[0.0, 0.5], [1.0, 0.25]]), bits=8)
    assert packed.scale == pytest.approx(1 / 255)
    assert list(packed.data) == [0, 128, 255, 64]
    signed = pack_matrix(np.array([-1.0, 0.0, 1.0]), bits=8)
    assert (signed.lo, signed.scale) == (-1.0, pytest.approx(2 / 255))
    assert list(signed.data) == [0, 128, 255]
    # 16 bits, little-endian: 0.5 of 1 is code 32768 = 0x8000, bytes 00 80.
    wide = pack_matrix(np.array([0.0, 0.5, 1.0]))
    assert (wide.bits, wide.scale) == (16, pytest.approx(1 / 65535))
    assert list(wide.data) == [0, 0, 0, 128, 255, 255]
    with pytest.raises(ValueError, match="bits"):
        pack_matrix(np.zeros(2), bits=12)
    constant = pack_matrix(np.zeros((2, 2)))
    assert constant.unpack().tolist() == [[0.0, 0.0], [0.0, 0.0]]
    empty = pack_matrix(np.zeros((0, 3)))
    assert empty.data == b"" and empty.shape == (0, 3)
    with_nan = pack_matrix(np.array([np.nan, 1.0]))
    assert with_nan.unpack().tolist() == [0.0, 1.0]


def test_packed_dict_keeps_bytes_for_binary_buffers() -> None:
    out = pack_matrix(np.eye(3)).to_dict()
    assert isinstance(out["data"], bytes)
    assert out["shape"] == [3, 3]


def _attention() -> np.ndarray:
    # [layer=2, head=3, q=2, k=2] with values that tell layer and head apart.
    att = np.zeros((2, 3, 2, 2), dtype=np.float32)
    for layer in range(2):
        for head in range(3):
            att[layer, head] = [[layer, head], [1, 10 * layer + head]]
    return att


def test_select_attention_hand_worked() -> None:
    att = _attention()
    assert select_attention(att, 1, 2).tolist() == [[1, 2], [1, 12]]
    assert select_attention(att, 0, "mean").tolist() == [[0, 1], [1, 1]]
    assert select_attention(att, "mean", 1).tolist() == [[0.5, 1], [1, 6]]
    assert select_attention(att, "mean", "mean").tolist() == [[0.5, 1], [1, 6]]
    assert select_attention(att, 1, "all").shape == (3, 2, 2)
    assert select_attention(att, "mean", "all")[2].tolist() == [[0.5, 2], [1, 7]]
    for layer, head in [(2, 0), (-1, 0), (0, 3), (0, "max"), ("last", 0)]:
        with pytest.raises(ValueError):
            select_attention(att, layer, head)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layer, head, query, key"):
        select_attention(att[0], 0, 0)


def test_map_layer_keeps_relative_depth() -> None:
    assert [map_layer(layer, 6, 30) for layer in range(6)] == [0, 6, 12, 17, 23, 29]
    assert [map_layer(layer, 30, 6) for layer in (0, 15, 29)] == [0, 3, 5]
    assert map_layer("mean", 6, 30) == "mean"
    assert map_layer(0, 1, 4) == 3


@given(st.integers(1, 40), st.integers(1, 40), st.data())
def test_map_layer_is_in_range_and_monotone(n_from: int, n_to: int, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, n_from - 1))
    b = data.draw(st.integers(a, n_from - 1))
    mapped_a, mapped_b = map_layer(a, n_from, n_to), map_layer(b, n_from, n_to)
    assert isinstance(mapped_a, int) and isinstance(mapped_b, int)
    assert 0 <= mapped_a <= mapped_b < n_to
    if n_from > 1:
        assert map_layer(n_from - 1, n_from, n_to) == n_to - 1


def test_downsample_matrix_hand_worked() -> None:
    matrix = np.arange(16, dtype=np.float32).reshape(4, 4)
    assert downsample_matrix(matrix, 2).tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert downsample_matrix(matrix, 8).tolist() == matrix.tolist()
    stacked = downsample_matrix(np.stack([matrix, matrix * 2]), 2)
    assert stacked.shape == (2, 2, 2)
    assert stacked[1].tolist() == [[5, 9], [21, 25]]


@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=4, max_side=30), elements=FINITE),
    st.integers(1, 12),
)
@settings(max_examples=60, deadline=None)
def test_downsample_matrix_shape_and_bounds(values: np.ndarray, side: int) -> None:
    out = downsample_matrix(values, side)
    assert out.shape == (
        *values.shape[:-2],
        min(values.shape[-2], side),
        min(values.shape[-1], side),
    )
    assert out.min() >= values.min() - 1e-4
    assert out.max() <= values.max() + 1e-4


def test_pack_sentence_lists_pieces_per_token_and_labels() -> None:
    words = TELESCOPE[0]
    parse = make_parse(*TELESCOPE)
    sentence = make_extraction(words, split_every=3)
    out = pack_sentence(4, parse, {"org/bert": sentence}, {"org/bert": (2, 3)})
    assert out["index"] == 4
    assert out["tokens"] == list(words)
    assert out["arcs"][0] == {"head": 1, "dependent": 0, "label": "nsubj"}
    assert out["entities"] == [{"start": 0, "end": 1, "label": "PERSON"}]
    model = out["models"]["org/bert"]
    assert model["name"] == "bert"
    assert model["labels"] == [*words, "[CLS]", "[SEP]"]
    assert model["n_special"] == 2
    assert model["pieces"][1] == ["s", "##aw"]  # every third word from the second is split
    assert model["pieces"][0] == ["Anna"]
    assert (model["n_layers"], model["n_heads"]) == (2, 3)
    assert model["missing"] == []
    json.dumps(out)  # nothing binary: the sentence is plain JSON


def test_pack_layers_sends_the_heads_of_one_layer_per_panel() -> None:
    a = make_extraction(TELESCOPE[0], n_layers=2, n_heads=3, seed=1).attention
    b = make_extraction(TELESCOPE[0], n_layers=4, n_heads=2, specials=(), seed=2).attention
    assert a is not None and b is not None
    n = len(TELESCOPE[0])
    one = pack_layers({"a": a}, {"a": 1}, sentence=4)
    assert one["key"] == "s4;a/1" == layers_key(4, {"a": 1})
    assert one["sentence"] == 4
    (panel,) = one["panels"]
    assert (panel["model"], panel["layer"]) == ("a", 1)
    assert panel["heads"]["shape"] == [3, n + 2, n + 2]
    assert panel["mean"]["shape"] == [n + 2, n + 2]
    # Every head of the layer and their mean, two bytes per value; nothing of layer 0.
    assert count_message_bytes(one)["buffers"] == 2 * (3 * (n + 2) ** 2 + (n + 2) ** 2)
    np.testing.assert_allclose(_unpack(panel["heads"]), a[1], atol=1 / 65535)
    np.testing.assert_allclose(_unpack(panel["mean"]), a[1].mean(0), atol=0.5 / 65535)

    two = pack_layers({"a": a, "b": b}, {"a": 0, "b": "mean"}, sentence=0)
    assert two["key"] == "s0;a/0;b/mean"
    assert [p["model"] for p in two["panels"]] == ["a", "b"]
    second = two["panels"][1]
    assert second["heads"]["shape"] == [2, n, n]
    np.testing.assert_allclose(_unpack(second["heads"]), b.mean(0), atol=1 / 65535)
    np.testing.assert_allclose(_unpack(second["mean"]), b.mean(0).mean(0), atol=1 / 65535)
    # The browser's difference (first minus second over the spaCy tokens) from these bytes
    # is within a step of each operand of the exact one.
    head_a = _unpack(two["panels"][0]["heads"])[2, :n, :n]
    head_b = _unpack(second["heads"])[1, :n, :n]
    np.testing.assert_allclose(head_a - head_b, a[0, 2, :n, :n] - b.mean(0)[1], atol=2 / 65535)
    with pytest.raises(ValueError, match="layer"):
        pack_layers({"a": a}, {"a": 2}, sentence=0)


def test_pack_grid_thumbnails_and_scores() -> None:
    att = make_extraction(["w"] * 30, n_layers=3, n_heads=2, seed=3).attention
    assert att is not None
    grid = pack_grid(att, scores=np.array([[0.1, 0.5], [np.nan, 0.9], [0.2, 0.3]]), side=8)
    assert grid["shape"] == [3, 2]
    assert grid["thumbs"]["shape"] == [3, 2, 8, 8]
    codes = np.frombuffer(grid["thumbs"]["data"], dtype=np.uint8).reshape(3, 2, 64)
    # One scale for every thumbnail: only the largest reaches the top code.
    assert codes.max() == 255 and not np.all(codes.max(axis=-1) == 255)
    assert grid["scores"]["head score"][1][0] is None
    assert grid["score_ranges"]["head score"] == [0.1, 0.9]
    assert pack_grid(att)["scores"] == {}
    named = pack_grid(att, scores={"x": np.full((3, 2), np.nan)})
    assert named["score_ranges"] == {"x": None}
    with pytest.raises(ValueError, match="layer, head"):
        pack_grid(att, scores=np.zeros((2, 3)))


def test_count_message_bytes_hand_worked() -> None:
    state = {"a": b"xyz", "b": [1, 2], "c": {"d": np.zeros(4, dtype=np.uint8)}, "e": "é"}
    counted = count_message_bytes(state)
    text = '{"a":null,"b":[1,2],"c":{"d":null},"e":"é"}'
    assert counted == {
        "json": len(text.encode()),
        "buffers": 7,
        "total": len(text.encode()) + 7,
    }


def test_model_names_are_shortened_by_the_shared_helper() -> None:
    assert short_model_name("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert short_model_name("MiniLM") == "MiniLM"
    assert short_model_name("/models/local/") == "local"


def _unpack(packed: dict) -> np.ndarray:
    dtype = np.dtype("<u2") if packed.get("bits") == 16 else np.uint8
    codes = np.frombuffer(packed["data"], dtype=dtype).reshape(packed["shape"])
    return packed["lo"] + codes.astype(np.float32) * packed["scale"]
