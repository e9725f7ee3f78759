"""The cross-attention explorer's front end in headless Chromium, with a stand-in kernel model.

The bundle (trfviz/widget/cross.js) is loaded into a blank page and rendered with an
object that answers anywidget's model calls (``get``, ``set``, ``on``, ``save_changes``)
from the Python widget's synced state, so the drawing and the interactions are checked
without starting Jupyter.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.widget.test_cross import side, synthetic
from trfviz.parse import Arc
from trfviz.seq2seq import PairExtraction, SentencePairExtraction
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


def _long_pair(n: int) -> PairExtraction:
    """One pair of ``n``-word sentences, each word attending to its neighbourhood."""
    from tests.figures.test_paper_ready import words

    source_words = words(n)
    target_words = [w.upper() for w in reversed(source_words)]
    arcs = (*(Arc(i + 1, i, "dep") for i in range(0, n - 1, 3)), Arc(0, n - 1, "punct"))
    source, target = side(source_words, arcs), side(target_words, arcs)
    rng = np.random.default_rng(n)
    cross = rng.dirichlet(np.ones(n + 1) * 0.2, size=(1, 2, n + 1)).astype(np.float32)
    pair = SentencePairExtraction(
        source,
        target,
        encoder_attention=np.zeros((1, 2, n + 1, n + 1), np.float32),
        decoder_attention=np.zeros((1, 2, n + 1, n + 1), np.float32),
        cross_attention=cross,
    )
    return PairExtraction("tiny-t5", "r", "src", "tgt", (pair,), decoder_layers=1, decoder_heads=2)


#: The output area of a cell in a 1280x800 JupyterLab window (its side bar closed), and a
#: narrower one.
CELLS = (1100, 800)


@pytest.mark.parametrize("cell", CELLS)
def test_sixty_four_words_fit_the_cell_without_scrolling(browser: Any, cell: int) -> None:
    from tests.browser.harness import screenshot

    n = 64
    widget = CrossAttentionExplorer(_long_pair(n), threshold=0.1)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        state = widget.get_state()
        bundle = base64.b64encode(BUNDLE.read_bytes()).decode()
        html = PAGE.replace('<div id="host">', f'<div id="host" style="width: {cell}px">')
        page.set_content(html % (json.dumps(state), bundle))
        page.wait_for_function("window.ready === true", timeout=15000)
        g = page.evaluate(
            """() => {
              const box = (n) => { const r = n.getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom]; };
              const words = (side) => [...document.querySelectorAll(`[data-word^="${side}-"]`)];
              const scroll = document.querySelector(".tv-cross-scroll");
              return {
                host: box(document.getElementById("host")),
                svg: box(document.querySelector('[data-testid="cross-svg"]')),
                scrollWidth: scroll.scrollWidth, clientWidth: scroll.clientWidth,
                pageWidth: document.documentElement.scrollWidth,
                source: words("source").map(box), target: words("target").map(box),
                sizes: words("source").map((w) => parseFloat(getComputedStyle(w).fontSize)),
                texts: words("source").map((w) => w.textContent),
                lines: [...document.querySelectorAll("[data-line]")].map((l) =>
                  [l.dataset.line, Number(l.getAttribute("x1")), Number(l.getAttribute("x2"))]),
              };
            }"""
        )
        # Nothing scrolls sideways: the view is as wide as the cell at most.
        assert g["scrollWidth"] <= g["clientWidth"], (g["scrollWidth"], g["clientWidth"])
        assert g["svg"][2] <= g["host"][2] + 0.5 and g["pageWidth"] <= 1280
        # Every word is drawn, legible, inside the view, and no two touch.
        assert len(g["source"]) == len(g["target"]) == n
        assert min(g["sizes"]) >= 9
        for row in (g["source"], g["target"]):
            for a, b in itertools.pairwise(row):
                assert a[2] <= b[0] + 0.5, (a, b)  # left to right, apart
            for box in row:
                assert g["svg"][0] - 0.5 <= box[0] and box[2] <= g["svg"][2] + 0.5
                assert g["svg"][1] - 0.5 <= box[1] and box[3] <= g["svg"][3] + 0.5
        assert all(t.rstrip("…") for t in g["texts"])
        # Each line runs from its source word's column to its target word's.
        assert g["lines"]
        for key, x1, x2 in g["lines"]:
            r, c = (int(v) for v in key.split("-"))
            source, target = g["source"][c], g["target"][r]
            assert abs(x1 + g["svg"][0] - (source[0] + source[2]) / 2) <= 1.5, key
            assert abs(x2 + g["svg"][0] - (target[0] + target[2]) / 2) <= 1.5, key
        screenshot(page, page.locator("#host"), f"cross-{n}-words-{cell}px.png")
    finally:
        page.close()
