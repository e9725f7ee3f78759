"""The cross-attention explorer's front end in headless Chromium, with a stand-in kernel model.

The bundle (trfviz/widget/cross.js) is loaded into a blank page and rendered with an
object that answers anywidget's model calls (``get``, ``set``, ``on``, ``save_changes``)
from the Python widget's synced state, so the drawing and the interactions are checked
without starting Jupyter.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.widget.test_cross import synthetic
from trfviz.widget.cross import CrossAttentionExplorer

pytestmark = pytest.mark.browser

BUNDLE = Path(__file__).resolve().parents[2] / "trfviz" / "widget" / "cross.js"

PAGE = """<!doctype html><meta charset="utf-8"><div id="host"></div>
<script type="module">
const state = %s;
const handlers = {};
window.saved = [];
const model = {
  get: (name) => state[name],
  set: (name, value) => {
    state[name] = value;
    (handlers["change:" + name] || []).forEach((f) => f());
  },
  on: (event, f) => { (handlers[event] = handlers[event] || []).push(f); },
  save_changes: () => { window.saved.push(JSON.parse(JSON.stringify(state))); },
};
window.model = model;
const widget = await import("data:text/javascript;base64,%s");
widget.default.render({ model, el: document.getElementById("host") });
window.ready = true;
</script>"""


def _open(browser: Any, widget: CrossAttentionExplorer) -> Any:
    state = widget.get_state()
    page = browser.new_page()
    bundle = base64.b64encode(BUNDLE.read_bytes()).decode()
    page.set_content(PAGE % (json.dumps(state), bundle))
    page.wait_for_function("window.ready === true", timeout=15000)
    return page


def test_lines_words_and_arcs_are_drawn(browser: Any) -> None:
    widget = CrossAttentionExplorer(synthetic(), threshold=0.2)
    page = _open(browser, widget)
    try:
        weights = np.asarray(widget._weights)
        expected = {f"{r}-{c}" for r, c in zip(*np.nonzero(weights >= 0.2), strict=True)}
        drawn = set(page.eval_on_selector_all("[data-line]", "ls => ls.map(l => l.dataset.line)"))
        assert drawn == expected
        words = page.eval_on_selector_all("[data-word]", "ws => ws.map(w => w.textContent)")
        assert words == ["the", "cat", "die", "Katze", "saß"]
        arcs = page.eval_on_selector_all("[data-arc]", "as => as.map(a => a.dataset.arc)")
        assert sorted(arcs) == ["source-1-0", "target-1-0"]
        # Source words above target words.
        y = page.evaluate(
            "['source-0', 'target-0'].map(k => "
            'document.querySelector(`[data-word="${k}"]`).getBoundingClientRect().y)'
        )
        assert y[0] < y[1]
        info = page.inner_text(".tv-cross-info")
        assert "decoder layer 2" in info and f"{len(expected)} lines ≥ 0.20" in info
    finally:
        page.close()


def test_clicking_a_target_word_keeps_its_lines(browser: Any) -> None:
    widget = CrossAttentionExplorer(synthetic(), threshold=0.0)
    page = _open(browser, widget)
    try:
        page.click('[data-word="target-1"]')
        assert page.evaluate("window.model.get('selected')") == 1
        opacity = page.eval_on_selector_all(
            "[data-line]",
            "ls => ls.map(l => [l.dataset.line, Number(l.getAttribute('stroke-opacity'))])",
        )
        faded = {key for key, value in opacity if value < 0.05}
        assert faded == {key for key, _ in opacity if not key.startswith("1-")}
        page.select_option('[data-testid="head"]', index=3)  # after "mean": the third head
        assert page.evaluate("window.model.get('head')") == 2
    finally:
        page.close()
