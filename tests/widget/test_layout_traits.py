"""The explorer's layout options (compact text view, per-model colour scale) and the pure
parts of the shared token axis (axis.js: columns, window, focus), without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import traitlets

from tests.browser.widget_data import make_document
from trfviz.widget import AttentionExplorer

AXIS_JS = Path(__file__).resolve().parents[2] / "trfviz" / "widget" / "js" / "axis.js"


@pytest.fixture()
def explorer() -> AttentionExplorer:
    parses, extractions = make_document()
    return AttentionExplorer(parses, extractions, compare="tiny-gpt")


def test_layout_options_default_off_and_sync(explorer: AttentionExplorer) -> None:
    assert (explorer.compact, explorer.per_model_scale) == (False, False)
    state = explorer.get_state()
    assert state["compact"] is False and state["per_model_scale"] is False


def test_layout_options_from_the_constructor() -> None:
    parses, extractions = make_document()
    explorer = AttentionExplorer(parses, extractions, compact=True, per_model_scale=True)
    assert explorer.get_state(["compact", "per_model_scale"]) == {
        "compact": True,
        "per_model_scale": True,
    }


@pytest.mark.parametrize("name", ["compact", "per_model_scale"])
def test_layout_options_refuse_non_booleans(explorer: AttentionExplorer, name: str) -> None:
    with pytest.raises(traitlets.TraitError):
        setattr(explorer, name, "yes")


@pytest.mark.parametrize("name", ["compact", "per_model_scale"])
def test_layout_options_send_no_data(explorer: AttentionExplorer, name: str) -> None:
    # Drawn in the browser from what it holds: a toggle sends the trait, no weights.
    sent: list[set[str]] = []
    original = explorer._send

    def send(msg: Any, buffers: Any = None) -> None:
        sent.append(set(msg.get("state", {})))
        original(msg, buffers)

    explorer._send = send  # type: ignore[method-assign]
    setattr(explorer, name, True)
    names = set().union(*sent)
    assert name in names
    assert not names & {"_layers", "_sentence_data", "_grid"}


def _node(script: str) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing: the axis tests run axis.js in Node")
    # axis.js is plain ESM; its DOM use (text measuring) is not called by these functions.
    source = AXIS_JS.as_uri()
    code = f"import * as axis from {json.dumps(source)};\n{script}"
    done = subprocess.run(
        [node, "--input-type=module", "-e", code], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_axis_columns_share_words_and_union_specials() -> None:
    out = _node(
        "const sentence = { tokens: ['a', 'b', 'c'] };\n"
        "const bert = { labels: ['a', 'b', 'c', '[CLS]', '[SEP]'] };\n"
        "const gpt = { labels: ['a', 'b', 'c'] };\n"
        "const other = { labels: ['a', 'b', 'c', '[SEP]', '<s>'] };\n"
        "const cols = axis.axisColumns(sentence, [bert, gpt, other]);\n"
        "const idx = (info) => cols.labels.map((_, c) => cols.index(info, c));\n"
        "console.log(JSON.stringify({ labels: cols.labels, bert: idx(bert), gpt: idx(gpt),\n"
        "  other: idx(other), focus: [axis.focusColumn(4, cols, bert),\n"
        "  axis.focusColumn(1, cols, bert), axis.focusColumn(-1, cols, bert)] }));"
    )
    assert out["labels"] == ["a", "b", "c", "[CLS]", "[SEP]", "<s>"]
    # The same word is the same column in every model; a special only where a model has it.
    assert out["bert"] == [0, 1, 2, 3, 4, -1]
    assert out["gpt"] == [0, 1, 2, -1, -1, -1]
    assert out["other"] == [0, 1, 2, -1, 3, 4]
    assert out["focus"] == [4, 1, -1]


def test_zoom_window_is_clamped() -> None:
    out = _node(
        "console.log(JSON.stringify([axis.clampWindow(-5, 10, 66), axis.clampWindow(60, 80, 66),"
        " axis.clampWindow(10, 11, 66), axis.clampWindow(0, 100, 66), axis.clampWindow(2, 3, 4)]));"
    )
    assert out == [[0, 15], [46, 66], [10, 16], [0, 66], [0, 4]]
