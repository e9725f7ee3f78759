"""The explorer's drawing rules, run in Node on the browser's own ES modules (no page needed).

What the review of MiniLM vs SmolLM2 found wrong, each checked where it is decided: the
overview's strongest arcs leave the attention sink out while ``exclude_sink``; the
difference has no data (NaN) in rows with nothing left to compare, as Python's
:func:`~trfviz.widget.compare.row_difference`; the read-out lists a word's weight on
itself; the heatmap labels the first, last, special and focused tokens; float32
packing reaches the browser unchanged.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trfviz.palette import palette_payload
from trfviz.widget.compare import kept_words, renormalise_rows, row_difference
from trfviz.widget.payload import pack_matrix

JS_DIR = Path(__file__).resolve().parents[2] / "trfviz" / "widget" / "js"


def run_js(modules: list[str], script: str, data: object = None) -> Any:
    """``script``'s printed JSON, with each of ``modules`` imported under its stem's name."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the browser's rules are not checked")
    code = "".join(
        f"import * as {m} from {json.dumps((JS_DIR / f'{m}.js').as_uri())};\n" for m in modules
    )
    code += "import { usePalette } from " + json.dumps((JS_DIR / "colour.js").as_uri()) + ";\n"
    code += f"usePalette({json.dumps(palette_payload())});\n"
    code += f"const data = {json.dumps(data)};\n{script}"
    run = subprocess.run(
        [node, "--input-type=module", "-e", code], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _sink_matrix(n: int) -> np.ndarray:
    """A causal model's rows: most mass on the first word, the rest on the previous word."""
    m = np.zeros((n, n))
    m[0, 0] = 1.0
    for q in range(1, n):
        m[q, 0], m[q, q - 1] = 0.65, 0.35
    return m


OVERVIEW = """
const m = { values: Float32Array.from(data.values), shape: data.shape };
const heads = { values: m.values, shape: [1, ...data.shape] };
const panel = { kind: data.kind, matrix: m, heads: data.kind === "heads" ? heads : null };
const n = data.shape[0];
const lines = (fc, sink) => band_lines.bandLines(panel, n, (c) => c, fc, 0.05, new Set(), 1, sink)
  .map((l) => [l.from, l.to]);
const out = [-1, 0].map((sink) => lines(-1, sink));
const focused = lines(3, 0);
console.log(JSON.stringify({ out, focused }));
"""


@pytest.mark.parametrize("kind", ["attention", "heads"])
def test_the_overview_leaves_the_sink_out_while_asked(kind: str) -> None:
    n = 6
    m = _sink_matrix(n)
    data = {"values": m.ravel().tolist(), "shape": [n, n], "kind": kind}
    got = run_js(["band_lines"], OVERVIEW, data)
    with_sink, without = got["out"]
    # Kept: every word's strongest arc goes to the first word (the sink: what the review saw).
    expected_with = {(q, 0) for q in range(1, n)}
    assert {tuple(x) for x in with_sink} == expected_with
    # Left out: each word's strongest arc to any other word, the previous one here.
    assert {tuple(x) for x in without} == {(q, q - 1) for q in range(2, n)}
    # A focused word still shows its weight on the sink.
    assert [3, 0] in got["focused"]


def test_the_difference_has_no_data_where_a_row_has_nothing_left() -> None:
    rng = np.random.default_rng(2)
    n = 6
    a = rng.dirichlet(np.ones(n), size=n)
    b = _sink_matrix(n)
    keep = kept_words(n, exclude_sink=True)
    ra, rb = renormalise_rows(a, keep), renormalise_rows(b, keep)
    expected = row_difference(ra, rb, keep)
    # SmolLM2-like: the first two words' rows hold only the sink's weight, none left.
    assert np.isnan(expected[:2]).all()
    assert np.isnan(expected[:, 0]).all()  # the sink column, left out
    assert np.isfinite(expected[2:, 1:]).all()
    np.testing.assert_allclose(expected[2:, 1:], (ra - rb)[2:, 1:])
    got = run_js(
        ["honest"],
        "const m = (v) => ({ values: Float64Array.from(v), shape: data.shape });\n"
        "const keep = honest.keptWords(data.shape[0], true);\n"
        "const n = data.shape[0];\n"
        "const d = honest.rowDifference(honest.renormaliseRows(m(data.a), n, keep),"
        " honest.renormaliseRows(m(data.b), n, keep), keep);\n"
        "console.log(JSON.stringify(Array.from(d.values, (x) => (Number.isNaN(x) ? null : x))));",
        {"a": a.ravel().tolist(), "b": b.ravel().tolist(), "shape": [n, n]},
    )
    values = np.array([np.nan if x is None else x for x in got]).reshape(n, n)
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-7)


def test_a_causal_model_is_recognised() -> None:
    got = run_js(
        ["honest"],
        "const m = (v) => ({ values: Float64Array.from(v), shape: [3, 3] });\n"
        "console.log(JSON.stringify([honest.isCausal(m(data[0])), honest.isCausal(m(data[1]))]));",
        [np.tril(np.ones((3, 3))).ravel().tolist(), np.ones(9).tolist()],
    )
    assert got == [True, False]


def test_the_read_out_lists_the_words_weight_on_itself() -> None:
    m = np.array([[0.5, 0.3, 0.2], [0.07, 0.08, 0.85], [0.1, 0.1, 0.8]])
    got = run_js(
        ["readout"],
        "const m = { values: Float64Array.from(data), shape: [3, 3] };\n"
        "console.log(JSON.stringify([readout.topWeights(m, ['a', 'b', 'c'], 1, true, 5),"
        " readout.topWeights(m, ['a', 'b', 'c'], 1, false, 5)]));",
        m.ravel().tolist(),
    )
    from_b, to_b = got
    assert [row[2] for row in from_b] == [2, 1, 0]  # b → c .85, b → b .08 (itself), b → a .07
    assert from_b[1][1] == pytest.approx(0.08)
    assert [row[2] for row in to_b] == [0, 2, 1]  # a → b .3, c → b .1, b → b .08


@pytest.mark.parametrize(
    ("n", "step", "focus", "n_words"),
    [(42, 3, -1, 40), (66, 4, 17, 64), (12, 1, 5, 10), (40, 3, 39, 40)],
)
def test_heatmap_labels_keep_the_ends_the_specials_and_the_focus(
    n: int, step: int, focus: int, n_words: int
) -> None:
    on = run_js(
        ["heatmap"],
        "console.log(JSON.stringify(heatmap.thinnedLabels(...data)));",
        [n, step, focus, n_words],
    )
    shown = [i for i, x in enumerate(on) if x]
    assert all(b - a >= step for a, b in itertools.pairwise(shown))  # none overlaps
    assert shown[0] == 0 and shown[-1] == n - 1
    if focus >= 0:
        assert on[focus]
    # Each special token labelled, unless it would overlap the last label or the focused one.
    for i in range(n_words, n):
        assert on[i] or any(abs(i - j) < step for j in (n - 1, focus) if j != i), i
    assert len(shown) >= (n - 1) // step  # thinned, not emptied


def test_float32_packing_reaches_the_browser_unchanged() -> None:
    values = np.array([[7.2499e-4, 0.5, 1e-9], [0.25, 3.0, 0.0]], dtype=np.float32)
    packed = pack_matrix(values, bits=32)
    np.testing.assert_array_equal(packed.unpack(), values)
    case = {**packed.to_dict(), "data": base64.b64encode(packed.data).decode()}
    got = run_js(
        ["decode"],
        "console.log(JSON.stringify(Array.from(decode.unpack(data).values)));",
        case,
    )
    np.testing.assert_array_equal(np.array(got, dtype=np.float32).reshape(2, 2 + 1), values)
