"""The honest difference's maths, the head scores, and the weights' precision on the wire.

Python's :mod:`trfviz.widget.compare` and :func:`pack_matrix` are checked here;
the browser's mirror of the decoder and of the row renormalisation
(``js/decode.js``, ``js/honest.js``) is run in Node.js on the same data and
must agree (skipped without Node.js).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trfviz.widget.compare import (
    attention_to_specials,
    compare_rows,
    head_entropy,
    js_distance_to_other,
    js_divergence,
    kept_words,
    pair_divergences,
    renormalise_rows,
)
from trfviz.widget.payload import head_scores, pack_difference, pack_matrix

JS_DIR = Path(__file__).resolve().parents[2] / "trfviz" / "widget" / "js"

WEIGHTS = st.floats(0, 1, width=32)


def _rows(n_rows: int, n: int) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, (n_rows, n), elements=st.floats(0, 1))


@given(hnp.arrays(np.float64, (4, 6), elements=st.floats(0, 1)), st.booleans())
@settings(max_examples=60, deadline=None)
def test_renormalised_rows_sum_to_one_over_the_kept_words(m: np.ndarray, sink: bool) -> None:
    keep = kept_words(6, exclude_sink=sink)
    out = renormalise_rows(m, keep)
    assert np.all(out[:, ~keep] == 0)
    has_mass = m[:, keep].sum(axis=1) > 0
    np.testing.assert_allclose(out[has_mass].sum(axis=1), 1.0, rtol=1e-9)
    assert np.all(out[~has_mass] == 0)  # nothing left: no distribution, not a made-up one


@given(_rows(3, 5), _rows(3, 5))
@settings(max_examples=60, deadline=None)
def test_js_is_symmetric_bounded_and_zero_for_identical_rows(p: np.ndarray, q: np.ndarray) -> None:
    keep = np.ones(5, dtype=bool)
    p, q = renormalise_rows(p, keep), renormalise_rows(q, keep)
    forward, backward = js_divergence(p, q), js_divergence(q, p)
    np.testing.assert_allclose(forward, backward, equal_nan=True)
    defined = ~np.isnan(forward)
    assert np.all((forward[defined] >= 0) & (forward[defined] <= 1))
    same = js_divergence(p, p)
    np.testing.assert_allclose(same[~np.isnan(same)], 0.0, atol=1e-12)
    assert np.array_equal(np.isnan(forward), (p.sum(1) == 0) | (q.sum(1) == 0))


def test_js_hand_worked() -> None:
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); KL(p||m) = log2(4/3),
    # KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2); JS = half their sum.
    expected = 0.5 * (np.log2(4 / 3) + 0.5 * np.log2(2 / 3) + 0.5)
    got = js_divergence(np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    assert float(got) == pytest.approx(expected)
    assert float(got) == pytest.approx(0.311278, abs=1e-6)
    assert float(js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0]))) == 1.0
    assert np.isnan(js_divergence(np.zeros(2), np.array([0.0, 1.0])))


def test_compare_rows_puts_both_models_on_the_same_words() -> None:
    words = ["The", "cat", "sat"]
    # A (BERT-like): [word x3, CLS, SEP]; B (causal): the sink on "The", no specials.
    a = np.zeros((5, 5))
    a[:3] = [[0.1, 0.2, 0.2, 0.3, 0.2], [0.1, 0.1, 0.3, 0.3, 0.2], [0.2, 0.3, 0.1, 0.2, 0.2]]
    b = np.array([[1.0, 0.0, 0.0], [0.8, 0.1, 0.1], [0.7, 0.15, 0.15]])
    out = compare_rows(a, b, words, specials=("[CLS]", "[SEP]"))
    assert out.excluded == ("[CLS]", "[SEP]", "The")
    # Row "cat": A keeps (.1, .3) of cat, sat -> (.25, .75); B (.1, .1) -> (.5, .5).
    np.testing.assert_allclose(out.a[1], [0, 0.25, 0.75])
    np.testing.assert_allclose(out.b[1], [0, 0.5, 0.5])
    np.testing.assert_allclose(out.difference[1], [np.nan, -0.25, 0.25])  # the sink: no data
    assert np.isnan(out.difference[0]).all()  # B's "The" row: nothing left to compare
    assert out.divergence[1] == pytest.approx(float(js_divergence(out.a[1], out.b[1])))
    assert np.isnan(out.divergence[0])  # B's "The" row had all its mass on the sink
    kept = compare_rows(a, b, words, exclude_sink=False)
    assert kept.excluded == () and not np.isnan(kept.divergence[0])
    with pytest.raises(ValueError, match="square"):
        compare_rows(a[:2], b, words)


def test_pair_divergences_index_every_head_pair_and_the_means() -> None:
    rng = np.random.default_rng(0)
    heads_a = rng.dirichlet(np.ones(6), size=(3, 6))
    heads_b = rng.dirichlet(np.ones(4), size=(2, 4))
    out = pair_divergences(heads_a, heads_b, 4)
    assert out.shape == (4, 3, 4)
    one = compare_rows(heads_a[2], heads_b[1], ["w"] * 4)
    np.testing.assert_allclose(out[2, 1], one.divergence, equal_nan=True)
    mean = compare_rows(heads_a.mean(0), heads_b.mean(0), ["w"] * 4)
    np.testing.assert_allclose(out[3, 2], mean.divergence, equal_nan=True)


def test_head_scores_hand_worked() -> None:
    # 1 layer, 2 heads, 2 words + 1 special.
    att = np.zeros((1, 2, 3, 3))
    att[0, 0, :2] = [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]  # uniform over 2 words: 1 bit
    att[0, 1, :2] = [[0.0, 0.0, 1.0], [0.0, 0.5, 0.5]]  # to the special: 1 and 0.5
    np.testing.assert_allclose(head_entropy(att, 2), [[1.0, 0.5]])
    np.testing.assert_allclose(attention_to_specials(att, 2), [[0.0, 0.75]])
    # Against itself (no sink excluded) every head has an identical twin: distance 0.
    np.testing.assert_allclose(js_distance_to_other(att, att, 2, exclude_sink=False), 0, atol=1e-7)
    scores = head_scores(att, 2, given=np.array([[0.3, 0.4]]), other=("B", att))
    assert list(scores) == [
        "relation accuracy",
        "entropy (bits)",
        "attention to specials",
        "JS distance to B",
    ]


def test_pack_difference_sends_nan_as_minus_one() -> None:
    att = np.zeros((1, 1, 2, 2))
    att[0, 0] = [[1.0, 0.0], [0.5, 0.5]]
    out = pack_difference(
        {"a": att, "b": att}, {"a": 0, "b": 0}, sentence=3, n_tokens=2, exclude_sink=True
    )
    assert out["key"] == "s3;a/0;b/0;sink=1"
    js = pack_matrix(np.zeros(1))  # the shape of what is sent: 16-bit codes from lo = -1
    assert out["js"]["bits"] == js.bits and out["js"]["lo"] == -1.0
    with pytest.raises(ValueError, match="two models"):
        pack_difference({"a": att}, {"a": 0}, sentence=0, n_tokens=2, exclude_sink=True)


@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=3, max_side=9), elements=WEIGHTS)
)
@settings(max_examples=80, deadline=None)
def test_small_weights_survive_the_wire(values: np.ndarray) -> None:
    values = values / max(1.0, float(values.max()))  # attention: at most 1
    restored = pack_matrix(values).unpack()
    assert np.all(restored[values >= 1e-4] > 0)  # never shown as zero
    big = values >= 0.01
    np.testing.assert_allclose(restored[big], values[big], rtol=0.01)
    # 8 bits (the old encoding) fails this for some: shown here once, by hand.
    old = pack_matrix(np.array([1e-3, 1.0]), bits=8).unpack()
    assert old[0] == 0


def _run_node(script: str, cases: object) -> object:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the browser's decoder is not checked")
    code = f"import * as decode from {json.dumps((JS_DIR / 'decode.js').as_uri())};\n"
    code += f"import * as honest from {json.dumps((JS_DIR / 'honest.js').as_uri())};\n"
    code += f"const cases = {json.dumps(cases)};\n{script}"
    run = subprocess.run(
        [node, "--input-type=module", "-e", code], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@given(
    st.lists(
        hnp.arrays(
            np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=8), elements=WEIGHTS
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([8, 16]),
)
@settings(max_examples=4, deadline=None)
def test_the_browser_decodes_what_python_packs(arrays: list[np.ndarray], bits: int) -> None:
    packed = [pack_matrix(a, bits=bits).to_dict() for a in arrays]
    cases = [{**p, "data": base64.b64encode(p["data"]).decode()} for p in packed]
    got = _run_node(
        "console.log(JSON.stringify(cases.map((c) => Array.from(decode.unpack(c).values))));",
        cases,
    )
    assert isinstance(got, list)
    for p, values in zip(packed, got, strict=True):
        expected = (
            pack_matrix(np.zeros(1))
            .__class__(p["data"], tuple(p["shape"]), p["lo"], p["scale"], p["bits"])
            .unpack()
        )
        np.testing.assert_allclose(np.array(values).reshape(expected.shape), expected, rtol=1e-6)


def test_the_browser_renormalises_as_python() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.dirichlet(np.ones(7), size=7)  # 5 words + 2 specials
    matrix[2, 1:5] = 0  # a row with all its word mass on the sink
    cases = {"values": matrix.ravel().tolist(), "shape": [7, 7]}
    got = _run_node(
        "const m = { values: Float64Array.from(cases.values), shape: cases.shape };\n"
        "const out = [true, false].map((s) => Array.from("
        "honest.renormaliseRows(m, 5, honest.keptWords(5, s)).values));\n"
        "console.log(JSON.stringify(out));",
        cases,
    )
    assert isinstance(got, list)
    for sink, values in zip([True, False], got, strict=True):
        expected = renormalise_rows(matrix[:5, :5], kept_words(5, exclude_sink=sink))
        np.testing.assert_allclose(np.array(values).reshape(5, 5), expected, rtol=1e-5, atol=1e-7)
